/* search.c: the search terms parser and the snippet escaper (see search.h). */
#include "search.h"

#include <stdlib.h>
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

/* One term's text, control characters turned into spaces. */
static char *term_text(const char *s, size_t len)
{
	char *t = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		t[i] = c < 0x20 || c == 0x7F ? ' ' : (char)c;
	}
	t[len] = '\0';
	return t;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void search_query_free(struct search_query *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->terms[i].text);
	q->n = 0;
}

int search_parse(const char *q, size_t len, struct search_query *out, const char **err)
{
	out->n = 0;
	if (len > SEARCH_QUERY_MAX) {
		*err = "The search is too long (the limit is 500 characters); use fewer words.";
		return -1;
	}
	if (!utf8_valid(q, len)) {
		*err = "The search is not valid UTF-8.";
		return -1;
	}
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
		if (out->n == SEARCH_TERMS_MAX) {
			search_query_free(out);
			*err = "The search has too many words (the limit is 16); leave some out.";
			return -1;
		}
		out->terms[out->n].text = term_text(start, tlen);
		out->terms[out->n].prefix = prefix;
		out->n++;
	}
	if (out->n == 0) {
		*err = "Type a word or two to search for.";
		return -1;
	}
	return 0;
}

void search_snippet_html(struct buf *out, const char *text, size_t len)
{
	escape_html_marked(out, text, len, SEARCH_MARK_OPEN[0], SEARCH_MARK_CLOSE[0]);
}
