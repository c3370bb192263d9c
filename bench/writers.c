/* writers.c: a burst of writers on one database, with and without the
 * writers' queue (common/store_sqlite.c): writers PROCS WRITES DIR.
 *
 * PROCS processes each open the store and run WRITES short write
 * transactions (an audit row, 2 ms of work inside, up to 20 ms between),
 * all at once, the way a burst of answers writes. Run once with the queue
 * and once with <database>-queue made a directory, so that no store can
 * open it and every writer only sleeps and retries on SQLite's lock. Each
 * run prints its wall time, the longest wait of one transaction, how many
 * ran past the busy timeout, and the CPU its writers burned. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* One writer: prints "<longest wait ms> <failures>" to fd. */
static void writer(const char *db, int writes, int fd)
{
	char err[256];
	struct store *st;
	if (store_open(db, &st, err, sizeof err) < 0) {
		fprintf(stderr, "writers: %s\n", err);
		_exit(1);
	}
	srand((unsigned)getpid());
	long long longest = 0;
	int failed = 0;
	for (int i = 0; i < writes; i++) {
		long long t0 = now_ms();
		int rc = store_begin(st);
		if (rc == STORE_OK)
			rc = store_audit_add(st, t0, "bench", "writers", "t", "127.0.0.1", "burst");
		if (rc == STORE_OK) {
			sleep_ms(2);
			rc = store_commit(st);
		} else {
			store_rollback(st);
		}
		if (now_ms() - t0 > longest)
			longest = now_ms() - t0;
		failed += rc != STORE_OK;
		sleep_ms(rand() % 20);
	}
	store_close(st);
	char line[64];
	int n = snprintf(line, sizeof line, "%lld %d\n", longest, failed);
	if (write(fd, line, (size_t)n) != n)
		_exit(1);
	_exit(0);
}

static int run(const char *db, int procs, int writes, int queue)
{
	char err[256];
	struct store *st;
	char path[4096];
	static const char *const files[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s%s", db, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s-queue", db);
	unlink(path);
	rmdir(path);
	if (!queue && mkdir(path, 0700) != 0) {
		fprintf(stderr, "writers: cannot make %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (store_open(db, &st, err, sizeof err) < 0) { /* migrations, before the burst */
		fprintf(stderr, "writers: %s\n", err);
		return -1;
	}
	store_close(st);
	int p[2];
	if (pipe(p) != 0)
		return -1;
	struct rusage before, after;
	getrusage(RUSAGE_CHILDREN, &before);
	long long t0 = now_ms();
	for (int i = 0; i < procs; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			writer(db, writes, p[1]);
		}
		if (pid < 0)
			fprintf(stderr, "writers: fork: %s\n", strerror(errno));
	}
	close(p[1]);
	FILE *in = fdopen(p[0], "r");
	long long longest = 0, w;
	int failed = 0, f, reports = 0;
	while (in && fscanf(in, "%lld %d", &w, &f) == 2) {
		longest = w > longest ? w : longest;
		failed += f;
		reports++;
	}
	if (in)
		fclose(in);
	while (wait(NULL) > 0)
		;
	long long wall = now_ms() - t0;
	getrusage(RUSAGE_CHILDREN, &after);
	double cpu = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec + after.ru_stime.tv_sec -
			      before.ru_stime.tv_sec) +
		     (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec + after.ru_stime.tv_usec -
			      before.ru_stime.tv_usec) / 1e6;
	printf("%-9s %4d x %3d: %6lld ms wall, longest wait %5lld ms, %3d past the busy timeout, %6.2f s CPU%s\n",
	       queue ? "queue" : "no queue", procs, writes, wall, longest, failed, cpu,
	       reports == procs ? "" : " (some writers did not report)");
	rmdir(path);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4 || atoi(argv[1]) < 1 || atoi(argv[2]) < 1) {
		fprintf(stderr, "usage: writers PROCS WRITES DIR (a burst of writers on DIR/writers.db)\n");
		return 2;
	}
	char db[4096];
	snprintf(db, sizeof db, "%s/writers.db", argv[3]);
	for (int round = 0; round < 2; round++)
		if (run(db, atoi(argv[1]), atoi(argv[2]), 1) < 0 || run(db, atoi(argv[1]), atoi(argv[2]), 0) < 0)
			return 1;
	return 0;
}
