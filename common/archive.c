/* archive.c: the export document's writer (see archive.h). */
#define _GNU_SOURCE
#include "archive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "timefmt.h"
#include "json.h"

/* Appends o serialised without its closing brace, so that fixed keys of the
 * document's shape can follow; takes ownership of o. */
static void append_open_object(struct buf *out, struct json_object *o)
{
	char *text = jsonx_to_string(o);
	json_object_put(o);
	size_t len = strlen(text);
	buf_append(out, text, len > 0 ? len - 1 : 0);
	free(text);
}

void archive_begin(struct buf *out, const char *username, long long now)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "format", json_object_new_string(ARCHIVE_FORMAT));
	json_object_object_add(o, "version", json_object_new_int(ARCHIVE_VERSION));
	json_object_object_add(o, "exported_at", timefmt_json(now));
	json_object_object_add(o, "username", json_object_new_string(username));
	append_open_object(out, o);
	buf_append_str(out, ",\"conversations\":[");
}

void archive_conv_begin(struct buf *out, const struct conversation *c, int first)
{
	if (!first)
		buf_append_char(out, ',');
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(c->id));
	json_object_object_add(o, "title", json_object_new_string(c->title));
	json_object_object_add(o, "created_at", timefmt_json(c->created_at));
	json_object_object_add(o, "updated_at", timefmt_json(c->updated_at));
	append_open_object(out, o);
	buf_append_str(out, ",\"messages\":[");
}

void archive_message(struct buf *out, const struct message *m, int first)
{
	if (!first)
		buf_append_char(out, ',');
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(m->id));
	json_object_object_add(o, "role", json_object_new_string(m->role));
	json_object_object_add(o, "content", json_object_new_string(m->content));
	json_object_object_add(o, "status", json_object_new_string(m->status));
	json_object_object_add(o, "created_at", timefmt_json(m->created_at));
	if (m->reasoning)
		json_object_object_add(o, "reasoning", json_object_new_string(m->reasoning));
	if (m->model)
		json_object_object_add(o, "model", json_object_new_string(m->model));
	if (m->error)
		json_object_object_add(o, "error", json_object_new_string(m->error));
	char *text = jsonx_to_string(o);
	json_object_put(o);
	buf_append_str(out, text);
	free(text);
}

void archive_conv_end(struct buf *out)
{
	buf_append_str(out, "]}");
}

void archive_end(struct buf *out)
{
	buf_append_str(out, "]}\n");
}

static void iso_time(char out[40], long long ms)
{
	struct json_object *t = timefmt_json(ms);
	snprintf(out, 40, "%s", json_object_get_string(t));
	json_object_put(t);
}

/* Markdown text is the reader's own; only the headings we add are ours. */
void archive_md_conv(struct buf *out, const struct conversation *c, long long now)
{
	char created[40], exported[40];
	iso_time(created, c->created_at);
	iso_time(exported, now);
	buf_append_str(out, "# ");
	buf_append_str(out, c->title);
	buf_append_str(out, "\n\n*Started ");
	buf_append_str(out, created);
	buf_append_str(out, "; exported from AIFacade ");
	buf_append_str(out, exported);
	buf_append_str(out, ".*\n");
}

void archive_md_message(struct buf *out, const struct message *m)
{
	char when[40];
	iso_time(when, m->created_at);
	int user = strcmp(m->role, "user") == 0;
	buf_append_str(out, user ? "\n## You" : "\n## Assistant");
	if (!user && m->model) {
		buf_append_str(out, " (");
		buf_append_str(out, m->model);
		buf_append_str(out, ")");
	}
	buf_append_str(out, " \xE2\x80\x94 ");
	buf_append_str(out, when);
	buf_append_str(out, "\n\n");
	if (m->reasoning && *m->reasoning) {
		buf_append_str(out, "<details><summary>Reasoning</summary>\n\n");
		buf_append_str(out, m->reasoning);
		buf_append_str(out, "\n\n</details>\n\n");
	}
	buf_append_str(out, m->content);
	buf_append_char(out, '\n');
	if (strcmp(m->status, "ok") != 0) {
		buf_append_str(out, strcmp(m->status, "error") == 0 ? "\n*This answer failed" : "\n*This answer was interrupted");
		if (m->error) {
			buf_append_str(out, ": ");
			buf_append_str(out, m->error);
		}
		buf_append_str(out, ".*\n");
	}
}

char *archive_file_name(const char *prefix, const char *name, const char *suffix)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, prefix);
	size_t start = b.len;
	int dash = 0;
	for (const char *p = name; *p && b.len - start < 40; p++) {
		char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) {
			if (dash && b.len > start)
				buf_append_char(&b, '-');
			dash = 0;
			buf_append_char(&b, (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
		} else {
			dash = 1;
		}
	}
	if (b.len == start)
		buf_append_str(&b, "chat");
	buf_append_str(&b, suffix);
	return buf_detach(&b);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int archive_parse_time(const char *s, long long *ms)
{
	int y, mo, d, h, mi, sec, frac = 0;
	size_t len = strlen(s);
	if (len < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) || s[13] != ':' ||
	    digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		int n = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (n < 3)
				frac = frac * 10 + (*p - '0');
			n++;
			p++;
		}
		if (n == 0 || n > 9)
			return -1;
		for (; n < 3; n++)
			frac *= 10;
	}
	if (strcmp(p, "Z") != 0 || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ms = (long long)t * 1000 + frac;
	return 0;
}
