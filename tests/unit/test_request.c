/* test_request.c: unit tests for request.c (query, cookies, client address, ids, CGI parsing). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "check.h"
#include "request.h"

/* ---- request_parse_id ---- */

/* The parsed value of key, or NULL: how an endpoint reads req->query. */
static const char *query_value(const struct request *req, const char *key)
{
	for (size_t i = 0; i < req->n_query; i++)
		if (strcmp(req->query[i].key, key) == 0)
			return req->query[i].value;
	return NULL;
}

static int id_refused(const char *s)
{
	long long v = -12345;
	return request_parse_id(s, &v) == -1 && v == -12345;
}

static void test_parse_id(void)
{
	long long v = 0;
	CHECK(request_parse_id("1", &v) == 0 && v == 1, "id 1");
	CHECK(request_parse_id("42", &v) == 0 && v == 42, "id 42");
	CHECK(request_parse_id("9223372036854775807", &v) == 0 && v == 9223372036854775807LL, "id LLONG_MAX");
	CHECK(id_refused("9223372036854775808"), "id LLONG_MAX + 1 refused");
	CHECK(id_refused("99999999999999999999"), "id 99999999999999999999 refused");
	CHECK(id_refused("18446744073709551617"), "id that wraps an unsigned 64-bit refused");
	CHECK(id_refused("0"), "id 0 refused");
	CHECK(id_refused("00"), "id 00 refused");
	CHECK(id_refused("01"), "id with a leading zero refused");
	CHECK(id_refused("-1"), "negative id refused");
	CHECK(id_refused("-0"), "id -0 refused");
	CHECK(id_refused("+1"), "id with a plus refused");
	CHECK(id_refused(" 1"), "id with a leading space refused");
	CHECK(id_refused("1 "), "id with a trailing space refused");
	CHECK(id_refused("1\n"), "id with a trailing newline refused");
	CHECK(id_refused(""), "empty id refused");
	CHECK(id_refused(NULL), "NULL id refused");
	CHECK(id_refused("1a"), "id with a letter refused");
	CHECK(id_refused("0x1"), "hexadecimal id refused");
	CHECK(id_refused("1.0"), "decimal id refused");
	CHECK(id_refused("1e3"), "exponent id refused");
	CHECK(id_refused("1/"), "id with a slash refused");
	CHECK(id_refused("\xD9\xA1"), "Arabic-Indic digit refused");
	CHECK(id_refused("%31"), "percent-encoded id refused");
}

/* ---- request_parse_query ---- */

static int query_refused(const char *qs, const char *want_word)
{
	struct query_param *q = (struct query_param *)1;
	size_t n = 99;
	const char *err = NULL;
	int rc = request_parse_query(qs, &q, &n, &err);
	int ok = rc == -1 && q == NULL && n == 0 && err != NULL && (!want_word || strstr(err, want_word));
	if (rc == 0) {
		struct request r;
		memset(&r, 0, sizeof r);
		r.query = q, r.n_query = n;
		request_free(&r);
	}
	return ok;
}

/* Parses qs, which must be accepted, into req->query. */
static int query_parsed(const char *qs, struct request *req)
{
	memset(req, 0, sizeof *req);
	const char *err = NULL;
	return request_parse_query(qs, &req->query, &req->n_query, &err) == 0 && err == NULL;
}

static void test_query(void)
{
	CHECK(query_refused("a=%", "malformed"), "query: lone %");
	CHECK(query_refused("a=%4", NULL), "query: %4");
	CHECK(query_refused("a=%2", NULL), "query: %2");
	CHECK(query_refused("a=%zz", NULL), "query: %zz");
	CHECK(query_refused("%=1", NULL), "query: % in a key");
	CHECK(query_refused("a=%00", NULL), "query: %00 in a value");
	CHECK(query_refused("a%00b=1", NULL), "query: %00 in a key");
	CHECK(query_refused("a=%C3", NULL), "query: truncated UTF-8 after decoding");
	CHECK(query_refused("a=%C0%AF", NULL), "query: overlong UTF-8 after decoding");
	CHECK(query_refused("a=%ED%A0%80", NULL), "query: surrogate after decoding");
	CHECK(query_refused("a=%F4%90%80%80", NULL), "query: beyond U+10FFFF after decoding");
	CHECK(query_refused("a=%80", NULL), "query: lone continuation byte after decoding");
	CHECK(query_refused("a=\xFF", NULL), "query: raw invalid byte");
	CHECK(query_refused("a=\xC3", NULL), "query: raw truncated UTF-8");
	CHECK(query_refused("a=1&a=2", "repeats"), "query: repeated key");
	CHECK(query_refused("a=1&a=1", "repeats"), "query: repeated key with the same value");
	CHECK(query_refused("a=1&%61=2", "repeats"), "query: repeated key spelt %61");
	CHECK(query_refused("a&a", "repeats"), "query: repeated bare key");
	CHECK(query_refused("a+b=1&a%20b=2", "repeats"), "query: repeated key spelt with + and %20");

	char many[512];
	size_t n = 0;
	for (int i = 0; i < 33; i++)
		n += (size_t)snprintf(many + n, sizeof many - n, "%sk%d=%d", i ? "&" : "", i, i);
	CHECK(query_refused(many, "too many"), "query: 33 parameters refused");
	struct request req;
	*strrchr(many, '&') = '\0';
	CHECK(query_parsed(many, &req) && req.n_query == 32, "query: 32 parameters accepted");
	CHECK_STR(query_value(&req, "k31"), "31", "query: the 32nd parameter is readable");
	request_free(&req);

	CHECK(query_parsed("", &req) && req.n_query == 0 && req.query == NULL, "query: empty string");
	request_free(&req);
	CHECK(query_parsed(NULL, &req) && req.n_query == 0, "query: NULL");
	request_free(&req);
	CHECK(query_parsed("&&&", &req) && req.n_query == 0, "query: only separators");
	request_free(&req);

	CHECK(query_parsed("before=10&limit=50", &req) && req.n_query == 2, "query: two parameters");
	CHECK_STR(query_value(&req, "before"), "10", "query: first value");
	CHECK_STR(query_value(&req, "limit"), "50", "query: second value");
	CHECK_STR(query_value(&req, "missing"), NULL, "query: absent key gives NULL");
	CHECK_STR(query_value(&req, "limi"), NULL, "query: a key prefix does not match");
	CHECK_STR(query_value(&req, "limit=50"), NULL, "query: key=value is not a key");
	request_free(&req);

	CHECK(query_parsed("&&a=1&&b&c=&", &req) && req.n_query == 3, "query: empty segments skipped");
	CHECK_STR(query_value(&req, "a"), "1", "query: value between empty segments");
	CHECK_STR(query_value(&req, "b"), "", "query: bare key has an empty value");
	CHECK_STR(query_value(&req, "c"), "", "query: key= has an empty value");
	request_free(&req);

	CHECK(query_parsed("q=a+b%2Bc%20d&p=%252e&e=1=2&u=%C3%A9&r=caf\xC3\xA9", &req), "query: encodings");
	CHECK_STR(query_value(&req, "q"), "a b+c d", "query: + is space, %2B is plus, %20 is space");
	CHECK_STR(query_value(&req, "p"), "%2e", "query: double encoding decoded once");
	CHECK_STR(query_value(&req, "e"), "1=2", "query: only the first = splits");
	CHECK_STR(query_value(&req, "u"), "\xC3\xA9", "query: percent-encoded UTF-8");
	CHECK_STR(query_value(&req, "r"), "caf\xC3\xA9", "query: raw UTF-8");
	request_free(&req);
}

/* ---- request_cookie ---- */

#define SESSION "aifacade_session"

static int cookie_is(const char *header, const char *name, const char *want, int want_repeated)
{
	int repeated = -1;
	char *got = request_cookie(header, name, &repeated);
	int ok = repeated == want_repeated &&
		 ((got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0));
	if (!ok)
		printf("#   got %s%s%s, repeated %d\n", got ? "\"" : "", got ? got : "NULL", got ? "\"" : "", repeated);
	free(got);
	return ok;
}

static void test_cookie(void)
{
	CHECK(cookie_is(SESSION "=a; " SESSION "=b", SESSION, NULL, 1), "cookie: repeated name is absent");
	CHECK(cookie_is(SESSION "=a;" SESSION "=a", SESSION, NULL, 1), "cookie: repeated with the same value");
	CHECK(cookie_is(SESSION "=a; x=1; " SESSION "=", SESSION, NULL, 1), "cookie: repeated, second empty");
	CHECK(cookie_is(SESSION "=; " SESSION "=a", SESSION, NULL, 1), "cookie: repeated, first empty");
	CHECK(cookie_is(SESSION "=a; " SESSION "=b; " SESSION "=c", SESSION, NULL, 1), "cookie: three times");
	CHECK(cookie_is("x" SESSION "=evil", SESSION, NULL, 0), "cookie: name as a suffix of another cookie");
	CHECK(cookie_is("x" SESSION "=evil; " SESSION "=good", SESSION, "good", 0),
	      "cookie: suffix cookie does not count as a repeat");
	CHECK(cookie_is(SESSION "2=evil", SESSION, NULL, 0), "cookie: name as a prefix of another cookie");
	CHECK(cookie_is("other=" SESSION "=evil", SESSION, NULL, 0), "cookie: name inside another cookie's value");
	CHECK(cookie_is("other=x;" SESSION, SESSION, NULL, 0), "cookie: name without =");
	CHECK(cookie_is(SESSION " =a", SESSION, NULL, 0), "cookie: space before = is another name");
	CHECK(cookie_is("AIFACADE_SESSION=a", SESSION, NULL, 0), "cookie: names are case-sensitive");
	CHECK(cookie_is("__host-aifacade=a", "__Host-aifacade", NULL, 0), "cookie: __Host- prefix is case-sensitive");
	CHECK(cookie_is(NULL, SESSION, NULL, 0), "cookie: no header");
	CHECK(cookie_is("", SESSION, NULL, 0), "cookie: empty header");
	CHECK(cookie_is(";;; ;", SESSION, NULL, 0), "cookie: separators only");

	int repeated = -1;
	char *got = request_cookie(SESSION "=", SESSION, &repeated);
	CHECK(repeated == 0 && (got == NULL || *got == '\0'), "cookie: empty value gives no token");
	free(got);

	CHECK(cookie_is(SESSION "=tok", SESSION, "tok", 0), "cookie: alone");
	CHECK(cookie_is("a=1; " SESSION "=tok; b=2", SESSION, "tok", 0), "cookie: in the middle");
	CHECK(cookie_is("a=1;" SESSION "=tok", SESSION, "tok", 0), "cookie: after ; without space");
	CHECK(cookie_is("a=1;\t" SESSION "=tok\t;", SESSION, "tok", 0), "cookie: tabs around it");
	CHECK(cookie_is(" ; " SESSION "=tok ; ", SESSION, "tok", 0), "cookie: spaces and stray separators");
	CHECK(cookie_is(SESSION "=a=b", SESSION, "a=b", 0), "cookie: value containing =");
	CHECK(cookie_is("__Host-aifacade=tok; " SESSION "=other", "__Host-aifacade", "tok", 0),
	      "cookie: the secure name is looked up on its own");

	/* A long header with the cookie at the end. */
	size_t big = 32 * 1024;
	char *h = malloc(big + 64);
	CHECK(h != NULL, "cookie: allocate a long header");
	if (h) {
		size_t n = 0;
		while (n + 8 < big)
			n += (size_t)snprintf(h + n, big + 64 - n, "c%zu=v; ", n % 997);
		snprintf(h + n, big + 64 - n, SESSION "=end");
		CHECK(cookie_is(h, SESSION, "end", 0), "cookie: found at the end of a 32 KiB header");
		free(h);
	}
}

/* ---- request_client_addr, request_client_net ---- */

static int net_is(const char *addr, const char *want)
{
	char *got = request_client_net(addr);
	int ok = got && strcmp(got, want) == 0;
	if (!ok)
		printf("#   got \"%s\", want \"%s\"\n", got ? got : "NULL", want);
	free(got);
	return ok;
}

static void test_client_addr(void)
{
	char *a = request_client_addr("203.0.113.9");
	CHECK_STR(a, "203.0.113.9", "addr: REMOTE_ADDR as given");
	free(a);
	a = request_client_addr(NULL);
	CHECK_STR(a, "unknown", "addr: no peer address gives unknown");
	free(a);
	a = request_client_addr("");
	CHECK_STR(a, "unknown", "addr: an empty peer address gives unknown");
	free(a);

	CHECK(net_is("203.0.113.9", "203.0.113.9"), "net: an IPv4 address is its own key");
	CHECK(net_is("::ffff:203.0.113.9", "203.0.113.9"), "net: an IPv4-mapped IPv6 address counts as the IPv4 one");
	CHECK(net_is("2001:db8:1:2::1", "2001:db8:1:2::/64"), "net: IPv6 counts per /64");
	CHECK(net_is("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
	      "net: another address of the same /64 has the same key");
	CHECK(net_is("2001:0DB8:0001:0002:ffff:0:0:1", "2001:db8:1:2::/64"), "net: any spelling of the /64");
	CHECK(net_is("2001:db8:1:3::1", "2001:db8:1:3::/64"), "net: the next /64 is another key");
	CHECK(net_is("fe80::1%eth0", "fe80::/64"), "net: a zone index is dropped");
	CHECK(net_is("::1", "::/64"), "net: IPv6 loopback");
	CHECK(net_is("unknown", "unknown"), "net: no address stays unknown");
	CHECK(net_is("not an address", "not an address"), "net: text that is no address is kept");
	CHECK(net_is(NULL, "unknown"), "net: NULL is unknown");
}

/* ---- request_env_repeated ---- */

static void test_env_repeated(void)
{
	char *none[] = {NULL};
	char *one[] = {"A=1", NULL};
	char *distinct[] = {"HTTP_X_FORWARDED_FOR=1.2.3.4", "HTTP_X_FORWARDED=5", "HTTP_X=6", "REMOTE_ADDR=::1", NULL};
	char *twice[] = {"HTTP_X_FORWARDED_FOR=10.0.0.1", "REMOTE_ADDR=::1", "HTTP_X_FORWARDED_FOR=1.2.3.4", NULL};
	char *empty_twice[] = {"X=", "Y=1", "X=", NULL};
	char *prefix[] = {"AB=1", "A=1", "ABC=", NULL};
	CHECK(request_env_repeated(NULL) == 0, "env: NULL");
	CHECK(request_env_repeated(none) == 0, "env: empty");
	CHECK(request_env_repeated(one) == 0, "env: one variable");
	CHECK(request_env_repeated(distinct) == 0, "env: names that share a prefix are distinct");
	CHECK(request_env_repeated(prefix) == 0, "env: A, AB, ABC are distinct");
	CHECK(request_env_repeated(twice) == 1, "env: the same name twice (X-Forwarded-For and X_Forwarded_For)");
	CHECK(request_env_repeated(empty_twice) == 1, "env: the same name twice with empty values");
}

/* ---- request_parse through the CGI environment ---- */

static const char *const cgi_vars[] = {
	"REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_USER_AGENT",
	"HTTP_ORIGIN", "HTTP_SEC_FETCH_SITE", "HTTP_X_CSRF_TOKEN", "HTTP_ACCEPT", "HTTP_HOST", "REMOTE_ADDR",
	"HTTP_X_FORWARDED_FOR", "HTTP_COOKIE", NULL,
};

static void cgi_reset(const char *method, const char *content_length)
{
	for (const char *const *v = cgi_vars; *v; v++)
		unsetenv(*v);
	setenv("REQUEST_METHOD", method, 1);
	if (content_length)
		setenv("CONTENT_LENGTH", content_length, 1);
}

/* Writes body to a pipe from a child process (so bodies larger than the pipe
 * buffer work) and returns the read end; *pid receives the writer. */
static int body_pipe(const char *body, size_t len, pid_t *pid)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	*pid = fork();
	if (*pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (*pid == 0) {
		close(fds[0]);
		size_t off = 0;
		while (off < len) {
			ssize_t n = write(fds[1], body + off, len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				_exit(1);
			off += (size_t)n;
		}
		_exit(0);
	}
	close(fds[1]);
	return fds[0];
}

/* Runs request_parse() on a body fed through a pipe; returns its status. */
static int parse_with_body(struct request *req, const char *body, size_t len, const char **err)
{
	pid_t pid;
	int fd = body_pipe(body, len, &pid);
	if (fd < 0)
		return -999;
	*err = NULL;
	struct request_input in = {environ, fd, 1, NULL}; /* as a CGI run describes itself */
	int status = request_parse(req, &in, err);
	close(fd); /* the writer may be blocked on a body we did not read */
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	return status;
}

static void test_parse(void)
{
	struct request req;
	const char *err;
	int st;

	/* A plain GET. */
	cgi_reset("GET", NULL);
	setenv("REMOTE_ADDR", "198.51.100.4", 1);
	setenv("HTTP_USER_AGENT", "test/1.0", 1);
	st = parse_with_body(&req, "", 0, &err);
	CHECK(st == 0, "parse: GET without a body");
	CHECK(req.body == NULL && req.body_len == 0, "parse: no body without Content-Length");
	CHECK_STR(req.method, "GET", "parse: method");
	CHECK_STR(req.path_info, "", "parse: PATH_INFO defaults to empty");
	CHECK_STR(req.user_agent, "test/1.0", "parse: user agent");
	CHECK_STR(req.client_addr, "198.51.100.4", "parse: client address is the peer");
	CHECK(req.origin == NULL && req.csrf_header == NULL && req.host == NULL, "parse: absent headers are NULL");
	CHECK(req.now > 1600000000000LL, "parse: now is in milliseconds");
	request_free(&req);

	/* Empty header values count as absent. */
	cgi_reset("POST", NULL);
	setenv("HTTP_ORIGIN", "", 1);
	setenv("HTTP_X_CSRF_TOKEN", "", 1);
	setenv("CONTENT_LENGTH", "", 1);
	st = parse_with_body(&req, "", 0, &err);
	CHECK(st == 0 && req.origin == NULL && req.csrf_header == NULL && req.body == NULL,
	      "parse: empty Origin, token and Content-Length are absent");
	request_free(&req);

	/* A JSON body. */
	cgi_reset("POST", "10");
	setenv("CONTENT_TYPE", "application/json", 1);
	setenv("QUERY_STRING", "a=1", 1);
	setenv("PATH_INFO", "/7", 1);
	setenv("HTTP_X_CSRF_TOKEN", "tok", 1);
	setenv("HTTP_ORIGIN", "https://app.example", 1);
	st = parse_with_body(&req, "{\"a\":\"\xC3\xA9\"}", 10, &err);
	CHECK(st == 0, "parse: POST with a 10-byte body");
	CHECK_MEM(req.body, req.body_len, "{\"a\":\"\xC3\xA9\"}", 10, "parse: body read exactly");
	CHECK(req.body && req.body[req.body_len] == '\0', "parse: body is NUL-terminated");
	CHECK_STR(query_value(&req, "a"), "1", "parse: query string parsed");
	CHECK_STR(req.path_info, "/7", "parse: PATH_INFO kept");
	CHECK_STR(req.csrf_header, "tok", "parse: CSRF header");
	CHECK_STR(req.origin, "https://app.example", "parse: Origin");
	CHECK_STR(req.content_type, "application/json", "parse: Content-Type");
	request_free(&req);

	/* More bytes than announced: only Content-Length bytes are read. */
	cgi_reset("POST", "2");
	st = parse_with_body(&req, "{}{\"x\":1}", 9, &err);
	CHECK(st == 0 && req.body_len == 2 && strcmp(req.body, "{}") == 0, "parse: reads no more than Content-Length");
	request_free(&req);

	cgi_reset("POST", "0");
	st = parse_with_body(&req, "", 0, &err);
	CHECK(st == 0 && req.body_len == 0 && req.body && req.body[0] == '\0', "parse: Content-Length 0");
	request_free(&req);

	cgi_reset("POST", "005");
	st = parse_with_body(&req, "{ } x", 5, &err);
	CHECK(st == 0 && req.body_len == 5, "parse: Content-Length with leading zeros is still decimal");
	request_free(&req);

	/* Exactly the limit, then one byte more. */
	size_t max = REQUEST_BODY_MAX;
	char *big = malloc(max + 1);
	CHECK(big != NULL, "parse: allocate a 64 KiB body");
	if (big) {
		memset(big, 'x', max + 1);
		char cl[32];
		snprintf(cl, sizeof cl, "%zu", max);
		cgi_reset("POST", cl);
		st = parse_with_body(&req, big, max, &err);
		CHECK(st == 0 && req.body_len == max, "parse: a body of exactly 64 KiB is read");
		request_free(&req);

		snprintf(cl, sizeof cl, "%zu", max + 1);
		cgi_reset("POST", cl);
		st = parse_with_body(&req, big, max + 1, &err);
		CHECK(st == 413 && err && strstr(err, "64 KiB"), "parse: 64 KiB + 1 is 413");
		request_free(&req);
		free(big);
	}

	static const char *const too_large[] = {
		"1000000000", "18446744073709551615", "18446744073709551616", "99999999999999999999",
		"999999999999999999999999999999999999999999", NULL,
	};
	for (const char *const *cl = too_large; *cl; cl++) {
		char name[96];
		snprintf(name, sizeof name, "parse: Content-Length %.50s is 413", *cl);
		cgi_reset("POST", *cl);
		st = parse_with_body(&req, "{}", 2, &err);
		CHECK(st == 413 && err != NULL, name);
		request_free(&req);
	}

	static const char *const malformed[] = {
		"-1", "-0", "+5", " 5", "5 ", "\t5", "5\n", "5x", "0x10", "1e3", "1.0", "five", "-", "+", " ",
		"--1", " -1", "-18446744073709551615", "\xD9\xA5", "2,2", NULL,
	};
	for (const char *const *cl = malformed; *cl; cl++) {
		char name[96];
		snprintf(name, sizeof name, "parse: Content-Length \"%s\" is 400", *cl);
		for (char *p = name; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7F)
				*p = '?';
		cgi_reset("POST", *cl);
		st = parse_with_body(&req, "{}", 2, &err);
		CHECK(st == 400 && err && strstr(err, "Content-Length"), name);
		request_free(&req);
	}

	/* A short body. */
	cgi_reset("POST", "10");
	st = parse_with_body(&req, "{}", 2, &err);
	CHECK(st == 400 && err && strstr(err, "ended early"), "parse: body shorter than Content-Length is 400");
	request_free(&req);

	cgi_reset("POST", "2");
	struct request_input unreadable = {environ, -1, 1, NULL};
	st = request_parse(&req, &unreadable, &err);
	CHECK(st == 400, "parse: unreadable body is 400");
	request_free(&req);

	/* Invalid UTF-8 and NUL in the body. */
#define BODY(lit, name) {(lit), sizeof(lit) - 1, (name)}
	static const struct {
		const char *body;
		size_t len;
		const char *name;
	} bad_bodies[] = {
		BODY("{\"a\":\"\xC0\xAF\"}", "parse: overlong UTF-8 body is 400"),
		BODY("{\"a\":\"\xED\xA0\x80\"}", "parse: surrogate in the body is 400"),
		BODY("{\"a\":\"\xF4\x90\x80\x80\"}", "parse: beyond U+10FFFF in the body is 400"),
		BODY("{\"a\":\"\x80\"}", "parse: lone continuation byte in the body is 400"),
		BODY("{\"a\":\"\xE2\x82\"}", "parse: truncated sequence in the body is 400"),
		BODY("{}\xC3", "parse: truncated sequence at the end of the body is 400"),
		BODY("{\"a\":\"\0\"}", "parse: raw NUL in the body is 400"),
		BODY("\xFF\xFE{}", "parse: UTF-16 byte order mark is 400"),
	};
#undef BODY
	for (size_t i = 0; i < sizeof bad_bodies / sizeof bad_bodies[0]; i++) {
		char cl[16];
		snprintf(cl, sizeof cl, "%zu", bad_bodies[i].len);
		cgi_reset("POST", cl);
		st = parse_with_body(&req, bad_bodies[i].body, bad_bodies[i].len, &err);
		CHECK(st == 400 && err && strstr(err, "UTF-8"), bad_bodies[i].name);
		request_free(&req);
	}

	/* A malformed query string is 400 even on a GET. */
	cgi_reset("GET", NULL);
	setenv("QUERY_STRING", "before=%zz", 1);
	st = parse_with_body(&req, "", 0, &err);
	CHECK(st == 400 && err && strstr(err, "query"), "parse: malformed query string is 400");
	request_free(&req);
	cgi_reset("GET", NULL);
	setenv("QUERY_STRING", "limit=1&limit=2", 1);
	st = parse_with_body(&req, "", 0, &err);
	CHECK(st == 400, "parse: repeated query parameter is 400");
	request_free(&req);

	/* The client address is REMOTE_ADDR, whatever X-Forwarded-For says. */
	cgi_reset("POST", NULL);
	setenv("REMOTE_ADDR", "2001:db8:5:6::9", 1);
	setenv("HTTP_X_FORWARDED_FOR", "6.6.6.6, 192.0.2.1", 1);
	st = parse_with_body(&req, "", 0, &err);
	CHECK(st == 0, "parse: request with an X-Forwarded-For header");
	CHECK_STR(req.client_addr, "2001:db8:5:6::9", "parse: X-Forwarded-For is never read");
	CHECK_STR(req.client_net, "2001:db8:5:6::/64", "parse: the rate-limit key is the /64");
	request_free(&req);
	unsetenv("HTTP_X_FORWARDED_FOR");

	/* A variable given twice, as lighttpd passes X-Forwarded-For and
	 * X_Forwarded_For to a CGI program, is 400 before anything else. */
	{
		char **saved = environ;
		char *doubled[] = {"REQUEST_METHOD=POST", "REMOTE_ADDR=127.0.0.1", "HTTP_X_FORWARDED_FOR=10.0.0.1",
				   "HTTP_X_FORWARDED_FOR=127.0.0.1", "CONTENT_LENGTH=2", NULL};
		environ = doubled;
		st = parse_with_body(&req, "{}", 2, &err);
		environ = saved;
		CHECK(st == 400 && err && strstr(err, "twice"), "parse: a variable given twice is 400");
		request_free(&req);
	}

	cgi_reset("GET", NULL);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_parse_id();
	test_query();
	test_cookie();
	test_client_addr();
	test_env_repeated();
	test_parse();
	return check_done();
}
