/* title.c: conversation titles from the first prompt and from the provider (see title.h). */
#include "title.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "alloc.h"
#include "app.h"
#include "buf.h"
#include "config.h"
#include "conversation.h"
#include "log.h"
#include "provider.h"
#include "response.h"
#include "utf8.h"

/* How much of the prompt and of the answer the title request carries. */
#define TITLE_CONTEXT_CHARS 1500

static int is_word(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

/* Whether s starts a link or an image: "[text](" or "![alt](". */
static int opens_link(const char *s, size_t len)
{
	size_t i = s[0] == '!' ? 1 : 0;
	if (i >= len || s[i] != '[')
		return 0;
	const char *close = memchr(s + i, ']', len - i);
	return close && (size_t)(close - s) + 1 < len && close[1] == '(';
}

/* Appends one line of Markdown as plain text: block markers (#, >, list
 * bullets and numbers, task boxes), emphasis, code ticks, strikethrough and
 * link syntax go; a backslash-escaped character stays. */
static void strip_line(struct buf *out, const char *s, size_t len)
{
	size_t i = 0;
	for (;;) { /* block prefixes, possibly nested ("> - # x") */
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		size_t j = i;
		if (j < len && s[j] == '#') {
			while (j < len && s[j] == '#')
				j++;
		} else if (j < len && (s[j] == '>' || s[j] == '-' || s[j] == '*' || s[j] == '+')) {
			j++;
		} else if (j < len && isdigit((unsigned char)s[j])) {
			while (j < len && isdigit((unsigned char)s[j]))
				j++;
			if (j < len && (s[j] == '.' || s[j] == ')'))
				j++;
			else
				j = i;
		} else if (j + 2 < len && s[j] == '[' && (s[j + 1] == ' ' || s[j + 1] == 'x' || s[j + 1] == 'X') &&
			   s[j + 2] == ']') {
			j += 3;
		}
		/* A marker counts only when followed by a space (or the end). */
		if (j == i || (j < len && s[j] != ' ' && s[j] != '\t' && s[i] != '>'))
			break;
		i = j;
	}
	int in_link_target = 0;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (in_link_target) { /* depth of parentheses inside (url) */
			in_link_target += c == '(' ? 1 : c == ')' ? -1 : 0;
			continue;
		}
		if (c == '\\' && i + 1 < len && ispunct((unsigned char)s[i + 1])) {
			buf_append_char(out, s[++i]);
		} else if (c == '`' || (c == '~' && i + 1 < len && s[i + 1] == '~')) {
			i += c == '~'; /* code ticks and ~~strikethrough~~ */
		} else if (c == '*' && !(i > 0 && i + 1 < len && is_word((unsigned char)s[i - 1]) &&
					 is_word((unsigned char)s[i + 1]))) {
			continue; /* *emphasis* and **strong**; 2*3 stays. Underscores
				   * all stay: __init__ and snake_case are names. */
		} else if ((c == '!' || c == '[') && opens_link(s + i, len - i)) {
			continue; /* [text](url) and ![alt](url) keep their text */
		} else if (c == ']' && i + 1 < len && s[i + 1] == '(') {
			in_link_target = 1;
			i++;
		} else {
			buf_append_char(out, (char)c);
		}
	}
}

static int is_fence(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	return len >= 3 && (strncmp(s, "```", 3) == 0 || strncmp(s, "~~~", 3) == 0);
}

/* The first line of text with its Markdown stripped; "" when none. Fresh. */
static char *first_plain_line(const char *text, size_t len)
{
	struct buf b = BUF_INIT;
	size_t start = 0;
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - text) : len;
		if (!is_fence(text + start, end - start)) {
			strip_line(&b, text + start, end - start);
			size_t k = 0;
			while (k < b.len && strchr(" \t\r\f\v", b.data[k]))
				k++;
			if (k < b.len)
				break;
			buf_reset(&b);
		}
		start = end + 1;
	}
	return buf_detach(&b);
}

char *title_from_prompt(const char *prompt, size_t len)
{
	char *plain = first_plain_line(prompt, len);
	/* Collapses white space, cuts at 60 characters with "…", says
	 * "New chat" for nothing (conversation.h). */
	char *title = conversation_title_from_prompt(plain, strlen(plain));
	free(plain);
	return title;
}

char *title_clean(const char *reply)
{
	char *plain = first_plain_line(reply, strlen(reply));
	char *p = plain;
	size_t len = strlen(p);
	while (len > 0 && isspace((unsigned char)*p))
		p++, len--;
	if (len >= 6 && strncasecmp(p, "title:", 6) == 0)
		p += 6, len -= 6;
	static const char *const quotes[] = {"\"", "'", "\xE2\x80\x9C", "\xE2\x80\x9D", "\xC2\xAB", "\xC2\xBB"};
	for (int changed = 1; changed;) {
		changed = 0;
		while (len > 0 && isspace((unsigned char)*p))
			p++, len--, changed = 1;
		while (len > 0 && (isspace((unsigned char)p[len - 1]) || p[len - 1] == '.'))
			len--, changed = 1;
		for (size_t q = 0; q < sizeof quotes / sizeof quotes[0]; q++) {
			size_t ql = strlen(quotes[q]);
			if (len >= ql && strncmp(p, quotes[q], ql) == 0)
				p += ql, len -= ql, changed = 1;
			if (len >= ql && strncmp(p + len - ql, quotes[q], ql) == 0)
				len -= ql, changed = 1;
		}
	}
	char *title = NULL;
	if (len > 0)
		title = conversation_title_from_prompt(p, len);
	free(plain);
	return title;
}

/* Appends at most TITLE_CONTEXT_CHARS characters of s. */
static void append_cut(struct buf *b, const char *s)
{
	size_t len = strlen(s);
	size_t cut = utf8_prefix(s, len, TITLE_CONTEXT_CHARS);
	buf_append(b, s, cut);
	if (cut < len)
		buf_append_str(b, "\xE2\x80\xA6");
}

void title_after_first_turn(struct request *req, struct response *res, struct conversation *conv,
			    const char *model, const char *prompt, const char *answer, int stream)
{
	const struct config *cfg = req->cfg;
	if (!cfg->titles || !cfg->api_key)
		return;
	struct buf ask = BUF_INIT;
	buf_append_str(&ask, "Prompt:\n");
	append_cut(&ask, prompt);
	buf_append_str(&ask, "\n\nAnswer:\n");
	append_cut(&ask, answer);
	struct provider_message msgs[] = {{"system", TITLE_INSTRUCTION}, {"user", buf_str(&ask)}};
	struct provider_request preq = {
		.url = cfg->api_url,
		.api_key = cfg->api_key,
		.model = model,
		.messages = msgs,
		.n_messages = 2,
		.idle_timeout_s = TITLE_TIMEOUT_SECONDS,
		.total_timeout_s = TITLE_TIMEOUT_SECONDS,
		.max_answer_bytes = 4096,
	};
	struct provider_result pres;
	char *title = NULL;
	if (provider_complete(&preq, &pres) != 0)
		log_warn("title for conversation %lld: provider %s; the prompt's title stays", conv->id,
			 provider_status_name(pres.status));
	else if (!(title = title_clean(pres.content)))
		log_warn("title for conversation %lld: an empty reply; the prompt's title stays", conv->id);
	provider_result_free(&pres);
	buf_free(&ask);
	if (!title)
		return;
	int rc = store_conv_rename(req->store, req->user_id, conv->id, title, req->now);
	if (rc != STORE_OK) {
		log_warn("title for conversation %lld could not be stored (%d); the prompt's title stays", conv->id, rc);
		free(title);
		return;
	}
	free(conv->title);
	conv->title = title;
	conv->updated_at = req->now;
	if (stream) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "conversation", conversation_json(conv));
		if (response_stream_event(res, "title", o) < 0)
			log_info("title for conversation %lld stored; the client left before it", conv->id);
	}
}
