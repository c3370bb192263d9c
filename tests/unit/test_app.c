/* test_app.c: unit tests for app.c, the runner: each check answers before
 * any handler runs, in the documented order (app.h), and the handler sees
 * only typed, validated fields.
 *
 * Each request runs app_run() in a forked child with the CGI variables of
 * that request, the body on stdin from a file, and stdout on a pipe; the
 * project root and the SQLite database are temporary. Every handler
 * appends a byte to root/handled, so a refused request shows that no
 * handler ran, not only that the answer was an error. */
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "app.h"
#include "check.h"
#include "config.h"
#include "csrf.h"
#include "reply.h"
#include "session.h"
#include "store.h"

static char root[] = "/tmp/aifacade-unit-app.XXXXXX";
static char cookie[256], csrf[128], other_cookie[256];

/* The marker lives in instance/, which every request's sandbox keeps
 * writable whatever DATABASE names. */
static void mark_handled(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/instance/handled", root);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd >= 0) {
		if (write(fd, "h", 1) != 1)
			printf("# could not mark a handler run\n");
		close(fd);
	}
}

/* How many handlers have run so far. */
static long handled(void)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof path, "%s/instance/handled", root);
	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

static void echo(struct request *req, struct response *res)
{
	mark_handled();
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "method", json_object_new_string(req->method));
	json_object_object_add(o, "user", json_object_new_int64(req->user_id));
	json_object_object_add(o, "id", json_object_new_int64(req->id));
	json_object_object_add(o, "store", json_object_new_boolean(req->store != NULL));
	size_t len = 0;
	const char *title = app_field_string(req, "title", &len);
	if (title)
		json_object_object_add(o, "title", json_object_new_string_len(title, (int)len));
	json_object_object_add(o, "parent", json_object_new_int64(app_field_id(req, "parent")));
	json_object_object_add(o, "limit", json_object_new_int64(app_query_number(req, "limit", 0)));
	const char *format = app_query(req, "format");
	if (format)
		json_object_object_add(o, "format", json_object_new_string(format));
	response_json(res, 200, o);
}

/* Writes a user inside a transaction, then fails without committing: the
 * runner must roll the write back. */
static void fail_halfway(struct request *req, struct response *res)
{
	mark_handled();
	long long id = 0;
	if (store_begin(req->store) != STORE_OK ||
	    store_user_create(req->store, "halfway", "halfway", "x", req->now, &id) != STORE_OK) {
		response_error(res, 418, "the test could not write");
		return;
	}
	response_error(res, 500, "Something went wrong on our side; try again.");
}

/* A lost database server, as a handler reports it (app_store_error). */
static void unavailable(struct request *req, struct response *res)
{
	(void)req;
	mark_handled();
	app_store_error(res, STORE_UNAVAILABLE);
}

static const struct field post_fields[] = {
	{"title", FIELD_STRING, 1},
	{"parent", FIELD_ID, 0},
	{NULL, 0, 0},
};

static const struct field patch_fields[] = {
	{"target", FIELD_ID, 1},
	{NULL, 0, 0},
};

static const struct param get_params[] = {
	{"limit", PARAM_COUNT, 10, NULL, "limit must be a whole number from 1 to 10."},
	{"format", PARAM_CHOICE, 0, "md|json", "format must be md or json."},
	{"q", PARAM_STRING, 0, NULL, NULL},
	{NULL, 0, 0, NULL, NULL},
};

static const struct route routes[] = {
	{"GET", 0, NULL, echo, get_params, NULL},
	{"POST", ROUTE_AUTH | ROUTE_CSRF | ROUTE_BODY, post_fields, echo, NULL, NULL},
	{"PATCH", ROUTE_NO_STORE, NULL, echo, NULL, NULL},
	{"GET", ROUTE_ID | ROUTE_AUTH, NULL, echo, NULL, NULL},
	{"DELETE", ROUTE_ID | ROUTE_AUTH | ROUTE_CSRF, NULL, echo, NULL, NULL},
	{"PUT", ROUTE_ID | ROUTE_AUTH | ROUTE_CSRF, NULL, fail_halfway, NULL, NULL},
	{"PATCH", ROUTE_ID | ROUTE_AUTH | ROUTE_CSRF | ROUTE_BODY, patch_fields, echo, NULL, NULL},
	{"GET", ROUTE_ID | ROUTE_NO_STORE, NULL, echo, NULL, "tail"},
	{"DELETE", ROUTE_ID | ROUTE_NO_STORE, NULL, echo, NULL, "tail"},
	{"GET", ROUTE_ID | ROUTE_NO_STORE, NULL, unavailable, NULL, "down"},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

static const struct endpoint ep = {"unit", routes};

/* Runs one request: method and path, then NAME=VALUE settings (a bare NAME
 * unsets it) in a NULL-terminated list (ENV(...) or NO_ENV). body NULL sends none; otherwise
 * CONTENT_LENGTH and a JSON CONTENT_TYPE are set unless the list sets them. */
static void run(struct reply *r, const char *method, const char *path, const char *body, const char *const *env)
{
	char bodyfile[256];
	snprintf(bodyfile, sizeof bodyfile, "%s/body", root);
	int in = open(bodyfile, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (body && write(in, body, strlen(body)) != (ssize_t)strlen(body))
		printf("# could not write the body\n");
	int out[2];
	if (in < 0 || pipe(out) != 0) {
		printf("Bail out! cannot set up a request\n");
		exit(1);
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		setenv("REQUEST_METHOD", method, 1);
		setenv("PATH_INFO", path, 1);
		setenv("HTTP_HOST", "chat.example", 1);
		setenv("REMOTE_ADDR", "127.0.0.1", 1);
		setenv("HTTP_USER_AGENT", "UA/1", 1);
		if (body) {
			char n[32];
			snprintf(n, sizeof n, "%zu", strlen(body));
			setenv("CONTENT_LENGTH", n, 1);
			setenv("CONTENT_TYPE", "application/json", 1);
		}
		for (const char *const *e = env; *e; e++) {
			const char *kv = *e;
			const char *eq = strchr(kv, '=');
			char name[64];
			snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - kv) : (int)strlen(kv), kv);
			if (eq)
				setenv(name, eq + 1, 1);
			else
				unsetenv(name);
		}
		lseek(in, 0, SEEK_SET);
		char errfile[256];
		snprintf(errfile, sizeof errfile, "%s/stderr", root);
		int err = open(errfile, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (dup2(in, 0) < 0 || dup2(out[1], 1) < 0 || err < 0 || dup2(err, 2) < 0)
			_exit(99);
		close(out[0]);
		_exit(app_run(&ep));
	}
	close(out[1]);
	close(in);
	if (reply_read(out[0], r) != 0)
		printf("# could not read the answer\n");
	close(out[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 99)
		printf("# the request process ended abnormally (status %d)\n", status);
}

/* The "error" member of the body, or "" (a static copy). */
static const char *error_of(const struct reply *r)
{
	static char msg[256];
	msg[0] = '\0';
	struct json_object *o = json_tokener_parse(r->body);
	struct json_object *e;
	if (o && json_object_object_get_ex(o, "error", &e) && json_object_is_type(e, json_type_string))
		snprintf(msg, sizeof msg, "%s", json_object_get_string(e));
	json_object_put(o);
	return msg;
}

/* Member name of the body as a string ("" when absent; a static copy). */
static const char *member_of(const struct reply *r, const char *name)
{
	static char val[256];
	val[0] = '\0';
	struct json_object *o = json_tokener_parse(r->body);
	struct json_object *v;
	if (o && json_object_object_get_ex(o, name, &v))
		snprintf(val, sizeof val, "%s", json_object_get_string(v));
	json_object_put(o);
	return val;
}

/* Checks status and error message of a refused request, and that no
 * handler ran (handled() still at before). */
static void check_refused(struct reply *r, long before, int status, const char *error, const char *name, int line)
{
	int ok = r->status == status && strcmp(error_of(r), error) == 0 && handled() == before;
	if (!check_report(ok, name, __FILE__, line)) {
		printf("#   got %d %s, %ld handler runs\n", r->status, r->body, handled() - before);
		printf("#   want %d {\"error\":\"%s\"}, no handler run\n", status, error);
	}
}

static long h0;
#define RUN(r, method, path, body, env) (h0 = handled(), run((r), (method), (path), (body), (env)))
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ENV ((const char *const[]){NULL})
#define HANDLER_RAN() (handled() == h0 + 1)
#define REFUSED(r, status, error, name) check_refused((r), h0, (status), (error), (name), __LINE__)
#define NO_HANDLER() (handled() == h0)

static void test_method_and_route(void)
{
	struct reply r;
	char v[256];

	RUN(&r, "GET", "", NULL, NO_ENV);
	CHECK(r.status == 200 && strcmp(member_of(&r, "method"), "GET") == 0 && HANDLER_RAN(),
	      "route: GET on the collection reaches its handler");
	reply_free(&r);

	RUN(&r, "PUT", "", NULL, NO_ENV);
	CHECK(r.status == 405 && strcmp(error_of(&r), "Method not allowed.") == 0 && NO_HANDLER(),
	      "method: PUT on the collection is 405");
	CHECK_STR(reply_header(&r, "Allow", v, sizeof v), "GET, POST, PATCH", "method: 405 names the collection's methods in Allow");
	reply_free(&r);

	RUN(&r, "POST", "/7", "{\"title\":\"x\"}", ENV("HTTP_ORIGIN=https://evil.example"));
	CHECK(r.status == 405 && NO_HANDLER(), "method: 405 comes before the body, origin and session checks");
	CHECK_STR(reply_header(&r, "Allow", v, sizeof v), "GET, DELETE, PUT, PATCH", "method: 405 on an {id} names the {id} methods");
	reply_free(&r);

	RUN(&r, "get", "", NULL, NO_ENV);
	CHECK(r.status == 405 && NO_HANDLER(), "method: methods are case-sensitive (get is not GET)");
	reply_free(&r);

	RUN(&r, "", "", NULL, NO_ENV);
	CHECK(r.status == 405 && NO_HANDLER(), "method: an empty method is 405");
	reply_free(&r);

	static const char *const not_found[] = {"/x", "/0", "/07", "/-1", "/1/2", "/1/", "//", "/99999999999999999999",
						"/1 ", "x", "/%31"};
	for (size_t i = 0; i < sizeof not_found / sizeof *not_found; i++) {
		char name[96];
		RUN(&r, "GET", not_found[i], NULL, NO_ENV);
		snprintf(name, sizeof name, "route: PATH_INFO \"%s\" is 404", not_found[i]);
		CHECK(r.status == 404 && strcmp(error_of(&r), "Not found.") == 0 && NO_HANDLER(), name);
		reply_free(&r);
	}

	RUN(&r, "DELETE", "/x", NULL, ENV("HTTP_ORIGIN=https://evil.example"));
	CHECK(r.status == 404 && NO_HANDLER(), "route: 404 comes before the method, origin and session checks");
	reply_free(&r);

	RUN(&r, "GET", "/12/tail", NULL, NO_ENV);
	CHECK(r.status == 200 && strcmp(member_of(&r, "id"), "12") == 0 && HANDLER_RAN(),
	      "route: /<id>/<suffix> reaches the suffix's route with the id");
	reply_free(&r);

	RUN(&r, "PUT", "/12/tail", NULL, NO_ENV);
	CHECK(r.status == 405 && NO_HANDLER(), "route: a method the suffix lacks is 405");
	CHECK_STR(reply_header(&r, "Allow", v, sizeof v), "GET, DELETE", "route: 405 on a suffix names only its methods");
	reply_free(&r);

	static const char *const no_suffix[] = {"/12/tails", "/12/tai", "/12/", "/12/tail/", "/12/tail/1", "/0/tail",
						"/x/tail", "//tail", "/12/Tail"};
	for (size_t i = 0; i < sizeof no_suffix / sizeof *no_suffix; i++) {
		char name[96];
		RUN(&r, "GET", no_suffix[i], NULL, NO_ENV);
		snprintf(name, sizeof name, "route: PATH_INFO \"%s\" is 404", no_suffix[i]);
		CHECK(r.status == 404 && NO_HANDLER(), name);
		reply_free(&r);
	}

	RUN(&r, "GET", "/12/down", NULL, NO_ENV);
	CHECK(r.status == 503 && strcmp(error_of(&r), "The database is unavailable; try again shortly.") == 0,
	      "store: a lost database server (STORE_UNAVAILABLE) is 503, the database is unavailable");
	reply_free(&r);

	RUN(&r, "GET", "/", NULL, NO_ENV);
	CHECK(r.status == 200 && HANDLER_RAN(), "route: \"/\" is the collection");
	reply_free(&r);
}

static void test_body_checks(void)
{
	struct reply r;
	/* 413 from CONTENT_LENGTH alone: the body is never read. */
	RUN(&r, "POST", "", NULL, ENV("CONTENT_LENGTH=65537", "CONTENT_TYPE=application/json"));
	REFUSED(&r, 413, "The request body is too large (the limit is 64 KiB).", "size: 64 KiB + 1 is 413");
	reply_free(&r);
	RUN(&r, "POST", "", NULL, ENV("CONTENT_LENGTH=99999999999999999999999", "CONTENT_TYPE=application/json"));
	REFUSED(&r, 413, "The request body is too large (the limit is 64 KiB).", "size: a length past 64 bits is 413");
	reply_free(&r);
	RUN(&r, "POST", "", "{\"title\":\"x\"}", ENV("CONTENT_LENGTH=-5"));
	REFUSED(&r, 400, "Content-Length is malformed.", "size: a negative Content-Length is 400");
	reply_free(&r);
	RUN(&r, "POST", "", "{\"title\":\"x\"}", ENV("CONTENT_LENGTH=40"));
	REFUSED(&r, 400, "The request body ended early.", "size: a body shorter than Content-Length is 400");
	reply_free(&r);
	RUN(&r, "POST", "", "{\"title\":\"\xC3\x28\"}", NO_ENV);
	REFUSED(&r, 400, "The request body is not valid UTF-8.", "body: invalid UTF-8 is 400");
	reply_free(&r);

	static const char *const wrong_types[] = {"CONTENT_TYPE=text/plain", "CONTENT_TYPE=application/jsonx",
						  "CONTENT_TYPE=application/x-www-form-urlencoded", "CONTENT_TYPE"};
	for (size_t i = 0; i < sizeof wrong_types / sizeof *wrong_types; i++) {
		char name[120];
		snprintf(name, sizeof name, "type: a body sent as %s is 415", wrong_types[i]);
		RUN(&r, "POST", "", "{\"title\":\"x\"}", ENV(wrong_types[i], cookie, csrf));
		REFUSED(&r, 415, "Send the request body as application/json.", name);
		reply_free(&r);
	}
	RUN(&r, "POST", "", "{\"title\":\"typed\"}", ENV("CONTENT_TYPE=Application/JSON; charset=utf-8", cookie, csrf));
	CHECK(r.status == 200 && strcmp(member_of(&r, "title"), "typed") == 0 && HANDLER_RAN(),
	      "type: application/json with parameters, in any case, is accepted");
	reply_free(&r);
	RUN(&r, "POST", "", "{\"title\":\"x\"}", ENV("CONTENT_TYPE=text/plain", "HTTP_ORIGIN=https://evil.example"));
	CHECK(r.status == 415 && NO_HANDLER(), "type: 415 comes before the origin and session checks");
	reply_free(&r);
	RUN(&r, "GET", "", NULL, ENV("CONTENT_TYPE=text/plain"));
	CHECK(r.status == 200 && HANDLER_RAN(), "type: without a body the content type does not matter");
	reply_free(&r);
}

static void test_origin(void)
{
	struct reply r;
	static const char *const cross[] = {"HTTP_ORIGIN=https://evil.example", "HTTP_ORIGIN=null",
					    "HTTP_ORIGIN=https://chat.example.evil.example",
					    "HTTP_SEC_FETCH_SITE=cross-site"};
	for (size_t i = 0; i < sizeof cross / sizeof *cross; i++) {
		char name[120];
		snprintf(name, sizeof name, "origin: a POST with %s is 403", cross[i]);
		RUN(&r, "POST", "", "{\"title\":\"x\"}", ENV(cross[i], cookie, csrf));
		REFUSED(&r, 403, "Cross-site requests are not allowed.", name);
		reply_free(&r);
	}
	RUN(&r, "PATCH", "", NULL, ENV("HTTP_ORIGIN=https://evil.example"));
	REFUSED(&r, 403, "Cross-site requests are not allowed.", "origin: a cross-site write without a session is 403");
	reply_free(&r);
	RUN(&r, "POST", "", NULL, ENV("HTTP_ORIGIN=https://evil.example"));
	CHECK(r.status == 403 && NO_HANDLER(), "origin: the cross-site 403 comes before the session's 401");
	reply_free(&r);
	RUN(&r, "POST", "", "{\"title\":\"same\"}", ENV("HTTP_ORIGIN=https://chat.example", "HTTP_SEC_FETCH_SITE=same-origin", cookie, csrf));
	CHECK(r.status == 200 && HANDLER_RAN(), "origin: a same-origin POST reaches the handler");
	reply_free(&r);
	RUN(&r, "GET", "", NULL, ENV("HTTP_ORIGIN=https://evil.example", "HTTP_SEC_FETCH_SITE=cross-site"));
	CHECK(r.status == 200 && HANDLER_RAN(), "origin: a cross-site GET is a read and is answered");
	reply_free(&r);
}

static void test_session_and_csrf(void)
{
	struct reply r;
	RUN(&r, "POST", "", "{\"title\":\"x\"}", NO_ENV);
	REFUSED(&r, 401, "You are not logged in.", "session: a write without a cookie is 401");
	reply_free(&r);
	RUN(&r, "GET", "/5", NULL, ENV("HTTP_COOKIE=aifacade_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	REFUSED(&r, 401, "You are not logged in.", "session: a forged token is 401");
	reply_free(&r);
	RUN(&r, "GET", "/5", NULL, ENV(cookie, "HTTP_USER_AGENT=another browser"));
	REFUSED(&r, 401, "You are not logged in.", "session: the token from another User-Agent is 401");
	reply_free(&r);
	RUN(&r, "GET", "/5", NULL, ENV(other_cookie));
	REFUSED(&r, 401, "You are not logged in.", "session: two cookies of the session's name are none");
	reply_free(&r);
	RUN(&r, "POST", "", "{\"title\"", ENV(csrf));
	CHECK(r.status == 401 && NO_HANDLER(), "session: 401 comes before CSRF and body validation");
	reply_free(&r);
	RUN(&r, "GET", "/5", NULL, ENV(cookie));
	CHECK(r.status == 200 && strcmp(member_of(&r, "id"), "5") == 0 && strcmp(member_of(&r, "user"), "0") != 0 &&
		      HANDLER_RAN(),
	      "session: a valid cookie reaches the handler with the user and the {id}");
	reply_free(&r);
	RUN(&r, "GET", "", NULL, NO_ENV);
	CHECK(r.status == 200 && strcmp(member_of(&r, "user"), "0") == 0 && HANDLER_RAN(),
	      "session: a route without ROUTE_AUTH runs without one, as user 0");
	reply_free(&r);

	RUN(&r, "DELETE", "/5", NULL, ENV(cookie));
	REFUSED(&r, 403, "Missing or invalid CSRF token; reload the page and try again.", "csrf: a write without the token is 403");
	reply_free(&r);
	RUN(&r, "DELETE", "/5", NULL, ENV(cookie, "HTTP_X_CSRF_TOKEN=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	REFUSED(&r, 403, "Missing or invalid CSRF token; reload the page and try again.", "csrf: a wrong token is 403");
	reply_free(&r);
	RUN(&r, "POST", "", "{\"title\"", ENV(cookie));
	CHECK(r.status == 403 && NO_HANDLER(), "csrf: 403 comes before body validation");
	reply_free(&r);
	RUN(&r, "DELETE", "/5", NULL, ENV(cookie, csrf));
	CHECK(r.status == 200 && strcmp(member_of(&r, "method"), "DELETE") == 0 && HANDLER_RAN(),
	      "csrf: the session's token reaches the handler");
	reply_free(&r);
}

static void test_fields(void)
{
	struct reply r;
	static const char *const bad[][2] = {
		{"{\"title\"", NULL},
		{"[\"title\"]", NULL},
		{"{\"title\":\"a\"} x", NULL},
		{"{\"title\":\"a\",\"title\":\"b\"}", NULL},
		{"{\"title\":\"a\",\"admin\":true}", "Unknown field 'admin' in the request."},
		{"{\"title\":5}", "Field 'title' must be a string."},
		{"{\"title\":null}", "Field 'title' must be a string."},
		{"{}", "Field 'title' is required."},
		{"{\"parent\":3}", "Field 'title' is required."},
		{"{\"title\":\"a\",\"parent\":0}", "Field 'parent' must be a positive whole number."},
		{"{\"title\":\"a\",\"parent\":-3}", "Field 'parent' must be a positive whole number."},
		{"{\"title\":\"a\",\"parent\":1.5}", "Field 'parent' must be a positive whole number."},
		{"{\"title\":\"a\",\"parent\":\"3\"}", "Field 'parent' must be a positive whole number."},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char name[160];
		snprintf(name, sizeof name, "fields: %s is 400", bad[i][0]);
		RUN(&r, "POST", "", bad[i][0], ENV(cookie, csrf));
		if (bad[i][1]) {
			REFUSED(&r, 400, bad[i][1], name);
		} else {
			CHECK(r.status == 400 && error_of(&r)[0] != '\0' && NO_HANDLER(), name);
		}
		reply_free(&r);
	}
	RUN(&r, "POST", "", "{\"title\":\"hello\",\"parent\":42}", ENV(cookie, csrf));
	CHECK(r.status == 200 && strcmp(member_of(&r, "title"), "hello") == 0 && strcmp(member_of(&r, "parent"), "42") == 0 &&
		      HANDLER_RAN(),
	      "fields: a string and an id reach the handler typed");
	reply_free(&r);
	RUN(&r, "POST", "", "{\"title\":\"hello\",\"parent\":null}", ENV(cookie, csrf));
	CHECK(r.status == 200 && strcmp(member_of(&r, "parent"), "0") == 0 && HANDLER_RAN(),
	      "fields: a null id is absent (0)");
	reply_free(&r);
	RUN(&r, "PATCH", "/3", "{\"target\":null}", ENV(cookie, csrf));
	REFUSED(&r, 400, "Field 'target' is required.", "fields: null for a required id is 400");
	reply_free(&r);
	RUN(&r, "PATCH", "/3", NULL, ENV(cookie, csrf));
	REFUSED(&r, 400, "Field 'target' is required.", "fields: a body route without a body checks {} (required is missing)");
	reply_free(&r);
	RUN(&r, "GET", "", "{}", NO_ENV);
	CHECK(r.status == 200 && HANDLER_RAN(), "fields: a route without fields accepts {}");
	reply_free(&r);
	RUN(&r, "GET", "", "{\"title\":\"x\"}", NO_ENV);
	REFUSED(&r, 400, "Unknown field 'title' in the request.", "fields: a route without fields refuses any field");
	reply_free(&r);
}

static void test_query(void)
{
	struct reply r;
	RUN(&r, "GET", "", NULL, ENV("QUERY_STRING=limit=7&format=md&q=anything%20at%20all"));
	CHECK(r.status == 200 && HANDLER_RAN() && strcmp(member_of(&r, "limit"), "7") == 0 &&
		      strcmp(member_of(&r, "format"), "md") == 0,
	      "query: declared parameters with good values reach the handler, typed");
	reply_free(&r);
	static const struct {
		const char *qs, *error, *name;
	} bad[] = {
		{"QUERY_STRING=limit=abc", "limit must be a whole number from 1 to 10.", "query: a word for a count is 400"},
		{"QUERY_STRING=limit=0", "limit must be a whole number from 1 to 10.", "query: zero for a count is 400"},
		{"QUERY_STRING=limit=11", "limit must be a whole number from 1 to 10.", "query: past the maximum is 400"},
		{"QUERY_STRING=limit=-1", "limit must be a whole number from 1 to 10.", "query: a sign is 400"},
		{"QUERY_STRING=limit=07", "limit must be a whole number from 1 to 10.", "query: a leading zero is 400"},
		{"QUERY_STRING=format=pdf", "format must be md or json.", "query: a word not among the choices is 400"},
		{"QUERY_STRING=format=m", "format must be md or json.", "query: a prefix of a choice is 400"},
		{"QUERY_STRING=colour=red",
		 "Unknown query parameter 'colour'; this address takes limit, format and q.",
		 "query: an undeclared parameter is 400 naming those declared"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		RUN(&r, "GET", "", NULL, ENV(bad[i].qs));
		REFUSED(&r, 400, bad[i].error, bad[i].name);
		reply_free(&r);
	}
	RUN(&r, "PATCH", "", NULL, ENV("QUERY_STRING=limit=1"));
	REFUSED(&r, 400, "Unknown query parameter 'limit'; this address takes none.",
		"query: a route that declares none refuses any");
	reply_free(&r);
}

static void test_store_and_config(void)
{
	struct reply r;
	char db[256];
	snprintf(db, sizeof db, "DATABASE=%s/no-such-dir/x.db", root);
	RUN(&r, "GET", "", NULL, ENV(db));
	REFUSED(&r, 503, "The database is unavailable; try again shortly.", "store: a database that cannot open is 503");
	reply_free(&r);
	RUN(&r, "PATCH", "", NULL, ENV(db));
	CHECK(r.status == 200 && strcmp(member_of(&r, "store"), "false") == 0 && HANDLER_RAN(),
	      "store: a ROUTE_NO_STORE handler runs without opening the database");
	reply_free(&r);
	RUN(&r, "GET", "", NULL, ENV("AI_TIMEOUT=soon"));
	REFUSED(&r, 500, "The server is misconfigured; the operator's log says what to fix.",
		"config: a malformed setting is 500 before any handler");
	reply_free(&r);

	RUN(&r, "PUT", "/1", NULL, ENV(cookie, csrf));
	CHECK(r.status == 500 && HANDLER_RAN(), "rollback: the failing handler ran and answered 500");
	reply_free(&r);
	struct store *st = NULL;
	char err[256], path[256];
	snprintf(path, sizeof path, "%s/app.db", root);
	struct user u = {0};
	CHECK(store_open(path, &st, err, sizeof err) == 0 && store_user_find(st, "halfway", &u) == STORE_NOTFOUND,
	      "rollback: what a failing handler wrote without committing is not in the database");
	store_user_free(&u);
	store_close(st);
}

static void test_answer(void)
{
	struct reply r;
	char v[256];
	RUN(&r, "DELETE", "/x", NULL, NO_ENV);
	CHECK(r.status == 404, "answer: an early refusal");
	CHECK(strncmp(r.raw, "Status: 404 Not Found\r\n", 23) == 0, "answer: the status line names the reason");
	CHECK_STR(reply_header(&r, "Content-Type", v, sizeof v), "application/json; charset=utf-8", "answer: JSON");
	CHECK_STR(reply_header(&r, "Cache-Control", v, sizeof v), "no-store", "answer: refusals are not cached");
	CHECK_STR(reply_header(&r, "X-Content-Type-Options", v, sizeof v), "nosniff", "answer: refusals carry the security headers");
	char want[32];
	snprintf(want, sizeof want, "%zu", r.body_len);
	CHECK_STR(reply_header(&r, "Content-Length", v, sizeof v), want, "answer: Content-Length is the body's length");
	reply_free(&r);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mkdtemp(root) == NULL) {
		printf("Bail out! cannot make a temporary directory\n");
		return 1;
	}
	char path[256];
	snprintf(path, sizeof path, "%s/instance", root);
	mkdir(path, 0700);
	clearenv();
	setenv("PATH", "/usr/bin:/bin", 1);
	setenv("AIFACADE_ROOT", root, 1);
	setenv("SECRET_KEY", "unit-test-secret-key-0123456789abcdef", 1);
	setenv("COOKIE_SECURE", "0", 1);
	snprintf(path, sizeof path, "%s/app.db", root);
	setenv("DATABASE", path, 1);

	/* A user with a session, made as register would, for the checks
	 * that need one. */
	struct config cfg;
	char err[512];
	struct store *st = NULL;
	long long uid = 0, now = (long long)time(NULL) * 1000;
	char *token = NULL, *hash = NULL, *tok = NULL;
	if (config_load(&cfg, err, sizeof err) < 0 || store_open(cfg.database, &st, err, sizeof err) < 0 ||
	    store_user_create(st, "alice", "alice", "x", now, &uid) != STORE_OK ||
	    session_create(st, &cfg, uid, "UA/1", now, &token, &hash) != STORE_OK) {
		printf("Bail out! cannot set up a user and a session: %s\n", err);
		return 1;
	}
	tok = csrf_token(&cfg, hash);
	snprintf(cookie, sizeof cookie, "HTTP_COOKIE=theme=dark; aifacade_session=%s", token);
	snprintf(other_cookie, sizeof other_cookie, "HTTP_COOKIE=aifacade_session=%s; aifacade_session=%s", token, token);
	snprintf(csrf, sizeof csrf, "HTTP_X_CSRF_TOKEN=%s", tok);
	free(token), free(hash), free(tok);
	store_close(st);
	config_free(&cfg);

	test_method_and_route();
	test_body_checks();
	test_origin();
	test_session_and_csrf();
	test_fields();
	test_query();
	test_store_and_config();
	test_answer();

	remove_tree(root);
	return check_done();
}
