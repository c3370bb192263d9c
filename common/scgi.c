/* scgi.c: a warm parent that forks one child per SCGI request (see scgi.h). */
#define _GNU_SOURCE
#include "scgi.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#if defined(__SANITIZE_ADDRESS__)
#define SCGI_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCGI_LSAN 1
#endif
#endif
#ifdef SCGI_LSAN
#include <sanitizer/lsan_interface.h>
#define SCGI_LEAK_CHECK() __lsan_do_leak_check()
#else
#define SCGI_LEAK_CHECK() ((void)0)
#endif

/* lighttpd sends a few kilobytes of variables; more is not lighttpd. */
#define SCGI_HEADERS_MAX (256 * 1024)
/* How long a child waits for lighttpd to send the request's variables. */
#define SCGI_READ_TIMEOUT_MS 10000

int scgi_listening(void)
{
	int listening = 0;
	socklen_t len = sizeof listening;
	return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
}

/* Reads exactly n bytes within the timeout; returns 0 or -1. */
static int read_exact(int fd, char *p, size_t n)
{
	while (n > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int ready = poll(&pfd, 1, SCGI_READ_TIMEOUT_MS);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return -1;
		ssize_t k = read(fd, p, n);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads the netstring "<len>:<len bytes>," and makes its NUL-separated
 * names and values the environment, every pair kept, so that a name sent
 * twice reaches request_parse(), which refuses it (putenv would keep only
 * the last). Reads nothing past the comma: what follows is the body, which
 * the request parser reads from stdin. */
static int read_request_env(int fd)
{
	size_t len = 0;
	int digits = 0;
	for (;;) {
		char c;
		if (read_exact(fd, &c, 1) < 0)
			return -1;
		if (c == ':' && digits > 0)
			break;
		if (c < '0' || c > '9' || ++digits > 7)
			return -1;
		len = len * 10 + (size_t)(c - '0');
	}
	if (len == 0 || len > SCGI_HEADERS_MAX)
		return -1;
	/* Both live until the process ends: environ points into them. */
	char *block = malloc(len + 1);
	if (!block || read_exact(fd, block, len + 1) < 0 || block[len] != ',' || block[len - 1] != '\0')
		return -1;
	size_t count = 0;
	for (size_t i = 0; i < len; i++)
		count += block[i] == '\0';
	char **vars = calloc(count / 2 + 1, sizeof *vars);
	if (!vars)
		return -1;
	size_t n = 0;
	for (char *p = block, *end = block + len; p < end;) {
		char *name = p, *value = name + strlen(name) + 1;
		if (value >= end)
			return -1;
		p = value + strlen(value) + 1;
		if (*name == '\0' || strchr(name, '='))
			return -1;
		value[-1] = '=';
		vars[n++] = name;
	}
	vars[n] = NULL;
	environ = vars;
	return 0;
}

/* The connection closed by lighttpd before we are done means the client
 * went away: end the request as mod_cgi would, with SIGTERM (chat catches
 * it to stop the provider and store what arrived). Only a full close shows
 * as POLLHUP on a Unix socket, never a half-close. */
static void *watch_hangup(void *arg)
{
	(void)arg;
	struct pollfd pfd = {.fd = 0, .events = 0};
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	if (pfd.revents & (POLLHUP | POLLERR))
		kill(getpid(), SIGTERM);
	return NULL;
}

static void on_child(int sig)
{
	(void)sig;
}

static void serve_child(const struct endpoint *ep, int conn, pid_t parent)
{
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	/* The server stopping or dying ends its requests as lighttpd stopping
	 * ends CGI runs: with SIGTERM, which chat turns into an orderly stop. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		kill(getpid(), SIGTERM);
	int flags = fcntl(conn, F_GETFL);
	if (flags >= 0)
		fcntl(conn, F_SETFL, flags & ~O_NONBLOCK);
	if (read_request_env(conn) < 0) {
		log_error("a malformed or incomplete SCGI request; answered nothing");
		_exit(1);
	}
	if (dup2(conn, 0) < 0 || dup2(conn, 1) < 0)
		_exit(1);
	if (conn > 1)
		close(conn);
	pthread_attr_t attr;
	pthread_t watcher;
	if (pthread_attr_init(&attr) == 0) {
		pthread_attr_setstacksize(&attr, 64 * 1024);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&watcher, &attr, watch_hangup, NULL) != 0)
			log_warn("cannot watch for the client going away; the request runs to its end");
		pthread_attr_destroy(&attr);
	}
	int rc = app_run(ep);
	fflush(NULL);
	/* _exit skips LeakSanitizer's check at exit: run it here in sanitizer
	 * builds, so that the sanitized test runs see this request's leaks. */
	SCGI_LEAK_CHECK();
	/* _exit: the parent's atexit handlers (OpenSSL's clean-up) are the parent's. */
	_exit(rc);
}

/* The program file: argv[0] as lighttpd started it (bin-path, through any
 * symlinked release directory), else what /proc/self/exe names. */
static char *program_path(char **argv)
{
	if (argv && argv[0] && strchr(argv[0], '/'))
		return strdup(argv[0]);
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int scgi_serve(const struct endpoint *ep, char **argv, void (*warm)(void))
{
	log_set_program(ep->name);
	char *path = program_path(argv);
	struct stat started;
	int can_reload = path && stat(path, &started) == 0;
	/* SIGCHLD interrupts the wait below so that ended children are reaped
	 * at once, and their CPU time is counted to this process as lighttpd's
	 * CGI children are to lighttpd (ps, top and the bench see it). */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_child;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (warm)
		warm();
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		struct pollfd pfd = {.fd = 0, .events = POLLIN};
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("waiting for requests failed: %s", strerror(errno));
			return 1;
		}
		if (pfd.revents & (POLLERR | POLLNVAL)) {
			log_error("the SCGI socket from lighttpd is gone");
			return 1;
		}
		struct stat now;
		if (can_reload && stat(path, &now) == 0 && !same_file(&started, &now)) {
			/* A new binary: it takes over the socket (fd 0) and the
			 * connection waiting on it. In-flight children finish. */
			log_info("%s was replaced; restarting it", path);
			fflush(NULL);
			execv(path, argv);
			log_error("cannot restart %s (%s); serving on with the old program", path, strerror(errno));
			started = now;
		}
		int conn = accept4(0, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
				continue;
			log_error("accepting a request failed: %s", strerror(errno));
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				struct timespec pause = {0, 100 * 1000 * 1000};
				nanosleep(&pause, NULL);
				continue;
			}
			return 1;
		}
		pid_t self = getpid(), pid = fork();
		if (pid == 0) {
			free(path);
			serve_child(ep, conn, self);
		}
		if (pid < 0) {
			static const char busy[] = "Status: 503 Service Unavailable\r\nContent-Type: application/json; "
						   "charset=utf-8\r\nRetry-After: 5\r\n\r\n"
						   "{\"error\":\"The server is busy; try again in a moment.\"}";
			log_error("cannot start a process for a request: %s", strerror(errno));
			if (write(conn, busy, sizeof busy - 1) < 0) {
				/* the client gets lighttpd's 502 instead */
			}
		}
		close(conn);
	}
}

int scgi_main(const struct endpoint *ep, char **argv, void (*warm)(void))
{
	if (scgi_listening())
		return scgi_serve(ep, argv, warm);
	return app_run(ep);
}
