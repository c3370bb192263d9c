/* json.c: strict flat-object reader for request bodies; json-c output helpers. */
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "utf8.h"

struct reader {
	const char *p, *end;
};

static void skip_ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Reads a string starting at the opening quote into out. */
static int read_string(struct reader *r, struct buf *out)
{
	r->p++; /* opening quote */
	while (r->p < r->end) {
		unsigned char c = (unsigned char)*r->p;
		if (c == '"') {
			r->p++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			buf_append_char(out, (char)c);
			r->p++;
			continue;
		}
		if (r->end - r->p < 2)
			return -1;
		char e = r->p[1];
		r->p += 2;
		switch (e) {
		case '"': buf_append_char(out, '"'); break;
		case '\\': buf_append_char(out, '\\'); break;
		case '/': buf_append_char(out, '/'); break;
		case 'b': buf_append_char(out, '\b'); break;
		case 'f': buf_append_char(out, '\f'); break;
		case 'n': buf_append_char(out, '\n'); break;
		case 'r': buf_append_char(out, '\r'); break;
		case 't': buf_append_char(out, '\t'); break;
		case 'u': {
			uint32_t cp, lo;
			if (r->end - r->p < 4 || hex4(r->p, &cp) < 0)
				return -1;
			r->p += 4;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return -1; /* lone low surrogate */
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
				    hex4(r->p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
					return -1;
				r->p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			if (cp == 0)
				return -1; /* NUL never enters a C string */
			char enc[4];
			size_t n = utf8_encode(cp, enc);
			if (n == 0)
				return -1;
			buf_append(out, enc, n);
			break;
		}
		default:
			return -1;
		}
	}
	return -1;
}

/* Reads a JSON number; integers that fit in long long become JV_INT. */
static int read_number(struct reader *r, struct jv_member *m)
{
	const char *start = r->p;
	int integral = 1;
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p >= r->end)
		return -1;
	if (*r->p == '0') {
		r->p++;
	} else if (*r->p >= '1' && *r->p <= '9') {
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	} else {
		return -1;
	}
	if (r->p < r->end && *r->p == '.') {
		integral = 0;
		r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return -1;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		integral = 0;
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return -1;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	m->type = JV_NUMBER;
	if (integral) {
		char tmp[32];
		size_t n = (size_t)(r->p - start);
		if (n < sizeof tmp) {
			memcpy(tmp, start, n);
			tmp[n] = '\0';
			errno = 0;
			long long v = strtoll(tmp, NULL, 10);
			if (errno == 0) {
				m->type = JV_INT;
				m->num = v;
			}
		}
	}
	return 0;
}

static int read_literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return -1;
	r->p += n;
	return 0;
}

static int read_value(struct reader *r, struct jv_member *m, const char **err)
{
	if (r->p >= r->end)
		return -1;
	switch (*r->p) {
	case '"': {
		struct buf s = BUF_INIT;
		if (read_string(r, &s) < 0) {
			buf_free(&s);
			return -1;
		}
		m->type = JV_STRING;
		m->len = s.len;
		m->str = buf_detach(&s);
		return 0;
	}
	case 't':
		m->type = JV_BOOL, m->boolean = 1;
		return read_literal(r, "true");
	case 'f':
		m->type = JV_BOOL, m->boolean = 0;
		return read_literal(r, "false");
	case 'n':
		m->type = JV_NULL;
		return read_literal(r, "null");
	case '{':
	case '[':
		*err = "Request fields must be strings, numbers, booleans or null.";
		return -1;
	default:
		return read_number(r, m);
	}
}

int jsonx_parse_object(const char *text, size_t len, struct jv_object *out, const char **err)
{
	static const char bad[] = "Request body is not valid JSON.";
	struct reader r = {text, text + len};
	out->members = NULL;
	out->count = 0;
	*err = NULL;
	size_t cap = 0;

	skip_ws(&r);
	if (r.p >= r.end || *r.p != '{') {
		*err = "Request body must be a JSON object.";
		return -1;
	}
	r.p++;
	skip_ws(&r);
	if (r.p < r.end && *r.p == '}') {
		r.p++;
		goto tail;
	}
	for (;;) {
		skip_ws(&r);
		if (r.p >= r.end || *r.p != '"')
			goto fail;
		struct buf key = BUF_INIT;
		if (read_string(&r, &key) < 0) {
			buf_free(&key);
			goto fail;
		}
		if (jsonx_member(out, buf_str(&key)) != NULL) {
			buf_free(&key);
			*err = "Request body repeats a field.";
			goto fail;
		}
		if (out->count == cap) {
			cap = cap ? cap * 2 : 4;
			if (cap > 64) {
				buf_free(&key);
				*err = "Request body has too many fields.";
				goto fail;
			}
			out->members = xrealloc(out->members, cap * sizeof *out->members);
		}
		struct jv_member *m = &out->members[out->count];
		memset(m, 0, sizeof *m);
		m->key = buf_detach(&key);
		out->count++;
		skip_ws(&r);
		if (r.p >= r.end || *r.p != ':')
			goto fail;
		r.p++;
		skip_ws(&r);
		if (read_value(&r, m, err) < 0)
			goto fail;
		skip_ws(&r);
		if (r.p < r.end && *r.p == ',') {
			r.p++;
			continue;
		}
		if (r.p < r.end && *r.p == '}') {
			r.p++;
			break;
		}
		goto fail;
	}
tail:
	skip_ws(&r);
	if (r.p == r.end)
		return 0;
fail:
	if (*err == NULL)
		*err = bad;
	jsonx_free_members(out);
	return -1;
}

void jsonx_free_members(struct jv_object *obj)
{
	for (size_t i = 0; i < obj->count; i++) {
		free(obj->members[i].key);
		free(obj->members[i].str);
	}
	free(obj->members);
	obj->members = NULL;
	obj->count = 0;
}

const struct jv_member *jsonx_member(const struct jv_object *obj, const char *key)
{
	for (size_t i = 0; i < obj->count; i++)
		if (strcmp(obj->members[i].key, key) == 0)
			return &obj->members[i];
	return NULL;
}

char *jsonx_to_string(struct json_object *v)
{
	const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	return xstrdup(s ? s : "null");
}
