/* markdown.c: safe GitHub-flavoured Markdown rendering (see markdown.h). */
#include "markdown.h"

#include <stdlib.h>
#include <string.h>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include "alloc.h"

static const char *const extensions[] = {"table", "strikethrough", "autolink", "tasklist", "tagfilter"};

long long markdown_render_version(void)
{
	return (long long)MARKDOWN_RENDER_VERSION << 32 | (long long)(unsigned)cmark_version();
}

char *markdown_to_html(const char *text, size_t len)
{
	/* CMARK_OPT_UNSAFE is never set: safe mode is cmark-gfm's default. */
	const int options = CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE |
			    CMARK_OPT_GITHUB_PRE_LANG;
	cmark_gfm_core_extensions_ensure_registered();
	cmark_parser *parser = cmark_parser_new(options);
	if (!parser)
		alloc_fail();
	for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++) {
		cmark_syntax_extension *ext = cmark_find_syntax_extension(extensions[i]);
		if (ext)
			cmark_parser_attach_syntax_extension(parser, ext);
	}
	cmark_parser_feed(parser, text, len);
	cmark_node *doc = cmark_parser_finish(parser);
	if (!doc)
		alloc_fail();
	char *html = cmark_render_html(doc, options, cmark_parser_get_syntax_extensions(parser));
	cmark_node_free(doc);
	cmark_parser_free(parser);
	if (!html)
		alloc_fail();
	/* cmark allocates with the default allocator (malloc), so free() owns it. */
	return html;
}
