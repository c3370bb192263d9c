/* fuzz_markdown.c: fuzzes the Markdown renderer wrapper (markdown_to_html).
 *
 * A model's answer is hostile input that ends up in the page. Properties of
 * the HTML for any valid UTF-8 text:
 * - no <script, <iframe, <style, <object, <embed, <svg, <math, <base, <meta,
 *   <link, <form or <textarea tag (raw HTML is omitted, tagfilter defuses);
 * - no attribute whose name starts with "on" and no style attribute, in any tag;
 * - every href and src, with character references decoded and blanks and
 *   controls removed, starts neither with javascript:, vbscript: or file:,
 *   nor with data: unless it is a data:image/ of png, gif, jpeg or webp;
 * - the output is valid UTF-8 (json-c sends it to the browser). */
#include "fuzz.h"

#include <strings.h>

#include "buf.h"
#include "markdown.h"
#include "utf8.h"

/* Decodes the character references of an attribute value (&#106; &#x6A;
 * &colon; ...) roughly as a browser would, drops controls and blanks, and
 * lowercases ASCII, into out (a fresh buffer). */
static void decode_url(const char *v, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned long cp = (unsigned char)v[i];
		if (v[i] == '&') {
			size_t j = i + 1;
			if (j < n && v[j] == '#') {
				int hex = j + 1 < n && (v[j + 1] == 'x' || v[j + 1] == 'X');
				j += hex ? 2 : 1;
				cp = 0;
				size_t digits = 0;
				while (j < n && digits < 8 &&
				       ((v[j] >= '0' && v[j] <= '9') ||
					(hex && ((v[j] | 0x20) >= 'a' && (v[j] | 0x20) <= 'f')))) {
					int d = v[j] <= '9' ? v[j] - '0' : (v[j] | 0x20) - 'a' + 10;
					cp = cp * (hex ? 16 : 10) + (unsigned long)d;
					j++, digits++;
				}
				if (j < n && v[j] == ';')
					j++;
				i = j - 1;
			} else {
				static const struct { const char *name; char c; } named[] = {
					{"colon;", ':'}, {"amp;", '&'}, {"Tab;", '\t'}, {"NewLine;", '\n'},
					{"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"#39;", '\''}};
				for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
					size_t l = strlen(named[k].name);
					if (j + l <= n && memcmp(v + j, named[k].name, l) == 0) {
						cp = (unsigned char)named[k].c;
						i = j + l - 1;
						break;
					}
				}
			}
		}
		if (cp <= 0x20 || cp == 0x7F)
			continue; /* browsers strip these from URLs' schemes */
		buf_append_char(out, cp < 0x80 ? fuzz_lower((char)cp) : '?');
	}
}

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void check_url(const char *v, size_t n)
{
	struct buf u = BUF_INIT;
	decode_url(v, n, &u);
	const char *s = buf_str(&u);
	FUZZ_ASSERT(!starts(s, "javascript:"), "no javascript: URL");
	FUZZ_ASSERT(!starts(s, "vbscript:"), "no vbscript: URL");
	FUZZ_ASSERT(!starts(s, "file:"), "no file: URL");
	if (starts(s, "data:"))
		FUZZ_ASSERT(starts(s, "data:image/png") || starts(s, "data:image/gif") ||
				    starts(s, "data:image/jpeg") || starts(s, "data:image/webp"),
			    "data: URLs only for images");
	buf_free(&u);
}

/* Walks the tags of html: every '<' in cmark's output starts markup, since
 * text '<' is always written as &lt;. */
static void check_html(const char *html)
{
	static const char *const banned[] = {"script", "iframe", "style", "object", "embed", "svg", "math",
					     "base", "meta", "link", "form", "textarea", "noscript", "frame"};
	for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
		if (starts(p, "<!--")) {
			const char *end = strstr(p, "-->");
			FUZZ_ASSERT(end != NULL, "comments end");
			p = end;
			continue;
		}
		const char *name = p + 1 + (p[1] == '/');
		size_t nlen = 0;
		while ((name[nlen] >= 'a' && name[nlen] <= 'z') || (name[nlen] >= 'A' && name[nlen] <= 'Z') ||
		       (name[nlen] >= '0' && name[nlen] <= '9'))
			nlen++;
		FUZZ_ASSERT(nlen > 0, "a '<' in the output starts a tag");
		for (size_t k = 0; k < sizeof banned / sizeof banned[0]; k++)
			FUZZ_ASSERT(!(nlen == strlen(banned[k]) && strncasecmp(name, banned[k], nlen) == 0),
				    "no dangerous element");
		/* Attributes: name[=("value"|'value'|value)] up to '>'. */
		const char *a = name + nlen;
		for (;;) {
			while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '/')
				a++;
			FUZZ_ASSERT(*a != '\0', "tags end");
			if (*a == '>')
				break;
			const char *an = a;
			while (*a && !strchr(" \t\n/>=", *a))
				a++;
			size_t alen = (size_t)(a - an);
			FUZZ_ASSERT(alen > 0, "attribute names are not empty");
			FUZZ_ASSERT(!(alen >= 2 && fuzz_lower(an[0]) == 'o' && fuzz_lower(an[1]) == 'n'),
				    "no on... event-handler attribute");
			FUZZ_ASSERT(!(alen == 5 && strncasecmp(an, "style", 5) == 0), "no style attribute");
			if (*a != '=')
				continue;
			a++;
			const char *v;
			size_t vlen;
			if (*a == '"' || *a == '\'') {
				char q = *a++;
				v = a;
				const char *end = strchr(a, q);
				FUZZ_ASSERT(end != NULL, "quoted values end");
				vlen = (size_t)(end - a);
				a = end + 1;
			} else {
				v = a;
				while (*a && !strchr(" \t\n>", *a))
					a++;
				vlen = (size_t)(a - v);
			}
			if ((alen == 4 && strncasecmp(an, "href", 4) == 0) || (alen == 3 && strncasecmp(an, "src", 3) == 0))
				check_url(v, vlen);
		}
		p = a;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!utf8_valid((const char *)data, size))
		return 0; /* message contents are valid UTF-8 without NUL (provider.h, json.h) */
	char *text = malloc(size ? size : 1);
	if (size)
		memcpy(text, data, size);
	char *html = markdown_to_html(text, size);
	FUZZ_ASSERT(html != NULL, "always an answer");
	FUZZ_ASSERT(utf8_valid(html, strlen(html)), "the HTML is valid UTF-8");
	FUZZ_ASSERT(!fuzz_contains_nocase(html, "<script"), "no <script");
	check_html(html);
	free(html);
	free(text);
	return 0;
}
