/* test_markdown.c: Markdown rendering is GitHub-flavoured and never lets the model's HTML run. */
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
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
	check_contains("```c\nint x = 1 < 2;\n```", "<code>int x = 1 &lt; 2;\n</code>", "fenced code escapes its text");
	check_contains("```c\nx\n```", "<pre lang=\"c\"><code>", "code language is kept for the UI");
	check_contains("| a | b |\n|---|---|\n| 1 | 2 |", "<table>", "tables render");
	check_contains("~~gone~~", "<del>gone</del>", "strikethrough renders");
	check_contains("- [x] done\n- [ ] todo", "type=\"checkbox\"", "task lists render");
	check_contains("see https://example.com now", "<a href=\"https://example.com\">", "autolinks render");
	check_contains("**bold** and *it*", "<strong>bold</strong>", "emphasis renders");
	check_contains("[ok](https://example.com/a?b=1&c=2)", "href=\"https://example.com/a?b=1&amp;c=2\"",
		       "link attributes are escaped");
	check_contains("a\xff" "b", "a\xEF\xBF\xBD" "b", "invalid UTF-8 becomes U+FFFD");
	check_contains("", "", "empty input renders to empty output");

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
