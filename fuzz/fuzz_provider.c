/* fuzz_provider.c: fuzzes how the provider client reads an answer body
 * (provider_parse_body): a JSON answer, an event stream, or an error body.
 *
 * The first byte picks the HTTP status and whether the body is a stream.
 * Properties (provider.h): every piece handed to on_delta and the final
 * content and reasoning are valid UTF-8 without NUL, and the pieces add up
 * to them; on success there is no detail, on failure a one-line detail that
 * never holds the API key nor any 8-byte piece of it; the status is one of
 * the enum's and has a message for the user. */
#include "fuzz.h"

#include "buf.h"
#include "provider.h"
#include "utf8.h"

static const char api_key[] = "sk-fuzz-Secret-Key-0123456789";

struct seen {
	struct buf content, reasoning;
};

static int on_delta(void *ctx, const char *content, const char *reasoning)
{
	struct seen *s = ctx;
	FUZZ_ASSERT((content == NULL) != (reasoning == NULL), "exactly one of content and reasoning");
	const char *t = content ? content : reasoning;
	FUZZ_ASSERT(utf8_valid(t, strlen(t)), "every piece is valid UTF-8 without NUL");
	buf_append_str(content ? &s->content : &s->reasoning, t);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 200, 200, 200, 400, 401, 402, 429, 500, 503, 204, 302};
	if (size < 1)
		return 0;
	long http = statuses[(data[0] & 0x7F) % (sizeof statuses / sizeof statuses[0])];
	int stream = data[0] >> 7;
	struct seen s = {BUF_INIT, BUF_INIT};
	struct provider_message msg = {"user", "hi"};
	struct provider_request req = {
		.url = "http://127.0.0.1:9/v1/chat/completions",
		.api_key = api_key,
		.model = "fuzz-model",
		.messages = &msg,
		.n_messages = 1,
		.max_answer_bytes = 4096,
		.stream = stream,
		.on_delta = on_delta,
		.ctx = &s,
	};
	struct provider_result r;
	int rc = provider_parse_body(&req, http, stream, (const char *)data + 1, size - 1, &r);
	FUZZ_ASSERT((rc == 0) == (r.status == PROVIDER_OK), "the return value matches the status");
	FUZZ_ASSERT(r.http_status == http, "the HTTP status is kept");
	FUZZ_ASSERT(r.content && r.reasoning, "content and reasoning are never NULL");
	FUZZ_ASSERT(utf8_valid(r.content, strlen(r.content)) && utf8_valid(r.reasoning, strlen(r.reasoning)),
		    "the answer is valid UTF-8 without NUL");
	FUZZ_ASSERT(strlen(r.content) + strlen(r.reasoning) <= 4096, "max_answer_bytes holds");
	if (r.status == PROVIDER_OK) {
		FUZZ_ASSERT(r.detail == NULL, "no detail on success");
		FUZZ_ASSERT(strcmp(buf_str(&s.content), r.content) == 0, "the content pieces add up to the content");
		FUZZ_ASSERT(strcmp(buf_str(&s.reasoning), r.reasoning) == 0, "the reasoning pieces add up");
	} else {
		FUZZ_ASSERT(http >= 200 && http <= 299 ? 1 : r.status != PROVIDER_OK, "an HTTP error is an error");
		FUZZ_ASSERT(r.detail != NULL, "a failure has a detail for the operator");
		FUZZ_ASSERT(!strchr(r.detail, '\n') && !strchr(r.detail, '\r'), "the detail is one line");
		FUZZ_ASSERT(utf8_valid(r.detail, strlen(r.detail)), "the detail is valid UTF-8");
		FUZZ_ASSERT(strlen(r.detail) <= 400, "the detail is bounded");
		for (size_t i = 0; i + 8 <= sizeof api_key - 1; i++) {
			char piece[9];
			memcpy(piece, api_key + i, 8);
			piece[8] = '\0';
			FUZZ_ASSERT(strstr(r.detail, piece) == NULL, "the detail never shows the key");
		}
	}
	FUZZ_ASSERT(strcmp(provider_status_name(r.status), "unknown") != 0, "a known status");
	FUZZ_ASSERT(*provider_user_message(r.status), "a message for the user");
	provider_result_free(&r);
	buf_free(&s.content);
	buf_free(&s.reasoning);
	return 0;
}
