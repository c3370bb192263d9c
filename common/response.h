/* response.h: a buffered HTTP response written to the CGI's standard output.
 *
 * Contract: handlers set a status, headers and a body; nothing reaches the
 * client until response_send(), so a failure halfway can still replace the
 * body with a clean error. Every response carries the security headers of
 * SPEC §4 and Cache-Control: no-store. Streaming (Server-Sent Events) is the
 * one exception: response_stream_begin() sends the head at once and each
 * response_stream_event() goes out unbuffered. */
#ifndef AIF_RESPONSE_H
#define AIF_RESPONSE_H
#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"

struct response {
	int status;
	const char *content_type;
	struct buf headers;  /* extra "Name: value\r\n" lines, values escaped */
	struct buf body;
	int fd;              /* where the response goes (1 for CGI) */
	int streaming;       /* head already sent */
	int broken;          /* a write failed: the client went away */
	int openai_errors;   /* errors take OpenAI's shape (response_error()) */
};

void response_init(struct response *res, int fd);
void response_free(struct response *res);

/* Adds a header; name is a constant of ours, value passes escape_header(). */
void response_header(struct response *res, const char *name, const char *value);
/* Sets status and a JSON body; takes ownership of body (json_object_put). */
void response_json(struct response *res, int status, struct json_object *body);
/* Sets status and {"error": message}; with openai_errors set (the
 * OpenAI-compatible API, app.h's ROUTE_OPENAI) OpenAI's shape instead:
 * {"error": {"message", "type", "param": null, "code"}}, the type and code
 * the ones OpenAI gives that status (response_error_openai()). */
void response_error(struct response *res, int status, const char *message);
/* OpenAI's error shape with a type and code of the caller's (code NULL:
 * the status's own). */
void response_error_openai(struct response *res, int status, const char *type, const char *code,
			   const char *message);
/* OpenAI's error object for status (the "error" member), for a stream's
 * last event as well as a body. Returns a new object. */
struct json_object *response_openai_error_object(int status, const char *type, const char *code,
						 const char *message);
/* Sets status with an empty body (204 and the like). */
void response_empty(struct response *res, int status);

/* Writes status line, headers and body; returns 0 or -1 if the client is gone. */
int response_send(struct response *res);

/* Sends a 200 text/event-stream head now. */
int response_stream_begin(struct response *res);
/* Sends "event: name\ndata: <json>\n\n"; takes ownership of data. Returns 0,
 * or -1 once the client has gone away. */
int response_stream_event(struct response *res, const char *event, struct json_object *data);
/* As response_stream_event, with an "id:" line first (id is ours, one line). */
int response_stream_event_id(struct response *res, const char *event, const char *id, struct json_object *data);
/* Sends an SSE comment line (keeps idle proxies from closing the stream). */
int response_stream_comment(struct response *res, const char *text);

/* A streamed download (README, "Export and import"): sends a 200 head of
 * content_type (a constant of ours) with the headers set so far now, and
 * no Content-Length; the body follows through response_stream_write().
 * A failure after this point cannot change the status: the writer ends
 * the body early, so the document is visibly incomplete. */
int response_download_begin(struct response *res, const char *content_type);
/* Writes bytes of a download; returns 0, or -1 once the client has gone. */
int response_stream_write(struct response *res, const char *p, size_t len);

const char *response_reason(int status);

#endif
