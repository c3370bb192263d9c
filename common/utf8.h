/* utf8.h: strict UTF-8 validation and code-point counting.
 *
 * Contract: "valid" means RFC 3629 UTF-8: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, and no NUL byte. */
#ifndef AIF_UTF8_H
#define AIF_UTF8_H
#include <stddef.h>
#include <stdint.h>

/* Returns 1 when s[0..len) is valid UTF-8 without NUL bytes, else 0. */
int utf8_valid(const char *s, size_t len);
/* Number of code points in a valid UTF-8 string. */
size_t utf8_count(const char *s, size_t len);
/* Byte length of the longest prefix of s holding at most max code points. */
size_t utf8_prefix(const char *s, size_t len, size_t max);
/* Encodes cp into out (4 bytes room); returns bytes written, 0 if invalid. */
size_t utf8_encode(uint32_t cp, char out[4]);

/* A streaming repairer for text that arrives in pieces (an AI answer): it
 * keeps an unfinished sequence between pieces, turns every invalid byte or
 * cut sequence into U+FFFD (the rules above) and drops NUL. */
struct utf8_repair {
	unsigned char seq[4];
	unsigned len, need;
};
#define UTF8_REPAIR_INIT {{0}, 0, 0}
/* Feeds byte b; writes at most 7 bytes to out and returns how many. */
size_t utf8_repair_feed(struct utf8_repair *u, unsigned char b, char *out);
/* Ends the input: an unfinished sequence becomes U+FFFD (3 bytes to out). */
size_t utf8_repair_flush(struct utf8_repair *u, char *out);

#endif
