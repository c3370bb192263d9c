/* search.c: the full-text query sanitiser and the snippet escaper (see search.h). */
#include "search.h"

#include <string.h>

#include "alloc.h"
#include "escape.h"
#include "utf8.h"

/* A term must hold something the tokenizer indexes: a letter or digit
 * (any non-ASCII byte may start one). A term of only punctuation would be
 * an empty phrase, which matches nothing and confuses the reader. */
static int has_word_char(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80)
			return 1;
	}
	return 0;
}

/* Appends one term as an FTS5 string, '*' after it when prefix. */
static void append_term(struct buf *out, const char *s, size_t len, int prefix)
{
	if (out->len)
		buf_append_char(out, ' ');
	buf_append_char(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"')
			buf_append_str(out, "\"\"");
		else if (c < 0x20 || c == 0x7F)
			buf_append_char(out, ' ');
		else
			buf_append_char(out, (char)c);
	}
	buf_append_char(out, '"');
	if (prefix)
		buf_append_char(out, '*');
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

char *search_fts_query(const char *q, size_t len, const char **err)
{
	if (len > SEARCH_QUERY_MAX) {
		*err = "The search is too long (the limit is 500 characters); use fewer words.";
		return NULL;
	}
	if (!utf8_valid(q, len)) {
		*err = "The search is not valid UTF-8.";
		return NULL;
	}
	struct buf out = BUF_INIT;
	int terms = 0;
	size_t i = 0;
	while (i < len) {
		if (is_space((unsigned char)q[i])) {
			i++;
			continue;
		}
		const char *start;
		size_t tlen;
		int prefix = 0, closed_phrase = 0;
		if (q[i] == '"') {
			/* A phrase runs to the next quote, or to the end when unclosed. */
			start = q + i + 1;
			const char *close = memchr(start, '"', len - i - 1);
			tlen = close ? (size_t)(close - start) : len - i - 1;
			i += 1 + tlen + (close ? 1 : 0);
			closed_phrase = close != NULL;
		} else {
			start = q + i;
			while (i < len && !is_space((unsigned char)q[i]) && q[i] != '"')
				i++;
			tlen = (size_t)(q + i - start);
			/* Trailing stars make a prefix word; any other star is punctuation. */
			while (tlen > 0 && start[tlen - 1] == '*') {
				tlen--;
				prefix = 1;
			}
		}
		if (closed_phrase && i < len && q[i] == '*') {
			prefix = 1;
			while (i < len && q[i] == '*')
				i++;
		}
		if (!has_word_char(start, tlen))
			continue;
		if (++terms > SEARCH_TERMS_MAX) {
			buf_free(&out);
			*err = "The search has too many words (the limit is 16); leave some out.";
			return NULL;
		}
		append_term(&out, start, tlen, prefix);
	}
	if (terms == 0) {
		buf_free(&out);
		*err = "Type a word or two to search for.";
		return NULL;
	}
	return buf_detach(&out);
}

void search_snippet_html(struct buf *out, const char *text, size_t len)
{
	escape_html_marked(out, text, len, SEARCH_MARK_OPEN[0], SEARCH_MARK_CLOSE[0]);
}
