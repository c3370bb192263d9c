/* conversation.c: titles and the JSON of conversations and messages (see conversation.h). */
#include "conversation.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "escape.h"
#include "markdown.h"
#include "timefmt.h"
#include "utf8.h"

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

const char *conversation_check_title(const char *title, size_t len, char **clean)
{
	*clean = NULL;
	while (len > 0 && is_blank((unsigned char)title[0]))
		title++, len--;
	while (len > 0 && is_blank((unsigned char)title[len - 1]))
		len--;
	if (len == 0)
		return "Title cannot be empty.";
	if (utf8_count(title, len) > CONVERSATION_TITLE_MAX)
		return "Title is too long (the limit is 200 characters).";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)title[i] < 0x20 || title[i] == 0x7F)
			return "Title may not contain line breaks or control characters.";
	*clean = xstrndup(title, len);
	return NULL;
}

char *conversation_title_from_prompt(const char *prompt, size_t len)
{
	struct buf b = BUF_INIT;
	int space = 0;
	/* Collapse white space; stop at the first line that has text. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)prompt[i];
		if (c == '\n' && b.len > 0)
			break;
		if (is_blank(c) || c < 0x20 || c == 0x7F) {
			space = b.len > 0;
			continue;
		}
		if (space)
			buf_append_char(&b, ' ');
		space = 0;
		buf_append_char(&b, (char)c);
	}
	size_t cut = utf8_prefix(buf_str(&b), b.len, 60);
	if (cut < b.len) {
		b.len = cut;
		b.data[cut] = '\0';
		buf_append_str(&b, "\xE2\x80\xA6"); /* … */
	}
	if (b.len == 0)
		buf_append_str(&b, "New chat");
	return buf_detach(&b);
}

struct json_object *conversation_json(const struct conversation *c)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(c->id));
	json_object_object_add(o, "title", json_object_new_string(c->title));
	json_object_object_add(o, "created_at", timefmt_json(c->created_at));
	json_object_object_add(o, "updated_at", timefmt_json(c->updated_at));
	return o;
}

char *message_html(const char *role, const char *content)
{
	size_t len = strlen(content);
	if (strcmp(role, "assistant") == 0)
		return markdown_to_html(content, len);
	struct buf b = BUF_INIT;
	escape_html_paragraph(&b, content, len);
	return buf_detach(&b);
}

long long message_html_version(void)
{
	return markdown_render_version();
}

struct json_object *message_json(const struct message *m)
{
	struct json_object *o = json_object_new_object();
	/* The HTML stored with the message when this renderer made it (the
	 * store keeps it in step with content); otherwise render it now. */
	char *fresh = NULL;
	const char *html = m->html;
	if (!html || m->html_version != message_html_version())
		html = fresh = message_html(m->role, m->content);
	json_object_object_add(o, "id", json_object_new_int64(m->id));
	json_object_object_add(o, "role", json_object_new_string(m->role));
	json_object_object_add(o, "content", json_object_new_string(m->content));
	json_object_object_add(o, "html", json_object_new_string(html));
	json_object_object_add(o, "created_at", timefmt_json(m->created_at));
	json_object_object_add(o, "status", json_object_new_string(m->status));
	if (m->reasoning && *m->reasoning)
		json_object_object_add(o, "reasoning", json_object_new_string(m->reasoning));
	if (m->model)
		json_object_object_add(o, "model", json_object_new_string(m->model));
	if (m->error)
		json_object_object_add(o, "error", json_object_new_string(m->error));
	free(fresh);
	return o;
}
