/* search.h: turning what a user types into a safe full-text query, and a
 * snippet with match markers into safe HTML.
 *
 * Contract: search_fts_query() accepts words and "quoted phrases"; a bare
 * word or a closing quote followed by '*' is a prefix search. Every term is
 * emitted as an FTS5 string ("..." with inner quotes doubled), so operators
 * (AND, OR, NOT, NEAR), column filters, parentheses, '^' and stray '*' are
 * searched as plain words, never interpreted. Terms are joined by a space:
 * every term must match. The result is a fresh string, or NULL with a
 * user-facing reason in *err (nothing to search for, too long, too many
 * terms). search_snippet_html() escapes text for HTML and turns the markers
 * SEARCH_MARK_OPEN / SEARCH_MARK_CLOSE into <mark> and </mark>, always
 * balanced, whatever bytes the text holds. */
#ifndef AIF_SEARCH_H
#define AIF_SEARCH_H
#include <stddef.h>

#include "buf.h"

#define SEARCH_QUERY_MAX 500  /* bytes of q */
#define SEARCH_TERMS_MAX 16
#define SEARCH_MARK_OPEN "\x01"
#define SEARCH_MARK_CLOSE "\x02"
#define SEARCH_ELLIPSIS "\xE2\x80\xA6" /* U+2026, where a snippet cuts its text */

char *search_fts_query(const char *q, size_t len, const char **err);
void search_snippet_html(struct buf *out, const char *text, size_t len);

#endif
