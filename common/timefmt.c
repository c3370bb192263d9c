/* timefmt.c: milliseconds since the epoch as ISO 8601 UTC, and the
 * monotonic clock (see timefmt.h). */
#include "timefmt.h"

#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

struct json_object *timefmt_json(long long ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char text[40];
	if (gmtime_r(&secs, &tm) == NULL)
		return json_object_new_string("1970-01-01T00:00:00.000Z");
	size_t n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(text + n, sizeof text - n, ".%03lldZ", ms % 1000);
	return json_object_new_string(text);
}

static long long clock_ms(clockid_t clock)
{
	struct timespec ts;
	if (clock_gettime(clock, &ts) != 0)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long monotonic_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

long long wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}
