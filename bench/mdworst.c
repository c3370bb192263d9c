/* mdworst.c: times the Markdown renderer on the worst inputs we know
 * (SECURITY.md, "Markdown"): mdworst [--raw] NAME BYTES. --raw calls
 * cmark-gfm directly, as markdown_to_html() did before its bounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include "buf.h"
#include "markdown.h"

static const struct family {
	const char *name, *unit, *head, *tail;
} families[] = {
	{"images", "![[]()", "", ""},                  /* CVE-2023-22486 style */
	{"brackets", "[", "", ""},                     /* unclosed link openers */
	{"quotes", "> ", "", "x"},                     /* deep block-quote nesting */
	{"lists", "* ", "", "x"},                      /* deep list nesting */
	{"emphasis", "*_", "", ""},                    /* many delimiters */
	{"emph-mixed", "**_a", "", ""},
	{"refs", "[a]", "", "\n\n[a]: /u\n"},          /* one long chain of references */
	{"backticks", "`a``", "", ""},
	{"tables", "|a", "| x |\n|---|\n", "\n"},      /* CVE-2023-22484/24824 style */
	{"autolink", "www.a_", "", ""},                /* CVE-2023-26485 style */
	{"strike", "~~a", "", ""},
	{"comments", "<!-- x", "", ""},                /* CVE-2023-37463 style */
	{"table-rows", "|\n", "a|b\n-|-\n", ""},
	{"prose", "Some **bold** text and `code`, [a link](https://example.com).\n\n", "", ""},
};

static char *make_input(const struct family *f, size_t bytes)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, f->head);
	size_t u = strlen(f->unit);
	while (b.len + u <= bytes)
		buf_append(&b, f->unit, u);
	buf_append_str(&b, f->tail);
	return buf_detach(&b);
}

static double cpu_s(void)
{
	struct rusage a, c;
	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &c);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + c.ru_utime.tv_sec + c.ru_stime.tv_sec) +
	       (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + c.ru_utime.tv_usec + c.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	int raw = argc > 1 && strcmp(argv[1], "--raw") == 0;
	if (argc != 3 + raw) {
		fprintf(stderr, "usage: mdworst [--raw] NAME BYTES\n");
		return 2;
	}
	const struct family *f = NULL;
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
		if (strcmp(families[i].name, argv[1 + raw]) == 0)
			f = &families[i];
	if (!f) {
		fprintf(stderr, "mdworst: no input family %s\n", argv[1 + raw]);
		return 2;
	}
	size_t bytes = strtoul(argv[2 + raw], NULL, 10);
	char *text = make_input(f, bytes);
	size_t len = strlen(text);
	struct timespec t0, t1;
	double c0 = cpu_s();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *html;
	if (raw) {
		cmark_gfm_core_extensions_ensure_registered();
		const int options = CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8;
		cmark_parser *p = cmark_parser_new(options);
		const char *ext[] = {"table", "strikethrough", "autolink", "tasklist", "tagfilter"};
		for (size_t i = 0; i < 5; i++)
			cmark_parser_attach_syntax_extension(p, cmark_find_syntax_extension(ext[i]));
		cmark_parser_feed(p, text, len);
		cmark_node *doc = cmark_parser_finish(p);
		html = cmark_render_html(doc, options, cmark_parser_get_syntax_extensions(p));
		cmark_node_free(doc);
		cmark_parser_free(p);
	} else {
		html = markdown_to_html(text, len);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%-10s %8zu bytes  %8.3f s wall  %8.3f s cpu  %s\n", f->name, len, wall, cpu_s() - c0,
	       strstr(html, "<p class=\"plain\">") ? (strncmp(html, "<p class=\"plain\">", 17) == 0 ? "plain" : "md+plain") : "markdown");
	free(html);
	free(text);
	return 0;
}
