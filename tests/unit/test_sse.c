/* test_sse.c: unit tests for the SSE stream parser, hostile input first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../../common/sse.h"

static int test_count, test_failed;

#define CHECK(cond, name) check_result((cond) ? 1 : 0, (name), __LINE__)

static void check_result(int ok, const char *name, int line)
{
	test_count++;
	if (ok) {
		printf("ok %d - %s\n", test_count, name);
	} else {
		test_failed++;
		printf("not ok %d - %s (line %d)\n", test_count, name, line);
	}
}

/* What a parse produced. */
struct collect {
	char content[8192];
	size_t content_len;
	char reasoning[8192];
	size_t reasoning_len;
	int calls;
	int abort_after;      /* return non-zero on this call number (0: never) */
	int calls_after_stop; /* calls seen after asking to stop */
	int stopped;
};

static int collect_piece(void *ctx, enum sse_piece kind, const char *text, size_t len)
{
	struct collect *c = ctx;
	char *dst = kind == SSE_PIECE_CONTENT ? c->content : c->reasoning;
	size_t *dlen = kind == SSE_PIECE_CONTENT ? &c->content_len : &c->reasoning_len;

	if (c->stopped)
		c->calls_after_stop++;
	c->calls++;
	if (text[len] != '\0' || len == 0)
		c->calls_after_stop += 1000; /* contract broken: flagged by callers' checks */
	if (*dlen + len < sizeof c->content) {
		memcpy(dst + *dlen, text, len);
		*dlen += len;
		dst[*dlen] = '\0';
	}
	if (c->abort_after != 0 && c->calls == c->abort_after) {
		c->stopped = 1;
		return 1;
	}
	return 0;
}

struct outcome {
	enum sse_status status;
	int done, finished;
	struct collect got;
};

/* Feeds text in chunks whose boundaries are given by cuts[0..ncuts). */
static void parse_with_cuts(const char *text, size_t len, const size_t *cuts, size_t ncuts,
    size_t max_line, struct outcome *out)
{
	struct sse_parser p;
	size_t at = 0, k;

	memset(out, 0, sizeof *out);
	sse_init(&p, max_line, collect_piece, &out->got);
	out->status = SSE_OK;
	for (k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : len;

		if (end < at)
			end = at;
		out->status = sse_feed(&p, text + at, end - at);
		at = end;
	}
	if (out->status == SSE_OK)
		out->status = sse_finish(&p);
	out->done = sse_done(&p);
	out->finished = sse_finished(&p);
	sse_free(&p);
}

static void parse_whole(const char *text, size_t len, size_t max_line, struct outcome *out)
{
	parse_with_cuts(text, len, NULL, 0, max_line, out);
}

static int same_outcome(const struct outcome *a, const struct outcome *b)
{
	return a->status == b->status && a->done == b->done && a->finished == b->finished &&
	    a->got.content_len == b->got.content_len &&
	    memcmp(a->got.content, b->got.content, a->got.content_len) == 0 &&
	    a->got.reasoning_len == b->got.reasoning_len &&
	    memcmp(a->got.reasoning, b->got.reasoning, a->got.reasoning_len) == 0;
}

/* A stream using every feature: BOM, comments, fields, CR, LF and CRLF,
 * "data:" with and without space, null deltas, empty choices, another
 * choice index, escapes, multi-byte UTF-8, usage chunk, [DONE], data after. */
static const char sample[] =
    "\xEF\xBB\xBF: keep-alive\r\n"
    "\r\n"
    "event: message\r\n"
    "id: 1\r\n"
    "retry: 1000\r\n"
    "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"reasoning_content\":null}}]}\r\n"
    "\r\n"
    "data:{\"choices\":[{\"delta\":{\"reasoning_content\":\"Think\",\"content\":null}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"ing\xE2\x80\xA6\"}}]}\r\r"
    ": keep-alive\n"
    "\n"
    "\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"H\xC3\xA9llo \",\"reasoning_content\":null}}]}\n\n"
    "data: {\"choices\":[]}\n\n"
    "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"IGNORED\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"w\xC3\xB6rld \xF0\x9F\x98\x80\"}}]}\r\n\r\n"
    "data: {\"choices\":[{\"delta\":{\"content\":null}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"!\\n\\u00e9\\ud83d\\ude00\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n"
    "data: [DONE]\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"after done\"}}]}\n\n";

static const char sample_content[] = "H\xC3\xA9llo w\xC3\xB6rld \xF0\x9F\x98\x80!\n\xC3\xA9\xF0\x9F\x98\x80";
static const char sample_reasoning[] = "Thinking\xE2\x80\xA6";

static void test_sample(void)
{
	struct outcome whole, part;
	size_t len = sizeof sample - 1, i, cut, k;
	int all_same = 1, bytewise_same;
	size_t *cuts;
	unsigned long seed = 12345;

	parse_whole(sample, len, 0, &whole);
	CHECK(whole.status == SSE_OK, "sample: parses without error");
	CHECK(whole.done == 1, "sample: [DONE] seen");
	CHECK(whole.finished == 1, "sample: finish_reason seen");
	CHECK(strcmp(whole.got.content, sample_content) == 0, "sample: content pieces joined");
	CHECK(strcmp(whole.got.reasoning, sample_reasoning) == 0, "sample: reasoning pieces joined");
	CHECK(whole.got.calls == 5, "sample: one call per non-empty piece, none for null or empty");

	for (cut = 0; cut <= len; cut++) {
		parse_with_cuts(sample, len, &cut, 1, 0, &part);
		if (!same_outcome(&whole, &part)) {
			all_same = 0;
			fprintf(stderr, "# split at %zu differs\n", cut);
			break;
		}
	}
	CHECK(all_same, "sample: every single split position gives the same result");

	cuts = malloc(len * sizeof *cuts);
	if (cuts == NULL) {
		CHECK(0, "malloc");
		return;
	}
	for (i = 0; i < len; i++)
		cuts[i] = i + 1;
	parse_with_cuts(sample, len, cuts, len, 0, &part);
	bytewise_same = same_outcome(&whole, &part);
	CHECK(bytewise_same, "sample: fed one byte at a time gives the same result");

	all_same = 1;
	for (k = 0; k < 300 && all_same; k++) {
		size_t n = 0, at = 0;

		while (at < len) {
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			at += 1 + (size_t)((seed >> 33) % 23);
			if (at < len)
				cuts[n++] = at;
		}
		parse_with_cuts(sample, len, cuts, n, 0, &part);
		if (!same_outcome(&whole, &part))
			all_same = 0;
	}
	CHECK(all_same, "sample: 300 random chunkings give the same result");
	free(cuts);
}

/* Every split of a small stream must also give the same status on errors. */
static int splits_agree(const char *text, struct outcome *whole)
{
	size_t len = strlen(text), cut;
	struct outcome part;

	parse_whole(text, len, 0, whole);
	for (cut = 0; cut <= len; cut++) {
		parse_with_cuts(text, len, &cut, 1, 0, &part);
		if (!same_outcome(whole, &part))
			return 0;
	}
	return 1;
}

static void test_garbage(void)
{
	static const char *bad[] = {
		"data: hello\n\n",
		"data: {\"choices\":[{\"delta\":{\"content\":5}}]}\n\n",
		"data: {\"choices\":[{\"delta\":{\"reasoning_content\":[1]}}]}\n\n",
		"data: [1,2]\n\n",
		"data: \"just a string\"\n\n",
		"data: null\n\n",
		"data: true\n\n",
		"data: 42\n\n",
		"data: {\"choices\":\"x\"}\n\n",
		"data: {\"choices\":[1]}\n\n",
		"data: {\"choices\":[{\"delta\":\"x\"}]}\n\n",
		"data: {\"a\":1} trailing\n\n",
		"data: {\"a\":1}{\"b\":2}\n\n",
		"data: {\"a\":\n\n",
		"data: {\"a\":1\n\ndata: }\n\n",
		"data: \xFF\xFE\n\n",
		"data: {\"a\":1,}\n\n",
		"data: <html><body>502 Bad Gateway</body></html>\n\n",
		"data: [DONE\n\n",
	};
	size_t i;
	int all_bad = 1, all_agree = 1;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct outcome o;

		if (!splits_agree(bad[i], &o))
			all_agree = 0;
		if (o.status != SSE_ERR_MALFORMED) {
			all_bad = 0;
			fprintf(stderr, "# garbage %zu gave status %d\n", i, (int)o.status);
		}
	}
	CHECK(all_bad, "garbage payloads are SSE_ERR_MALFORMED");
	CHECK(all_agree, "garbage: every split gives the same status");

	{
		struct sse_parser p;
		struct collect c;
		const char *more = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n";
		enum sse_status s1, s2, s3;
		int all_described;

		memset(&c, 0, sizeof c);
		sse_init(&p, 0, collect_piece, &c);
		s1 = sse_feed(&p, "data: {oops}\n", 13);
		all_described = sse_error(&p)[0] != '\0' && strstr(sse_error(&p), "line 1") != NULL;
		s2 = sse_feed(&p, more, strlen(more));
		s3 = sse_finish(&p);
		CHECK(s1 == SSE_ERR_MALFORMED && s2 == s1 && s3 == s1, "errors are sticky across feed and finish");
		CHECK(c.calls == 0, "no callback after an error");
		CHECK(all_described, "sse_error names the line");
		CHECK(sse_error_object(&p) == NULL, "no error object for garbage");
		sse_free(&p);
	}
}

static void test_nested_depth(void)
{
	size_t depth = 100000, i;
	char *text = malloc(depth * 2 + 16);
	struct outcome o;

	if (text == NULL) {
		CHECK(0, "malloc");
		return;
	}
	memcpy(text, "data: ", 6);
	for (i = 0; i < depth; i++)
		text[6 + i] = '[';
	for (i = 0; i < depth; i++)
		text[6 + depth + i] = ']';
	memcpy(text + 6 + 2 * depth, "\n\n", 3);
	parse_whole(text, strlen(text), 0, &o);
	CHECK(o.status == SSE_ERR_MALFORMED, "100000 nested arrays: an error, no stack overflow");
	free(text);
}

static void test_ignored_lines(void)
{
	const char *text =
	    "hello world\n"
	    "foo: bar\n"
	    "data\n"
	    "data:\n"
	    "data: \n"
	    "\n"
	    "event: ping\n"
	    "id\n"
	    ":\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n"
	    "\n"
	    "data: [DONE]\n";
	struct outcome o;

	CHECK(splits_agree(text, &o), "ignored lines: every split agrees");
	CHECK(o.status == SSE_OK && o.done && strcmp(o.got.content, "ok") == 0,
	    "unknown fields, bare 'data' and empty data lines are ignored");
}

static void test_line_endings(void)
{
	const char *lf = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\ndata: [DONE]\n\n";
	const char *cr = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\rdata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\r\rdata: [DONE]\r\r";
	const char *crlf = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n";
	const char *mixed = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\rdata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\r\ndata: [DONE]\r";
	const char *nolines = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\ndata: [DONE]\n";
	const char *noeol = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\ndata: [DONE]";
	const char *texts[] = {lf, cr, crlf, mixed, nolines, noeol};
	const char *names[] = {
		"LF line ends", "CR line ends", "CRLF line ends", "mixed line ends",
		"data lines without blank lines between them", "last line without a line end"};
	size_t i;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		struct outcome o;
		int agree = splits_agree(texts[i], &o);

		CHECK(agree && o.status == SSE_OK && o.done && strcmp(o.got.content, "ab") == 0, names[i]);
	}
}

static void test_multiline_payload(void)
{
	const char *text =
	    "data: {\"choices\":[{\"delta\":\n"
	    "data:   {\"content\":\"x\"}}]}\n"
	    "\n"
	    "data: [DONE]\n\n";
	struct outcome o;

	CHECK(splits_agree(text, &o) && o.status == SSE_OK && strcmp(o.got.content, "x") == 0,
	    "a JSON payload continued on the next data: line is joined");
}

static void test_missing_done(void)
{
	const char *text = "data: {\"choices\":[{\"delta\":{\"content\":\"part\"}}]}\n\n";
	const char *cut_inside = "data: {\"choices\":[{\"delta\":{\"content\":\"part\"}}]}\n\ndata: {\"choices\":[{\"del";
	struct outcome o;

	CHECK(splits_agree(text, &o) && o.status == SSE_OK && !o.done && !o.finished &&
	    strcmp(o.got.content, "part") == 0, "missing [DONE]: pieces kept, done is 0");
	CHECK(splits_agree(cut_inside, &o) && o.status == SSE_OK && !o.done &&
	    strcmp(o.got.content, "part") == 0, "cut inside a payload: not an error, not done");
	parse_whole("data: [DONE]", 12, 0, &o);
	CHECK(o.done, "[DONE] without a line end counts at finish");
}

static void test_error_object(void)
{
	const char *text =
	    "data: {\"choices\":[{\"delta\":{\"content\":\"so far\"}}]}\n\n"
	    "data: {\"error\":{\"message\":\"Insufficient Balance\",\"type\":\"unknown_error\",\"code\":\"insufficient_balance\"}}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"never\"}}]}\n\n";
	struct sse_parser p;
	struct collect c;
	struct json_object *err, *msg;
	enum sse_status st;
	struct outcome o;

	memset(&c, 0, sizeof c);
	sse_init(&p, 0, collect_piece, &c);
	st = sse_feed(&p, text, strlen(text));
	err = sse_error_object(&p);
	CHECK(st == SSE_ERR_PROVIDER, "error object in stream: SSE_ERR_PROVIDER");
	CHECK(err != NULL && json_object_object_get_ex(err, "message", &msg) &&
	    strcmp(json_object_get_string(msg), "Insufficient Balance") == 0,
	    "error object is handed to the caller");
	CHECK(strcmp(c.content, "so far") == 0, "pieces before the error were delivered, none after");
	sse_free(&p);

	CHECK(splits_agree("data: {\"error\":\"plain string\"}\n\n", &o) && o.status == SSE_ERR_PROVIDER,
	    "error given as a plain string is SSE_ERR_PROVIDER too");
	CHECK(splits_agree("data: {\"error\":null,\"choices\":[{\"delta\":{\"content\":\"y\"}}]}\n\n", &o) &&
	    o.status == SSE_OK && strcmp(o.got.content, "y") == 0, "\"error\": null is no error");
}

static void test_long_lines(void)
{
	const char *prefix = "data: {\"choices\":[{\"delta\":{\"content\":\"";
	size_t n = 2000, i, plen = strlen(prefix);
	char *text = malloc(n + 64);
	struct outcome o;

	if (text == NULL) {
		CHECK(0, "malloc");
		return;
	}
	memcpy(text, prefix, plen);
	for (i = plen; i < n; i++)
		text[i] = 'a';
	memcpy(text + n, "\"}}]}\n\n", 8);
	parse_whole(text, strlen(text), 1024, &o);
	CHECK(o.status == SSE_ERR_LINE_TOO_LONG, "data line over the limit: SSE_ERR_LINE_TOO_LONG");
	parse_whole(text, strlen(text), 4096, &o);
	CHECK(o.status == SSE_OK && o.got.content_len == n - plen, "same line under a larger limit parses");

	text[0] = ':';
	parse_whole(text, strlen(text), 1024, &o);
	CHECK(o.status == SSE_ERR_LINE_TOO_LONG, "comment line over the limit is bounded too");
	free(text);

	{
		/* Default limit: 1 MiB + 1 bytes with no line end, fed in pieces. */
		struct sse_parser p;
		struct collect c;
		char block[4096];
		size_t fed = 0;
		enum sse_status st = SSE_OK;

		memset(block, 'x', sizeof block);
		memset(&c, 0, sizeof c);
		sse_init(&p, 0, collect_piece, &c);
		while (st == SSE_OK && fed <= SSE_DEFAULT_MAX_LINE + sizeof block) {
			st = sse_feed(&p, block, sizeof block);
			fed += sizeof block;
		}
		CHECK(st == SSE_ERR_LINE_TOO_LONG && fed <= SSE_DEFAULT_MAX_LINE + sizeof block,
		    "default 1 MiB limit stops an endless line");
		CHECK(p.line.cap <= 2 * SSE_DEFAULT_MAX_LINE + 2, "memory stays bounded by the limit");
		sse_free(&p);
	}
	{
		/* A payload joined across data lines is bounded as well. */
		struct sse_parser p;
		struct collect c;
		char line[200];
		enum sse_status st = SSE_OK;
		int k;

		memset(&c, 0, sizeof c);
		sse_init(&p, 1024, collect_piece, &c);
		st = sse_feed(&p, "data: [\n", 8);
		for (k = 0; k < 20 && st == SSE_OK; k++) {
			snprintf(line, sizeof line, "data: \"%0100d\",\n", k);
			st = sse_feed(&p, line, strlen(line));
		}
		CHECK(st == SSE_ERR_LINE_TOO_LONG, "payload joined across data lines is bounded");
		sse_free(&p);
	}
}

static void test_utf8_and_nul(void)
{
	const char *invalid = "data: {\"choices\":[{\"delta\":{\"content\":\"a\xFF" "b\"}}]}\n\n";
	const char *split = "data: {\"choices\":[{\"delta\":{\"content\":\"\xF0\x9F\"}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"\x98\x80\"}}]}\n\n";
	const char *nul = "data: {\"choices\":[{\"delta\":{\"content\":\"a\\u0000b\"}}]}\n\n";
	const char *surrogate = "data: {\"choices\":[{\"delta\":{\"content\":\"x\\ud800y\"}}]}\n\n";
	static const char raw_nul[] = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\0\n\n";
	struct outcome o;

	CHECK(splits_agree(invalid, &o) && o.status == SSE_OK && o.got.content_len == 3 &&
	    memcmp(o.got.content, "a\xFF" "b", 3) == 0, "invalid UTF-8 in a string is passed on as bytes");
	CHECK(splits_agree(split, &o) && o.status == SSE_OK &&
	    strcmp(o.got.content, "\xF0\x9F\x98\x80") == 0, "a character split between deltas arrives in two pieces");
	CHECK(splits_agree(nul, &o) && o.status == SSE_OK && o.got.content_len == 3 &&
	    memcmp(o.got.content, "a\0b", 3) == 0, "\\u0000 arrives with its length");
	CHECK(splits_agree(surrogate, &o) && o.status == SSE_OK && o.got.content_len >= 2,
	    "a lone surrogate escape does not break the parser");
	parse_whole(raw_nul, sizeof raw_nul - 1, 0, &o);
	CHECK(o.status == SSE_ERR_MALFORMED, "a raw NUL byte after the JSON is malformed");
	parse_whole("data: \xC3\n\n", 9, 0, &o);
	CHECK(o.status == SSE_ERR_MALFORMED, "invalid UTF-8 outside strings is malformed");
}

static void test_reasoning_alias_and_index(void)
{
	const char *text =
	    "data: {\"choices\":[{\"delta\":{\"reasoning\":\"r1\"}}]}\n\n"
	    "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"no\"}},{\"index\":0,\"delta\":{\"content\":\"yes\"}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"r2\",\"reasoning\":\"dup\"}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":null,\"finish_reason\":null}]}\n\n"
	    "data: [DONE]\n\n";
	struct outcome o;

	CHECK(splits_agree(text, &o) && o.status == SSE_OK && strcmp(o.got.reasoning, "r1r2") == 0 &&
	    strcmp(o.got.content, "yes") == 0 && !o.finished,
	    "delta.reasoning alias, choice index filter, reasoning_content preferred, null finish_reason");
}

static void test_abort(void)
{
	const char *text =
	    "data: {\"choices\":[{\"delta\":{\"content\":\"1\"}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"2\"}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"3\"}}]}\n\n";
	struct sse_parser p;
	struct collect c;
	enum sse_status st;

	memset(&c, 0, sizeof c);
	c.abort_after = 2;
	sse_init(&p, 0, collect_piece, &c);
	st = sse_feed(&p, text, strlen(text));
	CHECK(st == SSE_ERR_ABORTED && strcmp(c.content, "12") == 0 && c.calls_after_stop == 0,
	    "callback returning non-zero stops at once");
	CHECK(sse_finish(&p) == SSE_ERR_ABORTED, "abort is sticky");
	sse_free(&p);
}

static void test_lifecycle(void)
{
	struct sse_parser p;
	struct collect c;
	enum sse_status st;

	memset(&c, 0, sizeof c);
	sse_init(&p, 0, collect_piece, &c);
	sse_free(&p);
	sse_init(&p, 0, NULL, NULL);
	{
		const char *z = "data: {\"choices\":[{\"delta\":{\"content\":\"z\"}}]}\n\n";

		st = sse_feed(&p, z, strlen(z));
	}
	CHECK(st == SSE_OK, "a parser without callback still parses");
	CHECK(sse_finish(&p) == SSE_OK && sse_finish(&p) == SSE_OK, "finish twice is harmless");
	CHECK(sse_data_count(&p) == 1, "data count");
	CHECK(sse_feed(&p, NULL, 0) == SSE_OK, "empty feed is harmless");
	sse_free(&p);
	/* The contract: free leaves nothing behind, so a second free is a no-op
	 * and the parser can be set up again. */
	CHECK(p.line.data == NULL && p.payload.data == NULL && p.tok == NULL && p.error_obj == NULL,
	      "free releases and forgets every buffer, so freeing twice frees nothing twice");
	sse_free(&p);
	memset(&c, 0, sizeof c);
	sse_init(&p, 0, collect_piece, &c);
	{
		const char *y = "data: {\"choices\":[{\"delta\":{\"content\":\"y\"}}]}\n\n";

		st = sse_feed(&p, y, strlen(y));
	}
	CHECK(st == SSE_OK && sse_data_count(&p) == 1 && strcmp(c.content, "y") == 0,
	      "a parser freed twice can be set up and used again, counting afresh");
	sse_free(&p);
}

int main(void)
{
	/* Line-buffered: a check that fails just before a crash still shows. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_sample();
	test_garbage();
	test_nested_depth();
	test_ignored_lines();
	test_line_endings();
	test_multiline_payload();
	test_missing_done();
	test_error_object();
	test_long_lines();
	test_utf8_and_nul();
	test_reasoning_alias_and_index();
	test_abort();
	test_lifecycle();
	printf("%d passed, %d failed\n", test_count - test_failed, test_failed);
	return test_failed == 0 ? 0 : 1;
}
