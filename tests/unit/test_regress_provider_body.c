/* test_regress_provider_body.c: provider_parse_body(), the entry the fuzzers
 * use, reads bodies as provider_complete() does; pinned on the committed fuzz
 * seeds' shapes so a change that breaks the fuzz harness's view shows here. */
#include <string.h>

#include "check.h"
#include "provider.h"
#include "utf8.h"

static const char key[] = "sk-regress-Secret-Key-42";

struct seen {
	char text[256];
	size_t len;
	int pieces;
};

static int on_delta(void *ctx, const char *content, const char *reasoning)
{
	struct seen *s = ctx;
	const char *t = content ? content : reasoning;
	size_t n = strlen(t);
	if (s->len + n < sizeof s->text) {
		memcpy(s->text + s->len, t, n + 1);
		s->len += n;
	}
	s->pieces++;
	return 0;
}

static int parse(long http, int stream, const char *body, struct provider_result *r, struct seen *s)
{
	static const struct provider_message msg = {"user", "hi"};
	memset(s, 0, sizeof *s);
	struct provider_request req = {
		.url = "http://127.0.0.1:9/v1/chat/completions", .api_key = key, .model = "m",
		.messages = &msg, .n_messages = 1, .stream = stream, .on_delta = on_delta, .ctx = s,
	};
	char *exact = check_exact(body, strlen(body));
	int rc = provider_parse_body(&req, http, stream, exact, strlen(body), r);
	free(exact);
	return rc;
}

int main(void)
{
	struct provider_result r;
	struct seen s;

	int rc = parse(200, 0, "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"Hi \\u00e9\",\"reasoning_content\":\"hm\"}}]}", &r, &s);
	CHECK(rc == 0 && r.status == PROVIDER_OK, "a JSON answer is read");
	CHECK_STR(r.content, "Hi \xC3\xA9", "its content");
	CHECK_STR(r.reasoning, "hm", "its reasoning");
	CHECK(s.pieces == 2 && r.detail == NULL && r.http_status == 200, "two pieces, no detail, the status kept");
	provider_result_free(&r);

	rc = parse(200, 1, "data: {\"choices\":[{\"delta\":{\"content\":\"A\xF0\x9F\"}}]}\n\n"
			   "data: {\"choices\":[{\"delta\":{\"content\":\"\x98\x80\xFF\"}}]}\n\ndata: [DONE]\n", &r, &s);
	CHECK(rc == 0, "a stream is read");
	CHECK_STR(r.content, "A\xF0\x9F\x98\x80\xEF\xBF\xBD", "a split character is joined, a stray byte becomes U+FFFD");
	CHECK(utf8_valid(s.text, s.len) && strcmp(s.text, r.content) == 0, "the pieces are valid UTF-8 and add up");
	provider_result_free(&r);

	rc = parse(401, 0, "{\"error\":{\"message\":\"Incorrect API key provided: sk-regress-Secret-Key-42\","
			   "\"type\":\"authentication_error\"}}", &r, &s);
	CHECK(rc == -1 && r.status == PROVIDER_ERR_AUTH, "401 is an auth error");
	CHECK(r.detail && !strstr(r.detail, "Secret-Key") && strstr(r.detail, "[redacted]"), "the echoed key is redacted");
	CHECK(r.content && *r.content == '\0', "no content");
	provider_result_free(&r);

	rc = parse(429, 0, "{\"error\":{\"message\":\"quota\",\"type\":\"insufficient_quota\"}}", &r, &s);
	CHECK(rc == -1 && r.status == PROVIDER_ERR_BALANCE, "429 insufficient_quota is about money");
	provider_result_free(&r);

	rc = parse(200, 0, "<html>not json", &r, &s);
	CHECK(rc == -1 && r.status == PROVIDER_ERR_MALFORMED && r.detail, "garbage is malformed, with a detail");
	provider_result_free(&r);

	rc = parse(200, 1, "data: {\"choices\":[{\"delta\":{\"content\":\"half\"}}]}\n\n", &r, &s);
	CHECK(rc == -1 && r.status == PROVIDER_ERR_CUT, "a stream without [DONE] is cut");
	CHECK_STR(r.content, "half", "what arrived is kept");
	provider_result_free(&r);

	return check_done();
}
