/* ttfd.c: time to the first delta of a prompt, the first and the second of a
 * process, with and without the connections kept between prompts
 * (provider_keep_connections(), provider.h: persistent mode), against a
 * provider that speaks TLS (bench/ttfd.sh starts tests/fake_provider.py
 * with --tls).
 *
 *   ttfd URL CA_FILE RUNS
 *
 * Each run is a fresh process (as a fresh worker is) that sends two
 * streamed prompts in turn; prints per mode "mode first_p50_ms second_p50_ms
 * second_p90_ms runs". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "provider.h"

struct probe {
	double start, first;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int on_delta(void *ctx, const char *content, const char *reasoning)
{
	struct probe *p = ctx;
	(void)content;
	(void)reasoning;
	if (p->first == 0)
		p->first = now_ms();
	return 0;
}

/* One prompt; returns ms to its first delta, or -1. */
static double prompt(const char *url, const char *ca)
{
	struct provider_message m = {"user", "time to the first delta"};
	struct probe p = {now_ms(), 0};
	struct provider_request req = {
		.url = url, .api_key = "test-key", .model = "fake-model", .messages = &m, .n_messages = 1,
		.idle_timeout_s = 10, .total_timeout_s = 20, .first_token_timeout_s = 10, .stream = 1,
		.on_delta = on_delta, .ctx = &p, .ca_file = ca,
	};
	struct provider_result res;
	int rc = provider_complete(&req, &res);
	if (rc != 0)
		fprintf(stderr, "ttfd: %s: %s\n", provider_status_name(res.status), res.detail ? res.detail : "");
	provider_result_free(&res);
	return rc == 0 && p.first > 0 ? p.first - p.start : -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: ttfd URL CA_FILE RUNS\n");
		return 2;
	}
	int runs = atoi(argv[3]);
	if (runs < 1 || runs > 10000)
		return 2;
	for (int keep = 0; keep < 2; keep++) {
		double *first = calloc((size_t)runs, sizeof *first), *second = calloc((size_t)runs, sizeof *second);
		int ok = 0;
		for (int i = 0; i < runs && first && second; i++) {
			int fd[2];
			if (pipe(fd) != 0)
				return 1;
			pid_t pid = fork();
			if (pid == 0) {
				close(fd[0]);
				double t[2] = {-1, -1};
				if (provider_global_init() == 0) {
					if (keep)
						provider_keep_connections();
					t[0] = prompt(argv[1], argv[2]);
					t[1] = prompt(argv[1], argv[2]);
					provider_global_cleanup();
				}
				_exit(write(fd[1], t, sizeof t) == sizeof t ? 0 : 1);
			}
			close(fd[1]);
			double t[2];
			if (read(fd[0], t, sizeof t) == sizeof t && t[0] >= 0 && t[1] >= 0) {
				first[ok] = t[0];
				second[ok] = t[1];
				ok++;
			}
			close(fd[0]);
			waitpid(pid, NULL, 0);
		}
		if (ok == 0) {
			fprintf(stderr, "ttfd: no run answered\n");
			return 1;
		}
		qsort(first, (size_t)ok, sizeof *first, cmp);
		qsort(second, (size_t)ok, sizeof *second, cmp);
		printf("%s first_p50_ms=%.2f second_p50_ms=%.2f second_p90_ms=%.2f runs=%d\n",
		       keep ? "kept" : "fresh", first[ok / 2], second[ok / 2], second[ok * 9 / 10], ok);
		free(first);
		free(second);
	}
	return 0;
}
