/* fuzz_id.c: fuzzes path-info ids (request_parse_id).
 *
 * Property: an id is accepted exactly when it is [1-9][0-9]* within
 * LLONG_MAX, and then its value is the decimal value of the text. */
#include "fuzz.h"

#include <errno.h>
#include <limits.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_dup(data, size);
	long long id = -5;
	int rc = request_parse_id(s, &id);
	size_t len = strlen(s);
	int shape = len > 0 && s[0] >= '1' && s[0] <= '9' && strspn(s, "0123456789") == len;
	errno = 0;
	long long want = shape ? strtoll(s, NULL, 10) : 0;
	int fits = shape && errno != ERANGE;
	if (rc == 0) {
		FUZZ_ASSERT(fits, "only [1-9][0-9]* within range is accepted");
		FUZZ_ASSERT(id == want && id > 0, "the value is the text's");
	} else {
		FUZZ_ASSERT(rc == -1, "a refusal is -1");
		FUZZ_ASSERT(!fits, "every well-formed id in range is accepted");
	}
	FUZZ_ASSERT(request_parse_id(NULL, &id) == -1, "NULL is refused");
	free(s);
	return 0;
}
