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

#include "config.h"
#include "log.h"
#include "store.h"

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

/* One request's variables as read from its netstring. */
struct scgi_vars {
	char *block;   /* the netstring's bytes; vars point into it */
	char **vars;   /* "NAME=value", NULL-terminated */
};

static void vars_free(struct scgi_vars *v)
{
	free(v->block);
	free(v->vars);
	v->block = NULL;
	v->vars = NULL;
}

/* Reads the netstring "<len>:<len bytes>," into NAME=value strings, every
 * pair kept, so that a name sent twice reaches request_parse(), which
 * refuses it. Reads nothing past the comma: what follows is the body, which
 * the request parser reads from the connection. The process environment is
 * left alone: the request is data (request.h). */
static int read_request_vars(int fd, struct scgi_vars *out)
{
	out->block = NULL;
	out->vars = NULL;
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
	char *block = malloc(len + 1);
	out->block = block;
	if (!block || read_exact(fd, block, len + 1) < 0 || block[len] != ',' || block[len - 1] != '\0')
		return -1;
	size_t count = 0;
	for (size_t i = 0; i < len; i++)
		count += block[i] == '\0';
	char **vars = calloc(count / 2 + 1, sizeof *vars);
	out->vars = vars;
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
	return 0;
}

/* The watch over one connection: the connection closed by lighttpd before
 * we are done means the client went away, and sets the request's
 * cancellation flag (chat stops the provider and stores what arrived).
 * Only a full close shows as POLLHUP on a Unix socket, never a half-close.
 * wake ends the watch when the request is done (persistent mode). */
struct watch {
	int conn;
	int wake;             /* read end of a pipe, or -1 */
	volatile sig_atomic_t *cancelled;
};

static void *watch_hangup(void *arg)
{
	struct watch *w = arg;
	struct pollfd pfd[2] = {{.fd = w->conn, .events = 0}, {.fd = w->wake, .events = POLLIN}};
	for (;;) {
		int n = poll(pfd, w->wake >= 0 ? 2 : 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && (pfd[0].revents & (POLLHUP | POLLERR)))
			*w->cancelled = 1;
		return NULL;
	}
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
	struct scgi_vars v;
	if (read_request_vars(conn, &v) < 0) {
		log_error("a malformed or incomplete SCGI request; answered nothing");
		_exit(1);
	}
	static volatile sig_atomic_t cancelled;
	static struct watch w;
	w.conn = conn;
	w.wake = -1;
	w.cancelled = &cancelled;
	pthread_attr_t attr;
	pthread_t watcher;
	if (pthread_attr_init(&attr) == 0) {
		pthread_attr_setstacksize(&attr, 64 * 1024);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&watcher, &attr, watch_hangup, &w) != 0)
			log_warn("cannot watch for the client going away; the request runs to its end");
		pthread_attr_destroy(&attr);
	}
	struct request_input in = {v.vars, conn, conn, &cancelled};
	int outcome = app_serve(ep, &in);
	app_release();
	vars_free(&v);
	fflush(NULL);
	/* _exit skips LeakSanitizer's check at exit: run it here in sanitizer
	 * builds, so that the sanitized test runs see this request's leaks. */
	SCGI_LEAK_CHECK();
	/* _exit: the parent's atexit handlers (OpenSSL's clean-up) are the parent's. */
	_exit(outcome & APP_CLIENT_GONE ? 1 : 0);
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

static int serve_forking(const struct endpoint *ep, char **argv, char *path, int can_reload, struct stat started)
{
	/* SIGCHLD interrupts the wait below so that ended children are reaped
	 * at once, and their CPU time is counted to this process as lighttpd's
	 * CGI children are to lighttpd (ps, top and the bench see it). */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_child;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
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
		/* Loaded once here, inherited by every child, read again only
		 * when its files changed (config.h); so is libpq when DATABASE
		 * names PostgreSQL (store.h). A persistent worker loads it
		 * itself, once in its many requests. */
		const struct config *cfg = app_config();
		store_prepare(cfg ? cfg->database : NULL);
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

/* ---- persistent mode ---- */

/* Set by SIGTERM in a persistent worker: finish the request, then end. */
static volatile sig_atomic_t worker_stop;
/* The request the worker is answering: SIGTERM cancels it too. */
static volatile sig_atomic_t worker_cancelled;

static void on_worker_stop(int sig)
{
	(void)sig;
	worker_stop = 1;
	worker_cancelled = 1;
}

/* Answers one connection in this process. Returns enum app_outcome bits. */
static int serve_here(const struct endpoint *ep, int conn)
{
	int flags = fcntl(conn, F_GETFL);
	if (flags >= 0)
		fcntl(conn, F_SETFL, flags & ~O_NONBLOCK);
	struct scgi_vars v;
	if (read_request_vars(conn, &v) < 0) {
		log_error("a malformed or incomplete SCGI request; answered nothing");
		vars_free(&v);
		return APP_CLIENT_GONE;
	}
	worker_cancelled = worker_stop;
	int wake[2] = {-1, -1};
	struct watch w = {conn, -1, &worker_cancelled};
	pthread_t watcher;
	int watching = pipe2(wake, O_CLOEXEC) == 0;
	if (watching) {
		w.wake = wake[0];
		watching = pthread_create(&watcher, NULL, watch_hangup, &w) == 0;
		if (!watching)
			log_warn("cannot watch for the client going away; the request runs to its end");
	}
	struct request_input in = {v.vars, conn, conn, &worker_cancelled};
	int outcome = app_serve(ep, &in);
	if (watching) {
		/* check-output: the watch's wake-up pipe inside this process, not the client */
		if (write(wake[1], "x", 1) != 1)
			log_warn("cannot end the watch over a request");
		pthread_join(watcher, NULL);
	}
	if (wake[0] >= 0) {
		close(wake[0]);
		close(wake[1]);
	}
	vars_free(&v);
	return outcome;
}

/* A persistent worker: answers requests one at a time until it should be
 * replaced (scgi.h); returns the status to end with. */
static int worker_main(const struct endpoint *ep, const char *path, const struct stat *started, long max_requests,
		       pid_t parent)
{
	signal(SIGCHLD, SIG_DFL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_worker_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The supervisor ending (lighttpd stops) ends the worker after its request. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		worker_stop = 1;
	app_keep_store(1);
	app_signals_are_transports();
	const struct config *cfg = app_config();
	long served = 0;
	while (!worker_stop && served < max_requests) {
		struct pollfd pfd = {.fd = 0, .events = POLLIN};
		int ready = poll(&pfd, 1, 1000);
		if (ready < 0 && errno != EINTR) {
			log_error("waiting for requests failed: %s", strerror(errno));
			break;
		}
		if (ready <= 0)
			continue;
		if (pfd.revents & (POLLERR | POLLNVAL))
			break;
		/* A new binary or changed settings: end before taking the
		 * connection, which the next worker takes from the socket. */
		struct stat now;
		if (path && stat(path, &now) == 0 && !same_file(started, &now))
			break;
		if (cfg && config_changed(cfg))
			break;
		int conn = accept4(0, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
				continue;
			log_error("accepting a request failed: %s", strerror(errno));
			break;
		}
		int outcome = serve_here(ep, conn);
		close(conn);
		served++;
		if (outcome & APP_REPLACE) {
			log_info("a request failed in a way that may have left state behind; a new process takes over");
			break;
		}
		cfg = app_config();
	}
	app_release();
	fflush(NULL);
	SCGI_LEAK_CHECK();
	return 0;
}

static volatile sig_atomic_t supervisor_stop;

static void on_supervisor_stop(int sig)
{
	(void)sig;
	supervisor_stop = 1;
}

/* The persistent mode's supervisor: keeps one worker, replaces it when it
 * ends, and re-executes itself when its binary changed. It never enters the
 * sandbox, so that it can. */
static int serve_persistent(const struct endpoint *ep, char **argv, char *path, int can_reload, struct stat started)
{
	long max_requests = 1000;
	const char *m = getenv("AIFACADE_MAX_REQUESTS");
	if (m && *m) {
		char *end;
		errno = 0;
		long v = strtol(m, &end, 10);
		if (errno || *end || v < 1)
			log_warn("AIFACADE_MAX_REQUESTS must be a whole number from 1; using %ld", max_requests);
		else
			max_requests = v;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_supervisor_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct timespec last_start = {0, 0};
	while (!supervisor_stop) {
		struct timespec now_ts;
		clock_gettime(CLOCK_MONOTONIC, &now_ts);
		long long since = (now_ts.tv_sec - last_start.tv_sec) * 1000LL + (now_ts.tv_nsec - last_start.tv_nsec) / 1000000;
		if (last_start.tv_sec && since < 200) {
			/* A worker that ends at once (a crash at start): do not spin. */
			struct timespec pause = {0, 200 * 1000 * 1000};
			nanosleep(&pause, NULL);
		}
		clock_gettime(CLOCK_MONOTONIC, &last_start);
		pid_t self = getpid(), pid = fork();
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			int rc = worker_main(ep, can_reload ? path : NULL, &started, max_requests, self);
			free(path);
			_exit(rc);
		}
		if (pid < 0) {
			log_error("cannot start a worker: %s; trying again", strerror(errno));
			struct timespec pause = {1, 0};
			nanosleep(&pause, NULL);
			continue;
		}
		int status = 0;
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR)
				break;
			if (supervisor_stop)
				kill(pid, SIGTERM);
		}
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
			log_error("a worker died of signal %d; a new one takes over", WTERMSIG(status));
		struct stat now;
		if (!supervisor_stop && can_reload && stat(path, &now) == 0 && !same_file(&started, &now)) {
			log_info("%s was replaced; restarting it", path);
			fflush(NULL);
			execv(path, argv);
			log_error("cannot restart %s (%s); serving on with the old program", path, strerror(errno));
			started = now;
		}
	}
	free(path);
	return 0;
}

int scgi_serve(const struct endpoint *ep, char **argv, void (*warm)(void))
{
	log_set_program(ep->name);
	char *path = program_path(argv);
	struct stat started;
	memset(&started, 0, sizeof started);
	int can_reload = path && stat(path, &started) == 0;
	if (warm)
		warm();
	const char *mode = getenv("AIFACADE_MODE");
	if (mode && strcmp(mode, "persistent") == 0)
		return serve_persistent(ep, argv, path, can_reload, started);
	if (mode && *mode && strcmp(mode, "process") != 0)
		log_warn("AIFACADE_MODE must be process or persistent (got something else); using process");
	return serve_forking(ep, argv, path, can_reload, started);
}

int scgi_main(const struct endpoint *ep, char **argv, void (*warm)(void))
{
	if (scgi_listening())
		return scgi_serve(ep, argv, warm);
	return app_run(ep);
}
