/* htmlmd.h: HTML as markdown2 rendered it, turned back into Markdown.
 *
 * Why: the Flask app stored each answer as the HTML that markdown2 made,
 * not its Markdown (README, "Moving over from the Flask app"). We store
 * and serve Markdown only, so an imported answer is converted back to
 * Markdown text that renders as it read: paragraphs, line breaks,
 * headings, emphasis, strong, strike-through, inline code and code blocks
 * (a fence with the language of class="language-x"), nested bulleted and
 * numbered lists, block quotes, links, images (as links), rules and
 * tables. Other tags are dropped and their text kept; script and style
 * are dropped with their text; comments vanish. Text is unescaped (named
 * and numeric entities) and then escaped for Markdown, so nothing in it
 * becomes markup, raw HTML included. Links keep only http, https, mailto
 * and relative targets. Malformed input (unclosed tags, stray '<', bad
 * entities, invalid UTF-8) never fails: the result is always valid UTF-8
 * without NUL. Nesting deeper than 32 is flattened. */
#ifndef AIF_HTMLMD_H
#define AIF_HTMLMD_H
#include <stddef.h>

/* Returns fresh Markdown for html[0..len); the caller frees it. */
char *htmlmd_convert(const char *html, size_t len);

#endif
