/* test_timefmt.c: unit tests for timefmt.c, the ISO 8601 form of stored times. */
#include <json-c/json.h>

#include "check.h"
#include "timefmt.h"

static void check_time(long long ms, const char *want, const char *name)
{
	struct json_object *o = timefmt_json(ms);
	CHECK_STR(o && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL, want, name);
	json_object_put(o);
}

int main(void)
{
	check_time(0, "1970-01-01T00:00:00.000Z", "the epoch");
	check_time(7, "1970-01-01T00:00:00.007Z", "milliseconds zero-padded to three digits");
	check_time(1700000000123LL, "2023-11-14T22:13:20.123Z", "a time in 2023, UTC whatever TZ says");
	check_time(951782400999LL, "2000-02-29T00:00:00.999Z", "a leap day, the last millisecond of a second");
	check_time(4102444799000LL, "2099-12-31T23:59:59.000Z", "the end of 2099");
	return check_done();
}
