/* test_htmlmd.c: unit tests for htmlmd.c (markdown2's HTML back to Markdown): hostile input first, then the shapes markdown2 writes. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "htmlmd.h"
#include "markdown.h"
#include "utf8.h"

static char *md(const char *html)
{
	return htmlmd_convert(html, strlen(html));
}

#define CHECK_MD(html, want, name)              \
	do {                                    \
		char *got_ = md(html);          \
		CHECK_STR(got_, want, name);    \
		free(got_);                     \
	} while (0)

/* The Markdown is valid UTF-8 without NUL, and rendering it makes no tag
 * that the input could have smuggled in. */
static int sound(const char *html, size_t len)
{
	char *m = htmlmd_convert(html, len);
	size_t mlen = strlen(m);
	int ok = utf8_valid(m, mlen);
	char *h = markdown_to_html(m, mlen);
	ok = ok && strstr(h, "<script") == NULL && strstr(h, "<img") == NULL && strstr(h, "<iframe") == NULL &&
	     strstr(h, "href=\"javascript") == NULL && strstr(h, "href=\"JAVASCRIPT") == NULL &&
	     strstr(h, "href=\"data:") == NULL && strstr(h, "<style") == NULL;
	free(h);
	free(m);
	return ok;
}

static void test_hostile(void)
{
	static const char *const hostile[] = {
		"<", ">", "<<<>>>", "</", "</>", "<p", "<p class=\"x", "<a href='", "<a href=\"javascript:alert(1)\">x</a>",
		"<a href=\"JAVASCRIPT:alert(1)\">x</a>", "<a href=\" javascript:x\">x</a>", "<a href=data:text/html,x>x</a>",
		"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "<script>alert(1)</script>",
		"<style>p{}</style><p>x</p>", "<!-- <script> -->", "<!--", "<!-- unclosed", "&#0;&#x0;&#xD800;&#99999999;",
		"&#;&#x;&amp&lt", "&", "<pre><code>", "<code>", "</pre></code></li></ul></ol></blockquote>",
		"<li>orphan item</li>", "<ul><li><ul><li><ul><li>", "<iframe src=x></iframe>", "<img src=x onerror=alert(1)>",
		"<img src=\"javascript:alert(1)\" alt=\"a](javascript:alert(1))\">", "<a href=\"http://x/)(\">t</a>",
		"<p>\xFF\xFE\xC0\xAF</p>", "<h7>x</h7>", "<tr><td>", "<blockquote><blockquote><blockquote>",
		"<p>[x](javascript:alert(1))</p>", "<p>&lt;a href=&quot;javascript:x&quot;&gt;y&lt;/a&gt;</p>",
	};
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		char name[120];
		snprintf(name, sizeof name, "hostile HTML %zu converts to sound Markdown", i);
		CHECK(sound(hostile[i], strlen(hostile[i])), name);
	}
	char nul[] = "<p>a\0b</p>";
	CHECK(sound(nul, sizeof nul - 1), "a NUL byte becomes U+FFFD");
	/* Nesting far past the limit, and a long run of stray brackets. */
	struct buf deep = BUF_INIT;
	for (int i = 0; i < 500; i++)
		buf_append_str(&deep, "<ul><li><blockquote><a href=\"http://x\"><em>");
	buf_append_str(&deep, "bottom");
	CHECK(sound(deep.data, deep.len), "500 levels of nesting");
	buf_reset(&deep);
	for (int i = 0; i < 100000; i++)
		buf_append_char(&deep, i % 3 ? '<' : '&');
	CHECK(sound(deep.data, deep.len), "100,000 stray '<' and '&'");
	buf_free(&deep);
	/* Bytes from a fixed pseudo-random sequence, to reach odd states. */
	unsigned state = 12345;
	for (int round = 0; round < 200; round++) {
		char junk[300];
		for (size_t i = 0; i < sizeof junk; i++) {
			state = state * 1103515245u + 12345u;
			static const char alphabet[] = "<>/=\"'&#;abpulicode re\n\txX0123456789!-";
			junk[i] = (state >> 16) % 5 == 0 ? (char)(state >> 8) : alphabet[(state >> 16) % (sizeof alphabet - 1)];
		}
		if (!sound(junk, sizeof junk)) {
			CHECK(0, "random markup converts to sound Markdown");
			return;
		}
	}
	CHECK(1, "200 random markups convert to sound Markdown");
}

static void test_shapes(void)
{
	CHECK_MD("<p>Hello <em>world</em> and <strong>bold</strong></p>\n", "Hello *world* and **bold**", "emphasis");
	CHECK_MD("<p>one</p>\n\n<p>two</p>\n", "one\n\ntwo", "paragraphs");
	CHECK_MD("<p>a<br />\nb</p>", "a\\\nb", "a line break");
	CHECK_MD("<p>5 * 3 = 15 &amp; a_b &lt;tag&gt; [x]</p>", "5 \\* 3 = 15 \\& a\\_b \\<tag\\> \\[x\\]",
		 "text that looks like markup is escaped");
	CHECK_MD("<p>1. not a list</p>", "1\\. not a list", "a number and a dot at line start");
	CHECK_MD("<p>- not an item</p>", "\\- not an item", "a dash at line start");
	CHECK_MD("<ul>\n<li>one</li>\n<li>two</li>\n</ul>", "- one\n- two", "a bulleted list");
	CHECK_MD("<ol>\n<li>first</li>\n<li>second</li>\n</ol>", "1. first\n2. second", "a numbered list");
	CHECK_MD("<ul>\n<li>a\n<ul>\n<li>b</li>\n</ul></li>\n<li>c</li>\n</ul>", "- a\n  - b\n- c", "a nested list");
	CHECK_MD("<pre><code>x = 1\nif x &lt; 2:\n    pass\n</code></pre>", "```\nx = 1\nif x < 2:\n    pass\n```",
		 "a code block keeps its text raw");
	CHECK_MD("<pre><code class=\"language-python\">print(1)\n</code></pre>", "```python\nprint(1)\n```",
		 "a code block keeps its language");
	CHECK_MD("<pre><code>a ``` b</code></pre>", "````\na ``` b\n````", "a fence longer than any run inside");
	CHECK_MD("<div class=\"codehilite\"><pre><span></span><code><span class=\"n\">x</span> <span class=\"o\">=</span> 1\n</code></pre></div>",
		 "```\nx = 1\n```", "a highlighted code block loses its spans");
	CHECK_MD("<p>use <code>a*b</code> here</p>", "use `a*b` here", "inline code is not escaped");
	CHECK_MD("<p><code>x`y</code></p>", "``x`y``", "inline code with a backtick");
	CHECK_MD("<h2>Title</h2>\n<p>x</p>", "## Title\n\nx", "a heading");
	CHECK_MD("<blockquote>\n  <p>quoted</p>\n</blockquote>\n<p>after</p>", "> quoted\n\nafter", "a block quote");
	CHECK_MD("<p><a href=\"https://example.com/a b\">site</a></p>", "[site](https://example.com/a%20b)", "a link");
	CHECK_MD("<p><a href=\"javascript:alert(1)\">x</a></p>", "x", "a javascript: link keeps only its text");
	CHECK_MD("<hr />", "---", "a rule");
	CHECK_MD("<p>x<script>alert(1)</script>y</p>", "xy", "a script goes with its text");
	CHECK_MD("<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>",
		 "| a | b |\n| --- | --- |\n| 1 | 2 |", "a table");
	CHECK_MD("<p>caf&eacute; &copy; &#233; &#xE9;</p>", "caf\\&eacute; \xC2\xA9 \xC3\xA9 \xC3\xA9",
		 "entities: numeric and common named ones decode, unknown ones stay literal");
	CHECK_MD("", "", "empty");
	CHECK_MD("plain text", "plain text", "text without tags");
}

/* What the Markdown renders to reads as the HTML did. */
static void test_round_trip(void)
{
	const char *html = "<p>Hello <em>world</em> &amp; <strong>you</strong></p>\n<ul>\n<li>one</li>\n</ul>";
	char *m = md(html);
	char *back = markdown_to_html(m, strlen(m));
	CHECK(strstr(back, "<em>world</em> &amp; <strong>you</strong>") && strstr(back, "<li>one</li>"),
	      "the Markdown renders back to the same emphasis and list");
	free(back);
	free(m);
}

int main(void)
{
	test_hostile();
	test_shapes();
	test_round_trip();
	return check_done();
}
