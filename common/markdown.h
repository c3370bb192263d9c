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

/* The revision of this renderer's output. Messages keep the HTML they were
 * rendered to when written, with markdown_render_version(), and a reader
 * uses the stored HTML only when it equals the running one; anything else is
 * rendered again on read. Bump it whenever the HTML for some text may change:
 * options or extensions here, the prompt escaping in message_html()
 * (conversation.c), or a fix to cmark-gfm (a security fix included) that
 * keeps cmark-gfm's version number, as Debian's patches do. Bumping makes
 * every stored rendering stale at once: reads render again until
 * `aifacadectl render-html` stores the new HTML. */
#define MARKDOWN_RENDER_VERSION 1

/* MARKDOWN_RENDER_VERSION and the linked cmark-gfm's own version in one
 * number (revision << 32 | cmark_version()), so that a build against
 * another cmark-gfm re-renders without anyone remembering to bump. */
long long markdown_render_version(void);

/* Returns the HTML as a fresh string the caller frees. text must be UTF-8. */
char *markdown_to_html(const char *text, size_t len);

#endif
