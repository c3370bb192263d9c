/* markdown.h: Markdown to safe HTML through cmark-gfm.
 *
 * Contract: GitHub-flavoured Markdown (tables, strikethrough, autolinks,
 * task lists) in cmark-gfm's safe mode: raw HTML from the text is never
 * passed through (it becomes a comment), links and images with javascript:,
 * vbscript:, file: or non-image data: URLs lose their target, and the
 * tagfilter extension defuses <script>, <iframe> and the like in any case.
 * No style attributes are produced, so the output works under our CSP.
 *
 * Bounded whatever the input (SECURITY.md, "Markdown"): cmark-gfm's time
 * grows faster than linearly on some inputs, so only the first
 * MARKDOWN_MARKUP_MAX bytes are Markdown and the rest is shown as escaped
 * plain text (<p class="plain">), and any text longer than
 * MARKDOWN_INLINE_MAX renders in a child process that MARKDOWN_CPU_MS of
 * CPU (or MARKDOWN_WALL_MS of waiting) ends; then the whole text is shown
 * as escaped plain text. Either way the caller gets HTML and its process
 * is free again within that bound. */
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
#define MARKDOWN_RENDER_VERSION 2

/* Bytes of a text rendered as Markdown; the rest is plain text. */
#define MARKDOWN_MARKUP_MAX (64 * 1024)
/* Texts up to this size render in-process: cmark-gfm's worst measured
 * time on them stays small (SECURITY.md), below a fork's cost to bound it. */
#define MARKDOWN_INLINE_MAX (8 * 1024)
/* The CPU time and the waiting time a bounded render may take. */
#define MARKDOWN_CPU_MS 1000
#define MARKDOWN_WALL_MS 5000

/* MARKDOWN_RENDER_VERSION and the linked cmark-gfm's own version in one
 * number (revision << 32 | cmark_version()), so that a build against
 * another cmark-gfm re-renders without anyone remembering to bump. */
long long markdown_render_version(void);

/* Returns the HTML as a fresh string the caller frees. text must be UTF-8.
 * May fork (texts over MARKDOWN_INLINE_MAX) and waits for that child. */
char *markdown_to_html(const char *text, size_t len);

#endif
