/* test_escape.c: unit tests for escape.c, hostile input first. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "escape.h"

typedef void (*escaper)(struct buf *, const char *, size_t);

/* Runs an escaper on an exact-size heap copy; returns the output (caller frees). */
static char *run(escaper fn, const char *s, size_t len, size_t *out_len)
{
	char *in = check_exact(s, len);
	struct buf b = BUF_INIT;
	fn(&b, in, len);
	free(in);
	if (out_len)
		*out_len = b.len;
	return buf_detach(&b);
}

#define CHECK_ESC(fn, lit, want, name) do { \
	char *got_ = run((fn), (lit), sizeof(lit) - 1, NULL); \
	CHECK_STR(got_, (want), (name)); \
	free(got_); \
} while (0)

/* unescape_url() on an exact-size copy; returns 0/-1 and the decoded bytes. */
static int unescape(const char *s, size_t len, int plus, char **out, size_t *out_len)
{
	char *in = check_exact(s, len);
	struct buf b = BUF_INIT;
	int rc = unescape_url(&b, in, len, plus);
	free(in);
	*out_len = b.len;
	*out = buf_detach(&b);
	return rc;
}

static int unescape_fails(const char *s, int plus)
{
	char *out;
	size_t n;
	int rc = unescape(s, strlen(s), plus, &out, &n);
	free(out);
	return rc == -1;
}

#define CHECK_UNESC(lit, plus, want, name) do { \
	char *got_; \
	size_t n_; \
	int rc_ = unescape((lit), sizeof(lit) - 1, (plus), &got_, &n_); \
	CHECK(rc_ == 0, name " (accepted)"); \
	CHECK_MEM(got_, n_, (want), sizeof(want) - 1, name); \
	free(got_); \
} while (0)

static void test_html(void)
{
	CHECK_ESC(escape_html, "<script>alert(\"x\")</script>",
		  "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;", "html: script tag");
	CHECK_ESC(escape_html, "' onmouseover='x", "&#39; onmouseover=&#39;x", "html: single-quoted attribute breakout");
	CHECK_ESC(escape_html, "\" autofocus onfocus=\"x", "&quot; autofocus onfocus=&quot;x",
		  "html: double-quoted attribute breakout");
	CHECK_ESC(escape_html, "&amp;&lt;", "&amp;amp;&amp;lt;", "html: entities are escaped again, not kept");
	CHECK_ESC(escape_html, "", "", "html: empty");
	CHECK_ESC(escape_html_paragraph, "a <b> & 'c'\n", "<p>a &lt;b&gt; &amp; &#39;c&#39;\n</p>",
		  "html paragraph: the text escaped inside one <p>");
	CHECK_ESC(escape_html_paragraph, "</p><script>", "<p>&lt;/p&gt;&lt;script&gt;</p>",
		  "html paragraph: the text cannot close the paragraph");
	CHECK_ESC(escape_html_paragraph, "", "<p></p>", "html paragraph: empty text is an empty paragraph");
	CHECK_ESC(escape_html, "caf\xC3\xA9 \xE2\x82\xAC", "caf\xC3\xA9 \xE2\x82\xAC", "html: UTF-8 passes unchanged");

	size_t n;
	char *got = run(escape_html, "a\0<", 3, &n);
	CHECK_MEM(got, n, "a\0&lt;", 6, "html: NUL does not end the input early");
	free(got);

	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	got = run(escape_html, all, sizeof all, &n);
	CHECK(memchr(got, '<', n) == NULL && memchr(got, '>', n) == NULL && memchr(got, '"', n) == NULL &&
		      memchr(got, '\'', n) == NULL,
	      "html: no byte value leaves < > \" ' in the output");
	free(got);
}

static void test_url(void)
{
	/* Every byte, percent-encoded, decodes back: the decoder's round trip. */
	char all[256], enc[256 * 3 + 1];
	for (int i = 0; i < 256; i++) {
		all[i] = (char)i;
		snprintf(enc + i * 3, 4, "%%%02X", i);
	}
	char *dec;
	size_t dlen;
	int rc = unescape(enc, sizeof enc - 1, 1, &dec, &dlen);
	CHECK(rc == 0, "url: all 256 %XX decode");
	CHECK_MEM(dec, dlen, all, sizeof all, "url: round trip of all 256 bytes");
	free(dec);
}

static void test_header(void)
{
	CHECK_ESC(escape_header, "x\r\nSet-Cookie: evil=1", "xSet-Cookie: evil=1", "header: CRLF dropped");
	CHECK_ESC(escape_header, "a\rb\nc", "abc", "header: lone CR and lone LF dropped");
	CHECK_ESC(escape_header, "a\x7F" "b\x01" "c\x1F", "abc", "header: DEL and C0 controls dropped");
	CHECK_ESC(escape_header, "caf\xC3\xA9", "caf\xC3\xA9", "header: UTF-8 kept");
	CHECK_ESC(escape_header, "", "", "header: empty");
	size_t n;
	char *got = run(escape_header, "a\0\r\nb", 5, &n);
	CHECK_MEM(got, n, "ab", 2, "header: NUL dropped, rest kept");
	free(got);

	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	got = run(escape_header, all, sizeof all, &n);
	int clean = 1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)got[i] < 0x20 || (unsigned char)got[i] == 0x7F)
			clean = 0;
	CHECK(clean && n == 256 - 33, "header: every control byte is gone, every other byte kept");
	free(got);
}

static void test_log(void)
{
	CHECK_ESC(escape_log, "line\nforged: entry", "line\\x0Aforged: entry", "log: newline cannot start a line");
	CHECK_ESC(escape_log, "a\rb\tc", "a\\x0Db\\x09c", "log: CR and tab escaped");
	CHECK_ESC(escape_log, "say \"hi\" \\o/", "say \\x22hi\\x22 \\x5Co/", "log: quotes and backslash escaped");
	CHECK_ESC(escape_log, "caf\xC3\xA9", "caf\\xC3\\xA9", "log: non-ASCII escaped");
	CHECK_ESC(escape_log, "\x1B[31mred", "\\x1B[31mred", "log: terminal escape neutralised");
	CHECK_ESC(escape_log, "\x7F", "\\x7F", "log: DEL escaped");
	size_t n;
	char *got = run(escape_log, "a\0b", 3, &n);
	CHECK_STR(got, "a\\x00b", "log: NUL escaped, not the end");
	free(got);

	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	got = run(escape_log, all, sizeof all, &n);
	int ascii = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)got[i];
		if (c < 0x20 || c >= 0x7F || c == '"')
			ascii = 0;
		if (c == '\\' && (i + 1 >= n || got[i + 1] != 'x'))
			ascii = 0;
	}
	CHECK(ascii && strlen(got) == n, "log: output is one line of printable ASCII, no quote, \\ only as \\x");
	free(got);
}

static void test_unescape(void)
{
	CHECK(unescape_fails("%", 1), "unescape: lone %");
	CHECK(unescape_fails("%4", 1), "unescape: %4 (one digit)");
	CHECK(unescape_fails("%2", 1), "unescape: %2 at the end");
	CHECK(unescape_fails("a%", 1), "unescape: % at the end");
	CHECK(unescape_fails("a%4", 1), "unescape: %4 at the end");
	CHECK(unescape_fails("%zz", 1), "unescape: %zz");
	CHECK(unescape_fails("%4g", 1), "unescape: %4g");
	CHECK(unescape_fails("%g4", 1), "unescape: %g4");
	CHECK(unescape_fails("% 4", 1), "unescape: % 4");
	CHECK(unescape_fails("%-1", 1), "unescape: %-1");
	CHECK(unescape_fails("%+1", 1), "unescape: %+1");
	CHECK(unescape_fails("%%41", 1), "unescape: %%41");
	CHECK(unescape_fails("%\xC3\xA9", 1), "unescape: % followed by UTF-8");

	char *out;
	size_t n;
	CHECK(unescape("%41", 2, 1, &out, &n) == -1, "unescape: a %XX cut by len is malformed");
	free(out);

	CHECK_UNESC("%41%42c", 1, "ABc", "unescape: uppercase %XX");
	CHECK_UNESC("%c3%a9", 1, "\xC3\xA9", "unescape: lowercase hex");
	CHECK_UNESC("%C3%A9", 1, "\xC3\xA9", "unescape: uppercase hex");
	CHECK_UNESC("%252e", 1, "%2e", "unescape: double encoding decodes once only");
	CHECK_UNESC("%25", 1, "%", "unescape: %25 is %");
	CHECK_UNESC("a+b", 1, "a b", "unescape: + is space in forms");
	CHECK_UNESC("a+b", 0, "a+b", "unescape: + kept outside forms");
	CHECK_UNESC("%2B", 1, "+", "unescape: %2B is a plus, not a space");
	CHECK_UNESC("%20", 0, " ", "unescape: %20 is a space");
	CHECK_UNESC("%00", 1, "\0", "unescape: %00 decodes to one NUL byte (callers reject it)");
	CHECK_UNESC("%FF%C0%AF", 1, "\xFF\xC0\xAF", "unescape: bytes are decoded; UTF-8 is checked by callers");
	CHECK_UNESC("", 1, "", "unescape: empty");
	CHECK_UNESC("plain", 1, "plain", "unescape: plain text unchanged");
}

int main(void)
{
	test_html();
	test_url();
	test_header();
	test_log();
	test_unescape();
	return check_done();
}
