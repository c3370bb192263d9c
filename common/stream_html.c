/* stream_html.c: paced renderings of a streaming answer (see stream_html.h). */
#include "stream_html.h"

#include <string.h>
#include <time.h>

#include <stdlib.h>

#include <json-c/json.h>

#include "alloc.h"
#include "conversation.h"
#include "response.h"
#include "timefmt.h"

void stream_html_add(struct stream_html *s, const char *piece)
{
	buf_append_str(&s->text, piece);
}

/* How much of text to render now: all of it, less a last block that is
 * still becoming a table (its header and delimiter rows not yet whole) or
 * a last, unfinished line that may still become a code fence. Rendered
 * early, both would show their Markdown (pipes, backticks) for a moment. */
size_t stream_html_settled(const char *text, size_t len)
{
	size_t block = 0; /* start of the last block */
	for (size_t i = 0; i + 1 < len; i++)
		if (text[i] == '\n' && text[i + 1] == '\n')
			block = i + 2;
	while (block < len && text[block] == '\n')
		block++;
	size_t first = block;
	while (first < len && (text[first] == ' ' || text[first] == '\t'))
		first++;
	if (first < len && text[first] == '|') {
		size_t lines = 0;
		for (size_t i = block; i < len; i++)
			lines += text[i] == '\n';
		if (lines < 2)
			return block;
	}
	size_t line = len;
	while (line > 0 && text[line - 1] != '\n')
		line--;
	size_t k = line;
	while (k < len && (text[k] == ' ' || text[k] == '\t'))
		k++;
	if (k < len && (text[k] == '`' || text[k] == '~'))
		return line;
	return len;
}

char *stream_html_take(struct stream_html *s, long long now_ms, int force)
{
	if (s->text.len == s->rendered_len)
		return NULL;
	if (!force && now_ms < s->next_ms)
		return NULL;
	size_t settled = stream_html_settled(s->text.data, s->text.len);
	size_t news = settled; /* new line breaks alone change nothing shown */
	while (news > s->rendered_len && s->text.data[news - 1] == '\n')
		news--;
	if (news <= s->rendered_len && !force)
		return NULL; /* nothing new that may be shown yet */
	long long t0 = monotonic_ms();
	char *part = xstrndup(s->text.data, force ? s->text.len : settled);
	char *html = message_html("assistant", part);
	free(part);
	s->cost_ms = monotonic_ms() - t0;
	s->rendered_len = force ? s->text.len : settled;
	/* The widest of three bounds: the base pace, ten times the rendering's
	 * own cost, and the bytes this rendering put on the wire. */
	long long wait = STREAM_HTML_INTERVAL_MS;
	if (s->cost_ms * 10 > wait)
		wait = s->cost_ms * 10;
	long long by_size = (long long)(strlen(html) / STREAM_HTML_BYTES_PER_MS);
	if (by_size > wait)
		wait = by_size;
	s->next_ms = now_ms + wait;
	return html;
}

int stream_html_send(struct stream_html *s, struct response *res, long long now_ms, int force)
{
	char *html = stream_html_take(s, now_ms, force);
	if (!html)
		return 0;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "html", json_object_new_string(html));
	free(html);
	return response_stream_event(res, "html", o) < 0 ? -1 : 1;
}

void stream_html_free(struct stream_html *s)
{
	buf_free(&s->text);
	s->rendered_len = 0;
}
