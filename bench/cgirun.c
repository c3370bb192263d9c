/* cgirun.c: runs one endpoint N times without lighttpd, the way lighttpd
 * does, and reports wall time per run, CPU time and peak RSS.
 *
 *   cgirun [-n RUNS] [-e ENVFILE] [-i BODYFILE] [-o OUTFILE] PROGRAM
 *   cgirun -s SOCKET -p SERVER_PID [-m WATCHED] [-n RUNS] [-e ENVFILE] [-i BODYFILE] [-o OUTFILE]
 *
 * ENVFILE holds NAME=VALUE lines: the request's whole environment. BODYFILE
 * is the request body. The last run's output goes to OUTFILE when given.
 *
 * CGI mode (PROGRAM): fork, exec with that environment, the body on stdin,
 * stdout to a pipe that is drained, wait4. CONTENT_LENGTH is the caller's to
 * set. Prints one line:
 *   runs=N min_us=.. p50_us=.. p99_us=.. cpu_p50_us=.. cpu_mean_us=.. max_rss_kib=.. status=..
 * where the times are wall clock from fork to reaping, cpu_* are the median
 * and mean of the child's user + system CPU time (wait4; less disturbed by
 * other load than wall time), and max_rss_kib is the largest ru_maxrss of
 * any run.
 *
 * SCGI mode (-s): one request at a time to an endpoint's running SCGI
 * server (common/scgi.h; SERVER_PID is the server lighttpd spawned, SOCKET
 * its socket): the environment as the SCGI variables (CONTENT_LENGTH first,
 * from the body's size), then the body, then the answer read to its end, as
 * mod_scgi does. The server forks a child per request and reaps it, so no
 * wait4 here sees the child; instead:
 *   cpu_mean_us  the server's user + system CPU with its reaped children
 *                (/proc/SERVER_PID/stat) over the RUNS, divided by RUNS:
 *                the parent's accept, fork and reaping plus the child's
 *                whole life, per request (a mean: the counters tick at
 *                1/CLK_TCK s, so single requests cannot be timed);
 *   max_rss_kib  the largest VmHWM seen in a child, sampled from /proc as
 *                fast as it can be read during WATCHED (20) further runs,
 *                whose CPU is not counted (the sampling disturbs it). The
 *                sampler runs SCHED_FIFO when it may (rt=1): on a loaded
 *                machine a sampler that is preempted sees a child only in
 *                its first microseconds, or not at all;
 *   children     how many children those samples saw.
 * Prints: runs=N min_us=.. p50_us=.. p99_us=.. cpu_mean_us=.. max_rss_kib=.. children=.. rt=.. status=0
 * (the HTTP status is the first line of OUTFILE, as in CGI mode). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	size_t got;
	while (b && (got = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n < 2) {
			char *bigger = realloc(b, cap *= 2);
			if (!bigger)
				exit(2);
			b = bigger;
		}
	}
	fclose(f);
	if (!b)
		exit(2);
	b[n] = '\0';
	*len = n;
	return b;
}

static char **read_env(const char *path)
{
	size_t len, n = 0;
	char *text = slurp(path, &len);
	char **env = calloc(len + 2, sizeof *env);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (strchr(line, '='))
			env[n++] = line;
	env[n] = NULL;
	return env;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* ---- SCGI mode ------------------------------------------------------------ */

/* Reads /proc/<pid>/<file> into buf as a string; 0 if it cannot. */
static int read_proc(pid_t pid, const char *file, char *buf, size_t len)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return 1;
}

/* utime + stime + cutime + cstime of pid, in clock ticks; -1 if unreadable. */
static long long server_ticks(pid_t pid)
{
	char buf[4096];
	if (!read_proc(pid, "stat", buf, sizeof buf))
		return -1;
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime cutime cstime */
	long long f[15];
	p++;
	for (int i = 0; i < 15; i++) {
		while (*p == ' ')
			p++;
		f[i] = i == 0 ? 0 : strtoll(p, NULL, 10);
		while (*p && *p != ' ')
			p++;
	}
	return f[11] + f[12] + f[13] + f[14];
}

/* The pids of pid's children, up to max; returns how many. */
static int children_of(pid_t pid, pid_t *out, int max)
{
	char file[48], buf[4096];
	snprintf(file, sizeof file, "task/%d/children", (int)pid);
	if (!read_proc(pid, file, buf, sizeof buf))
		return 0;
	int k = 0;
	for (char *p = buf, *end; k < max; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		out[k++] = (pid_t)v;
	}
	return k;
}

/* VmHWM of pid in KiB; 0 once it has exited (a zombie has no memory). */
static long vm_hwm_kib(pid_t pid)
{
	char buf[2048];
	if (!read_proc(pid, "status", buf, sizeof buf))
		return 0;
	char *p = strstr(buf, "VmHWM:");
	return p ? strtol(p + 6, NULL, 10) : 0;
}

/* Waits (up to 5 s) until the server has reaped every child, so that their
 * CPU time is in its counters. */
static void wait_reaped(pid_t server)
{
	pid_t kids[64];
	for (int i = 0; i < 5000 && children_of(server, kids, 64) > 0; i++)
		usleep(1000);
}

struct seen {
	pid_t pid[4096];
	int n;
};

static void see(struct seen *s, pid_t pid)
{
	for (int i = 0; i < s->n; i++)
		if (s->pid[i] == pid)
			return;
	if (s->n < (int)(sizeof s->pid / sizeof s->pid[0]))
		s->pid[s->n++] = pid;
}

/* One SCGI request: returns the answer's length (its tail in out), or -1.
 * With watch, samples the server's children's VmHWM until the answer ends. */
static long scgi_request(const char *sock, const char *req, size_t req_len, pid_t server, int watch, long *hwm,
			 struct seen *seen, char *out, size_t out_size)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (fd < 0 || strlen(sock) >= sizeof sa.sun_path) {
		perror("socket");
		exit(2);
	}
	strcpy(sa.sun_path, sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		perror(sock);
		exit(2);
	}
	for (size_t off = 0; off < req_len;) {
		ssize_t k = write(fd, req + off, req_len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			perror("write request");
			exit(2);
		}
		off += (size_t)k;
	}
	size_t got = 0;
	double t0 = now_us();
	for (;;) {
		if (watch && now_us() - t0 > 30e6) {
			fprintf(stderr, "cgirun: no end of the answer after 30 s\n");
			exit(2);
		}
		if (watch) {
			pid_t kids[64];
			int nk = children_of(server, kids, 64);
			for (int i = 0; i < nk; i++) {
				long h = vm_hwm_kib(kids[i]);
				see(seen, kids[i]);
				if (h > *hwm)
					*hwm = h;
			}
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			if (poll(&pfd, 1, 0) == 0)
				continue;
		}
		ssize_t k = read(fd, out + got, out_size - 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			perror("read answer");
			exit(2);
		}
		if (k == 0)
			break;
		if ((got += (size_t)k) == out_size - 1)
			got = 0; /* keep draining; only the tail is kept */
	}
	close(fd);
	return (long)got;
}

static void put(char **b, size_t *len, size_t *cap, const char *s, size_t n)
{
	while (*len + n + 1 > *cap) {
		char *bigger = realloc(*b, *cap * 2);
		if (!bigger)
			exit(2);
		*b = bigger;
		*cap *= 2;
	}
	memcpy(*b + *len, s, n);
	*len += n;
}

/* The SCGI request: netstring of NUL-separated names and values, CONTENT_LENGTH
 * first and SCGI=1 as the protocol asks, then the body. */
static char *scgi_build(char **env, const char *body, size_t body_len, size_t *out_len)
{
	size_t cap = 4096, len = 0, hcap = 4096, hlen = 0;
	char *h = malloc(hcap), *b = malloc(cap), num[32];
	if (!h || !b)
		exit(2);
	int nl = snprintf(num, sizeof num, "%zu", body_len);
	put(&h, &hlen, &hcap, "CONTENT_LENGTH", 15);
	put(&h, &hlen, &hcap, num, (size_t)nl + 1);
	put(&h, &hlen, &hcap, "SCGI\0" "1", 7);
	for (char **e = env; *e; e++) {
		char *eq = strchr(*e, '=');
		if (!eq || (eq - *e == 14 && !strncmp(*e, "CONTENT_LENGTH", 14)) || (eq - *e == 4 && !strncmp(*e, "SCGI", 4)))
			continue;
		put(&h, &hlen, &hcap, *e, (size_t)(eq - *e));
		put(&h, &hlen, &hcap, "", 1);
		put(&h, &hlen, &hcap, eq + 1, strlen(eq + 1) + 1);
	}
	nl = snprintf(num, sizeof num, "%zu:", hlen);
	put(&b, &len, &cap, num, (size_t)nl);
	put(&b, &len, &cap, h, hlen);
	put(&b, &len, &cap, ",", 1);
	if (body_len)
		put(&b, &len, &cap, body, body_len);
	free(h);
	*out_len = len;
	return b;
}

static int scgi_main(const char *sock, pid_t server, int runs, int watched, char **env, const char *body,
		     size_t body_len, const char *outfile)
{
	size_t req_len;
	char *req = scgi_build(env, body, body_len, &req_len);
	static char out[1 << 20];
	static struct seen seen;
	double *t = calloc((size_t)runs, sizeof *t);
	long hwm = 0, got = 0;
	if (!t)
		return 2;
	wait_reaped(server);
	long long before = server_ticks(server);
	for (int r = 0; r < runs; r++) {
		double t0 = now_us();
		got = scgi_request(sock, req, req_len, server, 0, &hwm, &seen, out, sizeof out);
		t[r] = now_us() - t0;
	}
	wait_reaped(server);
	long long after = server_ticks(server);
	struct sched_param rt_param = {.sched_priority = 1}, normal = {.sched_priority = 0};
	int rt = watched > 0 && sched_setscheduler(0, SCHED_FIFO, &rt_param) == 0;
	for (int r = 0; r < watched; r++) {
		got = scgi_request(sock, req, req_len, server, 1, &hwm, &seen, out, sizeof out);
		wait_reaped(server);
	}
	if (rt)
		sched_setscheduler(0, SCHED_OTHER, &normal);
	if (before < 0 || after < 0) {
		fprintf(stderr, "cgirun: cannot read /proc/%d/stat\n", (int)server);
		return 2;
	}
	if (outfile) {
		FILE *f = fopen(outfile, "wb");
		if (f) {
			fwrite(out, 1, (size_t)got, f);
			fclose(f);
		}
	}
	qsort(t, (size_t)runs, sizeof *t, cmp);
	double cpu_mean = (double)(after - before) * 1e6 / (double)sysconf(_SC_CLK_TCK) / runs;
	printf("runs=%d min_us=%.0f p50_us=%.0f p99_us=%.0f cpu_mean_us=%.0f max_rss_kib=%ld children=%d rt=%d "
	       "status=0\n",
	       runs, t[0], t[runs / 2], t[(int)(runs * 0.99) < runs ? (int)(runs * 0.99) : runs - 1], cpu_mean, hwm,
	       seen.n, rt);
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 100, watched = 20, opt;
	pid_t server = 0;
	const char *envfile = NULL, *bodyfile = NULL, *outfile = NULL, *sock = NULL;
	while ((opt = getopt(argc, argv, "n:e:i:o:s:p:m:")) != -1) {
		if (opt == 'n')
			runs = atoi(optarg);
		else if (opt == 's')
			sock = optarg;
		else if (opt == 'p')
			server = (pid_t)atoi(optarg);
		else if (opt == 'm')
			watched = atoi(optarg);
		else if (opt == 'e')
			envfile = optarg;
		else if (opt == 'i')
			bodyfile = optarg;
		else if (opt == 'o')
			outfile = optarg;
		else
			return 2;
	}
	if (runs < 1 || (sock ? optind != argc || server <= 0 || watched < 0 : optind != argc - 1)) {
		fprintf(stderr, "usage: cgirun [-n RUNS] [-e ENVFILE] [-i BODYFILE] [-o OUTFILE] PROGRAM\n"
				"       cgirun -s SOCKET -p SERVER_PID [-m WATCHED] [-n RUNS] [-e ENVFILE] [-i BODYFILE] "
				"[-o OUTFILE]\n");
		return 2;
	}
	char *const empty[] = {NULL};
	char **env = envfile ? read_env(envfile) : (char **)empty;
	size_t body_len = 0;
	char *body = bodyfile ? slurp(bodyfile, &body_len) : NULL;
	if (sock)
		return scgi_main(sock, server, runs, watched, env, body, body_len, outfile);
	const char *prog = argv[optind];
	double *t = calloc((size_t)runs, sizeof *t);
	double *cpu = calloc((size_t)runs, sizeof *cpu);
	long max_rss = 0;
	double cpu_sum = 0;
	int last_status = 0;
	static char out[1 << 20];
	for (int r = 0; r < runs; r++) {
		int in[2], pout[2];
		if (pipe(in) < 0 || pipe(pout) < 0)
			return 2;
		double t0 = now_us();
		pid_t pid = fork();
		if (pid == 0) {
			dup2(in[0], 0);
			dup2(pout[1], 1);
			close(in[0]), close(in[1]), close(pout[0]), close(pout[1]);
			char *args[] = {(char *)prog, NULL};
			execve(prog, args, env);
			_exit(127);
		}
		close(in[0]);
		close(pout[1]);
		if (body_len && write(in[1], body, body_len) != (ssize_t)body_len)
			perror("write body");
		close(in[1]);
		size_t got = 0;
		ssize_t k;
		while ((k = read(pout[0], out + got, sizeof out - 1 - got)) > 0 || (k < 0 && errno == EINTR))
			if (k > 0 && (got += (size_t)k) == sizeof out - 1)
				got = 0; /* keep draining; only the tail is kept */
		close(pout[0]);
		int status;
		struct rusage ru;
		wait4(pid, &status, 0, &ru);
		t[r] = now_us() - t0;
		cpu[r] = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
		cpu_sum += cpu[r];
		if (ru.ru_maxrss > max_rss)
			max_rss = ru.ru_maxrss;
		last_status = status;
		if (r == runs - 1 && outfile) {
			FILE *f = fopen(outfile, "wb");
			if (f) {
				fwrite(out, 1, got, f);
				fclose(f);
			}
		}
	}
	qsort(t, (size_t)runs, sizeof *t, cmp);
	qsort(cpu, (size_t)runs, sizeof *cpu, cmp);
	printf("runs=%d min_us=%.0f p50_us=%.0f p99_us=%.0f cpu_p50_us=%.0f cpu_mean_us=%.0f max_rss_kib=%ld status=%d\n",
	       runs, t[0], t[runs / 2], t[(int)(runs * 0.99) < runs ? (int)(runs * 0.99) : runs - 1], cpu[runs / 2],
	       cpu_sum / runs, max_rss, WIFEXITED(last_status) ? WEXITSTATUS(last_status) : 128 + WTERMSIG(last_status));
	return 0;
}
