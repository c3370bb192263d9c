/* search.h: turning what a user types into search terms, and a snippet with
 * match markers into safe HTML.
 *
 * Contract: search_parse() accepts words and "quoted phrases"; a bare word
 * or a closing quote followed by '*' is a prefix search. Nothing else is an
 * operator: AND, OR, NOT, NEAR, column filters, parentheses, '^' and stray
 * '*' are words like any other. Every term must match. The terms are plain
 * text (control characters turned into spaces), never a query language:
 * each storage backend builds its own query from them (store.h,
 * store_search()), quoting every term. On a refusal search_parse() returns
 * -1 with a user-facing reason in *err (nothing to search for, too long, too
 * many terms) and *out holds nothing to free. search_snippet_html() escapes
 * text for HTML and turns the markers SEARCH_MARK_OPEN / SEARCH_MARK_CLOSE
 * into <mark> and </mark>, always balanced, whatever bytes the text holds. */
#ifndef AIF_SEARCH_H
#define AIF_SEARCH_H
#include <stddef.h>

#include "buf.h"

#define SEARCH_QUERY_MAX 500  /* bytes of q */
#define SEARCH_TERMS_MAX 16
#define SEARCH_MARK_OPEN "\x01"
#define SEARCH_MARK_CLOSE "\x02"
#define SEARCH_ELLIPSIS "\xE2\x80\xA6" /* U+2026, where a snippet cuts its text */

struct search_term {
	char *text;  /* a word, or a phrase of several; holds a letter or digit, no control character */
	int prefix;  /* its last word is a prefix */
};

struct search_query {
	struct search_term terms[SEARCH_TERMS_MAX];
	size_t n;    /* 1..SEARCH_TERMS_MAX after a successful parse */
};

int search_parse(const char *q, size_t len, struct search_query *out, const char **err);
void search_query_free(struct search_query *q);
void search_snippet_html(struct buf *out, const char *text, size_t len);

#endif
