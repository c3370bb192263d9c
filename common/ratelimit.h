/* ratelimit.h: sliding-window rate limits shared by every process.
 *
 * Contract: events live in the database (rate_events), so all CGI processes
 * and all web nodes see one count. A bucket is a string such as
 * "login-user:<key>"; only costly actions are counted. */
#ifndef AIF_RATELIMIT_H
#define AIF_RATELIMIT_H

#include "config.h"
#include "store.h"

/* Checks the bucket; when over the limit returns 1 and sets *retry_after
 * (seconds, at least 1); otherwise returns 0 and, when record is set,
 * counts this event. Negative store_rc on a database failure. */
int ratelimit_hit(struct store *st, const char *bucket, const struct rate *rate, long long now,
		  int record, long *retry_after);
/* Counts one event without checking (e.g. a failed login). */
int ratelimit_record(struct store *st, const char *bucket, long long now);

#endif
