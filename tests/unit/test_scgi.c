/* test_scgi.c: unit tests for scgi.c: the SCGI server really started on a
 * listening Unix socket at fd 0, as lighttpd starts it, and driven over
 * the socket: netstrings well-formed and malformed, the body after the
 * comma, the request's variables reaching the handler as data (never the
 * process environment), warm() once, and one CGI run when fd 0 is not a
 * listening socket. A malformed request is closed without an answer and the
 * server serves on. Both modes: a process per request, and persistent
 * (AIFACADE_MODE=persistent): one process answers request after request, and
 * is replaced after AIFACADE_MAX_REQUESTS and after a request that failed. */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "check.h"
#include "reply.h"
#include "scgi.h"

static char root[] = "/tmp/aifacade-unit-scgi.XXXXXX";
static char sock_path[96];

static void warm(void)
{
	char path[300];
	snprintf(path, sizeof path, "%s/warm", root);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd >= 0) {
		if (write(fd, "w", 1) != 1)
			printf("# could not mark warm()\n");
		close(fd);
	}
}

static void echo(struct request *req, struct response *res)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "method", json_object_new_string(req->method));
	json_object_object_add(o, "body", json_object_new_string_len(req->body ? req->body : "", (int)req->body_len));
	/* Set in the server's own environment: not a request variable. */
	json_object_object_add(o, "leak", json_object_new_boolean(request_var(req->vars, "SERVER_ONLY") != NULL));
	/* A request variable: never put into the process environment. */
	json_object_object_add(o, "env", json_object_new_boolean(getenv("SCGI") != NULL));
	json_object_object_add(o, "scgi", json_object_new_string(request_var(req->vars, "SCGI") ? "yes" : "no"));
	json_object_object_add(o, "pid", json_object_new_int64((long long)getpid()));
	response_json(res, 200, o);
}

/* A failure the runner cannot vouch for: the persistent process is replaced. */
static void fail(struct request *req, struct response *res)
{
	(void)req;
	response_error(res, 500, "Something went wrong on our side; try again.");
}

static const struct route routes[] = {
	{"GET", ROUTE_NO_STORE, NULL, echo, NULL, NULL},
	{"POST", ROUTE_NO_STORE, NULL, echo, NULL, NULL},
	{"DELETE", ROUTE_NO_STORE, NULL, fail, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};
static const struct endpoint ep = {"unit-scgi", routes};

/* Appends NAME\0VALUE\0 to h. */
static void var(char *h, size_t *len, const char *name, const char *value)
{
	size_t n = strlen(name) + 1, v = strlen(value) + 1;
	memcpy(h + *len, name, n);
	memcpy(h + *len + n, value, v);
	*len += n + v;
}

/* A well-formed request: "<len>:<variables>," then body. Returns its length. */
static size_t request(char *out, const char *method, const char *body)
{
	char h[2048];
	size_t len = 0;
	char cl[32];
	snprintf(cl, sizeof cl, "%zu", body ? strlen(body) : 0);
	var(h, &len, "CONTENT_LENGTH", cl);
	var(h, &len, "SCGI", "1");
	var(h, &len, "REQUEST_METHOD", method);
	var(h, &len, "PATH_INFO", "");
	var(h, &len, "HTTP_HOST", "chat.example");
	var(h, &len, "REMOTE_ADDR", "127.0.0.1");
	if (body)
		var(h, &len, "CONTENT_TYPE", "application/json");
	size_t n = (size_t)sprintf(out, "%zu:", len);
	memcpy(out + n, h, len);
	n += len;
	out[n++] = ',';
	if (body) {
		memcpy(out + n, body, strlen(body));
		n += strlen(body);
	}
	return n;
}

/* Sends len bytes on a fresh connection, ends our side, reads the answer.
 * Returns -1 when it cannot connect or send; a connection reset (the
 * server closed with our bytes unread) reads as an empty answer. */
static int exchange(const char *data, size_t len, struct reply *r)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		if (fd >= 0)
			close(fd);
		memset(r, 0, sizeof *r);
		return -1;
	}
	int rc = write(fd, data, len) == (ssize_t)len ? 0 : -1;
	shutdown(fd, SHUT_WR);
	if (reply_read(fd, r) != 0 && errno != ECONNRESET)
		rc = -1;
	close(fd);
	return rc;
}

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

static long warm_count(void)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof path, "%s/warm", root);
	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

static void test_server(pid_t server)
{
	struct reply r;
	char buf[4096];
	size_t n = request(buf, "GET", NULL);
	CHECK(exchange(buf, n, &r) == 0 && r.status == 200 && strcmp(member_of(&r, "method"), "GET") == 0,
	      "request: a well-formed GET is answered by the endpoint");
	CHECK(strcmp(member_of(&r, "leak"), "false") == 0 && strcmp(member_of(&r, "scgi"), "yes") == 0,
	      "request: the handler reads the request's variables, not the server's environment");
	CHECK(strcmp(member_of(&r, "env"), "false") == 0,
	      "request: the request's variables never enter the process environment");
	reply_free(&r);

	n = request(buf, "POST", "{\"a\":\"b,c\"}");
	CHECK(exchange(buf, n, &r) == 0 && r.status == 200 && strcmp(member_of(&r, "body"), "{\"a\":\"b,c\"}") == 0,
	      "request: the body after the comma reaches the handler whole");
	reply_free(&r);

	/* Malformed requests: each closed without a byte of answer. */
	char good[4096];
	size_t gn = request(good, "GET", NULL);
	const char *colon = memchr(good, ':', gn);
	size_t hlen = (size_t)atol(good);
	struct {
		const char *name;
		char data[4200];
		size_t len;
	} bad[12];
	size_t nb = 0;
#define BAD(label, bytes, count)                                            \
	do {                                                                \
		bad[nb].name = (label);                                     \
		memcpy(bad[nb].data, (bytes), (count));                     \
		bad[nb].len = (count);                                      \
		nb++;                                                       \
	} while (0)
	BAD("no length", ":\0\0,", 4);
	BAD("a letter in the length", "1a:xx\0y\0,", 9);
	BAD("length zero", "0:,", 3);
	BAD("an eight-digit length (leading zeros)", "00000004:A\0B\0,", 14);
	BAD("a length past the 256 KiB limit", "300000:", 7);
	BAD("a sign in the length", "+4:A\0B\0,", 8);
	BAD("ends before the comma", good, gn - 1);
	memcpy(buf, good, gn);
	buf[(size_t)(colon - good) + 1 + hlen] = ';';
	BAD("a semicolon for the comma", buf, gn);
	BAD("variables not ending in NUL", "3:A\0B,", 6);
	BAD("a name without a value", "2:A\0,", 5);
	BAD("an empty name", "4:\0AB\0,", 7);
	BAD("a name with '='", "6:A=B\0C\0,", 9);
	for (size_t i = 0; i < nb; i++) {
		char name[120];
		snprintf(name, sizeof name, "malformed: %s: closed with no answer", bad[i].name);
		int rc = exchange(bad[i].data, bad[i].len, &r);
		CHECK(rc == 0 && r.len == 0, name);
		if (r.len)
			check_show("answer", r.raw, r.len);
		reply_free(&r);
	}
#undef BAD

	CHECK(exchange(good, gn, &r) == 0 && r.status == 200, "malformed: the server serves on after each of them");
	reply_free(&r);
	CHECK(kill(server, 0) == 0, "malformed: the server process is still running");
	CHECK(warm_count() == 1, "warm: called exactly once for all the requests");
}

/* The pid that answered a GET, or 0. */
static long answer_pid(void)
{
	struct reply r;
	char buf[4096];
	size_t n = request(buf, "GET", NULL);
	long pid = exchange(buf, n, &r) == 0 && r.status == 200 ? atol(member_of(&r, "pid")) : 0;
	reply_free(&r);
	return pid;
}

/* The persistent server runs with AIFACADE_MAX_REQUESTS=4. */
static void test_persistent(void)
{
	long first = answer_pid();
	CHECK(first > 0 && answer_pid() == first, "persistent: one process answers one request after another");
	long third = answer_pid(), fourth = answer_pid();
	CHECK(third == first && fourth == first, "persistent: the same process up to AIFACADE_MAX_REQUESTS");
	long fifth = answer_pid();
	CHECK(fifth > 0 && fifth != first, "persistent: after AIFACADE_MAX_REQUESTS a new process takes over");
	struct reply r;
	char buf[4096];
	size_t n = request(buf, "DELETE", NULL);
	CHECK(exchange(buf, n, &r) == 0 && r.status == 500, "persistent: a failing request is answered 500");
	reply_free(&r);
	long after = answer_pid();
	CHECK(after > 0 && after != fifth, "persistent: after a request that failed a new process takes over");
	CHECK(warm_count() == 1, "persistent: warm() once, in the supervisor, for every worker");
}

static void test_cgi_fallback(void)
{
	int p[2];
	CHECK(pipe(p) == 0, "cgi: a pipe");
	int saved = dup(0);
	dup2(p[0], 0);
	CHECK(scgi_listening() == 0, "listening: a pipe at fd 0 is not a listening socket");
	dup2(saved, 0);
	close(saved);
	close(p[0]);
	close(p[1]);

	int out[2];
	CHECK(pipe(out) == 0, "cgi: a pipe for the answer");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0)
			_exit(99);
		close(out[0]);
		setenv("REQUEST_METHOD", "GET", 1);
		setenv("PATH_INFO", "", 1);
		setenv("AIFACADE_ROOT", root, 1);
		setenv("SECRET_KEY", "unit-test-secret-key-0123456789abcdef", 1);
		char *argv[] = {"test_scgi", NULL};
		_exit(scgi_main(&ep, argv, warm));
	}
	close(out[1]);
	struct reply r;
	reply_read(out[0], &r);
	close(out[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && r.status == 200 &&
		      strcmp(member_of(&r, "method"), "GET") == 0,
	      "cgi: scgi_main without a listening socket is one CGI run");
	reply_free(&r);
}

int main(int argc, char **argv)
{
	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(root) == NULL) {
		printf("Bail out! cannot make a temporary directory\n");
		return 1;
	}
	char inst[128];
	snprintf(inst, sizeof inst, "%s/instance", root);
	mkdir(inst, 0700);
	snprintf(sock_path, sizeof sock_path, "%.60s/s", root);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 16) != 0) {
		printf("Bail out! cannot listen on %s\n", sock_path);
		return 1;
	}
	for (int persistent = 0; persistent < 2; persistent++) {
	char warm_path[300];
	snprintf(warm_path, sizeof warm_path, "%s/warm", root);
	unlink(warm_path);
	fflush(stdout);
	pid_t server = fork();
	if (server == 0) {
		/* As lighttpd spawns it: the listening socket at fd 0, stderr
		 * to the log (a file here). */
		char log[300];
		snprintf(log, sizeof log, "%s/log", root);
		int err = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (dup2(lfd, 0) < 0 || err < 0 || dup2(err, 2) < 0)
			_exit(99);
		close(lfd);
		setenv("SERVER_ONLY", "1", 1);
		setenv("AIFACADE_ROOT", root, 1);
		setenv("SECRET_KEY", "unit-test-secret-key-0123456789abcdef", 1);
		if (persistent) {
			setenv("AIFACADE_MODE", "persistent", 1);
			setenv("AIFACADE_MAX_REQUESTS", "4", 1);
		}
		if (!scgi_listening())
			_exit(98);
		_exit(scgi_serve(&ep, argv, warm));
	}
	if (persistent)
		test_persistent();
	else
		test_server(server);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	}
	close(lfd);
	test_cgi_fallback();
	remove_tree(root);
	return check_done();
}
