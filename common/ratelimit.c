/* ratelimit.c: database-backed sliding-window limits (see ratelimit.h). */
#include "ratelimit.h"

int ratelimit_hit(struct store *st, const char *bucket, const struct rate *rate, long long now,
		  int record, long *retry_after)
{
	long long window_ms = (long long)rate->window * 1000;
	long long count = 0, oldest = 0;
	int rc = store_begin(st);
	if (rc != STORE_OK)
		return rc;
	rc = store_rate_count(st, bucket, now - window_ms + 1, &count, &oldest);
	if (rc == STORE_OK && count >= rate->limit) {
		store_rollback(st);
		long long wait = (oldest + window_ms - now + 999) / 1000;
		*retry_after = wait < 1 ? 1 : (long)wait;
		return 1;
	}
	if (rc == STORE_OK && record)
		rc = store_rate_add(st, bucket, now);
	/* Old events go now and then; any process may do it. */
	if (rc == STORE_OK && (now % 64) == 0)
		rc = store_rate_purge(st, now - 86400LL * 1000 * 2);
	if (rc == STORE_OK)
		return store_commit(st);
	store_rollback(st);
	return rc;
}

int ratelimit_record(struct store *st, const char *bucket, long long now)
{
	return store_rate_add(st, bucket, now);
}
