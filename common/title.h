/* title.h: a conversation's title from its first turn.
 *
 * Contract: a new conversation is titled at once from its first prompt
 * (title_from_prompt: the first line with text, Markdown markup stripped, at
 * most TITLE_MAX_CHARS characters). After its first answer, unless AI_TITLES
 * is 0 or the offline demo answers, title_after_first_turn() asks the
 * provider for a short title in one small non-streaming request and stores
 * it; a streaming client then gets the SSE event "title" with
 * {"conversation": {...}} (README, API). Any failure of that request keeps
 * the prompt's title and is only logged: the turn itself has succeeded. */
#ifndef AIF_TITLE_H
#define AIF_TITLE_H
#include <stddef.h>

#include "store.h"

#define TITLE_MAX_CHARS 60
/* Seconds the title request may take in all; the user already has the answer. */
#define TITLE_TIMEOUT_SECONDS 15
/* The instruction sent as the system message of the title request. */
#define TITLE_INSTRUCTION "Write a short title (at most six words) for the conversation below. " \
	"Reply with the title only: no quotes, no Markdown, no final full stop."

struct request;
struct response;

/* The prompt's first words as a title, Markdown stripped; "New chat" when
 * nothing is left. Fresh string. */
char *title_from_prompt(const char *prompt, size_t len);
/* The provider's reply made into a title (first line, "Title:", quotes,
 * Markdown and a final full stop removed, at most TITLE_MAX_CHARS), or NULL
 * when nothing usable is left. Fresh string. */
char *title_clean(const char *reply);
/* Asks, stores and (when stream is set) announces the title of conv, just
 * created by this turn of prompt and answer. conv->title is replaced. */
void title_after_first_turn(struct request *req, struct response *res, struct conversation *conv,
			    const char *model, const char *prompt, const char *answer, int stream);

#endif
