/* demo.h: the built-in offline demo provider, used when no API key is set (SPEC §2).
 *
 * Contract:
 * - demo_complete() answers like provider_complete() without any network
 *   (this module does not use libcurl): a deterministic Markdown answer (a
 *   heading, bold text, a list, a fenced code block, a table) that says it
 *   is the offline demo, quotes the last user message, and tells how to set
 *   a real key (DEEPSEEK_API_KEY or AI_API_KEY). A short reasoning text
 *   comes first, so the folded "thinking" view can be seen too.
 * - With req->stream the pieces go to req->on_delta with pauses of 20-40 ms
 *   (about 1.5 s in all); without it, once each and at once.
 * - should_abort is polled every 10 ms; it or on_delta returning non-zero
 *   stops at once with PROVIDER_ABORTED and the text sent so far.
 * - The last user message is expected to be valid UTF-8 (the API checks
 *   prompts); control characters in it are shown as spaces.
 * - The strings put in *out are malloc'd and the caller's: release them with
 *   provider_result_free() or free() each. Only url, model and api_key of
 *   req are ignored.
 */
#ifndef AIF_DEMO_H
#define AIF_DEMO_H

#include "provider.h"

/* Returns 0 when out->status is PROVIDER_OK, else -1. */
int demo_complete(const struct provider_request *req, struct provider_result *out);

/* The whole demo answer for prompt (NULL: none); the caller frees it.
 * NULL when out of memory. */
char *demo_answer(const char *prompt);

/* The demo's reasoning text; static. */
const char *demo_reasoning(void);

#endif
