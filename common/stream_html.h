/* stream_html.h: the rendered HTML of an answer while it streams.
 *
 * Contract: the answer's text is collected piece by piece (stream_html_add);
 * stream_html_take() returns message_html("assistant", text so far) — the
 * very renderer the stored answer goes through (conversation.h), so what a
 * browser shows mid-stream is what it shows at the end — but only when new
 * text arrived and the answer's pace allows: at most one rendering per
 * STREAM_HTML_INTERVAL_MS, and the interval widens for long answers so that
 * rendering takes at most a tenth of the time and the HTML sent stays near
 * STREAM_HTML_BYTES_PER_MS. A table still missing its delimiter row and an
 * unfinished fence line wait (stream_html_settled), so that no Markdown
 * shows; a forced take renders everything. chat.c sends it as the SSE event "html"
 * (README, API). Clocks are the caller's (milliseconds, monotonic), so the
 * pacing is testable. */
#ifndef AIF_STREAM_HTML_H
#define AIF_STREAM_HTML_H
#include <stddef.h>

#include "buf.h"

#define STREAM_HTML_INTERVAL_MS 200
#define STREAM_HTML_BYTES_PER_MS 100

struct stream_html {
	struct buf text;      /* the answer so far */
	size_t rendered_len;  /* how much of text the last rendering covered */
	long long next_ms;    /* no rendering before this time */
	long long cost_ms;    /* what the last rendering took */
};

#define STREAM_HTML_INIT {BUF_INIT, 0, 0, 0}

/* Appends a piece of the answer (valid UTF-8, as provider.h delivers it). */
void stream_html_add(struct stream_html *s, const char *piece);
/* The HTML of the answer so far, as a fresh string the caller frees, when
 * text arrived since the last one and now_ms (monotonic_ms(), timefmt.h)
 * is past the pacing bound (or force is set); NULL otherwise. */
char *stream_html_take(struct stream_html *s, long long now_ms, int force);
struct response;
/* The length of text's prefix that may be rendered mid-stream: text less a
 * last block that is becoming a table (fewer than two whole lines) and
 * less an unfinished last line that starts with ` or ~ (a fence). */
size_t stream_html_settled(const char *text, size_t len);
/* Sends stream_html_take()'s HTML, if any, as the SSE event "html" with data
 * {"html": "..."}. Returns 1 when sent, 0 when nothing was due, -1 when the
 * write failed (the client is gone). */
int stream_html_send(struct stream_html *s, struct response *res, long long now_ms, int force);
void stream_html_free(struct stream_html *s);

#endif
