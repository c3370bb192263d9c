/* searchtime.c: times store_search() (GET /api/search's work) on a database
 * that bench/search.sh filled: searchtime DB USER_ID RUNS QUERY...
 * Prints, per query, the matches and the median and p90 microseconds of
 * the sanitiser plus both statements, on a warm connection as a request's
 * own would be after its first statement. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "search.h"
#include "store.h"

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: searchtime DB USER_ID RUNS QUERY...\n");
		return 2;
	}
	struct store *st;
	char err[512];
	if (store_open(argv[1], &st, err, sizeof err) < 0) {
		fprintf(stderr, "searchtime: %s\n", err);
		return 1;
	}
	long long user = atoll(argv[2]);
	int runs = atoi(argv[3]);
	if (runs < 1 || runs > 10000)
		runs = 20;
	long long *t = calloc((size_t)runs, sizeof *t);
	for (int q = 4; q < argc; q++) {
		size_t n = 0;
		for (int r = 0; r < runs; r++) {
			long long t0 = now_us();
			const char *e;
			struct search_query terms;
			struct search_hit *hits = NULL;
			n = 0;
			if (search_parse(argv[q], strlen(argv[q]), &terms, &e) != 0 ||
			    store_search(st, user, &terms, 20, &hits, &n) != STORE_OK) {
				fprintf(stderr, "searchtime: %s failed\n", argv[q]);
				return 1;
			}
			t[r] = now_us() - t0;
			store_search_free(hits, n);
			search_query_free(&terms);
		}
		qsort(t, (size_t)runs, sizeof *t, cmp);
		printf("| `%s` | %zu | %lld | %lld |\n", argv[q], n, t[runs / 2], t[runs * 9 / 10]);
	}
	free(t);
	store_close(st);
	return 0;
}
