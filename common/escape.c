/* escape.c: escapers for HTML, URL, header and log contexts (see escape.h). */
#include "escape.h"

static const char hexdigits[] = "0123456789ABCDEF";

void escape_html(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '&': buf_append_str(out, "&amp;"); break;
		case '<': buf_append_str(out, "&lt;"); break;
		case '>': buf_append_str(out, "&gt;"); break;
		case '"': buf_append_str(out, "&quot;"); break;
		case '\'': buf_append_str(out, "&#39;"); break;
		default: buf_append_char(out, s[i]);
		}
	}
}

void escape_html_paragraph(struct buf *out, const char *s, size_t len)
{
	buf_append_str(out, "<p>");
	escape_html(out, s, len);
	buf_append_str(out, "</p>");
}

void escape_header(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != 0x7F)
			buf_append_char(out, (char)c);
	}
}

void escape_log(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7F && c != '\\' && c != '"') {
			buf_append_char(out, (char)c);
		} else {
			char e[4] = {'\\', 'x', hexdigits[c >> 4], hexdigits[c & 15]};
			buf_append(out, e, 4);
		}
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int unescape_url(struct buf *out, const char *s, size_t len, int plus_is_space)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (len - i < 3)
				return -1;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			buf_append_char(out, (char)(hi << 4 | lo));
			i += 2;
		} else if (s[i] == '+' && plus_is_space) {
			buf_append_char(out, ' ');
		} else {
			buf_append_char(out, s[i]);
		}
	}
	return 0;
}

void escape_html_marked(struct buf *out, const char *s, size_t len, char open, char close)
{
	int marked = 0;
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != open && s[i] != close)
			continue;
		escape_html(out, s + run, i - run);
		run = i + 1;
		if (s[i] == open && !marked) {
			buf_append_str(out, "<mark>");
			marked = 1;
		} else if (s[i] == close && marked) {
			buf_append_str(out, "</mark>");
			marked = 0;
		}
	}
	escape_html(out, s + run, len - run);
	if (marked)
		buf_append_str(out, "</mark>");
}
