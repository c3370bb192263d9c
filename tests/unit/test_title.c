/* test_title.c: titles from a prompt's Markdown and from a provider's reply, hostile input first. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "title.h"

static void from_prompt(const char *prompt, const char *want, const char *name)
{
	char *got = title_from_prompt(prompt, strlen(prompt));
	CHECK_STR(got, want, name);
	free(got);
}

static void cleaned(const char *reply, const char *want, const char *name)
{
	char *got = title_clean(reply);
	CHECK_STR(got, want, name);
	free(got);
}

int main(void)
{
	/* hostile and empty */
	from_prompt("", "New chat", "empty prompt");
	from_prompt("```\n```\n\n   \n", "New chat", "only a fence and blanks");
	from_prompt("**", "New chat", "only markup");
	from_prompt("[](", "New chat", "an empty, unclosed link leaves nothing");
	from_prompt("[1, 2] and [[x]]", "[1, 2] and [[x]]", "brackets that are not links stay");
	from_prompt("\\", "\\", "a lone backslash stays");
	from_prompt("# \x01\x7f tab\there", "tab here", "control characters become spaces");
	from_prompt("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>", "HTML stays text (escaped on output)");
	char longp[400];
	memset(longp, 'a', sizeof longp - 1);
	longp[sizeof longp - 1] = '\0';
	char *t = title_from_prompt(longp, strlen(longp));
	CHECK(t && strlen(t) == 60 + 3 && strcmp(t + 60, "\xE2\x80\xA6") == 0, "a long prompt is cut at 60 characters with …");
	free(t);
	/* Markdown */
	from_prompt("**Explain** `malloc` in *C*", "Explain malloc in C", "emphasis and code ticks go");
	from_prompt("## How do I ~~fail~~ win?\nmore", "How do I fail win?", "a heading's marks and strikethrough go");
	from_prompt("\n\n> - [ ] 1. quoted list item", "quoted list item", "nested block markers go");
	from_prompt("1. first step\n2. second", "first step", "a numbered list's number goes");
	from_prompt("See [the docs](https://x.example/a_(b)) and ![logo](l.png)", "See the docs and logo", "links keep their text");
	from_prompt("```python\nprint('hi')\n```", "print('hi')", "a fenced block gives its first line");
	from_prompt("my_var and __init__ and window.__x", "my_var and __init__ and window.__x", "underscores stay: they are names");
	from_prompt("2*3 is ~6, ~~not~~ 7", "2*3 is ~6, not 7", "a product and a tilde stay");
	from_prompt("\\*not emphasis\\*", "*not emphasis*", "escaped characters stay");
	from_prompt("#hashtag", "#hashtag", "a # without a space is text");
	/* provider replies */
	cleaned("Title: \"**Fake title:** Hello there.\"", "Fake title: Hello there", "Title:, quotes, bold and the full stop go");
	cleaned("\xE2\x80\x9C" "Sorting in C" "\xE2\x80\x9D\n\nHere is why…", "Sorting in C", "curly quotes and later lines go");
	cleaned("# Rust lifetimes", "Rust lifetimes", "a heading mark goes");
	cleaned("", NULL, "an empty reply gives no title");
	cleaned("  \"\"  \n", NULL, "only quotes give no title");
	cleaned("...", NULL, "only full stops give no title");
	return check_done();
}
