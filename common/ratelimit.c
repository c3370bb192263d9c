/* ratelimit.c: database-backed sliding-window limits (see ratelimit.h). */
#include "ratelimit.h"

#include "log.h"

int ratelimit_hit(struct store *st, const char *bucket, const struct rate *rate, long long now,
		  int record, long *retry_after)
{
	int allowed = 0;
	long long wait_ms = 0;
	/* The store counts and records in one atomic step (store.h): a count
	 * followed by a separate insert would let two requests both take the
	 * last unit. */
	int rc = store_rate_take(st, bucket, rate->limit, (long long)rate->window * 1000, now, record,
				 &allowed, &wait_ms);
	if (rc != STORE_OK)
		return rc;
	if (!allowed) {
		long long wait = (wait_ms + 999) / 1000;
		*retry_after = wait < 1 ? 1 : (long)wait;
		return 1;
	}
	/* Old events go now and then; any process may do it. The event was
	 * taken and counts: a failed purge (logged by the store) leaves this
	 * request allowed, and a later one purges. */
	if ((now % 64) == 0 && store_rate_purge(st, now - 86400LL * 1000 * 2) != STORE_OK)
		log_warn("rate limits: old events were not purged (above); the request goes on, a later one purges");
	return STORE_OK;
}

int ratelimit_record(struct store *st, const char *bucket, long long now)
{
	return store_rate_add(st, bucket, now);
}
