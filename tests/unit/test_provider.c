/* test_provider.c: end-to-end tests of the provider client and the demo against tests/fake_provider.py.
 *
 * Usage: test_provider [path/to/fake_provider.py]   (default: $FAKE_PROVIDER,
 * else tests/fake_provider.py). Starts the fake on a free 127.0.0.1 port,
 * runs every failure mapping, stops the fake by its pid. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "../../common/demo.h"
#include "../../common/provider.h"

#define TEST_KEY "sk-test-0123456789abcdef-SECRET"

static int test_count, test_failed;
static int fake_port;
static char fake_url[128];
static int slow_factor = 1; /* larger under valgrind ($TEST_SLOW) */

#define CHECK(cond, ...) check_result((cond) ? 1 : 0, __LINE__, __VA_ARGS__)

static void check_result(int ok, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void check_result(int ok, int line, const char *fmt, ...)
{
	va_list ap;

	test_count++;
	printf("%s %d - ", ok ? "ok" : "not ok", test_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok) {
		test_failed++;
		printf(" (line %d)", line);
	}
	printf("\n");
	fflush(stdout);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the fake provider process ---------------------------------------- */

static pid_t start_fake(const char *script)
{
	int fds[2];
	pid_t pid;
	char line[64];
	size_t got = 0;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", script, "--port", "0", "--api-key", TEST_KEY, "--exit-with-parent",
		    (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (got < sizeof line - 1) {
		struct pollfd pfd = {fds[0], POLLIN, 0};
		ssize_t n;

		if (poll(&pfd, 1, 10000) <= 0)
			break;
		n = read(fds[0], line + got, 1);
		if (n <= 0)
			break;
		if (line[got] == '\n')
			break;
		got++;
	}
	line[got] = '\0';
	close(fds[0]);
	if (sscanf(line, "PORT=%d", &fake_port) != 1 || fake_port <= 0) {
		kill(pid, SIGTERM);
		(void)waitpid(pid, NULL, 0);
		return -1;
	}
	snprintf(fake_url, sizeof fake_url, "http://127.0.0.1:%d/v1/chat/completions", fake_port);
	return pid;
}

static void stop_fake(pid_t pid)
{
	int status = 0;

	if (pid <= 0)
		return;
	if (kill(pid, SIGTERM) != 0)
		return;
	if (waitpid(pid, &status, 0) != pid)
		return;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fake provider exits cleanly on SIGTERM");
}

static size_t collect_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	char **buf = userdata;
	size_t old = *buf != NULL ? strlen(*buf) : 0, n = size * nmemb;
	char *grown = realloc(*buf, old + n + 1);

	if (grown == NULL)
		return 0;
	memcpy(grown + old, ptr, n);
	grown[old + n] = '\0';
	*buf = grown;
	return n;
}

/* GET /_fake/requests; the caller puts the result. */
static struct json_object *fake_requests(void)
{
	char url[128], *body = NULL;
	CURL *e = curl_easy_init();
	struct json_object *list = NULL;

	if (e == NULL)
		return NULL;
	snprintf(url, sizeof url, "http://127.0.0.1:%d/_fake/requests", fake_port);
	if (curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect_body) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body) == CURLE_OK &&
	    curl_easy_perform(e) == CURLE_OK && body != NULL)
		list = json_tokener_parse(body);
	curl_easy_cleanup(e);
	free(body);
	return list;
}

/* The recorded request whose last message contains tag: field value as
 * 0/1, or -1 when there is no such request. */
static int fake_flag(const char *tag, const char *field)
{
	struct json_object *list = fake_requests();
	int result = -1;
	size_t i, n;

	if (list == NULL)
		return -1;
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		struct json_object *entry = json_object_array_get_idx(list, i), *body, *msgs, *last, *content, *flag;

		if (!json_object_object_get_ex(entry, "body", &body) ||
		    !json_object_object_get_ex(body, "messages", &msgs) ||
		    json_object_array_length(msgs) == 0)
			continue;
		last = json_object_array_get_idx(msgs, json_object_array_length(msgs) - 1);
		if (!json_object_object_get_ex(last, "content", &content) ||
		    strstr(json_object_get_string(content), tag) == NULL)
			continue;
		if (json_object_object_get_ex(entry, field, &flag))
			result = json_object_get_boolean(flag) ? 1 : 0;
	}
	json_object_put(list);
	return result;
}

/* Polls until the request tagged tag shows field == 1, up to ms. */
static int fake_wait_flag(const char *tag, const char *field, int ms)
{
	int64_t until = now_ms() + ms;

	for (;;) {
		int v = fake_flag(tag, field);

		if (v == 1 || now_ms() >= until)
			return v;
		{
			struct timespec pause = {0, 50 * 1000 * 1000L};

			(void)nanosleep(&pause, NULL);
		}
	}
}

/* ---- running requests ----------------------------------------------------- */

struct run {
	/* inputs */
	int abort_after_deltas;   /* should_abort says yes once this many deltas came (0: never) */
	int abort_after_ms;       /* ... or once this long has passed (0: never) */
	int stop_in_delta;        /* on_delta returns 1 at this delta (0: never) */
	/* outputs */
	char content[65536];
	size_t content_len;
	char reasoning[4096];
	size_t reasoning_len;
	int deltas, bad_deltas;
	int64_t start, abort_said_at, max_poll_gap, last_poll;
	int polls;
	struct provider_result res;
	int rc;
	int64_t elapsed;
};

static int valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != 0) {
		int n = *p < 0x80 ? 1 : (*p >= 0xC2 && *p <= 0xDF) ? 2 : (*p >= 0xE0 && *p <= 0xEF) ? 3
		    : (*p >= 0xF0 && *p <= 0xF4) ? 4 : 0;
		int i;

		if (n == 0)
			return 0;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return 0;
		if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] > 0x9F) ||
		    (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] > 0x8F))
			return 0;
		p += n;
	}
	return 1;
}

static int on_delta(void *ctx, const char *content, const char *reasoning)
{
	struct run *r = ctx;
	const char *text = content != NULL ? content : reasoning;
	size_t n;

	r->deltas++;
	if ((content == NULL) == (reasoning == NULL) || text[0] == '\0' || !valid_utf8(text)) {
		r->bad_deltas++;
		return 0;
	}
	n = strlen(text);
	if (content != NULL && r->content_len + n < sizeof r->content) {
		memcpy(r->content + r->content_len, text, n + 1);
		r->content_len += n;
	} else if (reasoning != NULL && r->reasoning_len + n < sizeof r->reasoning) {
		memcpy(r->reasoning + r->reasoning_len, text, n + 1);
		r->reasoning_len += n;
	}
	return r->stop_in_delta != 0 && r->deltas == r->stop_in_delta ? 1 : 0;
}

static int should_abort(void *ctx)
{
	struct run *r = ctx;
	int64_t t = now_ms();

	if (r->last_poll != 0 && t - r->last_poll > r->max_poll_gap)
		r->max_poll_gap = t - r->last_poll;
	r->last_poll = t;
	r->polls++;
	if ((r->abort_after_deltas != 0 && r->deltas >= r->abort_after_deltas) ||
	    (r->abort_after_ms != 0 && t - r->start >= r->abort_after_ms)) {
		if (r->abort_said_at == 0)
			r->abort_said_at = t;
		return 1;
	}
	return 0;
}

static int detail_leaks_key;

static void run_req(struct run *r, const char *url, const char *key, const char *prompt, int stream,
    long idle, long total)
{
	struct provider_message msgs[2] = {
		{"system", "You are a test."},
		{"user", prompt},
	};
	struct provider_request req;

	memset(&req, 0, sizeof req);
	req.url = url;
	req.api_key = key;
	req.model = "fake-model";
	req.messages = msgs;
	req.n_messages = 2;
	req.idle_timeout_s = idle;
	req.total_timeout_s = total;
	req.stream = stream;
	req.on_delta = on_delta;
	req.should_abort = should_abort;
	req.ctx = r;
	r->start = now_ms();
	r->rc = provider_complete(&req, &r->res);
	r->elapsed = now_ms() - r->start;
	if (r->res.detail != NULL && (strstr(r->res.detail, TEST_KEY) != NULL ||
	    strstr(r->res.detail, "0123456789abcdef") != NULL))
		detail_leaks_key++;
	if (getenv("TEST_VERBOSE") != NULL)
		fprintf(stderr, "# [%s] %s %ldms http=%ld detail=%s\n", prompt,
		    provider_status_name(r->res.status), (long)r->elapsed, r->res.http_status,
		    r->res.detail != NULL ? r->res.detail : "(none)");
}

static struct run *new_run(void)
{
	struct run *r = calloc(1, sizeof *r);

	if (r == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return r;
}

static void free_run(struct run *r)
{
	provider_result_free(&r->res);
	free(r);
}

/* Runs prompt against the fake and checks the status. */
static struct run *expect(const char *prompt, int stream, enum provider_status want, const char *what)
{
	struct run *r = new_run();

	run_req(r, fake_url, TEST_KEY, prompt, stream, 5, 20);
	CHECK(r->res.status == want && (r->rc == 0) == (want == PROVIDER_OK) &&
	    r->res.content != NULL && r->res.reasoning != NULL && r->bad_deltas == 0,
	    "%s (%s): %s, got %s", what, stream ? "stream" : "plain", provider_status_name(want),
	    provider_status_name(r->res.status));
	return r;
}

/* ---- the tests ----------------------------------------------------------- */

static void test_demo(void)
{
	struct run *r = new_run();
	char *full;
	const char *prompt = "Show me <b>what</b> you can do\nplease";

	run_req(r, NULL, NULL, prompt, 0, 0, 0);
	CHECK(r->res.status == PROVIDER_OK && r->rc == 0, "demo (plain): ok without key");
	CHECK(strstr(r->res.content, "offline demo") != NULL && strstr(r->res.content, "DEEPSEEK_API_KEY") != NULL &&
	    strstr(r->res.content, "AI_API_KEY") != NULL, "demo says it is the offline demo and how to set a key");
	CHECK(strstr(r->res.content, "## ") != NULL && strstr(r->res.content, "**") != NULL &&
	    strstr(r->res.content, "\n- ") != NULL && strstr(r->res.content, "```c\n") != NULL &&
	    strstr(r->res.content, "|---|") != NULL, "demo shows heading, bold, list, code block, table");
	CHECK(strstr(r->res.content, "> Show me <b>what</b> you can do\n> please") != NULL,
	    "demo quotes the prompt line by line");
	CHECK(r->res.reasoning[0] != '\0' && r->deltas == 2 && r->elapsed < 200, "demo (plain): reasoning, one piece each, at once");
	CHECK(valid_utf8(r->res.content), "demo answer is valid UTF-8");
	free_run(r);

	r = new_run();
	run_req(r, "http://ignored.invalid/", "", prompt, 1, 0, 0);
	full = demo_answer(prompt);
	CHECK(r->res.status == PROVIDER_OK && full != NULL && strcmp(r->res.content, full) == 0 &&
	    strcmp(r->content, full) == 0 && strcmp(r->reasoning, demo_reasoning()) == 0,
	    "demo (stream): deltas add up to the deterministic answer");
	CHECK(r->deltas >= 30 && r->elapsed >= 800 && r->elapsed < 2500 * slow_factor,
	    "demo (stream): %d pieces with pauses, %ld ms (< 2 s)", r->deltas, (long)r->elapsed);
	/* Each pause (20 to 40 ms) sleeps in 10 ms steps with a poll before
	 * each: at least 3 polls a piece. Counted, not timed: a loaded
	 * machine stretches the steps, not their number. */
	CHECK(r->polls >= 3 * r->deltas, "demo polls should_abort every 10 ms of its pauses (%d polls, %d pieces)",
	    r->polls, r->deltas);
	free(full);
	free_run(r);

	r = new_run();
	r->abort_after_deltas = 6;
	run_req(r, NULL, NULL, prompt, 1, 0, 0);
	full = demo_answer(prompt);
	CHECK(r->res.status == PROVIDER_ABORTED && r->rc != 0 && full != NULL &&
	    strncmp(full, r->res.content, strlen(r->res.content)) == 0 && strlen(r->res.content) < strlen(full) &&
	    r->elapsed < 1000, "demo stops when asked, keeping what was sent");
	free(full);
	free_run(r);

	{
		char longp[1200];

		memset(longp, 'x', sizeof longp - 1);
		longp[sizeof longp - 1] = '\0';
		full = demo_answer(longp);
		CHECK(full != NULL && strstr(full, "\xE2\x80\xA6") != NULL && strlen(full) < 2000,
		    "demo cuts a long prompt");
		free(full);
		full = demo_answer("caf\xC3\xA9 \x01\x1b ok");
		CHECK(full != NULL && valid_utf8(full) && strstr(full, "caf\xC3\xA9    ok") != NULL,
		    "demo shows control characters as spaces");
		free(full);
		full = demo_answer(NULL);
		CHECK(full != NULL && strstr(full, "You wrote") == NULL, "demo without a prompt");
		free(full);
	}
}

static void test_success(void)
{
	struct run *r;
	const char *uni = "h\xC3\xA9llo \xF0\x9F\x98\x80 \"q\" \\ </script> \xE4\xB8\xAD\xE6\x96\x87 tab\there";
	char tagged[512];
	int s;

	r = expect("hello there", 0, PROVIDER_OK, "plain answer");
	CHECK(strcmp(r->res.content, "Echo: hello there") == 0 && r->res.http_status == 200 &&
	    r->res.detail == NULL && r->deltas == 1, "plain answer: content, HTTP 200, no detail, one delta");
	free_run(r);

	r = expect("hello there my friend", 1, PROVIDER_OK, "streamed answer");
	CHECK(strcmp(r->res.content, "Echo: hello there my friend") == 0 && strcmp(r->content, r->res.content) == 0 &&
	    r->deltas >= 4, "streamed answer arrives in %d deltas that add up", r->deltas);
	free_run(r);

	/* The fake logs "completed" after its last write, which the client may
	 * read first: wait for it rather than race it. */
	CHECK(fake_flag("hello there my friend", "auth_ok") == 1 &&
	    fake_wait_flag("hello there my friend", "completed", 2000) == 1, "the fake saw our bearer key");
	{
		struct json_object *list = fake_requests();
		int ok = 0;

		if (list != NULL && json_object_array_length(list) >= 2) {
			struct json_object *entry = json_object_array_get_idx(list, json_object_array_length(list) - 1);
			struct json_object *body, *v, *msgs;

			ok = json_object_object_get_ex(entry, "body", &body) &&
			    json_object_object_get_ex(body, "model", &v) && strcmp(json_object_get_string(v), "fake-model") == 0 &&
			    json_object_object_get_ex(body, "stream", &v) && json_object_get_boolean(v) &&
			    json_object_object_get_ex(body, "messages", &msgs) && json_object_array_length(msgs) == 2;
		}
		CHECK(ok, "request JSON carries model, stream and messages");
		json_object_put(list);
	}

	for (s = 0; s <= 1; s++) {
		snprintf(tagged, sizeof tagged, "%s", uni);
		r = expect(tagged, s, PROVIDER_OK, "unicode round trip");
		CHECK(strncmp(r->res.content, "Echo: ", 6) == 0 && strcmp(r->res.content + 6, uni) == 0,
		    "unicode, quotes, backslash and tab survive (%s)", s ? "stream" : "plain");
		free_run(r);

		r = expect("think [[fake:reasoning]]", s, PROVIDER_OK, "reasoning model");
		CHECK(strcmp(r->res.reasoning, "Let me think about this request.") == 0 &&
		    strcmp(r->res.content, "Echo: think") == 0, "reasoning kept apart from content (%s)", s ? "stream" : "plain");
		free_run(r);
	}

	r = expect("alive [[fake:keepalive]] [[fake:crlf]] [[fake:slow=30]]", 1, PROVIDER_OK, "keep-alives and CRLF");
	CHECK(strcmp(r->res.content, "Echo: alive") == 0, "keep-alives and CRLF: content intact");
	free_run(r);

	r = expect("[[fake:splitutf8]]", 1, PROVIDER_OK, "split UTF-8");
	CHECK(strcmp(r->res.content, "A\xF0\x9F\x98\x80" "B\xEF\xBF\xBD" "C") == 0,
	    "a character split between deltas is joined, a stray byte becomes U+FFFD");
	free_run(r);

	r = expect("count [[fake:chunks=20]]", 1, PROVIDER_OK, "20 chunks");
	CHECK(r->deltas == 11 && strcmp(r->res.content, "Echo: count") == 0, "chunks: one delta per chunk (%d)", r->deltas);
	free_run(r);

	{
		struct provider_message msgs[4] = {
			{"system", "sys"}, {"user", "first"}, {"assistant", "answer"}, {"user", "[[fake:echo_context]]"}};
		struct provider_request req;
		struct provider_result res;

		memset(&req, 0, sizeof req);
		req.url = fake_url;
		req.api_key = TEST_KEY;
		req.model = "fake-model";
		req.messages = msgs;
		req.n_messages = 4;
		CHECK(provider_complete(&req, &res) == 0 &&
		    strcmp(res.content, "Context: 4 messages: system, user, assistant, user") == 0,
		    "context messages arrive in order, without callbacks set");
		provider_result_free(&res);
	}
}

static void test_http_errors(void)
{
	static const struct {
		int code;
		enum provider_status want;
		const char *words;
	} table[] = {
		{400, PROVIDER_ERR_BAD_REQUEST, "Invalid request format"},
		{401, PROVIDER_ERR_AUTH, "Authentication Fails"},
		{402, PROVIDER_ERR_BALANCE, "Insufficient Balance"},
		{403, PROVIDER_ERR_AUTH, "forbidden"},
		{404, PROVIDER_ERR_HTTP, "does not exist"},
		{422, PROVIDER_ERR_BAD_REQUEST, "Invalid parameters"},
		{429, PROVIDER_ERR_RATE, "Rate limit"},
		{500, PROVIDER_ERR_SERVER, "server had an error"},
		{502, PROVIDER_ERR_SERVER, "Bad gateway"},
		{503, PROVIDER_ERR_SERVER, "overloaded"},
		{418, PROVIDER_ERR_HTTP, "Fake error 418"},
	};
	size_t i;
	int s;
	char prompt[64], words[96];

	for (i = 0; i < sizeof table / sizeof table[0]; i++) {
		for (s = 0; s <= 1; s++) {
			struct run *r;

			snprintf(prompt, sizeof prompt, "x [[fake:status=%d]]", table[i].code);
			snprintf(words, sizeof words, "HTTP %d", table[i].code);
			r = expect(prompt, s, table[i].want, prompt);
			CHECK(r->res.http_status == table[i].code && r->res.detail != NULL &&
			    strstr(r->res.detail, words) != NULL && strstr(r->res.detail, table[i].words) != NULL &&
			    r->deltas == 0 && r->res.content[0] == '\0',
			    "HTTP %d: detail names status and provider message (%s)", table[i].code,
			    r->res.detail != NULL ? r->res.detail : "no detail");
			free_run(r);
		}
	}

	{
		struct run *r = new_run();

		run_req(r, fake_url, "sk-wrong-0123456789abcdef-SECRET", "x", 1, 5, 20);
		CHECK(r->res.status == PROVIDER_ERR_AUTH && r->res.detail != NULL &&
		    strstr(r->res.detail, "SECRET") == NULL && strstr(r->res.detail, "[redacted]") != NULL,
		    "wrong key: AUTH, and the key the provider echoed is redacted (%s)", r->res.detail);
		free_run(r);
	}
	CHECK(detail_leaks_key == 0, "no detail so far contains the API key");
}

static void test_broken_answers(void)
{
	struct run *r;

	r = expect("x [[fake:garbage]]", 0, PROVIDER_ERR_MALFORMED, "garbage body");
	CHECK(r->res.detail != NULL && strstr(r->res.detail, "not a JSON") != NULL, "garbage body: detail says so");
	free_run(r);

	r = expect("x [[fake:garbage]]", 1, PROVIDER_ERR_MALFORMED, "garbage in the stream");
	CHECK(strcmp(r->res.content, "Echo: ") == 0, "garbage in the stream: the text before it is kept");
	free_run(r);

	r = expect("one two three four [[fake:cut]]", 1, PROVIDER_ERR_CUT, "stream cut off");
	CHECK(strcmp(r->res.content, "Echo: one ") == 0 && r->res.http_status == 200,
	    "cut: partial text kept (%s)", r->res.content);
	free_run(r);

	r = expect("one two [[fake:nodone]]", 1, PROVIDER_ERR_CUT, "stream ends without [DONE]");
	CHECK(strcmp(r->res.content, "Echo: one two") == 0, "no [DONE]: text kept");
	free_run(r);

	r = expect("x [[fake:stream_error]]", 1, PROVIDER_ERR_SERVER, "error object inside the stream");
	CHECK(r->res.detail != NULL && strstr(r->res.detail, "overloaded mid-stream") != NULL &&
	    strcmp(r->res.content, "Echo: ") == 0, "stream error: detail carries the provider's message");
	free_run(r);

	{
		struct provider_message msgs[1] = {{"user", "word [[fake:long=60]]"}};
		struct provider_request req;
		struct provider_result res;

		memset(&req, 0, sizeof req);
		req.url = fake_url;
		req.api_key = TEST_KEY;
		req.model = "m";
		req.messages = msgs;
		req.n_messages = 1;
		req.stream = 1;
		req.max_answer_bytes = 64;
		CHECK(provider_complete(&req, &res) != 0 && res.status == PROVIDER_ERR_MALFORMED &&
		    strlen(res.content) <= 64 && res.detail != NULL && strstr(res.detail, "larger than 64") != NULL,
		    "answer over the size bound: MALFORMED, text kept within the bound");
		provider_result_free(&res);
		req.stream = 0;
		CHECK(provider_complete(&req, &res) != 0 && res.status == PROVIDER_ERR_MALFORMED,
		    "plain answer over the size bound: MALFORMED");
		provider_result_free(&res);
	}
}

static void test_network_errors(void)
{
	struct run *r;
	char url[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/chat/completions", port);
	r = new_run();
	run_req(r, url, TEST_KEY, "x", 1, 5, 20);
	CHECK(port != 0 && r->res.status == PROVIDER_ERR_CONNECT && r->res.http_status == 0 &&
	    r->res.detail != NULL && strstr(r->res.detail, "onnect") != NULL,
	    "closed port: CONNECT (%s)", r->res.detail);
	free_run(r);

	r = new_run();
	run_req(r, "http://no-such-host.invalid/v1/chat/completions", TEST_KEY, "x", 1, 3, 20);
	CHECK(r->res.status == PROVIDER_ERR_DNS, "unknown host: DNS, got %s in %ld ms",
	    provider_status_name(r->res.status), (long)r->elapsed);
	free_run(r);

	snprintf(url, sizeof url, "https://127.0.0.1:%d/v1/chat/completions", fake_port);
	r = new_run();
	run_req(r, url, TEST_KEY, "x", 1, 3, 20);
	CHECK(r->res.status == PROVIDER_ERR_TLS, "https to a plain HTTP server: TLS, got %s (%s)",
	    provider_status_name(r->res.status), r->res.detail);
	free_run(r);

	r = new_run();
	run_req(r, "ftp://127.0.0.1/x", TEST_KEY, "x", 1, 3, 20);
	CHECK(r->res.status == PROVIDER_ERR_CONNECT, "ftp URL refused: CONNECT");
	free_run(r);

	r = new_run();
	run_req(r, "", TEST_KEY, "x", 1, 3, 20);
	CHECK(r->res.status == PROVIDER_ERR_CONNECT && r->res.detail != NULL, "empty URL: CONNECT");
	free_run(r);

	r = new_run();
	run_req(r, fake_url, "sk-bad\nInjected: header", "x", 1, 3, 20);
	CHECK(r->res.status == PROVIDER_ERR_AUTH && r->res.detail != NULL && strstr(r->res.detail, "Injected") == NULL,
	    "a key with a newline is refused before sending");
	free_run(r);

	{
		struct provider_request req;
		struct provider_result res;
		struct provider_message bad[1] = {{"user", NULL}};

		memset(&req, 0, sizeof req);
		req.url = fake_url;
		req.api_key = TEST_KEY;
		req.messages = bad;
		req.n_messages = 1;
		CHECK(provider_complete(&req, &res) != 0 && res.status == PROVIDER_ERR_BAD_REQUEST, "no model: BAD_REQUEST");
		provider_result_free(&res);
		req.model = "m";
		CHECK(provider_complete(&req, &res) != 0 && res.status == PROVIDER_ERR_BAD_REQUEST, "NULL content: BAD_REQUEST");
		provider_result_free(&res);
		req.n_messages = 0;
		CHECK(provider_complete(&req, &res) != 0 && res.status == PROVIDER_ERR_BAD_REQUEST, "no messages: BAD_REQUEST");
		provider_result_free(&res);
	}
}

/* A provider behind a full accept queue: the kernel drops the call's
 * handshake and the client sends it again after its first retransmission
 * timeout (1 s). The provider frees the queue at 0.5 s, so the call connects
 * near 1 s, and answers 1.5 s after accepting it. Under a 2 s AI_IDLE_TIMEOUT
 * that answer is in time: the provider was silent 1.5 s, not 2.5. */
static void test_idle_after_slow_connect(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof a;
	char url[128];
	int lfd, filler;
	pid_t child;
	struct run *r;

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	filler = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || filler < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 0) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) != 0 || connect(filler, (struct sockaddr *)&a, sizeof a) != 0) {
		CHECK(0, "slow-connect provider set up (%s)", strerror(errno));
		goto out;
	}
	child = fork();
	if (child == 0) {
		static const char answer[] = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
		    "\"content\":\"late but fine\"},\"finish_reason\":\"stop\"}]}";
		char buf[8192], head[256];
		int fd;

		usleep(500000);
		fd = accept(lfd, NULL, NULL); /* the filler: the queue has room again */
		if (fd >= 0)
			close(fd);
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(1);
		if (read(fd, buf, sizeof buf) <= 0) /* the request: its bytes are not checked here */
			_exit(1);
		usleep(1500000);
		snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n", sizeof answer - 1);
		if (write(fd, head, strlen(head)) < 0 || write(fd, answer, sizeof answer - 1) < 0)
			_exit(1);
		usleep(200000);
		_exit(0);
	}
	CHECK(child > 0, "slow-connect provider started");
	if (child <= 0)
		goto out;
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/chat/completions", ntohs(a.sin_port));
	r = new_run();
	run_req(r, url, TEST_KEY, "slow to connect", 0, 2, 20);
	CHECK(r->res.status == PROVIDER_OK && strcmp(r->res.content, "late but fine") == 0 && r->elapsed >= 2300,
	    "a connect that took 1 s does not count as the provider's silence: answered after %ld ms (%s)",
	    (long)r->elapsed, provider_status_name(r->res.status));
	free_run(r);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
out:
	if (filler >= 0)
		close(filler);
	if (lfd >= 0)
		close(lfd);
}

/* With connections kept, a call on a connection a call before left open
 * has no connect of its own: the idle clock still runs. */
static void test_idle_on_kept_connection(void)
{
	struct run *r = new_run();

	run_req(r, fake_url, TEST_KEY, "opens a connection", 0, 1, 20);
	CHECK(r->res.status == PROVIDER_OK, "kept connection: a first call answers (%s)",
	    provider_status_name(r->res.status));
	free_run(r);
	r = new_run();
	run_req(r, fake_url, TEST_KEY, "y [[fake:hang=4]]", 0, 1, 20);
	CHECK(r->res.status == PROVIDER_ERR_IDLE_TIMEOUT && r->elapsed < 1800 * slow_factor,
	    "kept connection: a silent provider is IDLE_TIMEOUT after 1 s (%s, %ld ms)",
	    provider_status_name(r->res.status), (long)r->elapsed);
	free_run(r);
}

static void test_timeouts(void)
{
	struct run *r;

	r = new_run();
	run_req(r, fake_url, TEST_KEY, "x [[fake:hang=4]]", 0, 1, 20);
	CHECK(r->res.status == PROVIDER_ERR_IDLE_TIMEOUT && r->elapsed >= 900 && r->elapsed < 1800 * slow_factor,
	    "silent provider: IDLE_TIMEOUT after 1 s (%ld ms)", (long)r->elapsed);
	/* Every 100 ms; the bounds leave room for a loaded machine (make test
	 * runs three lanes) and still fail a wait that polls once a second. */
	CHECK(r->max_poll_gap <= 400 * slow_factor && r->polls >= 4,
	    "should_abort polled every 100 ms while waiting (max gap %ld ms, %d polls)", (long)r->max_poll_gap, r->polls);
	free_run(r);
	CHECK(fake_wait_flag("[[fake:hang=4]]", "disconnected", 2000) == 1, "idle timeout closes the upstream connection");

	r = new_run();
	run_req(r, fake_url, TEST_KEY, "one two three [[fake:hangafter=4]]", 1, 1, 20);
	CHECK(r->res.status == PROVIDER_ERR_IDLE_TIMEOUT && strcmp(r->res.content, "Echo: ") == 0 &&
	    r->elapsed < 1800 * slow_factor, "provider silent mid-stream: IDLE_TIMEOUT, partial text kept (%ld ms)",
	    (long)r->elapsed);
	free_run(r);

	r = new_run();
	run_req(r, fake_url, TEST_KEY, "k [[fake:keepalive]] [[fake:slow=1300]] [[fake:chunks=1]]", 1, 1, 20);
	CHECK(r->res.status == PROVIDER_OK && strcmp(r->res.content, "Echo: k") == 0,
	    "keep-alives reset the idle timer: 1.3 s gaps under a 1 s limit pass (%s, %ld ms)",
	    provider_status_name(r->res.status), (long)r->elapsed);
	free_run(r);

	r = new_run();
	run_req(r, fake_url, TEST_KEY, "p [[fake:keepalive]] [[fake:slow=1300]]", 0, 1, 20);
	CHECK(r->res.status == PROVIDER_OK && strcmp(r->res.content, "Echo: p") == 0,
	    "blank lines before a plain JSON answer reset the idle timer (%s, %ld ms)",
	    provider_status_name(r->res.status), (long)r->elapsed);
	free_run(r);

	r = new_run();
	run_req(r, fake_url, TEST_KEY, "w [[fake:long=40]] [[fake:slow=150]]", 1, 5, 1);
	CHECK(r->res.status == PROVIDER_ERR_TIMEOUT && r->elapsed >= 900 && r->elapsed < 1800 * slow_factor &&
	    r->res.content[0] != '\0' && strncmp(r->res.content, "word0 ", 6) == 0,
	    "total limit: TIMEOUT after 1 s with the text so far (%ld ms)", (long)r->elapsed);
	free_run(r);
}

static void test_abort(void)
{
	struct run *r;

	r = new_run();
	r->abort_after_deltas = 3;
	run_req(r, fake_url, TEST_KEY, "abort-a [[fake:long=100]] [[fake:slow=100]]", 1, 5, 20);
	CHECK(r->res.status == PROVIDER_ABORTED && r->rc != 0 && r->deltas == 3 &&
	    strcmp(r->res.content, "word0 word1 word2 ") == 0, "should_abort: ABORTED with the text so far");
	CHECK(r->abort_said_at != 0 && r->start + r->elapsed - r->abort_said_at < 100 * slow_factor,
	    "should_abort: returns at once (%ld ms after the request)", (long)(r->start + r->elapsed - r->abort_said_at));
	free_run(r);
	CHECK(fake_wait_flag("abort-a", "disconnected", 2000) == 1 && fake_flag("abort-a", "completed") == 0,
	    "should_abort: the fake saw the upstream request stopped (disconnected:true)");

	r = new_run();
	r->stop_in_delta = 2;
	run_req(r, fake_url, TEST_KEY, "abort-b [[fake:long=100]] [[fake:slow=100]]", 1, 5, 20);
	CHECK(r->res.status == PROVIDER_ABORTED && r->deltas == 2 && r->elapsed < 1000 * slow_factor,
	    "on_delta returning non-zero: ABORTED");
	free_run(r);
	CHECK(fake_wait_flag("abort-b", "disconnected", 2000) == 1, "on_delta stop: upstream disconnected");

	r = new_run();
	r->abort_after_ms = 300;
	run_req(r, fake_url, TEST_KEY, "abort-c [[fake:hang=5]]", 1, 10, 20);
	CHECK(r->res.status == PROVIDER_ABORTED && r->elapsed < 600 * slow_factor && r->res.content[0] == '\0',
	    "should_abort while the provider is silent: ABORTED in %ld ms", (long)r->elapsed);
	free_run(r);
	CHECK(fake_wait_flag("abort-c", "disconnected", 2000) == 1, "abort while silent: upstream disconnected");
}

static void test_messages(void)
{
	enum provider_status s;
	int all = 1;
	const char *names[PROVIDER_ERR_NOMEM + 1];

	for (s = PROVIDER_OK; s <= PROVIDER_ERR_NOMEM; s++) {
		const char *m = provider_user_message(s);
		enum provider_status t;

		names[s] = provider_status_name(s);
		if (m == NULL || m[0] == '\0' || m[strlen(m) - 1] != '.')
			all = 0;
		for (t = PROVIDER_OK; t < s; t++)
			if (strcmp(names[t], names[s]) == 0 || strcmp(provider_user_message(t), m) == 0)
				all = 0;
	}
	CHECK(all, "every status has its own user message and name");
	CHECK(strcmp(provider_user_message(PROVIDER_ERR_AUTH), "The AI service rejected the API key.") == 0 &&
	    strcmp(provider_user_message(PROVIDER_ERR_BALANCE), "The AI account has insufficient balance.") == 0 &&
	    strcmp(provider_user_message(PROVIDER_ERR_RATE), "The AI service is busy; try again shortly.") == 0,
	    "the user messages SPEC names");
}

int main(int argc, char **argv)
{
	const char *script = argc > 1 ? argv[1] : getenv("FAKE_PROVIDER");
	pid_t fake;

	if (script == NULL)
		script = "tests/fake_provider.py";
	if (getenv("TEST_SLOW") != NULL)
		slow_factor = 4;
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return 2;
	/* TEST_PER_CALL_INIT: leave libcurl's set-up to each provider_complete(). */
	if (getenv("TEST_PER_CALL_INIT") == NULL && provider_global_init() != 0) {
		fprintf(stderr, "libcurl does not start\n");
		return 2;
	}
	fake = start_fake(script);
	CHECK(fake > 0, "fake provider started on port %d", fake_port);
	if (fake <= 0) {
		if (getenv("TEST_PER_CALL_INIT") == NULL)
			provider_global_cleanup();
		printf("%d passed, %d failed\n", test_count - test_failed, test_failed);
		return 1;
	}
	test_messages();
	test_demo();
	test_success();
	test_http_errors();
	test_broken_answers();
	test_network_errors();
	test_timeouts();
	test_idle_after_slow_connect();
	test_abort();
	if (getenv("TEST_PER_CALL_INIT") == NULL) {
		/* Persistent mode keeps connections between calls (provider.h):
		 * the same answers, errors and stops, each call on a connection a
		 * call before may have left open (or not, after a failure). */
		provider_keep_connections();
		test_success();
		test_http_errors();
		test_broken_answers();
		test_abort();
		test_idle_on_kept_connection();
		test_success();
	}
	CHECK(detail_leaks_key == 0, "no detail ever contained the API key");
	stop_fake(fake);
	if (getenv("TEST_PER_CALL_INIT") == NULL)
		provider_global_cleanup();
	printf("%d passed, %d failed\n", test_count - test_failed, test_failed);
	return test_failed == 0 ? 0 : 1;
}
