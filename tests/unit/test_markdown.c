/* test_markdown.c: Markdown rendering is GitHub-flavoured and never lets the model's HTML run. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "conversation.h"
#include "markdown.h"

static char *render(const char *md)
{
	return markdown_to_html(md, strlen(md));
}

/* Checks that html has none of the dangerous constructs. */
static void check_inert(const char *md, const char *name)
{
	char *html = render(md);
	char *lower = strdup(html);
	if (!lower)
		abort();
	for (char *c = lower; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	int ok = !strstr(lower, "<script") && !strstr(lower, "javascript:") && !strstr(lower, "vbscript:") &&
		 !strstr(lower, " onerror=") && !strstr(lower, " onclick=") && !strstr(lower, " onload=") &&
		 !strstr(lower, "<iframe") && !strstr(lower, "<style") && !strstr(lower, "<object") &&
		 !strstr(lower, "style=") && !strstr(lower, "<svg") && !strstr(lower, "data:text/html");
	if (!CHECK(ok, name))
		printf("#   html: %s\n", html);
	free(lower);
	free(html);
}

static void check_contains(const char *md, const char *want, const char *name)
{
	char *html = render(md);
	if (!CHECK(strstr(html, want) != NULL, name))
		printf("#   html: %s\n#   want: %s\n", html, want);
	free(html);
}

/* text: head, unit repeated to bytes, then tail. The caller frees. */
static char *repeat(const char *head, const char *unit, size_t bytes, const char *tail)
{
	size_t h = strlen(head), u = strlen(unit), t = strlen(tail), n = h;
	char *s = malloc(h + bytes + t + 1);
	if (!s)
		abort();
	memcpy(s, head, h);
	while (n + u <= h + bytes) {
		memcpy(s + n, unit, u);
		n += u;
	}
	memcpy(s + n, tail, t + 1);
	return s;
}

/* Renders text in a child that an alarm ends, so that an unbounded render
 * fails this test instead of hanging it: 1 when markdown_to_html returned
 * within limit_s seconds with HTML that passes check (in the child). */
static int renders_within(const char *text, unsigned limit_s, int (*check)(const char *text, const char *html))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		alarm(limit_s);
		char *html = markdown_to_html(text, strlen(text));
		int ok = check(text, html);
		free(html);
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return 0;
	if (WIFSIGNALED(status))
		printf("#   the render did not finish in %u s (signal %d)\n", limit_s, WTERMSIG(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The whole text is kept, as Markdown or as escaped plain text: the
 * words at its very end are in the HTML. */
static int keeps_tail(const char *text, const char *html)
{
	(void)text;
	return html && strstr(html, "THE END") != NULL;
}

static int plain_escaped(const char *text, const char *html)
{
	(void)text;
	return html && strncmp(html, "<p class=\"plain\">", 17) == 0 && strstr(html, "&lt;") != NULL;
}

static int prose_then_plain(const char *text, const char *html)
{
	(void)text;
	const char *plain = strstr(html, "<p class=\"plain\">");
	return strncmp(html, "<p>Some <strong>bold</strong>", 29) == 0 && plain && strstr(plain, "**bold**") &&
	       strstr(plain, "THE END") && !strstr(plain, "<strong>");
}

/* The inputs that take cmark-gfm 0.29.0.gfm.6 (Debian 12) seconds to hours
 * (SECURITY.md, "Markdown"): the render ends within its bound and the
 * text is still shown. */
static void test_bounded(void)
{
	static const struct {
		const char *head, *unit, *tail, *name;
		size_t bytes;
	} worst[] = {
		{"", "![[]()", "THE END", "bounded: \"![[]()\" x 40,000 (CVE-2023-22486)", 240000},
		{"| x |\n|---|\n", "|a", "\nTHE END", "bounded: a table row of 120,000 cells (CVE-2023-24824)", 240000},
		{"", "www.a_", " THE END", "bounded: autolink underscores (CVE-2023-26485)", 240000},
		{"", "> ", "THE END", "bounded: 120,000 nested block quotes", 240000},
		{"", "* ", "THE END", "bounded: 120,000 nested lists", 240000},
		{"", "[", "THE END", "bounded: 240,000 unclosed brackets", 240000},
		{"", "*_", "THE END", "bounded: 120,000 emphasis delimiters", 240000},
		{"", "[a]", "THE END\n\n[a]: /u\n", "bounded: 80,000 references to one definition", 240000},
		{"", "![[]()", "THE END", "bounded: the 4 MB answer cap of \"![[]()\"", 4000000},
	};
	for (size_t i = 0; i < sizeof worst / sizeof worst[0]; i++) {
		char *text = repeat(worst[i].head, worst[i].unit, worst[i].bytes, worst[i].tail);
		CHECK(renders_within(text, 30, keeps_tail), worst[i].name);
		free(text);
	}
	/* A table that cmark-gfm cannot finish in the CPU limit: the whole
	 * answer is shown as escaped plain text. */
	char *cells = repeat("| x |\n|---|\n", "|a", 240000, "<b>end</b>");
	CHECK(renders_within(cells, 30, plain_escaped), "bounded: past the CPU limit, the text is escaped plain text");
	free(cells);
	/* A long, ordinary answer: Markdown first, the rest as it is. */
	char *prose = repeat("", "Some **bold** text and `code`.\n\n", 200000, "THE END");
	CHECK(renders_within(prose, 30, prose_then_plain), "bounded: past 64 KiB the rest is escaped plain text");
	free(prose);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* Hostile model output first. */
	check_inert("<script>alert(1)</script>", "raw script block is dropped");
	check_inert("text <script>alert(1)</script> text", "inline script is dropped");
	check_inert("<img src=x onerror=alert(1)>", "raw img with handler is dropped");
	check_inert("[click](javascript:alert(1))", "javascript: link loses its target");
	check_inert("[click](JaVaScRiPt:alert(1))", "mixed-case javascript: link loses its target");
	check_inert("[click](  javascript:alert(1))", "javascript: link after spaces");
	check_inert("[click](java&#x09;script:alert(1))", "entity-split javascript: link");
	check_inert("[click](vbscript:msgbox(1))", "vbscript: link");
	check_inert("![x](javascript:alert(1))", "javascript: image");
	check_inert("[x](data:text/html;base64,PHNjcmlwdD4=)", "data:text/html link");
	check_inert("<iframe src=\"https://evil.example\"></iframe>", "iframe");
	check_inert("<style>body{display:none}</style>", "style element");
	check_inert("<a href=\"#\" onclick=\"alert(1)\">x</a>", "raw anchor with onclick");
	check_inert("<svg onload=alert(1)>", "svg with onload");
	check_inert("<object data=x></object>", "object element");
	check_inert("| a | b |\n|---|---|\n| <script>x</script> | <img src=x onerror=y> |", "HTML inside a table");
	check_inert("```html\n<script>alert(1)</script>\n```", "script inside a code block is shown, escaped");
	check_inert("<<script>script>alert(1)<</script>/script>", "nested script tags");
	check_inert("<scr<script>ipt>alert(1)</script>", "split script tag");
	check_inert("www.example.com/<script>", "autolink with markup");
	check_inert("`<script>` and <b onmouseover=alert(1)>bold</b>", "inline code and raw bold");

	/* What must still work. */
	check_contains("```c\nint x = 1 < 2;\n```", "<code class=\"language-c\">int x = 1 &lt; 2;\n</code>",
		       "fenced code escapes its text");
	check_contains("```c\nx\n```", "<pre><code class=\"language-c\">", "code language is kept for the UI, as a class");
	{
		char *html = render("```c\nx\n```");
		CHECK(strstr(html, " lang=") == NULL, "no lang attribute on code blocks (not a language tag)");
		free(html);
	}
	check_contains("| a | b |\n|---|---|\n| 1 | 2 |", "<table>", "tables render");
	check_contains("~~gone~~", "<del>gone</del>", "strikethrough renders");
	check_contains("- [x] done\n- [ ] todo", "type=\"checkbox\"", "task lists render");
	check_contains("see https://example.com now", "<a href=\"https://example.com\">", "autolinks render");
	check_contains("**bold** and *it*", "<strong>bold</strong>", "emphasis renders");
	check_contains("[ok](https://example.com/a?b=1&c=2)", "href=\"https://example.com/a?b=1&amp;c=2\"",
		       "link attributes are escaped");
	check_contains("a\xff" "b", "a\xEF\xBF\xBD" "b", "invalid UTF-8 becomes U+FFFD");
	check_contains("", "", "empty input renders to empty output");

	test_bounded();

	/* A user's prompt is escaped text, never Markdown or HTML. */
	char *user = message_html("user", "<b>hi</b> & **x** \"q\" 'a'");
	CHECK_STR(user, "<p>&lt;b&gt;hi&lt;/b&gt; &amp; **x** &quot;q&quot; &#39;a&#39;</p>", "user text is escaped");
	free(user);

	/* Titles. */
	char *t = conversation_title_from_prompt("\n\n  Hello   world\t again \nsecond line", 44);
	CHECK_STR(t, "Hello world again", "title: first line with text, spaces collapsed");
	free(t);
	t = conversation_title_from_prompt("   ", 3);
	CHECK_STR(t, "New chat", "title: blank prompt");
	free(t);
	char longp[300];
	memset(longp, 'x', sizeof longp);
	t = conversation_title_from_prompt(longp, sizeof longp);
	CHECK(strlen(t) == 60 + 3 && strcmp(t + 60, "\xE2\x80\xA6") == 0, "title: cut at 60 characters with an ellipsis");
	free(t);
	char *clean = NULL;
	CHECK(conversation_check_title("  ok  ", 6, &clean) == NULL && strcmp(clean, "ok") == 0, "title: trimmed");
	free(clean);
	CHECK(conversation_check_title("a\nb", 3, &clean) != NULL, "title: line break refused");
	CHECK(conversation_check_title("   ", 3, &clean) != NULL, "title: blank refused");
	return check_done();
}
