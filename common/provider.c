/* provider.c: the chat-completions client on libcurl and json-c (see provider.h). */
#include "provider.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "buf.h"
#include "demo.h"
#include "sse.h"
#include "timefmt.h"
#include "utf8.h"

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0xFFFFFFFF
#endif

#define PROVIDER_POLL_MS 100        /* should_abort and the timers are checked this often */
#define PROVIDER_DETAIL_MAX 400     /* bytes of a detail line */
#define PROVIDER_MESSAGE_MAX 240    /* bytes of the provider's own error message in a detail */

/* ---- growable strings ---------------------------------------------------- */

/* Text as it arrives: bytes in a buf (buf.h), repaired as UTF-8 on the way
 * in (utf8.h) for content and reasoning. */
struct provider_text {
	struct buf b;
	struct utf8_repair dec;
};

/* ---- one call ------------------------------------------------------------ */

enum provider_stop {
	PROVIDER_STOP_NONE,
	PROVIDER_STOP_ABORTED,
	PROVIDER_STOP_IDLE,
	PROVIDER_STOP_TOTAL,
	PROVIDER_STOP_NOMEM,
	PROVIDER_STOP_TOO_BIG,
	PROVIDER_STOP_SSE,          /* the SSE parser failed: see its status */
	PROVIDER_STOP_DONE,         /* [DONE] seen: nothing more to read */
	PROVIDER_STOP_ERROR_FULL,   /* enough of an error body */
	PROVIDER_STOP_FIRST_TOKEN   /* streaming, and no token in time */
};

enum provider_mode { PROVIDER_MODE_UNKNOWN, PROVIDER_MODE_SSE, PROVIDER_MODE_JSON, PROVIDER_MODE_ERROR };

struct provider_call {
	const struct provider_request *req;
	CURL *easy;
	struct sse_parser sse;
	struct provider_text content, reasoning;
	struct provider_text body;   /* a JSON answer or an error body */
	size_t max_answer;
	size_t body_bytes;           /* every body byte received */
	enum provider_mode mode;
	enum provider_stop stop;
	long idle_ms, total_ms, first_token_ms;
	int got_token;               /* a piece of content or reasoning arrived */
	int sent;                    /* the request went out: the idle clock runs from then */
	int64_t start_ms, last_activity_ms;
	int64_t done_ms;             /* [DONE] seen while connections are kept: the body's end is read */
	size_t after_done;           /* bytes after [DONE] */
	char errbuf[CURL_ERROR_SIZE];
};

/* Connections, TLS sessions and DNS answers kept between calls (provider.h). */
static CURLSH *provider_share;
/* With connections kept, what a stream may still send after [DONE] (its
 * last chunk) for its connection to serve the next prompt; past either
 * bound the connection is closed, as without them. */
#define PROVIDER_DONE_GRACE_MS 200
#define PROVIDER_DONE_GRACE_BYTES 4096

static int provider_should_abort(struct provider_call *c)
{
	if (c->req->should_abort != NULL && c->req->should_abort(c->req->ctx) != 0) {
		if (c->stop == PROVIDER_STOP_NONE)
			c->stop = PROVIDER_STOP_ABORTED;
		return 1;
	}
	return 0;
}

/* Repairs and records a piece, then hands the repaired part to on_delta.
 * Returns 0, or -1 having set c->stop. */
static int provider_piece(struct provider_call *c, int is_reasoning, const char *p, size_t n)
{
	struct provider_text *t = is_reasoning ? &c->reasoning : &c->content;
	size_t before = t->b.len, i;
	int stop;

	if (n > c->max_answer || c->content.b.len + c->reasoning.b.len > c->max_answer - n) {
		c->stop = PROVIDER_STOP_TOO_BIG;
		return -1;
	}
	if (n > SIZE_MAX / 4 || buf_try_reserve(&t->b, n * 3 + 8) != 0) {
		c->stop = PROVIDER_STOP_NOMEM;
		return -1;
	}
	for (i = 0; i < n; i++)
		t->b.len += utf8_repair_feed(&t->dec, (unsigned char)p[i], t->b.data + t->b.len);
	t->b.data[t->b.len] = '\0';
	if (c->content.b.len + c->reasoning.b.len > c->max_answer) {
		t->b.len = before;
		t->b.data[before] = '\0';
		c->stop = PROVIDER_STOP_TOO_BIG;
		return -1;
	}
	if (t->b.len > before)
		c->got_token = 1;
	if (t->b.len == before || c->req->on_delta == NULL)
		return 0;
	stop = is_reasoning ? c->req->on_delta(c->req->ctx, NULL, t->b.data + before)
	    : c->req->on_delta(c->req->ctx, t->b.data + before, NULL);
	if (stop != 0) {
		c->stop = PROVIDER_STOP_ABORTED;
		return -1;
	}
	return 0;
}

/* Ends both texts: a character left unfinished becomes U+FFFD, shown to
 * on_delta only when the answer is complete. */
static void provider_pieces_flush(struct provider_call *c, int deliver)
{
	struct provider_text *texts[2] = {&c->reasoning, &c->content};
	char tail[4];
	size_t k;

	for (k = 0; k < 2; k++) {
		size_t n = utf8_repair_flush(&texts[k]->dec, tail);
		if (n == 0)
			continue;
		if (deliver)
			(void)provider_piece(c, k == 0, tail, n); /* the call is over: a stop asked now changes nothing */
		else if (buf_try_append(&texts[k]->b, tail, n) != 0)
			c->stop = PROVIDER_STOP_NOMEM;
	}
}

static int provider_on_sse_piece(void *ctx, enum sse_piece kind, const char *text, size_t len)
{
	struct provider_call *c = ctx;

	return provider_piece(c, kind == SSE_PIECE_REASONING, text, len) != 0 ? 1 : 0;
}

/* Decides, at the first body byte, how to read the body. */
static void provider_pick_mode(struct provider_call *c)
{
	long http = 0;
	char *type = NULL;

	if (curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &http) != CURLE_OK)
		http = 0;
	if (curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &type) != CURLE_OK)
		type = NULL;
	if (http < 200 || http > 299)
		c->mode = PROVIDER_MODE_ERROR;
	else if (type != NULL && strncasecmp(type, "text/event-stream", 17) == 0)
		c->mode = PROVIDER_MODE_SSE;
	else if (type != NULL && strncasecmp(type, "application/json", 16) == 0)
		c->mode = PROVIDER_MODE_JSON; /* also when a server ignores "stream": true */
	else
		c->mode = c->req->stream ? PROVIDER_MODE_SSE : PROVIDER_MODE_JSON;
}

static size_t provider_on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct provider_call *c = userdata;

	(void)ptr;
	c->last_activity_ms = monotonic_ms();
	if (c->stop != PROVIDER_STOP_NONE || provider_should_abort(c))
		return 0;
	return size * nmemb;
}

static size_t provider_on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct provider_call *c = userdata;
	size_t n = size * nmemb, room;

	c->last_activity_ms = monotonic_ms();
	if (c->done_ms != 0) {
		c->after_done += n;
		if (c->after_done <= PROVIDER_DONE_GRACE_BYTES)
			return n;
		c->stop = PROVIDER_STOP_DONE;
		return CURL_WRITEFUNC_ERROR;
	}
	if (c->stop != PROVIDER_STOP_NONE || provider_should_abort(c))
		return CURL_WRITEFUNC_ERROR;
	if (c->mode == PROVIDER_MODE_UNKNOWN)
		provider_pick_mode(c);
	c->body_bytes += n;
	if (c->mode != PROVIDER_MODE_ERROR && c->req->on_raw != NULL && c->req->on_raw(c->req->ctx, ptr, n) != 0) {
		c->stop = PROVIDER_STOP_ABORTED;
		return CURL_WRITEFUNC_ERROR;
	}
	switch (c->mode) {
	case PROVIDER_MODE_ERROR:
		room = PROVIDER_MAX_ERROR_BODY - c->body.b.len;
		if (buf_try_append(&c->body.b, ptr, n < room ? n : room) != 0) {
			c->stop = PROVIDER_STOP_NOMEM;
			return CURL_WRITEFUNC_ERROR;
		}
		if (c->body.b.len >= PROVIDER_MAX_ERROR_BODY) {
			c->stop = PROVIDER_STOP_ERROR_FULL;
			return CURL_WRITEFUNC_ERROR;
		}
		return n;
	case PROVIDER_MODE_JSON:
		if (c->body.b.len + n > c->max_answer + PROVIDER_MAX_ERROR_BODY) {
			c->stop = PROVIDER_STOP_TOO_BIG;
			return CURL_WRITEFUNC_ERROR;
		}
		if (buf_try_append(&c->body.b, ptr, n) != 0) {
			c->stop = PROVIDER_STOP_NOMEM;
			return CURL_WRITEFUNC_ERROR;
		}
		return n;
	case PROVIDER_MODE_SSE:
	case PROVIDER_MODE_UNKNOWN:
	default:
		if (sse_feed(&c->sse, ptr, n) != SSE_OK) {
			if (c->stop == PROVIDER_STOP_NONE)
				c->stop = sse_status(&c->sse) == SSE_ERR_NOMEM ? PROVIDER_STOP_NOMEM : PROVIDER_STOP_SSE;
			return CURL_WRITEFUNC_ERROR;
		}
		if (sse_done(&c->sse) && provider_share != NULL) {
			c->done_ms = monotonic_ms(); /* read the body's end: the connection stays usable */
			return n;
		}
		if (sse_done(&c->sse)) {
			c->stop = PROVIDER_STOP_DONE;
			return CURL_WRITEFUNC_ERROR; /* nothing after [DONE] matters */
		}
		return n;
	}
}

/* ---- details for the operator log --------------------------------------- */

/* Replaces in s every run of 8 or more bytes (the whole key when shorter)
 * that also occurs in key by "[redacted]", so neither the key nor a long
 * piece of it survives. Returns a new string the caller frees, or NULL. */
static char *provider_redact(const char *s, const char *key)
{
	struct buf out = BUF_INIT;
	size_t klen, i = 0;

	klen = key != NULL ? strlen(key) : 0;
	if (klen == 0)
		return strdup(s);
	if (buf_try_reserve(&out, strlen(s)) != 0)
		return NULL;
	while (s[i] != '\0') {
		size_t best = 0, j;

		for (j = 0; j < klen; j++) {
			size_t l = 0;

			while (s[i + l] != '\0' && key[j + l] != '\0' && s[i + l] == key[j + l])
				l++;
			if (l > best)
				best = l;
		}
		if (best > 0 && (best >= 8 || best == klen)) {
			if (buf_try_append(&out, "[redacted]", 10) != 0)
				goto fail;
			i += best;
		} else {
			if (buf_try_append(&out, s + i, 1) != 0)
				goto fail;
			i++;
		}
	}
	return out.data;
fail:
	free(out.data);
	return NULL;
}

/* Returns s as one line of valid UTF-8 of at most PROVIDER_DETAIL_MAX
 * bytes: control characters become spaces, invalid bytes U+FFFD. A new
 * string the caller frees, or NULL when out of memory. */
static char *provider_one_line(const char *s)
{
	struct utf8_repair u = UTF8_REPAIR_INIT;
	size_t n = strlen(s), w = 0, i;
	char *out;

	if (n > SIZE_MAX / 4)
		return NULL;
	out = malloc(n * 3 + 8);
	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b < 0x20 || b == 0x7F) {
			w += utf8_repair_flush(&u, out + w);
			out[w++] = ' ';
		} else {
			w += utf8_repair_feed(&u, b, out + w);
		}
	}
	w += utf8_repair_flush(&u, out + w);
	out[w] = '\0';
	if (w > PROVIDER_DETAIL_MAX) {
		size_t cut = PROVIDER_DETAIL_MAX - 3;

		while (cut > 0 && ((unsigned char)out[cut] & 0xC0) == 0x80)
			cut--;
		memcpy(out + cut, "...", 4);
	}
	return out;
}

/* Sets out->detail from a printf format, scrubbed of the key and made one
 * line. Keeps the first detail set. */
static void provider_detail(struct provider_result *out, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void provider_detail(struct provider_result *out, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *raw, *clean;

	if (out->detail != NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	raw = malloc((size_t)n + 1);
	if (raw == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(raw, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (n < 0) {
		free(raw);
		return;
	}
	clean = provider_redact(raw, key);
	free(raw);
	if (clean == NULL)
		return;
	out->detail = provider_one_line(clean);
	free(clean);
}

/* ---- reading error objects ------------------------------------------------ */

/* What an error JSON says: {"error":{"message","type","code"}}, {"error":"…"},
 * {"message":"…"} or {"detail":"…"}. Strings point into the JSON. */
struct provider_error_info {
	const char *message, *type, *code;
	long code_num; /* a numeric code or status, else 0 */
};

static const char *provider_json_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static long provider_json_num(struct json_object *obj, const char *key)
{
	struct json_object *v;
	int64_t n;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	n = json_object_get_int64(v);
	return n > 0 && n < 1000 ? (long)n : 0;
}

/* err is the value of "error" (any type), or NULL; root the whole body. */
static void provider_error_read(struct json_object *root, struct json_object *err,
    struct provider_error_info *info)
{
	struct json_object *detail;

	memset(info, 0, sizeof *info);
	if (err != NULL && json_object_is_type(err, json_type_string)) {
		info->message = json_object_get_string(err);
	} else if (err != NULL && json_object_is_type(err, json_type_object)) {
		info->message = provider_json_str(err, "message");
		info->type = provider_json_str(err, "type");
		info->code = provider_json_str(err, "code");
		info->code_num = provider_json_num(err, "code");
		if (info->code_num == 0)
			info->code_num = provider_json_num(err, "status");
	}
	if (info->message == NULL)
		info->message = provider_json_str(root, "message");
	if (info->message == NULL)
		info->message = provider_json_str(root, "detail");
	if (info->message == NULL && root != NULL && json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "detail", &detail) &&
	    json_object_is_type(detail, json_type_array) && json_object_array_length(detail) > 0)
		info->message = provider_json_str(json_object_array_get_idx(detail, 0), "msg");
}

static int provider_contains(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; s != NULL && *s != '\0'; s++)
		if (strncasecmp(s, word, n) == 0)
			return 1;
	return 0;
}

/* The status a type or code string points to, or PROVIDER_OK when none. */
static enum provider_status provider_status_hint(const struct provider_error_info *info)
{
	const char *words[2] = {info->type, info->code};
	size_t k;

	for (k = 0; k < 2; k++) {
		const char *w = words[k];

		if (provider_contains(w, "insufficient") || provider_contains(w, "quota") ||
		    provider_contains(w, "balance") || provider_contains(w, "billing"))
			return PROVIDER_ERR_BALANCE;
		if (provider_contains(w, "rate_limit") || provider_contains(w, "too_many"))
			return PROVIDER_ERR_RATE;
		if (provider_contains(w, "api_key") || provider_contains(w, "authentication") ||
		    provider_contains(w, "permission"))
			return PROVIDER_ERR_AUTH;
		if (provider_contains(w, "context_length") || provider_contains(w, "invalid_param"))
			return PROVIDER_ERR_BAD_REQUEST;
	}
	return PROVIDER_OK;
}

static enum provider_status provider_status_for_http(long http)
{
	if (http == 400 || http == 413 || http == 422)
		return PROVIDER_ERR_BAD_REQUEST;
	if (http == 401 || http == 403)
		return PROVIDER_ERR_AUTH;
	if (http == 402)
		return PROVIDER_ERR_BALANCE;
	if (http == 429)
		return PROVIDER_ERR_RATE;
	if (http >= 500 && http <= 599)
		return PROVIDER_ERR_SERVER;
	return PROVIDER_ERR_HTTP;
}

/* An error object inside a 2xx answer (streamed or not). */
static enum provider_status provider_status_for_error(const struct provider_error_info *info)
{
	enum provider_status hint = provider_status_hint(info);

	if (info->code_num >= 400 && info->code_num <= 599)
		return provider_status_for_http(info->code_num);
	return hint != PROVIDER_OK ? hint : PROVIDER_ERR_SERVER;
}

static void provider_detail_error(struct provider_result *out, const char *key, const char *where,
    const struct provider_error_info *info)
{
	char msg[PROVIDER_MESSAGE_MAX + 4];
	const char *m = info->message != NULL ? info->message : "(no message)";
	size_t n = strlen(m);

	/* Cut long messages; provider_detail() scrubs the key first anyway. */
	if (n > PROVIDER_MESSAGE_MAX) {
		n = PROVIDER_MESSAGE_MAX;
		while (n > 0 && ((unsigned char)m[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(msg, m, n);
	strcpy(msg + n, n < strlen(m) ? "..." : "");
	provider_detail(out, key, "%s: %s (type %s, code %s)", where, msg,
	    info->type != NULL ? info->type : "-", info->code != NULL ? info->code : "-");
}

/* Parses a whole body as one JSON value; NULL when it is not (or when out
 * of memory), with the reason in *jerr. */
static struct json_object *provider_parse_json(const char *text, size_t len, enum json_tokener_error *jerr)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;

	*jerr = json_tokener_error_size; /* stands for "out of memory" here */
	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, len > INT32_MAX ? INT32_MAX : (int)len);
	*jerr = json_tokener_get_error(tok);
	if (*jerr == json_tokener_continue)
		*jerr = json_tokener_error_parse_eof;
	if (obj != NULL && *jerr == json_tokener_success) {
		size_t end = json_tokener_get_parse_end(tok);

		while (end < len && (text[end] == ' ' || text[end] == '\n' || text[end] == '\r' || text[end] == '\t'))
			end++;
		if (end < len) {
			json_object_put(obj);
			obj = NULL;
			*jerr = json_tokener_error_parse_unexpected;
		}
	}
	json_tokener_free(tok);
	return obj;
}

/* A short, safe excerpt of a body that is not JSON, for the detail. */
static void provider_excerpt(const char *body, size_t len, char *out, size_t outlen)
{
	size_t n = len < outlen - 1 ? len : outlen - 1, i;

	for (i = 0; i < n; i++)
		out[i] = body[i] == '\0' ? ' ' : body[i];
	out[n] = '\0';
}

static void provider_read_http_error(struct provider_call *c, long http, struct provider_result *out)
{
	enum json_tokener_error jerr;
	struct json_object *root = provider_parse_json(c->body.b.data != NULL ? c->body.b.data : "", c->body.b.len, &jerr);
	struct json_object *err = NULL;
	struct provider_error_info info;
	char where[64];

	out->status = provider_status_for_http(http);
	if (root != NULL && json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "error", &err)) {
		/* OpenAI's 429 insufficient_quota is about money, not load. */
		provider_error_read(root, err, &info);
		if (http == 429 && provider_status_hint(&info) == PROVIDER_ERR_BALANCE)
			out->status = PROVIDER_ERR_BALANCE;
	} else {
		provider_error_read(root, NULL, &info);
	}
	snprintf(where, sizeof where, "HTTP %ld from the AI service", http);
	if (info.message != NULL) {
		provider_detail_error(out, c->req->api_key, where, &info);
	} else {
		char excerpt[121];

		provider_excerpt(c->body.b.data != NULL ? c->body.b.data : "", c->body.b.len, excerpt, sizeof excerpt);
		provider_detail(out, c->req->api_key, "%s (%zu bytes): %s", where, c->body_bytes, excerpt);
	}
	json_object_put(root);
}

/* A non-streamed answer: {"choices":[{"message":{"content","reasoning_content"}}]}. */
static void provider_read_answer(struct provider_call *c, struct provider_result *out)
{
	enum json_tokener_error jerr;
	struct json_object *root, *err, *choices, *choice = NULL, *message, *content = NULL, *reasoning = NULL;
	const char *key = c->req->api_key;

	root = provider_parse_json(c->body.b.data != NULL ? c->body.b.data : "", c->body.b.len, &jerr);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		char excerpt[81];

		provider_excerpt(c->body.b.data != NULL ? c->body.b.data : "", c->body.b.len, excerpt, sizeof excerpt);
		out->status = PROVIDER_ERR_MALFORMED;
		provider_detail(out, key, "answer is not a JSON object (%s; %zu bytes): %s",
		    root == NULL ? json_tokener_error_desc(jerr) : "other JSON", c->body.b.len, excerpt);
		json_object_put(root);
		return;
	}
	if (json_object_object_get_ex(root, "error", &err) && err != NULL &&
	    json_object_get_type(err) != json_type_null) {
		struct provider_error_info info;

		provider_error_read(root, err, &info);
		out->status = provider_status_for_error(&info);
		provider_detail_error(out, key, "error in a 2xx answer", &info);
		json_object_put(root);
		return;
	}
	if (json_object_object_get_ex(root, "choices", &choices) && json_object_is_type(choices, json_type_array)) {
		size_t i, n = json_object_array_length(choices);

		for (i = 0; i < n && choice == NULL; i++) {
			struct json_object *cand = json_object_array_get_idx(choices, i), *index;

			if (!json_object_is_type(cand, json_type_object))
				continue;
			if (!json_object_object_get_ex(cand, "index", &index) ||
			    !json_object_is_type(index, json_type_int) || json_object_get_int64(index) == 0)
				choice = cand;
		}
	}
	if (choice == NULL || !json_object_object_get_ex(choice, "message", &message) ||
	    !json_object_is_type(message, json_type_object)) {
		out->status = PROVIDER_ERR_MALFORMED;
		provider_detail(out, key, "answer has no choices[0].message (%zu bytes)", c->body.b.len);
		json_object_put(root);
		return;
	}
	if (!json_object_object_get_ex(message, "reasoning_content", &reasoning) || reasoning == NULL)
		(void)json_object_object_get_ex(message, "reasoning", &reasoning);
	(void)json_object_object_get_ex(message, "content", &content);
	if ((content != NULL && !json_object_is_type(content, json_type_string)) ||
	    (reasoning != NULL && !json_object_is_type(reasoning, json_type_string))) {
		out->status = PROVIDER_ERR_MALFORMED;
		provider_detail(out, key, "answer's message content is not a string");
		json_object_put(root);
		return;
	}
	out->status = PROVIDER_OK;
	struct json_object *usage, *total;
	if (json_object_object_get_ex(root, "usage", &usage) && json_object_is_type(usage, json_type_object) &&
	    json_object_object_get_ex(usage, "total_tokens", &total) && json_object_is_type(total, json_type_int) &&
	    json_object_get_int64(total) >= 0)
		out->usage_tokens = json_object_get_int64(total);
	if (reasoning != NULL)
		(void)provider_piece(c, 1, json_object_get_string(reasoning),
		    (size_t)json_object_get_string_len(reasoning));
	if (content != NULL && c->stop == PROVIDER_STOP_NONE)
		(void)provider_piece(c, 0, json_object_get_string(content),
		    (size_t)json_object_get_string_len(content));
	json_object_put(root); /* c->stop, set by provider_piece(), is read by the caller */
}

/* ---- mapping the outcome --------------------------------------------------- */

static enum provider_status provider_status_for_curl(CURLcode cc, long http, struct provider_call *c)
{
	curl_off_t connect_us = 0;

	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return PROVIDER_ERR_DNS;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return PROVIDER_ERR_TLS;
	case CURLE_OPERATION_TIMEDOUT:
		if (curl_easy_getinfo(c->easy, CURLINFO_CONNECT_TIME_T, &connect_us) != CURLE_OK)
			connect_us = 0;
		if (connect_us == 0)
			return PROVIDER_ERR_CONNECT;
		return monotonic_ms() - c->start_ms >= c->total_ms ? PROVIDER_ERR_TIMEOUT
		    : PROVIDER_ERR_IDLE_TIMEOUT;
	case CURLE_ABORTED_BY_CALLBACK:
		return PROVIDER_ABORTED;
	case CURLE_OUT_OF_MEMORY:
		return PROVIDER_ERR_NOMEM;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return http > 0 ? PROVIDER_ERR_MALFORMED : PROVIDER_ERR_CONNECT;
	case CURLE_GOT_NOTHING:
		return PROVIDER_ERR_CUT;
	default:
		return http > 0 ? PROVIDER_ERR_CUT : PROVIDER_ERR_CONNECT;
	}
}

static void provider_outcome_sse_error(struct provider_call *c, struct provider_result *out)
{
	const char *key = c->req->api_key;

	switch (sse_status(&c->sse)) {
	case SSE_ERR_PROVIDER: {
		struct provider_error_info info;

		provider_error_read(NULL, sse_error_object(&c->sse), &info);
		out->status = provider_status_for_error(&info);
		provider_detail_error(out, key, "error inside the stream", &info);
		break;
	}
	case SSE_ERR_NOMEM:
		out->status = PROVIDER_ERR_NOMEM;
		provider_detail(out, key, "out of memory while reading the stream");
		break;
	default:
		out->status = PROVIDER_ERR_MALFORMED;
		provider_detail(out, key, "unreadable event stream after %zu bytes: %s", c->body_bytes,
		    sse_error(&c->sse));
		break;
	}
}

/* Fills out->status and detail once the transfer is over. finished says
 * whether curl completed it (then cc is its result). */
static void provider_outcome(struct provider_call *c, int finished, CURLcode cc, struct provider_result *out)
{
	const char *key = c->req->api_key;
	long http = 0;

	if (c->easy == NULL)
		http = out->http_status; /* provider_parse_body(): no transfer, the caller said */
	else if (curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &http) != CURLE_OK)
		http = 0;
	out->http_status = http;
	if (c->stop == PROVIDER_STOP_NONE && c->mode == PROVIDER_MODE_SSE && sse_finish(&c->sse) != SSE_OK &&
	    c->stop == PROVIDER_STOP_NONE)
		c->stop = PROVIDER_STOP_SSE;

	switch (c->stop) {
	case PROVIDER_STOP_ABORTED:
		out->status = PROVIDER_ABORTED;
		provider_detail(out, key, "stopped by the caller after %zu bytes", c->body_bytes);
		return;
	case PROVIDER_STOP_IDLE:
		out->status = PROVIDER_ERR_IDLE_TIMEOUT;
		provider_detail(out, key, "no data from the AI service for %ld s (AI_IDLE_TIMEOUT), %zu bytes received",
		    c->idle_ms / 1000, c->body_bytes);
		return;
	case PROVIDER_STOP_FIRST_TOKEN:
		out->status = PROVIDER_ERR_FIRST_TOKEN;
		provider_detail(out, key, "no answer token from the AI service in %ld s (AI_FIRST_TOKEN_TIMEOUT),"
		    " %zu bytes received", c->first_token_ms / 1000, c->body_bytes);
		return;
	case PROVIDER_STOP_TOTAL:
		out->status = PROVIDER_ERR_TIMEOUT;
		provider_detail(out, key, "answer not complete after %ld s (AI_TIMEOUT), %zu bytes received",
		    c->total_ms / 1000, c->body_bytes);
		return;
	case PROVIDER_STOP_NOMEM:
		out->status = PROVIDER_ERR_NOMEM;
		provider_detail(out, key, "out of memory while reading the answer");
		return;
	case PROVIDER_STOP_TOO_BIG:
		out->status = PROVIDER_ERR_MALFORMED;
		provider_detail(out, key, "answer larger than %zu bytes", c->max_answer);
		return;
	case PROVIDER_STOP_SSE:
		provider_outcome_sse_error(c, out);
		return;
	default:
		break;
	}
	if (c->mode == PROVIDER_MODE_ERROR || (http != 0 && (http < 200 || http > 299))) {
		provider_read_http_error(c, http, out);
		return;
	}
	if (c->stop == PROVIDER_STOP_DONE) {
		out->status = PROVIDER_OK;
		return;
	}
	if (!finished) {
		out->status = PROVIDER_ERR_CONNECT;
		provider_detail(out, key, "transfer did not complete");
		return;
	}
	if (c->mode == PROVIDER_MODE_SSE && (sse_done(&c->sse) || sse_finished(&c->sse))) {
		out->status = PROVIDER_OK; /* complete, even if the connection then broke */
		return;
	}
	if (cc != CURLE_OK) {
		out->status = provider_status_for_curl(cc, http, c);
		provider_detail(out, key, "curl error %d (%s): %s; HTTP %ld, %zu bytes received", (int)cc,
		    curl_easy_strerror(cc), c->errbuf[0] != '\0' ? c->errbuf : "-", http, c->body_bytes);
		return;
	}
	switch (c->mode) {
	case PROVIDER_MODE_JSON:
		provider_read_answer(c, out);
		if (c->stop == PROVIDER_STOP_TOO_BIG || c->stop == PROVIDER_STOP_NOMEM ||
		    c->stop == PROVIDER_STOP_ABORTED) {
			out->status = c->stop == PROVIDER_STOP_ABORTED ? PROVIDER_ABORTED
			    : c->stop == PROVIDER_STOP_NOMEM ? PROVIDER_ERR_NOMEM : PROVIDER_ERR_MALFORMED;
			provider_detail(out, key, "%s", c->stop == PROVIDER_STOP_ABORTED ? "stopped by the caller"
			    : c->stop == PROVIDER_STOP_NOMEM ? "out of memory" : "answer too large");
		}
		return;
	case PROVIDER_MODE_SSE:
		if (sse_data_count(&c->sse) == 0 && c->body_bytes > 0) {
			out->status = PROVIDER_ERR_MALFORMED;
			provider_detail(out, key, "no event-stream data in %zu bytes", c->body_bytes);
		} else {
			out->status = PROVIDER_ERR_CUT;
			provider_detail(out, key, "stream ended without [DONE] after %zu bytes", c->body_bytes);
		}
		return;
	default:
		out->status = PROVIDER_ERR_MALFORMED;
		provider_detail(out, key, "empty answer (HTTP %ld)", http);
		return;
	}
}

/* ---- the request --------------------------------------------------------- */

/* Adds val under key; on failure releases val. Returns 0 or -1. */
static int provider_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (val == NULL)
		return -1;
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

/* The request body; NULL when out of memory. The caller frees it. */
static char *provider_request_body(const struct provider_request *req)
{
	struct json_object *root = json_object_new_object(), *msgs, *m;
	char *body = NULL;
	const char *text;
	size_t i;

	if (root == NULL)
		return NULL;
	msgs = json_object_new_array_ext((int)(req->n_messages < 1024 ? req->n_messages : 1024));
	if (provider_json_add(root, "model", json_object_new_string(req->model)) != 0 ||
	    provider_json_add(root, "messages", msgs) != 0)
		goto done;
	for (i = 0; i < req->n_messages; i++) {
		m = json_object_new_object();
		if (m == NULL)
			goto done;
		if (json_object_array_add(msgs, m) != 0) {
			json_object_put(m);
			goto done;
		}
		if (provider_json_add(m, "role", json_object_new_string(req->messages[i].role)) != 0 ||
		    provider_json_add(m, "content", json_object_new_string(req->messages[i].content)) != 0)
			goto done;
	}
	if (req->stream && provider_json_add(root, "stream", json_object_new_boolean(1)) != 0)
		goto done;
	/* The token count for the budgets (budget.h): streams send it only when asked. */
	if (req->stream) {
		struct json_object *so = json_object_new_object();
		if (provider_json_add(root, "stream_options", so) != 0 ||
		    provider_json_add(so, "include_usage", json_object_new_boolean(1)) != 0)
			goto done;
	}
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text != NULL)
		body = strdup(text);
done:
	json_object_put(root);
	return body;
}

/* Checks what a request must hold; returns PROVIDER_OK or the status to give. */
static enum provider_status provider_check_request(const struct provider_request *req, struct provider_result *out)
{
	const char *k;
	size_t i;

	if (req->url == NULL || req->url[0] == '\0') {
		provider_detail(out, req->api_key, "no AI_API_URL configured");
		return PROVIDER_ERR_CONNECT;
	}
	for (k = req->api_key; *k != '\0'; k++) {
		if ((unsigned char)*k < 0x20 || *k == 0x7F) {
			provider_detail(out, NULL, "the API key holds a control character (a stray newline in "
			    "AI_API_KEY / DEEPSEEK_API_KEY?)");
			return PROVIDER_ERR_AUTH;
		}
	}
	if (req->model == NULL || req->model[0] == '\0') {
		provider_detail(out, req->api_key, "no model named in the request");
		return PROVIDER_ERR_BAD_REQUEST;
	}
	if (req->body_json != NULL)
		return PROVIDER_OK; /* the caller checked what it built */
	if (req->messages == NULL || req->n_messages == 0) {
		provider_detail(out, req->api_key, "no messages to send");
		return PROVIDER_ERR_BAD_REQUEST;
	}
	for (i = 0; i < req->n_messages; i++) {
		if (req->messages[i].role == NULL || req->messages[i].content == NULL) {
			provider_detail(out, req->api_key, "message %zu has no role or content", i);
			return PROVIDER_ERR_BAD_REQUEST;
		}
	}
	return PROVIDER_OK;
}

/* Builds the header list; NULL when out of memory. The caller frees it
 * with curl_slist_free_all(). */
static struct curl_slist *provider_headers(const struct provider_request *req)
{
	struct curl_slist *list = NULL, *next;
	size_t n = strlen(req->api_key) + sizeof "Authorization: Bearer ";
	char *auth = malloc(n);
	const char *fixed[4];
	size_t i;

	if (auth == NULL)
		return NULL;
	snprintf(auth, n, "Authorization: Bearer %s", req->api_key);
	fixed[0] = auth;
	fixed[1] = "Content-Type: application/json";
	fixed[2] = req->stream ? "Accept: text/event-stream" : "Accept: application/json";
	fixed[3] = "Expect:"; /* no 100-continue round trip */
	for (i = 0; i < 4; i++) {
		next = curl_slist_append(list, fixed[i]);
		if (next == NULL) {
			curl_slist_free_all(list);
			list = NULL;
			break;
		}
		list = next;
	}
	/* Do not leave the key lying in freed memory. */
	{
		volatile char *v = auth;

		for (i = 0; i < n; i++)
			v[i] = 0;
	}
	free(auth);
	return list;
}

static int provider_setopts(struct provider_call *c, const char *body, struct curl_slist *headers)
{
	const struct provider_request *req = c->req;
	long connect_ms = c->idle_ms < c->total_ms ? c->idle_ms : c->total_ms;
	CURL *e = c->easy;

	/* A kept connection is reused only after a transfer that ended
	 * cleanly: libcurl closes one whose transfer was stopped or failed. */
	if (provider_share && curl_easy_setopt(e, CURLOPT_SHARE, provider_share) != CURLE_OK)
		return -1;
	if (req->ca_file && curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file) != CURLE_OK)
		return -1;
	if (curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "AIFacade/1 (libcurl)") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, provider_on_body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, c) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, provider_on_header) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, c) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK ||
	    /* A backstop only: our own clock in the poll loop ends it first. */
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->total_ms + 1000) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK)
		return -1;
	return 0;
}

/* 1 once the connection is up; before that CURLOPT_CONNECTTIMEOUT rules. */
static int provider_connected(struct provider_call *c)
{
	curl_off_t connect_us = 0;

	if (curl_easy_getinfo(c->easy, CURLINFO_CONNECT_TIME_T, &connect_us) != CURLE_OK)
		return 1;
	return connect_us > 0;
}

/* The provider's silence (AI_IDLE_TIMEOUT) counts from when the request went
 * out: the name lookup, connect and TLS handshake have CURLOPT_CONNECTTIMEOUT
 * of their own, and a slow one must not leave the provider less than its
 * idle time to answer. 1 once the idle clock runs. */
static int provider_idle_clock(struct provider_call *c)
{
	curl_off_t sent_us = 0;

	if (c->sent)
		return 1;
	if (curl_easy_getinfo(c->easy, CURLINFO_PRETRANSFER_TIME_T, &sent_us) != CURLE_OK || sent_us <= 0)
		return provider_connected(c);
	c->sent = 1;
	if (c->start_ms + sent_us / 1000 > c->last_activity_ms)
		c->last_activity_ms = c->start_ms + sent_us / 1000;
	return 1;
}

/* Drives the transfer, checking abort and timers every PROVIDER_POLL_MS.
 * Returns 1 when curl completed it (*cc its result), 0 when we ended it. */
static int provider_run(struct provider_call *c, CURLM *multi, CURLcode *cc)
{
	int running = 1, left;
	CURLMcode mc;
	CURLMsg *msg;

	*cc = CURLE_OK;
	for (;;) {
		mc = curl_multi_perform(multi, &running);
		if (mc != CURLM_OK) {
			snprintf(c->errbuf, sizeof c->errbuf, "%s", curl_multi_strerror(mc));
			if (mc == CURLM_OUT_OF_MEMORY)
				c->stop = PROVIDER_STOP_NOMEM;
			break;
		}
		if (c->stop != PROVIDER_STOP_NONE || running == 0)
			break;
		int64_t now = monotonic_ms();
		if (c->done_ms != 0) {
			if (now - c->done_ms >= PROVIDER_DONE_GRACE_MS) {
				c->stop = PROVIDER_STOP_DONE;
				break;
			}
		} else if (provider_should_abort(c)) {
			break;
		}

		if (now - c->start_ms >= c->total_ms) {
			c->stop = PROVIDER_STOP_TOTAL;
			break;
		}
		if (c->req->stream && !c->got_token && now - c->start_ms >= c->first_token_ms) {
			c->stop = PROVIDER_STOP_FIRST_TOKEN;
			break;
		}
		if (provider_idle_clock(c) && now - c->last_activity_ms >= c->idle_ms) {
			c->stop = PROVIDER_STOP_IDLE;
			break;
		}
		mc = curl_multi_poll(multi, NULL, 0, PROVIDER_POLL_MS, NULL);
		if (mc != CURLM_OK) {
			snprintf(c->errbuf, sizeof c->errbuf, "%s", curl_multi_strerror(mc));
			break;
		}
	}
	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->easy) {
			*cc = msg->data.result;
			return 1;
		}
	}
	return 0;
}

static void provider_network(struct provider_call *c, struct provider_result *out)
{
	const struct provider_request *req = c->req;
	char *body = NULL;
	struct curl_slist *headers = NULL;
	CURLM *multi = NULL;
	CURLcode cc = CURLE_OK;
	int finished = 0, added = 0;

	body = req->body_json != NULL ? strdup(req->body_json) : provider_request_body(req);
	headers = body != NULL ? provider_headers(req) : NULL;
	c->easy = headers != NULL ? curl_easy_init() : NULL;
	multi = c->easy != NULL ? curl_multi_init() : NULL;
	if (multi == NULL) {
		out->status = PROVIDER_ERR_NOMEM;
		provider_detail(out, req->api_key, "could not set up the request (out of memory)");
		goto done;
	}
	if (provider_setopts(c, body, headers) != 0) {
		out->status = PROVIDER_ERR_CONNECT;
		provider_detail(out, req->api_key, "libcurl refused an option (too old a libcurl?)");
		goto done;
	}
	c->start_ms = c->last_activity_ms = monotonic_ms();
	if (curl_multi_add_handle(multi, c->easy) != CURLM_OK) {
		out->status = PROVIDER_ERR_NOMEM;
		provider_detail(out, req->api_key, "could not start the request");
		goto done;
	}
	added = 1;
	finished = provider_run(c, multi, &cc);
	provider_outcome(c, finished, cc, out);
done:
	if (added && curl_multi_remove_handle(multi, c->easy) != CURLM_OK && out->detail == NULL)
		provider_detail(out, req->api_key, "curl_multi_remove_handle failed");
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy); /* closes the connection: the provider stops */
	c->easy = NULL;
	if (multi != NULL && curl_multi_cleanup(multi) != CURLM_OK && out->detail == NULL)
		provider_detail(out, req->api_key, "curl_multi_cleanup failed");
	curl_slist_free_all(headers);
	free(body);
}

int provider_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	/* The persistent server's workers answer prompt after prompt (scgi.h). */
	const char *mode = getenv("AIFACADE_MODE");
	if (mode && strcmp(mode, "persistent") == 0)
		provider_keep_connections();
	return 0;
}

void provider_keep_connections(void)
{
	if (provider_share)
		return;
	provider_share = curl_share_init();
	if (provider_share &&
	    (curl_share_setopt(provider_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
	     curl_share_setopt(provider_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
	     curl_share_setopt(provider_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)) {
		curl_share_cleanup(provider_share);
		provider_share = NULL;
	}
}

void provider_forget_connections(void)
{
	provider_share = NULL; /* the parent's; deliberately not cleaned up here */
}

void provider_global_cleanup(void)
{
	if (provider_share)
		curl_share_cleanup(provider_share);
	provider_share = NULL;
	curl_global_cleanup();
}

static void provider_call_init(struct provider_call *c, const struct provider_request *req)
{
	memset(c, 0, sizeof *c);
	c->req = req;
	c->idle_ms = (req->idle_timeout_s > 0 ? req->idle_timeout_s : PROVIDER_DEFAULT_IDLE_TIMEOUT) * 1000;
	c->total_ms = (req->total_timeout_s > 0 ? req->total_timeout_s : PROVIDER_DEFAULT_TOTAL_TIMEOUT) * 1000;
	c->first_token_ms = (req->first_token_timeout_s > 0 ? req->first_token_timeout_s
	    : PROVIDER_DEFAULT_FIRST_TOKEN_TIMEOUT) * 1000;
	c->max_answer = req->max_answer_bytes > 0 ? req->max_answer_bytes : PROVIDER_MAX_ANSWER;
	sse_init(&c->sse, SSE_DEFAULT_MAX_LINE, provider_on_sse_piece, c);
}

/* Ends a call: flushes the texts into *out and releases the rest of c. */
static int provider_call_end(struct provider_call *c, struct provider_result *out)
{
	provider_pieces_flush(c, out->status == PROVIDER_OK);
	if (sse_usage_tokens(&c->sse) >= 0)
		out->usage_tokens = sse_usage_tokens(&c->sse);
	sse_free(&c->sse);
	free(c->body.b.data);
	if (c->content.b.data == NULL && buf_try_append(&c->content.b, "", 0) != 0)
		out->status = PROVIDER_ERR_NOMEM;
	if (c->reasoning.b.data == NULL && buf_try_append(&c->reasoning.b, "", 0) != 0)
		out->status = PROVIDER_ERR_NOMEM;
	out->content = c->content.b.data;
	out->reasoning = c->reasoning.b.data;
	return out->status == PROVIDER_OK ? 0 : -1;
}

int provider_parse_body(const struct provider_request *req, long http_status, int event_stream,
    const char *body, size_t len, struct provider_result *out)
{
	struct provider_call c;
	char *copy;

	memset(out, 0, sizeof *out);
	out->usage_tokens = -1;
	provider_call_init(&c, req);
	if (http_status < 200 || http_status > 299)
		c.mode = PROVIDER_MODE_ERROR;
	else
		c.mode = event_stream ? PROVIDER_MODE_SSE : PROVIDER_MODE_JSON;
	/* The write callback takes a mutable buffer, as libcurl hands it one. */
	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL) {
		c.stop = PROVIDER_STOP_NOMEM;
	} else {
		if (len > 0)
			memcpy(copy, body, len);
		(void)provider_on_body(copy, 1, len, &c);
		free(copy);
	}
	out->http_status = http_status;
	if (c.mode == PROVIDER_MODE_ERROR && (c.stop == PROVIDER_STOP_NONE || c.stop == PROVIDER_STOP_ERROR_FULL))
		provider_read_http_error(&c, http_status, out);
	else
		provider_outcome(&c, 1, CURLE_OK, out);
	return provider_call_end(&c, out);
}

int provider_complete(const struct provider_request *req, struct provider_result *out)
{
	struct provider_call c;

	memset(out, 0, sizeof *out);
	out->usage_tokens = -1;
	if (req->api_key == NULL || req->api_key[0] == '\0')
		return demo_complete(req, out);

	provider_call_init(&c, req);

	out->status = provider_check_request(req, out);
	if (out->status == PROVIDER_OK) {
		/* libcurl counts init/cleanup pairs: cheap when the program did
		 * provider_global_init(), and nothing is paid by programs that
		 * never ask the provider. */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			out->status = PROVIDER_ERR_NOMEM;
			provider_detail(out, req->api_key, "libcurl could not start");
		} else {
			provider_network(&c, out);
			curl_global_cleanup();
		}
	}
	return provider_call_end(&c, out);
}

void provider_result_free(struct provider_result *r)
{
	if (r == NULL)
		return;
	free(r->content);
	free(r->reasoning);
	free(r->detail);
	memset(r, 0, sizeof *r);
}

const char *provider_user_message(enum provider_status s)
{
	switch (s) {
	case PROVIDER_OK: return "The answer is complete.";
	case PROVIDER_ABORTED: return "The answer was stopped.";
	case PROVIDER_ERR_CONNECT: return "Could not reach the AI service.";
	case PROVIDER_ERR_DNS: return "Could not find the AI service's address.";
	case PROVIDER_ERR_TLS: return "Could not open a secure connection to the AI service.";
	case PROVIDER_ERR_IDLE_TIMEOUT: return "The AI service stopped responding.";
	case PROVIDER_ERR_TIMEOUT: return "The AI service took too long to answer.";
	case PROVIDER_ERR_BAD_REQUEST:
		return "The AI service could not accept this request (the conversation may be too long).";
	case PROVIDER_ERR_AUTH: return "The AI service rejected the API key.";
	case PROVIDER_ERR_BALANCE: return "The AI account has insufficient balance.";
	case PROVIDER_ERR_RATE: return "The AI service is busy; try again shortly.";
	case PROVIDER_ERR_SERVER: return "The AI service had a problem; try again shortly.";
	case PROVIDER_ERR_HTTP: return "The AI service answered with an unexpected error.";
	case PROVIDER_ERR_MALFORMED: return "The AI service sent an answer we could not read.";
	case PROVIDER_ERR_CUT: return "The AI service stopped in the middle of its answer.";
	case PROVIDER_ERR_NOMEM: return "The server ran out of memory; try again shortly.";
	case PROVIDER_ERR_FIRST_TOKEN: return "The AI service did not start answering in time; try again shortly.";
	}
	return "The AI service failed.";
}

const char *provider_status_name(enum provider_status s)
{
	switch (s) {
	case PROVIDER_OK: return "ok";
	case PROVIDER_ABORTED: return "aborted";
	case PROVIDER_ERR_CONNECT: return "connect";
	case PROVIDER_ERR_DNS: return "dns";
	case PROVIDER_ERR_TLS: return "tls";
	case PROVIDER_ERR_IDLE_TIMEOUT: return "idle_timeout";
	case PROVIDER_ERR_TIMEOUT: return "timeout";
	case PROVIDER_ERR_BAD_REQUEST: return "bad_request";
	case PROVIDER_ERR_AUTH: return "auth";
	case PROVIDER_ERR_BALANCE: return "balance";
	case PROVIDER_ERR_RATE: return "rate";
	case PROVIDER_ERR_SERVER: return "server";
	case PROVIDER_ERR_HTTP: return "http";
	case PROVIDER_ERR_MALFORMED: return "malformed";
	case PROVIDER_ERR_CUT: return "cut";
	case PROVIDER_ERR_NOMEM: return "nomem";
	case PROVIDER_ERR_FIRST_TOKEN: return "first_token_timeout";
	}
	return "unknown";
}
