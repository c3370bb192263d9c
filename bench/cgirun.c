/* cgirun.c: runs one CGI program N times the way lighttpd does (fork, exec,
 * a CGI environment, the request body on stdin, stdout to a pipe that is
 * drained) and reports wall time per run and the child's peak RSS.
 *
 *   cgirun [-n RUNS] [-e ENVFILE] [-i BODYFILE] [-o OUTFILE] PROGRAM
 *
 * ENVFILE holds NAME=VALUE lines: the child's whole environment. BODYFILE
 * is fed to each run's stdin (CONTENT_LENGTH is the caller's to set). The
 * last run's output goes to OUTFILE when given. Prints one line:
 *   runs=N min_us=.. p50_us=.. p99_us=.. cpu_p50_us=.. max_rss_kib=.. status=..
 * where the times are wall clock from fork to reaping, cpu_p50_us is the
 * median of the child's user + system CPU time (wait4; less disturbed by
 * other load than wall time), and max_rss_kib is the largest ru_maxrss of
 * any run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
		if (cap - n < 2)
			b = realloc(b, cap *= 2);
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

int main(int argc, char **argv)
{
	int runs = 100, opt;
	const char *envfile = NULL, *bodyfile = NULL, *outfile = NULL;
	while ((opt = getopt(argc, argv, "n:e:i:o:")) != -1) {
		if (opt == 'n')
			runs = atoi(optarg);
		else if (opt == 'e')
			envfile = optarg;
		else if (opt == 'i')
			bodyfile = optarg;
		else if (opt == 'o')
			outfile = optarg;
		else
			return 2;
	}
	if (optind != argc - 1 || runs < 1) {
		fprintf(stderr, "usage: cgirun [-n RUNS] [-e ENVFILE] [-i BODYFILE] [-o OUTFILE] PROGRAM\n");
		return 2;
	}
	const char *prog = argv[optind];
	char *const empty[] = {NULL};
	char **env = envfile ? read_env(envfile) : (char **)empty;
	size_t body_len = 0;
	char *body = bodyfile ? slurp(bodyfile, &body_len) : NULL;
	double *t = calloc((size_t)runs, sizeof *t);
	double *cpu = calloc((size_t)runs, sizeof *cpu);
	long max_rss = 0;
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
	printf("runs=%d min_us=%.0f p50_us=%.0f p99_us=%.0f cpu_p50_us=%.0f max_rss_kib=%ld status=%d\n", runs, t[0],
	       t[runs / 2], t[(int)(runs * 0.99) < runs ? (int)(runs * 0.99) : runs - 1], cpu[runs / 2], max_rss,
	       WIFEXITED(last_status) ? WEXITSTATUS(last_status) : 128 + WTERMSIG(last_status));
	return 0;
}
