/* utf8.c: strict UTF-8 validation and counting (see utf8.h). */
#include "utf8.h"

#include <string.h>

/* Returns the length of the sequence starting at s (1..4) or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	size_t n;
	uint32_t cp;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

int utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

size_t utf8_count(const char *s, size_t len)
{
	size_t count = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			count++;
	return count;
}

size_t utf8_prefix(const char *s, size_t len, size_t max)
{
	size_t count = 0, i = 0;
	for (; i < len; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (count == max)
				break;
			count++;
		}
	}
	return i;
}

size_t utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return 0;
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	if (cp <= 0x10FFFF) {
		out[0] = (char)(0xF0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[3] = (char)(0x80 | (cp & 0x3F));
		return 4;
	}
	return 0;
}

/* ---- repair, a piece at a time (utf8.h) ---- */

static const char utf8_replacement[] = "\xEF\xBF\xBD";

size_t utf8_repair_feed(struct utf8_repair *u, unsigned char b, char *out)
{
	size_t n = 0;

	if (u->len > 0) {
		unsigned char lo = 0x80, hi = 0xBF;

		if (u->len == 1) {
			switch (u->seq[0]) {
			case 0xE0: lo = 0xA0; break;
			case 0xED: hi = 0x9F; break;
			case 0xF0: lo = 0x90; break;
			case 0xF4: hi = 0x8F; break;
			default: break;
			}
		}
		if (b >= lo && b <= hi) {
			u->seq[u->len++] = b;
			if (u->len == u->need) {
				memcpy(out, u->seq, u->len);
				n = u->len;
				u->len = 0;
			}
			return n;
		}
		memcpy(out, utf8_replacement, 3);
		n = 3;
		u->len = 0;
	}
	if (b == 0) {
		return n;
	} else if (b < 0x80) {
		out[n++] = (char)b;
	} else if (b >= 0xC2 && b <= 0xF4) {
		u->seq[0] = b;
		u->len = 1;
		u->need = b <= 0xDF ? 2 : b <= 0xEF ? 3 : 4;
	} else {
		memcpy(out + n, utf8_replacement, 3);
		n += 3;
	}
	return n;
}

size_t utf8_repair_flush(struct utf8_repair *u, char *out)
{
	if (u->len == 0)
		return 0;
	u->len = 0;
	memcpy(out, utf8_replacement, 3);
	return 3;
}
