/* test_ratelimit.c: unit tests for ratelimit.c on a temporary SQLite
 * database: the limit exactly, the sliding window, Retry-After, separate
 * buckets, counting without checking, the purge of old events, a store
 * failure that leaves no transaction open, and a failed purge that leaves
 * the request allowed. */
#include <sqlite3.h>

#include "check.h"
#include "ratelimit.h"
#include "reply.h"
#include "store.h"

static char root[] = "/tmp/aifacade-unit-rate.XXXXXX";

static long long count_in(struct store *st, const char *bucket, long long since)
{
	long long n = -1, oldest = 0;
	if (store_rate_count(st, bucket, since, &n, &oldest) != STORE_OK)
		return -1;
	return n;
}

static void test_window(struct store *st)
{
	const struct rate r = {3, 60};
	const long long t0 = 1700000000001LL; /* not a multiple of 64: no purge */
	long retry = -1;
	for (int i = 0; i < 3; i++) {
		char name[64];
		snprintf(name, sizeof name, "window: event %d of 3 is allowed", i + 1);
		CHECK(ratelimit_hit(st, "b", &r, t0 + i * 1000, 1, &retry) == 0, name);
	}
	CHECK(count_in(st, "b", 0) == 3, "window: the three are counted");
	CHECK(ratelimit_hit(st, "b", &r, t0 + 10500, 1, &retry) == 1, "window: the fourth within the window is refused");
	CHECK(retry == 50, "window: Retry-After is when the oldest leaves the window (60 s - 10.5 s, rounded up)");
	CHECK(count_in(st, "b", 0) == 3, "window: a refused event is not counted");
	CHECK(ratelimit_hit(st, "b", &r, t0 + 59999, 1, &retry) == 1 && retry == 1,
	      "window: 1 ms before the oldest leaves, still refused, Retry-After at least 1");
	CHECK(ratelimit_hit(st, "b", &r, t0 + 60000, 1, &retry) == 0, "window: once the oldest left, allowed again");
	CHECK(ratelimit_hit(st, "b", &r, t0 + 60001, 1, &retry) == 1, "window: and full again");
	CHECK(ratelimit_hit(st, "other", &r, t0 + 60001, 1, &retry) == 0, "bucket: another bucket has its own count");

	CHECK(ratelimit_hit(st, "check-only", &r, t0, 0, &retry) == 0 && count_in(st, "check-only", 0) == 0,
	      "record 0: checks without counting");
	for (int i = 0; i < 3; i++)
		CHECK(ratelimit_record(st, "check-only", t0 + i) == STORE_OK, "record: counts one event");
	CHECK(ratelimit_hit(st, "check-only", &r, t0 + 5, 0, &retry) == 1, "record: recorded events count against the limit");

	const struct rate hour = {1, 3600};
	CHECK(ratelimit_hit(st, "hour", &hour, t0, 1, &retry) == 0 &&
		      ratelimit_hit(st, "hour", &hour, t0 + 1000, 1, &retry) == 1 && retry == 3599,
	      "window: an hour's window gives Retry-After in seconds up to 3599");
}

static void test_purge(struct store *st)
{
	const struct rate r = {100, 60};
	long retry = 0;
	const long long day = 86400LL * 1000, t = 64LL * 30000000000LL; /* a multiple of 64 */
	CHECK(ratelimit_record(st, "old", t - 3 * day) == STORE_OK && ratelimit_record(st, "old", t - day) == STORE_OK,
	      "purge: two old events, three days and one day ago");
	CHECK(ratelimit_hit(st, "new", &r, t, 1, &retry) == 0, "purge: a hit at a multiple of 64 ms");
	CHECK(count_in(st, "old", 0) == 1, "purge: events older than two days are gone, younger ones stay");
}

static void test_failure(struct store *st, const char *path)
{
	const struct rate r = {3, 60};
	long retry = 0;
	sqlite3 *db = NULL;
	int ok = sqlite3_open(path, &db) == SQLITE_OK &&
		 sqlite3_exec(db, "ALTER TABLE rate_events RENAME TO rate_events_away", NULL, NULL, NULL) == SQLITE_OK;
	CHECK(ok, "failure: take the table away behind the store's back");
	CHECK(ratelimit_hit(st, "b", &r, 1700000000001LL, 1, &retry) < 0, "failure: a store error is a negative store_rc");
	ok = sqlite3_exec(db, "ALTER TABLE rate_events_away RENAME TO rate_events", NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
	CHECK(ok, "failure: put the table back");
	/* No transaction was left open: the next one begins and commits. */
	CHECK(ratelimit_hit(st, "after", &r, 1700000000001LL, 1, &retry) == 0 && count_in(st, "after", 0) == 1,
	      "failure: the store works on afterwards (no transaction left open)");
}

/* The purge is housekeeping: when it fails after the event was taken,
 * the request is still allowed (it counted), never an error. */
static void test_purge_failure(struct store *st, const char *path)
{
	const struct rate r = {100, 60};
	long retry = 0;
	const long long t = 64LL * 30000000001LL; /* a multiple of 64: a purge */
	sqlite3 *db = NULL;
	int ok = sqlite3_open(path, &db) == SQLITE_OK &&
		 sqlite3_exec(db, "CREATE TRIGGER no_purge BEFORE DELETE ON rate_events"
				  " BEGIN SELECT RAISE(ABORT, 'no purge today'); END",
			      NULL, NULL, NULL) == SQLITE_OK;
	CHECK(ok, "purge failure: deletes of rate events fail behind the store's back");
	CHECK(ratelimit_hit(st, "purge-fails", &r, t, 1, &retry) == 0 && count_in(st, "purge-fails", 0) == 1,
	      "purge failure: the request is allowed and counted, not an error");
	ok = sqlite3_exec(db, "DROP TRIGGER no_purge", NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
	CHECK(ok, "purge failure: deletes work again");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mkdtemp(root) == NULL) {
		printf("Bail out! cannot make a temporary directory\n");
		return 1;
	}
	char path[256], err[256];
	snprintf(path, sizeof path, "%s/rate.db", root);
	struct store *st = NULL;
	if (store_open(path, &st, err, sizeof err) < 0) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	test_window(st);
	test_purge(st);
	test_failure(st, path);
	test_purge_failure(st, path);
	store_close(st);
	remove_tree(root);
	return check_done();
}
