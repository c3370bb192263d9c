/* escape.h: one escaper per output context.
 *
 * HTML text and attribute values, HTTP header values and log lines each
 * have their own function (no response builds a URL from data, so there is
 * no URL escaper until one does); JSON is written only through json-c.
 * All append to a struct buf the caller owns. */
#ifndef AIF_ESCAPE_H
#define AIF_ESCAPE_H
#include <stddef.h>

#include "buf.h"

/* Escapes & < > " ' so the result is safe in HTML text and in quoted attributes. */
void escape_html(struct buf *out, const char *s, size_t len);
/* Plain text as one HTML paragraph: "<p>", the text through escape_html(),
 * "</p>" (how a user's prompt is shown; markup is built only here and in
 * markdown.c, which tools/check-output.sh enforces). */
void escape_html_paragraph(struct buf *out, const char *s, size_t len);
/* Copies a header value, dropping CR, LF and other control characters
 * (response splitting is impossible through this function). */
/* Text as HTML whose matches are marked: the bytes between the one-byte
 * markers open and close (neither of which is written) go inside
 * <mark>...</mark>, everything else through escape_html(); an unclosed
 * mark is closed at the end, a stray close is dropped. */
void escape_html_marked(struct buf *out, const char *s, size_t len, char open, char close);
void escape_header(struct buf *out, const char *s, size_t len);
/* Copies text for a log line: control characters, backslash, quotes and
 * non-ASCII bytes become \xHH, so a line stays one line and stays ASCII. */
void escape_log(struct buf *out, const char *s, size_t len);

/* Decodes %XX and (when plus_is_space) '+' in place-independent fashion into
 * out; returns 0 on success, -1 on a malformed escape ("%4", "%zz"). */
int unescape_url(struct buf *out, const char *s, size_t len, int plus_is_space);

#endif
