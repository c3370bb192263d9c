/* sse.c: incremental parser for an OpenAI-compatible chat-completions SSE stream (see sse.h). */
#include "sse.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

static void sse_fail(struct sse_parser *p, enum sse_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sse_fail(struct sse_parser *p, enum sse_status status, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->status != SSE_OK)
		return;
	p->status = status;
	n = snprintf(p->error, sizeof p->error, "line %lu: ", p->line_no);
	if (n < 0 || (size_t)n >= sizeof p->error)
		n = 0;
	va_start(ap, fmt);
	if (vsnprintf(p->error + n, sizeof p->error - (size_t)n, fmt, ap) < 0)
		p->error[n] = '\0';
	va_end(ap);
}

void sse_init(struct sse_parser *p, size_t max_line, sse_piece_fn on_piece, void *ctx)
{
	memset(p, 0, sizeof *p);
	p->on_piece = on_piece;
	p->ctx = ctx;
	p->max_line = max_line ? max_line : SSE_DEFAULT_MAX_LINE;
	if (p->max_line > (size_t)INT_MAX / 2)
		p->max_line = (size_t)INT_MAX / 2; /* json-c takes an int length */
	p->status = SSE_OK;
	p->usage_tokens = -1;
}

long long sse_usage_tokens(const struct sse_parser *p)
{
	return p->usage_tokens;
}

void sse_free(struct sse_parser *p)
{
	buf_free(&p->line);
	buf_free(&p->payload);
	if (p->tok != NULL)
		json_tokener_free(p->tok);
	if (p->error_obj != NULL)
		json_object_put(p->error_obj);
	memset(p, 0, sizeof *p);
}

int sse_done(const struct sse_parser *p) { return p->done; }
int sse_finished(const struct sse_parser *p) { return p->finished; }
unsigned long sse_data_count(const struct sse_parser *p) { return p->data_count; }
enum sse_status sse_status(const struct sse_parser *p) { return p->status; }
const char *sse_error(const struct sse_parser *p) { return p->error; }

struct json_object *sse_error_object(const struct sse_parser *p)
{
	return p->status == SSE_ERR_PROVIDER ? p->error_obj : NULL;
}

/* Appends n bytes to b within the line limit; returns 0, or -1 having set
 * the parser's status. */
static int sse_append(struct sse_parser *p, struct buf *b, const char *src, size_t n)
{
	if (n > p->max_line || b->len > p->max_line - n) {
		sse_fail(p, SSE_ERR_LINE_TOO_LONG, "longer than %zu bytes", p->max_line);
		return -1;
	}
	if (buf_try_append(b, src, n) != 0) {
		sse_fail(p, SSE_ERR_NOMEM, "out of memory");
		return -1;
	}
	return 0;
}

static int sse_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Sends one delta member (a string, null or missing) to the callback. */
static int sse_emit(struct sse_parser *p, enum sse_piece kind, struct json_object *v, const char *name)
{
	size_t len;

	if (v == NULL || json_object_get_type(v) == json_type_null)
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		sse_fail(p, SSE_ERR_MALFORMED, "delta.%s is not a string", name);
		return -1;
	}
	len = (size_t)json_object_get_string_len(v);
	if (len == 0 || p->on_piece == NULL)
		return 0;
	if (p->on_piece(p->ctx, kind, json_object_get_string(v), len) != 0) {
		sse_fail(p, SSE_ERR_ABORTED, "stopped by the caller");
		return -1;
	}
	return 0;
}

static int sse_handle_choice(struct sse_parser *p, struct json_object *choice)
{
	struct json_object *index, *delta, *reasoning, *content, *finish;

	if (!json_object_is_type(choice, json_type_object)) {
		sse_fail(p, SSE_ERR_MALFORMED, "a choice is not an object");
		return -1;
	}
	if (json_object_object_get_ex(choice, "index", &index) &&
	    json_object_is_type(index, json_type_int) && json_object_get_int64(index) != 0)
		return 0; /* another of n answers: we asked for one */
	if (json_object_object_get_ex(choice, "delta", &delta) && delta != NULL) {
		if (!json_object_is_type(delta, json_type_object)) {
			sse_fail(p, SSE_ERR_MALFORMED, "delta is not an object");
			return -1;
		}
		reasoning = NULL;
		if (!json_object_object_get_ex(delta, "reasoning_content", &reasoning) || reasoning == NULL)
			(void)json_object_object_get_ex(delta, "reasoning", &reasoning);
		if (sse_emit(p, SSE_PIECE_REASONING, reasoning, "reasoning_content") != 0)
			return -1;
		content = NULL;
		(void)json_object_object_get_ex(delta, "content", &content);
		if (sse_emit(p, SSE_PIECE_CONTENT, content, "content") != 0)
			return -1;
	}
	if (json_object_object_get_ex(choice, "finish_reason", &finish) && finish != NULL &&
	    json_object_get_type(finish) != json_type_null)
		p->finished = 1;
	return 0;
}

static void sse_handle_object(struct sse_parser *p, struct json_object *obj)
{
	struct json_object *err, *choices;
	size_t i, n;

	if (!json_object_is_type(obj, json_type_object)) {
		sse_fail(p, SSE_ERR_MALFORMED, "data is not a JSON object");
		return;
	}
	if (json_object_object_get_ex(obj, "error", &err) && err != NULL &&
	    json_object_get_type(err) != json_type_null) {
		p->error_obj = json_object_get(err);
		sse_fail(p, SSE_ERR_PROVIDER, "the provider sent an error in the stream");
		return;
	}
	struct json_object *usage, *total;
	if (json_object_object_get_ex(obj, "usage", &usage) && json_object_is_type(usage, json_type_object) &&
	    json_object_object_get_ex(usage, "total_tokens", &total) && json_object_is_type(total, json_type_int) &&
	    json_object_get_int64(total) >= 0)
		p->usage_tokens = json_object_get_int64(total);
	if (!json_object_object_get_ex(obj, "choices", &choices) || choices == NULL)
		return; /* e.g. a usage-only chunk */
	if (!json_object_is_type(choices, json_type_array)) {
		sse_fail(p, SSE_ERR_MALFORMED, "choices is not an array");
		return;
	}
	n = json_object_array_length(choices);
	for (i = 0; i < n; i++)
		if (sse_handle_choice(p, json_object_array_get_idx(choices, i)) != 0)
			return;
}

/* Tries to parse the payload gathered so far; keeps it when its JSON is
 * merely incomplete. */
static void sse_try_payload(struct sse_parser *p)
{
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (p->tok == NULL) {
		p->tok = json_tokener_new();
		if (p->tok == NULL) {
			sse_fail(p, SSE_ERR_NOMEM, "out of memory");
			return;
		}
		/* Standard JSON only: no single quotes, trailing commas or comments. */
		json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT);
	}
	json_tokener_reset(p->tok);
	obj = json_tokener_parse_ex(p->tok, p->payload.data, (int)p->payload.len);
	jerr = json_tokener_get_error(p->tok);
	if (jerr == json_tokener_continue)
		return;
	if (jerr != json_tokener_success) {
		sse_fail(p, SSE_ERR_MALFORMED, "data is not JSON (%s)", json_tokener_error_desc(jerr));
		p->payload.len = 0;
		return;
	}
	end = json_tokener_get_parse_end(p->tok);
	while (end < p->payload.len && sse_is_space(p->payload.data[end]))
		end++;
	if (end < p->payload.len)
		sse_fail(p, SSE_ERR_MALFORMED, "data has bytes after its JSON value");
	else
		sse_handle_object(p, obj);
	p->payload.len = 0;
	p->data_count++;
	json_object_put(obj);
}

static void sse_handle_data(struct sse_parser *p, const char *value, size_t n)
{
	if (p->done)
		return;
	if (p->payload.len == 0) {
		size_t a = 0, b = n;

		while (a < b && sse_is_space(value[a]))
			a++;
		while (b > a && sse_is_space(value[b - 1]))
			b--;
		if (a == b)
			return; /* an empty data line: nothing to say */
		if (b - a == 6 && memcmp(value + a, "[DONE]", 6) == 0) {
			p->done = 1;
			p->data_count++;
			return;
		}
	} else if (sse_append(p, &p->payload, "\n", 1) != 0) {
		return;
	}
	if (sse_append(p, &p->payload, value, n) != 0)
		return;
	sse_try_payload(p);
}

/* The end of an event (a blank line, or the end of the input). */
static void sse_end_event(struct sse_parser *p)
{
	if (p->payload.len != 0) {
		sse_fail(p, SSE_ERR_MALFORMED, "data ends inside a JSON value");
		p->payload.len = 0;
	}
}

static void sse_handle_line(struct sse_parser *p, const char *line, size_t n)
{
	const char *colon, *value;
	size_t name_len, value_len;

	p->line_no++;
	if (!p->started) {
		p->started = 1;
		if (n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
			line += 3;
			n -= 3;
		}
	}
	if (n == 0) {
		sse_end_event(p);
		return;
	}
	if (line[0] == ':')
		return; /* a comment, e.g. ": keep-alive" */
	colon = memchr(line, ':', n);
	if (colon == NULL) {
		name_len = n;
		value = line + n;
		value_len = 0;
	} else {
		name_len = (size_t)(colon - line);
		value = colon + 1;
		value_len = n - name_len - 1;
		if (value_len > 0 && value[0] == ' ') {
			value++;
			value_len--;
		}
	}
	if (name_len == 4 && memcmp(line, "data", 4) == 0)
		sse_handle_data(p, value, value_len);
	/* event:, id:, retry: and unknown fields carry nothing we use. */
}

enum sse_status sse_feed(struct sse_parser *p, const char *data, size_t len)
{
	size_t i = 0;

	while (i < len && p->status == SSE_OK) {
		size_t j;

		if (p->skip_lf) {
			p->skip_lf = 0;
			if (data[i] == '\n') {
				i++;
				continue;
			}
		}
		for (j = i; j < len && data[j] != '\n' && data[j] != '\r'; j++)
			;
		if (j > i && sse_append(p, &p->line, data + i, j - i) != 0)
			break;
		if (j == len)
			break; /* the line goes on in the next chunk */
		sse_handle_line(p, buf_str(&p->line), p->line.len);
		p->line.len = 0;
		p->skip_lf = data[j] == '\r';
		i = j + 1;
	}
	return p->status;
}

enum sse_status sse_finish(struct sse_parser *p)
{
	if (p->status != SSE_OK)
		return p->status;
	if (p->line.len > 0) {
		sse_handle_line(p, buf_str(&p->line), p->line.len);
		p->line.len = 0;
	}
	p->skip_lf = 0;
	/* An unfinished payload at the end of the input means the stream was
	 * cut: the answer is simply not done, which the caller sees. */
	p->payload.len = 0;
	return p->status;
}
