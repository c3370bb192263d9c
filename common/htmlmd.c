/* htmlmd.c: markdown2's HTML back to Markdown (see htmlmd.h). */
#include "htmlmd.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "buf.h"
#include "utf8.h"

#define DEPTH_MAX 32

enum ctx_type { C_QUOTE, C_UL, C_OL, C_LI };

struct ctx {
	enum ctx_type type;
	int counter;      /* C_OL: the next number */
	size_t indent;    /* C_LI: width of its marker */
};

struct conv {
	struct buf out;
	struct ctx stack[DEPTH_MAX];
	int depth;
	int line_start;       /* nothing written on the current line yet */
	size_t text_start;    /* where the current line's text begins, after its prefix */
	int space;            /* a collapsed space is pending */
	int broken;           /* a blank line ends the output: no other is needed */
	char marker[16];      /* a list item's marker waiting for its first text */
	/* Raw text gathered for a code block or an inline code span. */
	int in_pre, in_code;
	struct buf raw;
	char lang[40];
	/* Link targets, innermost last (empty string: no usable target). */
	char *href[DEPTH_MAX];
	int links;
	/* Table state. */
	int row_cells, row_has_th, header_done;
	int skip_depth;       /* inside script or style */
};

/* ---- output with line prefixes ---- */

static void write_prefix(struct conv *c, int trim)
{
	struct buf p = BUF_INIT;
	for (int i = 0; i < c->depth; i++) {
		if (c->stack[i].type == C_QUOTE) {
			buf_append_str(&p, "> ");
		} else if (c->stack[i].type == C_LI) {
			int innermost_li = 1;
			for (int k = i + 1; k < c->depth; k++)
				if (c->stack[k].type == C_LI)
					innermost_li = 0;
			if (innermost_li && c->marker[0]) {
				buf_append_str(&p, c->marker);
				c->marker[0] = '\0';
			} else {
				for (size_t k = 0; k < c->stack[i].indent; k++)
					buf_append_char(&p, ' ');
			}
		}
	}
	size_t len = p.len;
	if (trim)
		while (len > 0 && buf_str(&p)[len - 1] == ' ')
			len--;
	buf_append(&c->out, buf_str(&p), len);
	buf_free(&p);
}

static void begin_text(struct conv *c)
{
	if (c->line_start) {
		write_prefix(c, 0);
		c->line_start = 0;
		c->space = 0;
		c->text_start = c->out.len;
		c->broken = 0;
	} else if (c->space) {
		buf_append_char(&c->out, ' ');
	}
	c->space = 0;
}

static void trim_trailing_spaces(struct conv *c)
{
	while (c->out.len > 0 && c->out.data[c->out.len - 1] == ' ')
		c->out.data[--c->out.len] = '\0';
}

static void newline(struct conv *c)
{
	trim_trailing_spaces(c);
	buf_append_char(&c->out, '\n');
	c->line_start = 1;
	c->space = 0;
}

/* Ends the current line if it has text. */
static void end_line(struct conv *c)
{
	if (!c->line_start)
		newline(c);
}

/* A blank line between blocks (a bare prefix line inside quotes). */
static void block_break(struct conv *c)
{
	end_line(c);
	if (c->out.len == 0 || c->broken)
		return;
	int in_li = 0;
	for (int i = 0; i < c->depth; i++)
		in_li |= c->stack[i].type == C_LI;
	if (c->marker[0] && in_li)
		return;
	write_prefix(c, 1);
	newline(c);
	c->broken = 1;
}

/* Appends text escaped for Markdown: every ASCII punctuation that could
 * start markup gets a backslash, so it reads as itself. */
static void text_escaped(struct conv *c, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f') {
			c->space = !c->line_start;
			continue;
		}
		begin_text(c);
		int escape = strchr("\\`*_[]<>#&|~!", ch) != NULL;
		if ((ch == '-' || ch == '+' || ch == '=') && c->out.len == c->text_start)
			escape = 1; /* a list item or a heading underline */
		if ((ch == '.' || ch == ')') && c->out.len > c->text_start) {
			size_t k = c->text_start;
			while (k < c->out.len && c->out.data[k] >= '0' && c->out.data[k] <= '9')
				k++;
			escape = k == c->out.len; /* "1." would start a numbered list */
		}
		if (escape)
			buf_append_char(&c->out, '\\');
		buf_append_char(&c->out, ch);
	}
}

static void markup(struct conv *c, const char *s)
{
	begin_text(c);
	buf_append_str(&c->out, s);
}

/* ---- entities and UTF-8 ---- */

static void append_code_point(struct buf *b, unsigned long cp)
{
	char enc[4];
	if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		cp = 0xFFFD;
	if (cp == 0xA0)
		cp = ' ';
	size_t n = utf8_encode((uint32_t)cp, enc);
	buf_append(b, enc, n);
}

/* Decodes the entity at s (after '&'); returns bytes consumed after the
 * '&', or 0 when it is not one (then '&' is literal). */
static size_t entity(const char *s, size_t len, struct buf *b)
{
	static const struct {
		const char *name;
		unsigned long cp;
	} named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", 0xA0},
		     {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013}, {"copy", 0xA9}, {"laquo", 0xAB},
		     {"raquo", 0xBB}, {"rsquo", 0x2019}, {"lsquo", 0x2018}, {"rdquo", 0x201D}, {"ldquo", 0x201C}};
	size_t end = 0;
	while (end < len && end < 12 && s[end] != ';')
		end++;
	if (end == len || s[end] != ';' || end == 0)
		return 0;
	if (s[0] == '#') {
		unsigned long cp = 0;
		int hex = end > 1 && (s[1] == 'x' || s[1] == 'X');
		size_t i = hex ? 2 : 1;
		if (i == end)
			return 0;
		for (; i < end; i++) {
			char ch = s[i];
			int d = ch >= '0' && ch <= '9' ? ch - '0'
				: hex && ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
				: hex && ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
			if (d < 0)
				return 0;
			cp = cp * (hex ? 16 : 10) + (unsigned long)d;
			if (cp > 0x10FFFF)
				cp = 0x110000;
		}
		append_code_point(b, cp);
		return end + 1;
	}
	for (size_t k = 0; k < sizeof named / sizeof named[0]; k++)
		if (strlen(named[k].name) == end && memcmp(s, named[k].name, end) == 0) {
			append_code_point(b, named[k].cp);
			return end + 1;
		}
	return 0;
}

/* Decodes entities of s into b. */
static void decode(struct buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		size_t used;
		if (s[i] == '&' && (used = entity(s + i + 1, len - i - 1, b)) > 0)
			i += used;
		else
			buf_append_char(b, s[i]);
	}
}

static void text(struct conv *c, const char *s, size_t len)
{
	if (c->skip_depth)
		return;
	if (c->in_pre || c->in_code) {
		decode(&c->raw, s, len);
		return;
	}
	struct buf d = BUF_INIT;
	decode(&d, s, len);
	text_escaped(c, buf_str(&d), d.len);
	buf_free(&d);
}

/* ---- tags ---- */

/* The value of attribute name in attrs[0..len), fresh, or NULL. */
static char *attribute(const char *attrs, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	size_t i = 0;
	while (i < len) {
		while (i < len && (attrs[i] == ' ' || attrs[i] == '\t' || attrs[i] == '\n' || attrs[i] == '/'))
			i++;
		size_t k = i;
		while (i < len && attrs[i] != '=' && attrs[i] != ' ' && attrs[i] != '>' && attrs[i] != '\t' &&
		       attrs[i] != '\n')
			i++;
		int match = i - k == nlen && strncasecmp(attrs + k, name, nlen) == 0;
		if (i >= len || attrs[i] != '=') {
			if (i == k)
				i++;
			continue;
		}
		i++;
		size_t vs, ve;
		if (i < len && (attrs[i] == '"' || attrs[i] == '\'')) {
			char q = attrs[i++];
			vs = i;
			while (i < len && attrs[i] != q)
				i++;
			ve = i;
			if (i < len)
				i++;
		} else {
			vs = i;
			while (i < len && attrs[i] != ' ' && attrs[i] != '\t' && attrs[i] != '\n')
				i++;
			ve = i;
		}
		if (match) {
			struct buf b = BUF_INIT;
			decode(&b, attrs + vs, ve - vs);
			return buf_detach(&b);
		}
	}
	return NULL;
}

/* A link target we keep: http(s), mailto or relative; with spaces and
 * parentheses percent-encoded so it stays one Markdown destination. */
static char *safe_target(const char *url)
{
	if (!url)
		return xstrdup("");
	const char *colon = strchr(url, ':');
	const char *slash = strchr(url, '/');
	if (colon && (!slash || colon < slash) && strncasecmp(url, "http:", 5) != 0 &&
	    strncasecmp(url, "https:", 6) != 0 && strncasecmp(url, "mailto:", 7) != 0)
		return xstrdup("");
	struct buf b = BUF_INIT;
	for (const char *p = url; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || ch == '(' || ch == ')' || ch == '<' || ch == '>' || ch == '\\' || ch == 0x7F)
			buf_printf(&b, "%%%02X", ch);
		else
			buf_append_char(&b, (char)ch);
	}
	return buf_detach(&b);
}

static int push(struct conv *c, enum ctx_type t)
{
	if (c->depth >= DEPTH_MAX)
		return -1;
	c->stack[c->depth].type = t;
	c->stack[c->depth].counter = 1;
	c->stack[c->depth].indent = 0;
	c->depth++;
	return 0;
}

/* Pops up to and including the innermost entry of type t, if any. */
static void pop(struct conv *c, enum ctx_type t)
{
	for (int i = c->depth - 1; i >= 0; i--)
		if (c->stack[i].type == t) {
			c->depth = i;
			return;
		}
}

static int heading_level(const char *name)
{
	return (name[0] == 'h' || name[0] == 'H') && name[1] >= '1' && name[1] <= '6' && name[2] == '\0' ? name[1] - '0' : 0;
}

static size_t longest_run(const char *s, char ch)
{
	size_t best = 0, run = 0;
	for (; *s; s++) {
		run = *s == ch ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best;
}

static void close_pre(struct conv *c)
{
	c->in_pre = 0;
	const char *code = buf_str(&c->raw);
	size_t n = longest_run(code, '`') + 1;
	if (n < 3)
		n = 3;
	block_break(c);
	struct buf fence = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_append_char(&fence, '`');
	markup(c, buf_str(&fence));
	buf_append_str(&c->out, c->lang);
	newline(c);
	size_t len = c->raw.len;
	while (len > 0 && code[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(code + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - code - i) : len - i;
		write_prefix(c, ll == 0);
		buf_append(&c->out, code + i, ll);
		c->line_start = 0;
		newline(c);
		i += ll + 1;
	}
	markup(c, buf_str(&fence));
	buf_free(&fence);
	buf_reset(&c->raw);
	block_break(c);
}

static void close_code(struct conv *c)
{
	c->in_code = 0;
	const char *code = buf_str(&c->raw);
	struct buf b = BUF_INIT;
	for (const char *p = code; *p; p++)
		buf_append_char(&b, *p == '\n' ? ' ' : *p);
	if (b.len > 0) {
		size_t n = longest_run(buf_str(&b), '`') + 1;
		struct buf fence = BUF_INIT;
		for (size_t i = 0; i < n; i++)
			buf_append_char(&fence, '`');
		int pad = b.data[0] == '`' || b.data[b.len - 1] == '`' || b.data[0] == ' ';
		markup(c, buf_str(&fence));
		if (pad)
			buf_append_char(&c->out, ' ');
		buf_append(&c->out, b.data, b.len);
		if (pad)
			buf_append_char(&c->out, ' ');
		buf_append_str(&c->out, buf_str(&fence));
		buf_free(&fence);
	}
	buf_free(&b);
	buf_reset(&c->raw);
}

static void open_tag(struct conv *c, const char *name, const char *attrs, size_t alen)
{
	int level;
	if (c->in_pre) {
		if (strcasecmp(name, "br") == 0)
			buf_append_char(&c->raw, '\n');
		return;
	}
	if (strcasecmp(name, "script") == 0 || strcasecmp(name, "style") == 0) {
		c->skip_depth++;
	} else if (c->in_code) {
		return;
	} else if (strcasecmp(name, "p") == 0 || strcasecmp(name, "div") == 0 || strcasecmp(name, "table") == 0 ||
		   strcasecmp(name, "section") == 0 || strcasecmp(name, "dl") == 0) {
		block_break(c);
	} else if ((level = heading_level(name)) > 0) {
		block_break(c);
		markup(c, "######" + (6 - level));
		buf_append_char(&c->out, ' ');
	} else if (strcasecmp(name, "br") == 0) {
		if (!c->line_start) {
			buf_append_char(&c->out, '\\');
			newline(c);
		}
	} else if (strcasecmp(name, "hr") == 0) {
		block_break(c);
		markup(c, "---");
		block_break(c);
	} else if (strcasecmp(name, "em") == 0 || strcasecmp(name, "i") == 0) {
		markup(c, "*");
	} else if (strcasecmp(name, "strong") == 0 || strcasecmp(name, "b") == 0) {
		markup(c, "**");
	} else if (strcasecmp(name, "del") == 0 || strcasecmp(name, "s") == 0 || strcasecmp(name, "strike") == 0) {
		markup(c, "~~");
	} else if (strcasecmp(name, "code") == 0) {
		c->in_code = 1;
		buf_reset(&c->raw);
	} else if (strcasecmp(name, "pre") == 0) {
		c->in_pre = 1;
		c->lang[0] = '\0';
		buf_reset(&c->raw);
		/* markdown2 puts the language on the <code> inside; look ahead in attrs of pre too. */
		char *cls = attribute(attrs, alen, "class");
		if (cls && strncmp(cls, "language-", 9) == 0) {
			size_t k = 0;
			for (const char *p = cls + 9; *p && k < sizeof c->lang - 1; p++)
				if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
				    *p == '-' || *p == '+' || *p == '#')
					c->lang[k++] = *p;
			c->lang[k] = '\0';
		}
		free(cls);
	} else if (strcasecmp(name, "ul") == 0 || strcasecmp(name, "ol") == 0) {
		int nested = 0;
		for (int i = 0; i < c->depth; i++)
			nested |= c->stack[i].type == C_LI;
		if (nested)
			end_line(c);
		else
			block_break(c);
		if (push(c, name[0] == 'u' || name[0] == 'U' ? C_UL : C_OL) == 0 && (name[0] == 'o' || name[0] == 'O')) {
			char *start = attribute(attrs, alen, "start");
			int n = 0;
			for (const char *p = start; p && *p >= '0' && *p <= '9' && n < 100000; p++)
				n = n * 10 + (*p - '0');
			c->stack[c->depth - 1].counter = n > 0 && n < 100000 && start[strspn(start, "0123456789")] == '\0' ? n : 1;
			free(start);
		}
	} else if (strcasecmp(name, "li") == 0) {
		end_line(c);
		int list = -1;
		for (int i = c->depth - 1; i >= 0 && list < 0; i--)
			if (c->stack[i].type == C_UL || c->stack[i].type == C_OL)
				list = i;
		if (list >= 0 && push(c, C_LI) == 0) {
			if (c->stack[list].type == C_OL)
				snprintf(c->marker, sizeof c->marker, "%d. ", c->stack[list].counter++);
			else
				snprintf(c->marker, sizeof c->marker, "- ");
			c->stack[c->depth - 1].indent = strlen(c->marker);
		}
	} else if (strcasecmp(name, "blockquote") == 0) {
		block_break(c);
		push(c, C_QUOTE);
	} else if (strcasecmp(name, "a") == 0 && c->links < DEPTH_MAX) {
		char *href = attribute(attrs, alen, "href");
		c->href[c->links++] = safe_target(href);
		free(href);
		if (*c->href[c->links - 1])
			markup(c, "["); /* an unusable target leaves only the text */
	} else if (strcasecmp(name, "img") == 0) {
		char *alt = attribute(attrs, alen, "alt");
		char *src = attribute(attrs, alen, "src");
		char *target = safe_target(src);
		/* An image becomes a link to it (or only its text): nothing loads by itself. */
		if (*target)
			markup(c, "[");
		text_escaped(c, alt && *alt ? alt : "image", strlen(alt && *alt ? alt : "image"));
		if (*target) {
			buf_append_str(&c->out, "](");
			buf_append_str(&c->out, target);
			buf_append_str(&c->out, ")");
		}
		free(alt);
		free(src);
		free(target);
	} else if (strcasecmp(name, "tr") == 0) {
		end_line(c);
		c->row_cells = 0;
		c->row_has_th = 0;
	} else if (strcasecmp(name, "td") == 0 || strcasecmp(name, "th") == 0) {
		markup(c, "| ");
		c->row_cells++;
		c->row_has_th |= name[1] == 'h' || name[1] == 'H';
	}
}

static void close_tag(struct conv *c, const char *name)
{
	if (c->in_pre) {
		if (strcasecmp(name, "pre") == 0)
			close_pre(c);
		return;
	}
	if (strcasecmp(name, "script") == 0 || strcasecmp(name, "style") == 0) {
		if (c->skip_depth > 0)
			c->skip_depth--;
	} else if (c->in_code) {
		if (strcasecmp(name, "code") == 0)
			close_code(c);
	} else if (strcasecmp(name, "p") == 0 || strcasecmp(name, "div") == 0 || heading_level(name) > 0 ||
		   strcasecmp(name, "table") == 0 || strcasecmp(name, "section") == 0 || strcasecmp(name, "dl") == 0) {
		block_break(c);
	} else if (strcasecmp(name, "em") == 0 || strcasecmp(name, "i") == 0) {
		buf_append_str(&c->out, "*");
	} else if (strcasecmp(name, "strong") == 0 || strcasecmp(name, "b") == 0) {
		buf_append_str(&c->out, "**");
	} else if (strcasecmp(name, "del") == 0 || strcasecmp(name, "s") == 0 || strcasecmp(name, "strike") == 0) {
		buf_append_str(&c->out, "~~");
	} else if (strcasecmp(name, "ul") == 0 || strcasecmp(name, "ol") == 0) {
		pop(c, name[0] == 'u' || name[0] == 'U' ? C_UL : C_OL);
		c->marker[0] = '\0';
		int nested = 0;
		for (int i = 0; i < c->depth; i++)
			nested |= c->stack[i].type == C_LI;
		if (nested)
			end_line(c); /* the next item of the outer list follows at once */
		else
			block_break(c);
	} else if (strcasecmp(name, "li") == 0) {
		end_line(c);
		pop(c, C_LI);
		c->marker[0] = '\0';
	} else if (strcasecmp(name, "blockquote") == 0) {
		end_line(c);
		if (c->broken && c->out.len > 0) {
			/* Drop the quote's own blank line: the one after it is ours. */
			size_t k = c->out.len - 1;
			while (k > 0 && c->out.data[k - 1] != '\n')
				k--;
			c->out.len = k;
			c->out.data[k] = '\0';
			c->broken = 0;
		}
		pop(c, C_QUOTE);
		block_break(c);
	} else if (strcasecmp(name, "a") == 0 && c->links > 0) {
		char *t = c->href[--c->links];
		if (*t) {
			buf_append_str(&c->out, "](");
			buf_append_str(&c->out, t);
			buf_append_str(&c->out, ")");
		}
		free(t);
	} else if (strcasecmp(name, "tr") == 0) {
		if (c->row_cells > 0) {
			buf_append_str(&c->out, " |");
			newline(c);
			if (c->row_has_th && !c->header_done) {
				for (int i = 0; i < c->row_cells; i++)
					markup(c, "| --- ");
				buf_append_str(&c->out, "|");
				newline(c);
				c->header_done = 1;
			}
		}
	} else if (strcasecmp(name, "td") == 0 || strcasecmp(name, "th") == 0) {
		c->space = 1;
	}
}

/* The code of a pre's first <code class="language-x"> sets the fence's language. */
static void code_in_pre(struct conv *c, const char *attrs, size_t alen)
{
	if (c->raw.len > 0 || c->lang[0])
		return;
	char *cls = attribute(attrs, alen, "class");
	if (cls && strncmp(cls, "language-", 9) == 0) {
		size_t k = 0;
		for (const char *p = cls + 9; *p && *p != ' ' && k < sizeof c->lang - 1; p++)
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
			    *p == '+' || *p == '#')
				c->lang[k++] = *p;
		c->lang[k] = '\0';
	}
	free(cls);
}

/* Copies s into valid UTF-8 without NUL: each bad byte becomes U+FFFD. */
static char *clean_utf8(const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < len;) {
		unsigned char ch = (unsigned char)s[i];
		size_t n = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 0;
		if (n > 0 && i + n <= len && utf8_valid(s + i, n)) {
			buf_append(&b, s + i, n);
			i += n;
		} else {
			buf_append_str(&b, "\xEF\xBF\xBD");
			i++;
		}
	}
	return buf_detach(&b);
}

char *htmlmd_convert(const char *html_in, size_t len_in)
{
	char *html = clean_utf8(html_in, len_in);
	size_t len = strlen(html);
	struct conv c;
	memset(&c, 0, sizeof c);
	c.line_start = 1;
	size_t i = 0, run = 0;
	while (i < len) {
		if (html[i] != '<') {
			i++;
			continue;
		}
		/* A comment runs to -->, or to the end. */
		if (strncmp(html + i, "<!--", 4) == 0) {
			text(&c, html + run, i - run);
			const char *end = strstr(html + i + 4, "-->");
			i = end ? (size_t)(end - html) + 3 : len;
			run = i;
			continue;
		}
		size_t j = i + 1;
		int closing = j < len && html[j] == '/';
		if (closing)
			j++;
		size_t ns = j;
		while (j < len && ((html[j] >= 'a' && html[j] <= 'z') || (html[j] >= 'A' && html[j] <= 'Z') ||
				   (html[j] >= '0' && html[j] <= '9')))
			j++;
		const char *gt = j > ns ? memchr(html + j, '>', len - j) : NULL;
		if (!gt || j - ns > 15 || !(html[ns] >= 'a' && html[ns] <= 'z') == !(html[ns] >= 'A' && html[ns] <= 'Z')) {
			i++; /* a stray '<' is text */
			continue;
		}
		text(&c, html + run, i - run);
		char name[16];
		memcpy(name, html + ns, j - ns);
		name[j - ns] = '\0';
		const char *attrs = html + j;
		size_t alen = (size_t)(gt - attrs);
		if (closing) {
			close_tag(&c, name);
		} else if (c.in_pre && strcasecmp(name, "code") == 0) {
			code_in_pre(&c, attrs, alen);
		} else {
			open_tag(&c, name, attrs, alen);
		}
		i = (size_t)(gt - html) + 1;
		run = i;
	}
	text(&c, html + run, len - run);
	if (c.in_pre)
		close_pre(&c);
	if (c.in_code)
		close_code(&c);
	while (c.links > 0)
		free(c.href[--c.links]);
	buf_free(&c.raw);
	free(html);
	/* Trailing blank lines and lines of bare quote prefixes go. */
	for (;;) {
		while (c.out.len > 0 && (c.out.data[c.out.len - 1] == '\n' || c.out.data[c.out.len - 1] == ' '))
			c.out.data[--c.out.len] = '\0';
		size_t k = c.out.len;
		while (k > 0 && (c.out.data[k - 1] == '>' || c.out.data[k - 1] == ' '))
			k--;
		if (k == c.out.len || (k > 0 && c.out.data[k - 1] != '\n'))
			break;
		c.out.len = k;
		c.out.data[k] = '\0';
	}
	return buf_detach(&c.out);
}
