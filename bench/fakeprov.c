/* fakeprov.c: a small, fast fake OpenAI-compatible provider for the benchmark.
 *
 *   fakeprov [--port N] [--port-file F] [--pid-file F] [--chunks N] [--gap-us U]
 *
 * tests/fake_provider.py is the protocol-complete fake the tests use; it is
 * Python with a thread per request and costs more CPU per answer than the
 * CGI program it answers (see bench/README.md). This one answers at once and
 * cheaply, so that the bench measures AIFacade, not the fake:
 *
 * - POST .../chat/completions without "stream": true: a chat.completion JSON
 *   answer (a fixed Markdown text of ordinary size) with Content-Length.
 * - With "stream": true: Server-Sent Events, chunked, --chunks content deltas
 *   (default 5) --gap-us apart (default 2000), then finish_reason, [DONE].
 *   Each delta's content is "t=<ns> " where <ns> is CLOCK_MONOTONIC read just
 *   before the write() that sends it: a client on the same machine subtracts
 *   it from its own CLOCK_MONOTONIC on receipt to get the delay the whole
 *   path (libcurl, the chat program, lighttpd, Caddy) adds to each delta.
 * - Anything else: 404.
 *
 * One thread per connection; connections are kept alive. The bearer key is
 * not checked: the bench measures the success path only. SIGTERM ends it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int n_chunks = 5;
static long gap_us = 2000;

static const char answer[] =
    "Here is a short answer with a little of everything.\\n\\n"
    "## Steps\\n\\n"
    "1. Open the file.\\n"
    "2. Change the **setting** to `on`.\\n"
    "3. Save and restart.\\n\\n"
    "```c\\nint main(void)\\n{\\n\\treturn 0;\\n}\\n```\\n\\n"
    "| name | value |\\n|------|-------|\\n| a | 1 |\\n| b | 2 |\\n\\n"
    "See [the manual](https://example.org/manual) for *more*.";

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Sends one HTTP chunk holding s. */
static int chunk(int fd, const char *s)
{
	char head[32];
	size_t n = strlen(s);
	int h = snprintf(head, sizeof head, "%zx\r\n", n);
	char *buf = malloc((size_t)h + n + 2);
	if (!buf)
		return -1;
	memcpy(buf, head, (size_t)h);
	memcpy(buf + h, s, n);
	memcpy(buf + h + n, "\r\n", 2);
	int rc = write_all(fd, buf, (size_t)h + n + 2);
	free(buf);
	return rc;
}

static int wants_stream(const char *body)
{
	const char *p = strstr(body, "\"stream\"");
	if (!p)
		return 0;
	p += 8;
	while (*p == ' ' || *p == ':')
		p++;
	return strncmp(p, "true", 4) == 0;
}

static int answer_json(int fd)
{
	char body[2048];
	int n = snprintf(body, sizeof body,
			 "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"model\":\"fake-model\","
			 "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"%s\"},"
			 "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":60,"
			 "\"total_tokens\":70}}",
			 answer);
	char head[256];
	int h = snprintf(head, sizeof head,
			 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
			 "Connection: keep-alive\r\n\r\n",
			 n);
	char out[2400];
	memcpy(out, head, (size_t)h);
	memcpy(out + h, body, (size_t)n);
	return write_all(fd, out, (size_t)(h + n));
}

static int answer_stream(int fd)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
				   "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
	if (write_all(fd, head, sizeof head - 1) < 0)
		return -1;
	char ev[512];
	snprintf(ev, sizeof ev, "data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
				"\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
	if (chunk(fd, ev) < 0)
		return -1;
	for (int i = 0; i < n_chunks; i++) {
		if (gap_us > 0)
			usleep((useconds_t)gap_us);
		snprintf(ev, sizeof ev,
			 "data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
			 "\"delta\":{\"content\":\"t=%lld \"},\"finish_reason\":null}]}\n\n",
			 now_ns());
		if (chunk(fd, ev) < 0)
			return -1;
	}
	if (chunk(fd, "data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
		      "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n") < 0)
		return -1;
	return write_all(fd, "0\r\n\r\n", 5);
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		char *end;
		/* Read until the end of the headers. */
		while ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL) {
			if (len == cap && (buf = realloc(buf, (cap *= 2) + 1)) == NULL)
				goto out;
			ssize_t k = read(fd, buf + len, cap - len);
			if (k <= 0)
				goto out;
			len += (size_t)k;
		}
		size_t head_len = (size_t)(end - buf) + 4;
		buf[head_len - 2] = '\0';
		size_t body_len = 0;
		for (char *line = strstr(buf, "\r\n"); line && line < buf + head_len; line = strstr(line + 2, "\r\n"))
			if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
				body_len = strtoul(line + 17, NULL, 10);
		int is_post = strncmp(buf, "POST ", 5) == 0;
		char *sp = strchr(buf + 5, ' ');
		int is_chat = is_post && sp && sp - buf > 22 && memcmp(sp - 17, "/chat/completions", 17) == 0;
		while (len < head_len + body_len) {
			if (head_len + body_len > cap) {
				cap = head_len + body_len;
				if ((buf = realloc(buf, cap + 1)) == NULL)
					goto out;
			}
			ssize_t k = read(fd, buf + len, cap - len);
			if (k <= 0)
				goto out;
			len += (size_t)k;
		}
		char saved = buf[head_len + body_len];
		buf[head_len + body_len] = '\0';
		int rc;
		if (!is_chat)
			rc = write_all(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 45);
		else if (wants_stream(buf + head_len))
			rc = answer_stream(fd);
		else
			rc = answer_json(fd);
		buf[head_len + body_len] = saved;
		if (rc < 0)
			break;
		memmove(buf, buf + head_len + body_len, len - head_len - body_len);
		len -= head_len + body_len;
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

static void write_file(const char *path, long v)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%ld\n", v) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	int port = 0;
	const char *port_file = NULL, *pid_file = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--port-file") == 0)
			port_file = argv[i + 1];
		else if (strcmp(argv[i], "--pid-file") == 0)
			pid_file = argv[i + 1];
		else if (strcmp(argv[i], "--chunks") == 0)
			n_chunks = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--gap-us") == 0)
			gap_us = atol(argv[i + 1]);
		else {
			fprintf(stderr, "fakeprov: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof a;
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 512) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) < 0) {
		perror("fakeprov: listen");
		return 1;
	}
	if (port_file)
		write_file(port_file, ntohs(a.sin_port));
	if (pid_file)
		write_file(pid_file, (long)getpid());
	printf("PORT=%d\n", ntohs(a.sin_port));
	fflush(stdout);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			perror("fakeprov: accept");
			return 1;
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		pthread_t t;
		if (pthread_create(&t, &attr, serve, (void *)(long)c) != 0)
			close(c);
	}
}
