/* response.c: buffered CGI responses and the SSE exception (see response.h). */
#include "response.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "escape.h"
#include "json.h"

static const char security_headers[] =
    "Content-Security-Policy: default-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Cross-Origin-Opener-Policy: same-origin\r\n"
    "Cache-Control: no-store\r\n";

void response_init(struct response *res, int fd)
{
	memset(res, 0, sizeof *res);
	res->fd = fd;
	res->status = 500;
	res->content_type = "application/json";
}

void response_free(struct response *res)
{
	buf_free(&res->headers);
	buf_free(&res->body);
}

const char *response_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

void response_header(struct response *res, const char *name, const char *value)
{
	buf_append_str(&res->headers, name);
	buf_append_str(&res->headers, ": ");
	escape_header(&res->headers, value, strlen(value));
	buf_append_str(&res->headers, "\r\n");
}

void response_json(struct response *res, int status, struct json_object *body)
{
	char *text = jsonx_to_string(body);
	json_object_put(body);
	res->status = status;
	res->content_type = "application/json";
	buf_reset(&res->body);
	buf_append_str(&res->body, text);
	free(text);
}

/* The type and code OpenAI's API gives an error of this status, as the
 * official clients map them to their exception classes. */
static const char *openai_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 409: return "conflict_error";
	case 429: return "rate_limit_error";
	default: return status >= 500 ? "api_error" : "invalid_request_error";
	}
}

static const char *openai_code(int status)
{
	switch (status) {
	case 401: return "invalid_api_key";
	case 404: return "not_found";
	case 413: return "request_too_large";
	case 429: return "rate_limit_exceeded";
	default: return NULL;
	}
}

struct json_object *response_openai_error_object(int status, const char *type, const char *code,
						 const char *message)
{
	struct json_object *e = json_object_new_object();
	json_object_object_add(e, "message", json_object_new_string(message));
	json_object_object_add(e, "type", json_object_new_string(type ? type : openai_type(status)));
	json_object_object_add(e, "param", NULL);
	if (!code)
		code = openai_code(status);
	json_object_object_add(e, "code", code ? json_object_new_string(code) : NULL);
	return e;
}

void response_error_openai(struct response *res, int status, const char *type, const char *code,
			   const char *message)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "error", response_openai_error_object(status, type, code, message));
	response_json(res, status, o);
}

void response_error(struct response *res, int status, const char *message)
{
	if (res->openai_errors) {
		response_error_openai(res, status, NULL, NULL, message);
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(message));
	response_json(res, status, o);
}

void response_empty(struct response *res, int status)
{
	res->status = status;
	buf_reset(&res->body);
}

/* Writes all of p; marks the response broken when the client is gone. */
static int write_all(struct response *res, const char *p, size_t len)
{
	while (len > 0 && !res->broken) {
		ssize_t n = write(res->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			res->broken = 1;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return res->broken ? -1 : 0;
}

static void head(struct response *res, struct buf *out, int with_length)
{
	buf_printf(out, "Status: %d %s\r\n", res->status, response_reason(res->status));
	buf_append_str(out, security_headers);
	if (res->status != 204) {
		buf_printf(out, "Content-Type: %s; charset=utf-8\r\n", res->content_type);
		if (with_length)
			buf_printf(out, "Content-Length: %zu\r\n", res->body.len);
	}
	buf_append(out, buf_str(&res->headers), res->headers.len);
	buf_append_str(out, "\r\n");
}

int response_send(struct response *res)
{
	if (res->streaming)
		return res->broken ? -1 : 0;
	struct buf out = BUF_INIT;
	head(res, &out, 1);
	alloc_reply_to(-1); /* from here bytes of the response may be out */
	if (res->status != 204)
		buf_append(&out, buf_str(&res->body), res->body.len);
	int rc = write_all(res, out.data, out.len);
	buf_free(&out);
	return rc;
}

int response_stream_begin(struct response *res)
{
	/* A closed client must surface as EPIPE on write, not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	res->status = 200;
	res->content_type = "text/event-stream";
	res->streaming = 1;
	alloc_reply_to(-1); /* the head goes out now: no 500 may follow it */
	response_header(res, "X-Accel-Buffering", "no");
	struct buf out = BUF_INIT;
	head(res, &out, 0);
	int rc = write_all(res, out.data, out.len);
	buf_free(&out);
	return rc;
}

int response_stream_event(struct response *res, const char *event, struct json_object *data)
{
	return response_stream_event_id(res, event, NULL, data);
}

int response_stream_event_id(struct response *res, const char *event, const char *id, struct json_object *data)
{
	char *text = jsonx_to_string(data);
	json_object_put(data);
	struct buf out = BUF_INIT;
	if (id) /* ids are ours: digits and a dot (turn.h) */
		buf_printf(&out, "id: %s\n", id);
	/* json-c escapes control characters, so the payload is one line. */
	buf_printf(&out, "event: %s\ndata: ", event);
	buf_append_str(&out, text);
	buf_append_str(&out, "\n\n");
	free(text);
	int rc = write_all(res, out.data, out.len);
	buf_free(&out);
	return rc;
}

int response_stream_comment(struct response *res, const char *text)
{
	struct buf out = BUF_INIT;
	buf_append_str(&out, ": ");
	escape_header(&out, text, strlen(text));
	buf_append_str(&out, "\n\n");
	int rc = write_all(res, out.data, out.len);
	buf_free(&out);
	return rc;
}

int response_download_begin(struct response *res, const char *content_type)
{
	signal(SIGPIPE, SIG_IGN);
	res->status = 200;
	res->content_type = content_type;
	res->streaming = 1;
	alloc_reply_to(-1); /* the head goes out now: no 500 may follow it */
	response_header(res, "X-Accel-Buffering", "no");
	struct buf out = BUF_INIT;
	head(res, &out, 0);
	int rc = write_all(res, out.data, out.len);
	buf_free(&out);
	return rc;
}

int response_stream_write(struct response *res, const char *p, size_t len)
{
	return write_all(res, p, len);
}
