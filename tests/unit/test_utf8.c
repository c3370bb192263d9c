/* test_utf8.c: unit tests for utf8.c, hostile input first. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "buf.h"
#include "utf8.h"

/* utf8_valid() on an exact-size heap copy, so over-reads show in valgrind. */
static int valid(const char *s, size_t len)
{
	char *p = check_exact(s, len);
	int v = utf8_valid(p, len);
	free(p);
	return v;
}

#define VALID(lit) valid((lit), sizeof(lit) - 1)

/* The well-formed byte sequences of RFC 3629 section 4 (Table 3-7 of
 * Unicode), written as ranges: an independent reference for utf8_valid(). */
static int reference_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned char lo = 0x80, hi = 0xBF;
		if (c >= 0x01 && c <= 0x7F)
			n = 1;
		else if (c >= 0xC2 && c <= 0xDF)
			n = 2;
		else if (c == 0xE0)
			n = 3, lo = 0xA0;
		else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
			n = 3;
		else if (c == 0xED)
			n = 3, hi = 0x9F;
		else if (c == 0xF0)
			n = 4, lo = 0x90;
		else if (c >= 0xF1 && c <= 0xF3)
			n = 4;
		else if (c == 0xF4)
			n = 4, hi = 0x8F;
		else
			return 0;
		if (len - i < n)
			return 0;
		for (size_t k = 1; k < n; k++) {
			unsigned char b = s[i + k];
			if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
				return 0;
		}
		i += n;
	}
	return 1;
}

static void test_invalid(void)
{
	/* overlong forms */
	CHECK(!VALID("\xC0\xAF"), "overlong '/' in two bytes");
	CHECK(!VALID("\xC1\xBF"), "overlong U+007F in two bytes");
	CHECK(!VALID("\xC0\x80"), "overlong NUL (modified UTF-8)");
	CHECK(!VALID("\xE0\x80\xAF"), "overlong '/' in three bytes");
	CHECK(!VALID("\xE0\x9F\xBF"), "overlong U+07FF in three bytes");
	CHECK(!VALID("\xF0\x80\x80\xAF"), "overlong '/' in four bytes");
	CHECK(!VALID("\xF0\x8F\xBF\xBF"), "overlong U+FFFF in four bytes");
	/* surrogates */
	CHECK(!VALID("\xED\xA0\x80"), "U+D800 (high surrogate) encoded");
	CHECK(!VALID("\xED\xBF\xBF"), "U+DFFF (low surrogate) encoded");
	CHECK(!VALID("\xED\xA0\xBD\xED\xB8\x80"), "CESU-8 surrogate pair");
	/* beyond U+10FFFF and bytes never used */
	CHECK(!VALID("\xF4\x90\x80\x80"), "U+110000 rejected");
	CHECK(!VALID("\xF5\x80\x80\x80"), "lead byte F5 rejected");
	CHECK(!VALID("\xF7\xBF\xBF\xBF"), "U+1FFFFF rejected");
	CHECK(!VALID("\xF8\x88\x80\x80\x80"), "five-byte form rejected");
	CHECK(!VALID("\xFC\x84\x80\x80\x80\x80"), "six-byte form rejected");
	CHECK(!VALID("\xFE"), "byte FE rejected");
	CHECK(!VALID("\xFF"), "byte FF rejected");
	/* lone continuation bytes */
	CHECK(!VALID("\x80"), "lone continuation 80");
	CHECK(!VALID("\xBF"), "lone continuation BF");
	CHECK(!VALID("a\x80" "b"), "continuation byte between ASCII");
	CHECK(!VALID("\xC3\xA9\xA9"), "extra continuation after a full sequence");
	/* truncated sequences, including at the very end of the buffer */
	CHECK(!VALID("\xC3"), "truncated two-byte sequence");
	CHECK(!VALID("\xE2\x82"), "truncated three-byte sequence");
	CHECK(!VALID("\xF0\x9D\x84"), "truncated four-byte sequence");
	CHECK(!VALID("abc\xE2"), "truncated sequence at the end");
	CHECK(!VALID("\xC3" "A"), "two-byte lead followed by ASCII");
	CHECK(!VALID("\xE2\x41\xAC"), "three-byte sequence broken by ASCII");
	CHECK(!valid("\xC3\xA9", 1), "len cuts a sequence: only the first byte counts");
	CHECK(!valid("\xF0\x9F\x98\x80", 3), "len cuts a four-byte sequence");
	/* NUL */
	CHECK(!valid("a\0b", 3), "raw NUL in the middle rejected");
	CHECK(!valid("\0", 1), "lone NUL rejected");
	CHECK(!valid("abc\0", 4), "trailing NUL inside len rejected");
}

static void test_valid(void)
{
	CHECK(valid("", 0), "empty string is valid");
	CHECK(VALID("hello"), "ASCII");
	CHECK(VALID("\x7F"), "DEL is valid UTF-8");
	CHECK(VALID("\xC2\x80"), "U+0080, smallest two-byte");
	CHECK(VALID("\xC3\xA9"), "U+00E9");
	CHECK(VALID("\xDF\xBF"), "U+07FF, largest two-byte");
	CHECK(VALID("\xE0\xA0\x80"), "U+0800, smallest three-byte");
	CHECK(VALID("\xE2\x82\xAC"), "U+20AC euro sign");
	CHECK(VALID("\xED\x9F\xBF"), "U+D7FF, just below the surrogates");
	CHECK(VALID("\xEE\x80\x80"), "U+E000, just above the surrogates");
	CHECK(VALID("\xEF\xBF\xBF"), "U+FFFF");
	CHECK(VALID("\xF0\x90\x80\x80"), "U+10000, smallest four-byte");
	CHECK(VALID("\xF0\x9D\x84\x9E"), "U+1D11E");
	CHECK(VALID("\xF4\x8F\xBF\xBF"), "U+10FFFF, the last code point");
	CHECK(valid("abc\0def", 3), "len stops before a NUL");
}

static void test_exhaustive(void)
{
	unsigned char s[4];
	int mismatch = 0;
	for (unsigned a = 0; a < 256; a++) {
		s[0] = (unsigned char)a;
		if (utf8_valid((const char *)s, 1) != reference_valid(s, 1))
			mismatch++;
		for (unsigned b = 0; b < 256; b++) {
			s[1] = (unsigned char)b;
			if (utf8_valid((const char *)s, 2) != reference_valid(s, 2))
				mismatch++;
		}
	}
	CHECK(mismatch == 0, "every one- and two-byte input agrees with RFC 3629");

	mismatch = 0;
	for (unsigned a = 0xE0; a <= 0xEF; a++)
		for (unsigned b = 0; b < 256; b++)
			for (unsigned c = 0; c < 256; c++) {
				s[0] = (unsigned char)a, s[1] = (unsigned char)b, s[2] = (unsigned char)c;
				if (utf8_valid((const char *)s, 3) != reference_valid(s, 3))
					mismatch++;
			}
	CHECK(mismatch == 0, "every three-byte input with lead E0..EF agrees with RFC 3629");

	static const unsigned char tails[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0xBF, 0xC0, 0xFF};
	mismatch = 0;
	for (unsigned a = 0xF0; a <= 0xFF; a++)
		for (unsigned b = 0; b < 256; b++)
			for (size_t c = 0; c < sizeof tails; c++)
				for (size_t d = 0; d < sizeof tails; d++) {
					s[0] = (unsigned char)a, s[1] = (unsigned char)b;
					s[2] = tails[c], s[3] = tails[d];
					if (utf8_valid((const char *)s, 4) != reference_valid(s, 4))
						mismatch++;
				}
	CHECK(mismatch == 0, "four-byte inputs with lead F0..FF agree with RFC 3629");
}

static void test_encode(void)
{
	char out[4];
	CHECK(utf8_encode(0x41, out) == 1 && out[0] == 'A', "encode U+0041");
	CHECK(utf8_encode(0x7FF, out) == 2 && memcmp(out, "\xDF\xBF", 2) == 0, "encode U+07FF");
	CHECK(utf8_encode(0x800, out) == 3 && memcmp(out, "\xE0\xA0\x80", 3) == 0, "encode U+0800");
	CHECK(utf8_encode(0xFFFF, out) == 3 && memcmp(out, "\xEF\xBF\xBF", 3) == 0, "encode U+FFFF");
	CHECK(utf8_encode(0x10000, out) == 4 && memcmp(out, "\xF0\x90\x80\x80", 4) == 0, "encode U+10000");
	CHECK(utf8_encode(0x10FFFF, out) == 4 && memcmp(out, "\xF4\x8F\xBF\xBF", 4) == 0, "encode U+10FFFF");
	CHECK(utf8_encode(0xD800, out) == 0, "encode refuses U+D800");
	CHECK(utf8_encode(0xDBFF, out) == 0, "encode refuses U+DBFF");
	CHECK(utf8_encode(0xDC00, out) == 0, "encode refuses U+DC00");
	CHECK(utf8_encode(0xDFFF, out) == 0, "encode refuses U+DFFF");
	CHECK(utf8_encode(0x110000, out) == 0, "encode refuses U+110000");
	CHECK(utf8_encode(0xFFFFFFFFu, out) == 0, "encode refuses 0xFFFFFFFF");

	/* Every scalar value round-trips through utf8_valid(). */
	int bad = 0;
	for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
		size_t n = utf8_encode(cp, out);
		int surrogate = cp >= 0xD800 && cp <= 0xDFFF;
		if (surrogate ? n != 0 : (n == 0 || !utf8_valid(out, n) || utf8_count(out, n) != 1))
			bad++;
	}
	CHECK(bad == 0, "every code point encodes to one valid code point, surrogates to nothing");
}

static void test_count_prefix(void)
{
	CHECK(utf8_count("", 0) == 0, "count of empty");
	CHECK(utf8_count("abc", 3) == 3, "count of ASCII");
	CHECK(utf8_count("h\xC3\xA9llo", 6) == 5, "count of two-byte characters");
	CHECK(utf8_count("\xF0\x9D\x84\x9Ex", 5) == 2, "count of a four-byte character");
	CHECK(utf8_count("\xE2\x82\xAC\xE2\x82\xAC", 6) == 2, "count of three-byte characters");

	const char *s = "h\xC3\xA9\xF0\x9D\x84\x9Eo"; /* h é 𝄞 o: 8 bytes, 4 code points */
	CHECK(utf8_prefix(s, 8, 0) == 0, "prefix of 0 code points");
	CHECK(utf8_prefix(s, 8, 1) == 1, "prefix of 1 code point");
	CHECK(utf8_prefix(s, 8, 2) == 3, "prefix ends after the two-byte character");
	CHECK(utf8_prefix(s, 8, 3) == 7, "prefix ends after the four-byte character");
	CHECK(utf8_prefix(s, 8, 4) == 8, "prefix of exactly all code points");
	CHECK(utf8_prefix(s, 8, 1000) == 8, "prefix longer than the string");
	CHECK(utf8_prefix("", 0, 5) == 0, "prefix of empty");
	char *p = check_exact(s, 8);
	size_t n = utf8_prefix(p, 8, 100);
	free(p);
	CHECK(n == 8, "prefix stays within len");
}

/* Repairs in, fed a byte at a time as the provider's pieces arrive (so a
 * character split between pieces is covered), and returns the text. */
static const char *repair(const char *in, size_t len)
{
	static char out[256];
	struct utf8_repair u = UTF8_REPAIR_INIT;
	size_t w = 0;
	for (size_t i = 0; i < len && w + 7 < sizeof out - 4; i++)
		w += utf8_repair_feed(&u, (unsigned char)in[i], out + w);
	w += utf8_repair_flush(&u, out + w);
	out[w] = '\0';
	return out;
}

static void test_repair(void)
{
	static const char euro[] = "a\xE2\x82\xAC" "b";
	CHECK(strcmp(repair(euro, 5), euro) == 0, "repair: a character split between pieces is kept whole");
	CHECK(strcmp(repair("a\xE2\x82", 3), "a\xEF\xBF\xBD") == 0, "repair: a cut character at the end is U+FFFD");
	CHECK(strcmp(repair("a\xFF" "b", 3), "a\xEF\xBF\xBD" "b") == 0, "repair: a stray byte is U+FFFD");
	CHECK(strcmp(repair("a\0b", 3), "ab") == 0, "repair: NUL is dropped");
	CHECK(strcmp(repair("\xE0\x80\xAF", 3), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") == 0,
	      "repair: an overlong form is not let through");
	CHECK(strcmp(repair("\xED\xA0\x80", 3), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") == 0,
	      "repair: a surrogate is not let through");
	CHECK(strcmp(repair("\xC3" "A", 2), "\xEF\xBF\xBD" "A") == 0,
	      "repair: a broken sequence keeps the byte that broke it");
	static const char hostile[] = "\xF4\x90\x80\x80\xC0\xAF\xFE\xF0\x9F\x98\x80\xE2";
	const char *r = repair(hostile, sizeof hostile - 1);
	CHECK(utf8_valid(r, strlen(r)), "repair: hostile bytes come out valid");
}

static void test_buf_try(void)
{
	struct buf b = BUF_INIT;
	CHECK(buf_try_append(&b, "abc", 3) == 0 && b.len == 3 && strcmp(buf_str(&b), "abc") == 0,
	      "buf_try_append: appends");
	CHECK(buf_try_append(&b, "x", SIZE_MAX - 2) == -1 && b.len == 3 && strcmp(buf_str(&b), "abc") == 0,
	      "buf_try_append: an impossible size is refused and the buffer stays as it was");
	CHECK(buf_try_reserve(&b, SIZE_MAX / 2) == -1 && b.len == 3, "buf_try_reserve: overflow is refused");
	buf_free(&b);
}

int main(void)
{
	test_repair();
	test_buf_try();
	test_invalid();
	test_valid();
	test_exhaustive();
	test_encode();
	test_count_prefix();
	return check_done();
}
