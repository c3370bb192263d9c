/* test_response.c: unit tests for response.c: what reaches the client and
 * when, the security headers on every answer, header values that cannot
 * split the head, and a client that went away. */
#include <signal.h>

#include <json-c/json.h>

#include <fcntl.h>
#include <sys/wait.h>

#include "alloc.h"
#include "check.h"
#include "reply.h"
#include "response.h"

/* Sends res through a pipe and reads what came out. */
static int send_and_read(struct response *res, struct reply *r)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	res->fd = p[1];
	int rc = response_send(res);
	close(p[1]);
	if (reply_read(p[0], r) != 0)
		rc = -2;
	close(p[0]);
	return rc;
}

static void test_buffered(void)
{
	struct response res;
	struct reply r;
	char v[512];

	response_init(&res, -1);
	CHECK(send_and_read(&res, &r) == 0 && r.status == 500, "init: an untouched response is a 500, never a 200");
	reply_free(&r);
	response_free(&res);

	response_init(&res, -1);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string("<b>\"x\"</b>\n"));
	response_json(&res, 201, o);
	CHECK(send_and_read(&res, &r) == 0, "json: sent");
	CHECK(strncmp(r.raw, "Status: 201 Created\r\n", 21) == 0, "json: status line with its reason");
	CHECK_STR(reply_header(&r, "Content-Type", v, sizeof v), "application/json; charset=utf-8", "json: content type");
	static const char *const security[][2] = {
	    {"X-Content-Type-Options", "nosniff"},
	    {"X-Frame-Options", "DENY"},
	    {"Referrer-Policy", "no-referrer"},
	    {"Cross-Origin-Opener-Policy", "same-origin"},
	    {"Cache-Control", "no-store"},
	};
	for (size_t i = 0; i < sizeof security / sizeof *security; i++)
		CHECK_STR(reply_header(&r, security[i][0], v, sizeof v), security[i][1], security[i][0]);
	CHECK(reply_header(&r, "Content-Security-Policy", v, sizeof v) && strstr(v, "default-src 'self'") &&
		      strstr(v, "frame-ancestors 'none'") && strstr(v, "object-src 'none'"),
	      "json: Content-Security-Policy");
	CHECK_STR(r.body, "{\"name\":\"<b>\\\"x\\\"</b>\\n\"}", "json: the body is json-c's text of the object");
	snprintf(v, sizeof v, "%zu", r.body_len);
	char len[32];
	CHECK_STR(reply_header(&r, "Content-Length", len, sizeof len), v, "json: Content-Length is the body's length");
	reply_free(&r);

	/* A later answer replaces the body whole: a failure halfway leaves
	 * no trace of what the handler had set. */
	response_error(&res, 503, "The server is busy; try again in a moment.");
	CHECK(send_and_read(&res, &r) == 0 && r.status == 503, "error: replaces the status");
	CHECK_STR(r.body, "{\"error\":\"The server is busy; try again in a moment.\"}", "error: replaces the body whole");
	reply_free(&r);
	response_free(&res);

	response_init(&res, -1);
	response_json(&res, 200, json_object_new_object());
	response_empty(&res, 204);
	CHECK(send_and_read(&res, &r) == 0 && r.status == 204, "empty: 204");
	CHECK(r.body_len == 0, "empty: no body, even after one was set");
	CHECK(reply_header(&r, "Content-Type", v, sizeof v) == NULL && reply_header(&r, "Content-Length", v, sizeof v) == NULL,
	      "empty: 204 has no Content-Type or Content-Length");
	CHECK_STR(reply_header(&r, "Cache-Control", v, sizeof v), "no-store", "empty: still the security headers");
	reply_free(&r);
	response_free(&res);
}

static void test_headers(void)
{
	struct response res;
	struct reply r;
	char v[512];
	response_init(&res, -1);
	response_header(&res, "Set-Cookie", "a=b\r\nSet-Cookie: admin=1\r\n\r\n<script>");
	response_header(&res, "Retry-After", "30");
	response_error(&res, 429, "Too many.");
	CHECK(send_and_read(&res, &r) == 0, "header: sent");
	CHECK_STR(reply_header(&r, "Set-Cookie", v, sizeof v), "a=bSet-Cookie: admin=1<script>",
		  "header: CR and LF are dropped from a value: it cannot start a header or the body");
	int cookies = 0;
	for (const char *p = r.raw; (p = strstr(p, "\r\nSet-Cookie:")) != NULL; p++)
		cookies++;
	CHECK(cookies == 1, "header: one line starts with Set-Cookie");
	CHECK_STR(reply_header(&r, "Retry-After", v, sizeof v), "30", "header: a second header is kept");
	CHECK_STR(r.body, "{\"error\":\"Too many.\"}", "header: the body is untouched by header values");
	reply_free(&r);
	response_free(&res);

	CHECK_STR(response_reason(413), "Content Too Large", "reason: 413");
	CHECK_STR(response_reason(299), "Unknown", "reason: a status without a reason");
}

static void test_client_gone(void)
{
	struct response res;
	int p[2];
	CHECK(pipe(p) == 0, "gone: a pipe");
	close(p[0]);
	response_init(&res, p[1]);
	response_error(&res, 400, "x");
	CHECK(response_send(&res) == -1 && res.broken, "gone: sending to a closed reader fails and marks the response broken");
	CHECK(response_send(&res) == -1, "gone: later sends fail at once");
	close(p[1]);
	response_free(&res);

	response_init(&res, 1234);
	response_error(&res, 400, "x");
	CHECK(response_send(&res) == -1, "gone: a closed fd fails");
	response_free(&res);
}

static void test_stream(void)
{
	struct response res;
	struct reply r;
	char v[256];
	int p[2];
	CHECK(pipe(p) == 0, "stream: a pipe");
	response_init(&res, p[1]);
	response_header(&res, "X-Test", "1");
	CHECK(response_stream_begin(&res) == 0, "stream: head sent");
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, "text", json_object_new_string("line one\nline two\r\n\n"));
	CHECK(response_stream_event(&res, "delta", d) == 0, "stream: an event");
	CHECK(response_stream_comment(&res, "keep\nalive\r\ndata: x") == 0, "stream: a comment");
	response_error(&res, 500, "too late");
	CHECK(response_send(&res) == 0, "stream: send after the head has gone writes nothing more");
	close(p[1]);
	CHECK(reply_read(p[0], &r) == 0, "stream: read");
	close(p[0]);
	CHECK(strncmp(r.raw, "Status: 200 OK\r\n", 16) == 0, "stream: 200");
	CHECK_STR(reply_header(&r, "Content-Type", v, sizeof v), "text/event-stream; charset=utf-8", "stream: event-stream");
	CHECK(reply_header(&r, "Content-Length", v, sizeof v) == NULL, "stream: no Content-Length");
	CHECK_STR(reply_header(&r, "X-Accel-Buffering", v, sizeof v), "no", "stream: proxies told not to buffer");
	CHECK_STR(reply_header(&r, "X-Test", v, sizeof v), "1", "stream: headers set before begin go out");
	CHECK_STR(reply_header(&r, "Cache-Control", v, sizeof v), "no-store", "stream: security headers");
	CHECK_STR(r.body,
		  "event: delta\ndata: {\"text\":\"line one\\nline two\\r\\n\\n\"}\n\n"
		  ": keepalivedata: x\n\n",
		  "stream: an event's data is one line; a comment cannot start a field");
	reply_free(&r);
	response_free(&res);

	CHECK(pipe(p) == 0, "stream gone: a pipe");
	response_init(&res, p[1]);
	close(p[0]);
	CHECK(response_stream_begin(&res) == -1, "stream gone: begin to a closed reader fails (no SIGPIPE death)");
	CHECK(response_stream_event(&res, "delta", json_object_new_object()) == -1, "stream gone: events fail");
	CHECK(response_stream_comment(&res, "x") == -1, "stream gone: comments fail");
	CHECK(response_send(&res) == -1, "stream gone: send reports the client gone");
	close(p[1]);
	response_free(&res);
}

/* Runs alloc_fail() in a child whose response goes to a pipe, after
 * streaming began (stream) or not; returns what the pipe got. */
static size_t oom_output(int stream, char *out, size_t size)
{
	int p[2];
	if (pipe(p) != 0)
		return 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 2); /* the log line */
		struct response res;
		response_init(&res, p[1]);
		alloc_reply_to(p[1]);
		if (stream)
			response_stream_begin(&res);
		alloc_fail();
	}
	close(p[1]);
	size_t n = 0;
	ssize_t k;
	while (n < size - 1 && (k = read(p[0], out + n, size - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(p[0]);
	waitpid(pid, NULL, 0);
	return n;
}

static void test_out_of_memory(void)
{
	char out[4096];
	oom_output(0, out, sizeof out);
	CHECK(strncmp(out, "Status: 500", 11) == 0 && strstr(out, "ran out of memory"),
	      "oom: before the head is sent, the request is answered 500");
	oom_output(1, out, sizeof out);
	CHECK(strncmp(out, "Status: 200", 11) == 0 && strstr(out, "text/event-stream") && !strstr(out, "Status: 500") &&
		      !strstr(out, "ran out of memory"),
	      "oom: a stream that began is ended short, never given a 500 inside it");
	alloc_reply_to(-1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* As a CGI program sees it: a closed client is EPIPE, not death. */
	signal(SIGPIPE, SIG_IGN);
	test_buffered();
	test_headers();
	test_client_gone();
	test_stream();
	test_out_of_memory();
	return check_done();
}
