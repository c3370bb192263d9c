/* test_stream_html.c: the answer's HTML while it streams is the stored answer's HTML, paced. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "conversation.h"
#include "stream_html.h"

/* Markdown cut at awkward places: inside a fence, a table, raw HTML, a link. */
static const char *const pieces[] = {
	"## Plan\n\nFirst `co", "de`, then:\n\n```c\nint x", " = 1;\n", "```\n\n| a | b |\n|--",
	"-|---|\n| 1 | 2 |\n\n<scr", "ipt>alert(1)</script> [x](javascript:", "alert(1)) done \xE2\x80\xA6",
};
#define N_PIECES (sizeof pieces / sizeof pieces[0])

static void test_same_as_final(void)
{
	struct stream_html s = STREAM_HTML_INIT;
	struct buf so_far = BUF_INIT;
	long long now = 1000;
	for (size_t i = 0; i < N_PIECES; i++) {
		stream_html_add(&s, pieces[i]);
		buf_append_str(&so_far, pieces[i]);
		now += 1000; /* far apart: every piece is due */
		char *got = stream_html_take(&s, now, 0);
		size_t settled = stream_html_settled(so_far.data, so_far.len);
		char *prefix = xstrndup(so_far.data, settled);
		char *want = message_html("assistant", prefix);
		if (got)
			CHECK_STR(got, want, "each rendering is message_html of the settled text so far");
		CHECK(!got || !strstr(got, "<script"), "raw HTML never passes, even cut in two");
		CHECK(!got || (!strstr(got, "|--") && !strstr(got, "```")), "no table or fence Markdown shows");
		free(got);
		free(want);
		free(prefix);
	}
	stream_html_add(&s, "\n\n| x |");
	buf_append_str(&so_far, "\n\n| x |");
	CHECK(stream_html_take(&s, now + 5000, 0) == NULL, "a table's header alone waits");
	char *last = stream_html_take(&s, now + 5000, 1);
	char *all = message_html("assistant", buf_str(&so_far));
	CHECK_STR(last, all, "forced at the end: the whole answer, as stored");
	free(last);
	free(all);
	CHECK(stream_html_take(&s, now + 9000, 1) == NULL, "nothing new: no rendering, even forced");
	stream_html_free(&s);
	buf_free(&so_far);
}

static void test_pacing(void)
{
	struct stream_html s = STREAM_HTML_INIT;
	CHECK(stream_html_take(&s, 0, 0) == NULL, "no text: no rendering");
	stream_html_add(&s, "a");
	char *h = stream_html_take(&s, 10000, 0);
	CHECK(h != NULL, "the first piece renders at once");
	free(h);
	stream_html_add(&s, "b");
	CHECK(stream_html_take(&s, 10000 + STREAM_HTML_INTERVAL_MS - 1, 0) == NULL, "not twice within the interval");
	h = stream_html_take(&s, 10000 + STREAM_HTML_INTERVAL_MS, 0);
	CHECK_STR(h, "<p>ab</p>\n", "due again once the interval passed, with all text so far");
	free(h);
	stream_html_add(&s, "c");
	h = stream_html_take(&s, 10000 + STREAM_HTML_INTERVAL_MS + 1, 1);
	CHECK_STR(h, "<p>abc</p>\n", "forced: renders at once (the last piece)");
	free(h);
	stream_html_free(&s);

	/* A long answer: the pace follows the HTML's size, not only the interval. */
	struct stream_html big = STREAM_HTML_INIT;
	for (int i = 0; i < 2000; i++)
		stream_html_add(&big, "A fairly long sentence of an answer, line after line.\n\n");
	h = stream_html_take(&big, 0, 0);
	size_t len = h ? strlen(h) : 0;
	free(h);
	stream_html_add(&big, "more");
	long long bound = (long long)(len / STREAM_HTML_BYTES_PER_MS);
	CHECK(bound > STREAM_HTML_INTERVAL_MS, "the long answer's bound is wider than the interval");
	CHECK(stream_html_take(&big, bound - 1, 0) == NULL, "a long answer renders less often");
	h = stream_html_take(&big, bound, 0);
	CHECK(h != NULL, "and renders when its wider bound passed");
	free(h);
	stream_html_free(&big);
}

static void check_settled(const char *text, size_t want, const char *name)
{
	CHECK(stream_html_settled(text, strlen(text)) == want, name);
}

static void test_settled(void)
{
	check_settled("", 0, "empty");
	check_settled("plain text", 10, "plain text is all settled");
	check_settled("a\n\n| Name | Value |", 3, "a table's header alone waits");
	check_settled("a\n\n| Name | Value |\n|--", 3, "a table without its whole delimiter row waits");
	check_settled("a\n\n| N |\n|---|\n| 1", 18, "a table with header and delimiter shows");
	check_settled("a\n\n``", 3, "an unfinished fence line waits");
	check_settled("a\n```c\nint x", 12, "inside a fence: the code shows");
	check_settled("x | y", 5, "a pipe inside a paragraph is text");
	check_settled("\n\n\n|", 3, "blank lines then a pipe");
}

int main(void)
{
	test_settled();
	test_same_as_final();
	test_pacing();
	return check_done();
}
