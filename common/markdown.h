/* markdown.h: Markdown to safe HTML through cmark-gfm.
 *
 * Contract: GitHub-flavoured Markdown (tables, strikethrough, autolinks,
 * task lists) in cmark-gfm's safe mode: raw HTML from the text is never
 * passed through (it becomes a comment), links and images with javascript:,
 * vbscript:, file: or non-image data: URLs lose their target, and the
 * tagfilter extension defuses <script>, <iframe> and the like in any case.
 * No style attributes are produced, so the output works under our CSP. */
#ifndef AIF_MARKDOWN_H
#define AIF_MARKDOWN_H
#include <stddef.h>

/* Returns the HTML as a fresh string the caller frees. text must be UTF-8. */
char *markdown_to_html(const char *text, size_t len);

#endif
