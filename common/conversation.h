/* conversation.h: conversation and message rules, and their JSON form.
 *
 * Contract: titles are 1–200 characters after trimming, without control
 * characters; a new conversation is titled from its first prompt. A message
 * in JSON is {"id","role","content","html","created_at","status"} plus
 * "reasoning", "model" and "error" when present; "html" is rendered here:
 * Markdown (markdown.h) for the assistant, escaped text for the user. It is
 * rendered once, when a message's content is written, and stored with it;
 * message_json() uses the stored HTML when message_html_version() made it
 * and renders again otherwise, so both give the same bytes. */
#ifndef AIF_CONVERSATION_H
#define AIF_CONVERSATION_H
#include <stddef.h>

#include <json-c/json.h>

#include "store.h"

#define CONVERSATION_TITLE_MAX 200

/* Trims title; returns NULL and sets *clean (fresh) or returns a message. */
const char *conversation_check_title(const char *title, size_t len, char **clean);
/* A title from a prompt's first line, at most 60 characters; fresh string. */
char *conversation_title_from_prompt(const char *prompt, size_t len);

struct json_object *conversation_json(const struct conversation *c);
/* m->html is used only when m->html_version is message_html_version(). */
struct json_object *message_json(const struct message *m);
/* The HTML for a message's content. Fresh string. Any change to its output
 * for either role needs MARKDOWN_RENDER_VERSION bumped (markdown.h). */
char *message_html(const char *role, const char *content);
/* The revision of message_html()'s output, to store beside its HTML. */
long long message_html_version(void);

#endif
