/* account.c: username and password rules (see account.h). */
#include "account.h"

#include <locale.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "alloc.h"
#include "buf.h"
#include "utf8.h"

/* Decodes one code point of valid UTF-8 at s; returns its length. */
static size_t decode(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] < 0xE0) {
		*cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
		return 2;
	}
	if (s[0] < 0xF0) {
		*cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
		return 3;
	}
	*cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 | (uint32_t)(s[2] & 0x3F) << 6 |
	      (s[3] & 0x3F);
	return 4;
}

static int is_space(uint32_t cp)
{
	return cp == ' ' || cp == '\t' || cp == 0xA0 || cp == 0x3000 || (cp >= 0x2000 && cp <= 0x200B);
}

static int is_unprintable(uint32_t cp)
{
	/* Controls, separators, every Bidi_Control, invisible format characters
	 * (ZWJ and ZWNJ stay: emoji and some scripts need them), private use,
	 * noncharacters. */
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xAD || cp == 0x61C || cp == 0x180E ||
	       cp == 0x200B || cp == 0x200E || cp == 0x200F || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF ||
	       (cp >= 0xFFF9 && cp <= 0xFFFB) || (cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xE0000 && cp <= 0xE007F) ||
	       cp >= 0xF0000 || (cp & 0xFFFE) == 0xFFFE;
}

const char *account_check_username(const char *s, size_t len, char **display, char **key)
{
	*display = *key = NULL;
	if (!utf8_valid(s, len))
		return "Username must be valid text.";
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint32_t cp;
	while (p < end && (decode(p, &cp), is_space(cp)))
		p += decode(p, &cp);
	const unsigned char *last = p, *q = p;
	while (q < end) {
		q += decode(q, &cp);
		if (!is_space(cp))
			last = q;
	}
	/* Checked after trimming, so both ends are trimmed alike. */
	for (q = p; q < last;) {
		q += decode(q, &cp);
		if (is_unprintable(cp))
			return "Username may contain only printable characters.";
	}
	size_t tlen = (size_t)(last - p);
	size_t chars = utf8_count((const char *)p, tlen);
	if (chars < 3 || chars > 80)
		return "Username must be 3 to 80 characters long.";
	/* towlower() needs a UTF-8 locale; C.UTF-8 is always there on Debian. */
	locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	struct buf folded = BUF_INIT;
	for (q = p; q < last;) {
		size_t n = decode(q, &cp);
		uint32_t low = loc ? (uint32_t)towlower_l((wint_t)cp, loc) : (cp < 0x80 && cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
		char enc[4];
		size_t m = utf8_encode(low, enc);
		if (m == 0)
			m = utf8_encode(cp, enc);
		buf_append(&folded, enc, m);
		q += n;
	}
	if (loc)
		freelocale(loc);
	*display = xstrndup((const char *)p, tlen);
	*key = buf_detach(&folded);
	return NULL;
}

const char *account_check_password(const char *s, size_t len)
{
	if (!utf8_valid(s, len))
		return "Password must be valid text.";
	size_t chars = utf8_count(s, len);
	if (chars < 8)
		return "Password must be at least 8 characters long.";
	if (chars > 128)
		return "Password must be at most 128 characters long.";
	return NULL;
}
