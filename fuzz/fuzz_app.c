/* fuzz_app.c: fuzzes a whole CGI request through app_run(): path-info
 * routing (route matching in app.c and request_parse_id), method, query
 * string, cookie, Content-Length, content type, origin checks, the strict
 * JSON body and the field tables, then validators in the handler.
 *
 * Input: flags \x01 method \x01 PATH_INFO \x01 QUERY_STRING \x01 Cookie
 * \x01 Content-Length (empty: the body's) \x01 body. The endpoint below has
 * routes of every shape; the store is a throw-away SQLite file.
 * Properties: the answer is one well-formed CGI response whose status is one
 * the API uses, whose Content-Length is the body's, whose body is JSON (an
 * "error" string on failures); a routed {id} is the path's number; body
 * fields reach handlers present, typed and valid UTF-8. */
#include "fuzz.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "account.h"
#include "app.h"
#include "conversation.h"
#include "utf8.h"

static char out_path[256];

static void check_string_field(struct request *req, const char *name)
{
	size_t len = 0;
	const char *s = app_field_string(req, name, &len);
	if (s)
		FUZZ_ASSERT(strlen(s) == len && utf8_valid(s, len), "string fields are valid UTF-8 without NUL");
}

static void echo(struct request *req, struct response *res)
{
	check_string_field(req, "username");
	check_string_field(req, "password");
	check_string_field(req, "title");
	struct json_object *o = json_object_new_object();
	size_t len;
	const char *u = app_field_string(req, "username", &len);
	if (u) {
		char *display = NULL, *key = NULL;
		const char *problem = account_check_username(u, len, &display, &key);
		if (!problem) {
			FUZZ_ASSERT(display && key && utf8_valid(display, strlen(display)), "a checked name is valid UTF-8");
			size_t n = utf8_count(display, strlen(display));
			FUZZ_ASSERT(n >= 3 && n <= 80, "names are 3-80 characters");
			json_object_object_add(o, "username", json_object_new_string(display));
		}
		free(display);
		free(key);
	}
	const char *pw = app_field_string(req, "password", &len);
	if (pw)
		(void)account_check_password(pw, len);
	const char *t = app_field_string(req, "title", &len);
	if (t) {
		char *clean = NULL;
		if (conversation_check_title(t, len, &clean) == NULL) {
			FUZZ_ASSERT(clean && utf8_count(clean, strlen(clean)) <= CONVERSATION_TITLE_MAX, "titles are bounded");
			json_object_object_add(o, "title", json_object_new_string(clean));
		}
		free(clean);
	}
	long long cid = app_field_id(req, "conversation_id");
	FUZZ_ASSERT(cid >= 0, "ids are positive or absent");
	json_object_object_add(o, "conversation_id", json_object_new_int64(cid));
	for (size_t i = 0; i < req->n_query; i++)
		if (strcmp(req->query[i].key, "before") == 0)
			json_object_object_add(o, "before", json_object_new_string(req->query[i].value));
	response_json(res, 200, o);
}

static void with_id(struct request *req, struct response *res)
{
	const char *path = getenv("PATH_INFO");
	long long id = 0;
	FUZZ_ASSERT(path && path[0] == '/' && request_parse_id(path + 1, &id) == 0 && id == req->id && id > 0,
		    "a routed id is the path's number");
	if (req->json.count)
		check_string_field(req, "title");
	response_empty(res, 204);
}

static void plain(struct request *req, struct response *res)
{
	const char *path = getenv("PATH_INFO");
	FUZZ_ASSERT(!path || path[0] == '\0' || strcmp(path, "/") == 0, "an id-less route has no id in its path");
	FUZZ_ASSERT(req->id == 0, "no id");
	response_json(res, 200, json_object_new_object());
}

static const struct field post_fields[] = {
	{"username", FIELD_STRING, 1},
	{"password", FIELD_STRING, 0},
	{"title", FIELD_STRING, 0},
	{"conversation_id", FIELD_ID, 0},
	{NULL, 0, 0},
};

static const struct field patch_fields[] = {
	{"title", FIELD_STRING, 1},
	{NULL, 0, 0},
};

static const struct route routes[] = {
	{"GET", 0, NULL, plain, NULL, NULL},
	{"POST", ROUTE_BODY, post_fields, echo, NULL, NULL},
	{"GET", ROUTE_ID, NULL, with_id, NULL, NULL},
	{"PATCH", ROUTE_ID | ROUTE_BODY, patch_fields, with_id, NULL, NULL},
	{"DELETE", ROUTE_ID, NULL, with_id, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char dir[] = "/tmp/aifacade-fuzz-app.XXXXXX";
	if (!mkdtemp(dir))
		abort();
	char db[300];
	snprintf(db, sizeof db, "%s/app.db", dir);
	snprintf(out_path, sizeof out_path, "%s/response", dir);
	setenv("AIFACADE_ROOT", dir, 1);
	setenv("AIFACADE_INSTANCE", dir, 1);
	setenv("DATABASE", db, 1);
	setenv("SECRET_KEY", "fuzz-secret-0123456789abcdef0123456789abcdef0123456789abcdef", 1);
	setenv("HTTP_USER_AGENT", "fuzz/1", 1);
	setenv("REMOTE_ADDR", "127.0.0.1", 1);
	/* app_run() would sandbox the fuzzer itself, which must go on writing
	 * its corpus and crash files (sandbox.h; tests/unit/test_sandbox.c). */
	setenv("AIFACADE_SANDBOX", "off", 1);
	return 0;
}

static void set_or_unset(const char *name, const char *value)
{
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

/* Reads the response back and checks its shape. */
static void check_response(void)
{
	FILE *f = fopen(out_path, "rb");
	FUZZ_ASSERT(f != NULL, "the response file is there");
	static char text[1 << 20];
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	int status = 0;
	FUZZ_ASSERT(sscanf(text, "Status: %d ", &status) == 1, "a Status line first");
	static const int allowed[] = {200, 204, 400, 401, 403, 404, 405, 411, 413, 415, 500, 503};
	int ok = 0;
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		ok |= status == allowed[i];
	FUZZ_ASSERT(ok, "a status the API uses");
	FUZZ_ASSERT(status != 500, "no 500 for any request (a 500 is a bug here)");
	char *end = strstr(text, "\r\n\r\n");
	FUZZ_ASSERT(end != NULL, "headers end with a blank line");
	for (char *p = text; p < end; p++)
		FUZZ_ASSERT(*p != '\n' || p[-1] == '\r', "header lines end with CRLF");
	FUZZ_ASSERT(strstr(text, "Content-Security-Policy: ") < end, "security headers on every answer");
	const char *body = end + 4;
	size_t blen = n - (size_t)(body - text);
	if (status == 204) {
		FUZZ_ASSERT(blen == 0, "204 has no body");
		return;
	}
	const char *cl = strstr(text, "Content-Length: ");
	FUZZ_ASSERT(cl && cl < end && strtoull(cl + 16, NULL, 10) == blen, "Content-Length is the body's");
	struct json_object *v = json_tokener_parse(body);
	FUZZ_ASSERT(v != NULL && json_object_is_type(v, json_type_object), "the body is a JSON object");
	if (status >= 400) {
		struct json_object *e;
		FUZZ_ASSERT(json_object_object_get_ex(v, "error", &e) && json_object_is_type(e, json_type_string) &&
				    json_object_get_string_len(e) > 0,
			    "errors are {\"error\": message}");
	}
	if (status == 405)
		FUZZ_ASSERT(strstr(text, "\r\nAllow: ") && strstr(text, "\r\nAllow: ") < end, "405 says what is allowed");
	json_object_put(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "get"};
	static const char *const types[] = {"application/json", "application/json; charset=utf-8", NULL,
					    "text/plain", "application/jsonx", "APPLICATION/JSON"};
	static const char *const origins[] = {NULL, "https://localhost:8443", "https://evil.example", "null"};
	struct fuzz_parts p;
	fuzz_split(data, size, 7, &p);
	unsigned flags = p.len[0] ? (unsigned char)p.part[0][0] | (p.len[0] > 1 ? (unsigned char)p.part[0][1] << 8 : 0) : 0;
	const char *method = (flags & 0x80) && p.len[1] ? p.part[1] : methods[flags & 7];
	setenv("REQUEST_METHOD", method, 1);
	setenv("PATH_INFO", p.part[2], 1);
	setenv("QUERY_STRING", p.part[3], 1);
	set_or_unset("HTTP_COOKIE", p.len[4] ? p.part[4] : NULL);
	set_or_unset("CONTENT_TYPE", types[(flags >> 3) % 6]);
	set_or_unset("HTTP_ORIGIN", origins[(flags >> 8) & 3]);
	set_or_unset("HTTP_HOST", (flags & 0x400) ? NULL : "localhost:8443");
	set_or_unset("HTTP_SEC_FETCH_SITE", (flags & 0x800) ? "cross-site" : NULL);
	size_t blen = p.len[6] < 60000 ? p.len[6] : 60000;
	char cl[32];
	snprintf(cl, sizeof cl, "%zu", blen);
	set_or_unset("CONTENT_LENGTH", p.len[5] ? p.part[5] : blen || (flags & 0x40) ? cl : NULL);

	int fds[2];
	if (pipe(fds) < 0)
		abort();
	if (blen && write(fds[1], p.part[6], blen) != (ssize_t)blen)
		abort();
	close(fds[1]);
	int saved_in = dup(0), saved_out = dup(1);
	dup2(fds[0], 0);
	close(fds[0]);
	FILE *out = fopen(out_path, "wb");
	if (!out)
		abort();
	dup2(fileno(out), 1);
	fclose(out);

	(void)app_run(&(const struct endpoint){"fuzz", routes});

	dup2(saved_in, 0);
	dup2(saved_out, 1);
	close(saved_in);
	close(saved_out);
	check_response();
	fuzz_free(&p);
	return 0;
}
