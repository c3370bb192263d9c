/* fuzz_query.c: fuzzes query-string parsing and percent-decoding (request_parse_query, unescape_url).
 *
 * Properties: every accepted key and value is valid UTF-8 without NUL; at
 * most 32 parameters, no key twice; a refusal leaves nothing allocated and
 * says why. Decoding the input percent-encoded gives it back. */
#include "fuzz.h"

#include "buf.h"
#include "escape.h"
#include "request.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *qs = fuzz_dup(data, size); /* a CGI QUERY_STRING ends at the first NUL */
	struct query_param *q = NULL;
	size_t n = 99;
	const char *err = NULL;
	if (request_parse_query(qs, &q, &n, &err) == 0) {
		FUZZ_ASSERT(n <= 32, "at most 32 parameters");
		for (size_t i = 0; i < n; i++) {
			FUZZ_ASSERT(utf8_valid(q[i].key, strlen(q[i].key)), "key is valid UTF-8");
			FUZZ_ASSERT(utf8_valid(q[i].value, strlen(q[i].value)), "value is valid UTF-8");
			for (size_t j = 0; j < i; j++)
				FUZZ_ASSERT(strcmp(q[i].key, q[j].key) != 0, "no key twice");
		}
		for (size_t i = 0; i < n; i++) {
			free(q[i].key);
			free(q[i].value);
		}
		free(q);
	} else {
		FUZZ_ASSERT(err != NULL && *err, "a refusal says why");
		FUZZ_ASSERT(q == NULL && n == 0, "a refusal leaves nothing");
	}

	/* Round trip: every byte percent-encoded decodes back to the input. */
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	for (size_t i = 0; i < size; i++)
		buf_printf(&enc, "%%%02X", data[i]);
	FUZZ_ASSERT(unescape_url(&dec, buf_str(&enc), enc.len, 1) == 0, "encoded text decodes");
	FUZZ_ASSERT(dec.len == size && (size == 0 || memcmp(dec.data, data, size) == 0), "round trip");
	buf_free(&enc);
	buf_free(&dec);

	/* Decoding raw input never reads past it (the copy is exactly size bytes). */
	char *exact = malloc(size ? size : 1);
	if (size)
		memcpy(exact, data, size);
	struct buf raw = BUF_INIT;
	(void)unescape_url(&raw, exact, size, 0);
	buf_free(&raw);
	free(exact);
	free(qs);
	return 0;
}
