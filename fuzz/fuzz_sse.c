/* fuzz_sse.c: fuzzes the provider's event-stream parser (sse.h).
 *
 * The first two bytes choose the line bound and how the rest is cut into
 * chunks; the stream is parsed once whole and once in those chunks.
 * Properties (the contract of sse.h): chunking changes nothing (same
 * pieces, status, done and finished); pieces are NUL-terminated at len and
 * non-empty; errors are sticky and say what went wrong; after [DONE] or an
 * error no piece arrives. */
#include "fuzz.h"

#include "buf.h"
#include "sse.h"

struct run {
	struct buf content, reasoning;
	size_t pieces;
	int after_end; /* a piece arrived after done or an error */
	struct sse_parser *p;
};

static int on_piece(void *ctx, enum sse_piece kind, const char *text, size_t len)
{
	struct run *r = ctx;
	FUZZ_ASSERT(len > 0, "pieces are not empty");
	FUZZ_ASSERT(text[len] == '\0', "pieces are NUL-terminated at len");
	if (sse_done(r->p) || sse_status(r->p) != SSE_OK)
		r->after_end = 1;
	buf_append(kind == SSE_PIECE_CONTENT ? &r->content : &r->reasoning, text, len);
	r->pieces++;
	return 0;
}

/* Returns the status with done, finished and "some data" as bits 8-10. */
static int parse(const uint8_t *data, size_t size, size_t max_line, unsigned chunk_seed, struct run *r)
{
	struct sse_parser p;
	memset(r, 0, sizeof *r);
	r->p = &p;
	sse_init(&p, max_line, on_piece, r);
	size_t i = 0;
	unsigned x = chunk_seed | 1;
	enum sse_status st = SSE_OK;
	while (i < size) {
		size_t n = size - i;
		if (chunk_seed) {
			x = x * 1103515245u + 12345u;
			n = 1 + (x >> 16) % 17;
			if (n > size - i)
				n = size - i;
		}
		/* An exact-size copy: a read past the chunk is caught. */
		char *chunk = fuzz_dup(data + i, n);
		enum sse_status s = sse_feed(&p, chunk, n);
		free(chunk);
		if (st != SSE_OK)
			FUZZ_ASSERT(s == st, "errors are sticky");
		st = s;
		i += n;
	}
	enum sse_status f = sse_finish(&p);
	if (st != SSE_OK)
		FUZZ_ASSERT(f == st, "errors are sticky through sse_finish");
	FUZZ_ASSERT(f == sse_status(&p), "sse_status is the sticky status");
	FUZZ_ASSERT((f == SSE_OK) == (sse_error(&p)[0] == '\0'), "an error says what went wrong, and only then");
	FUZZ_ASSERT((f == SSE_ERR_PROVIDER) == (sse_error_object(&p) != NULL), "the provider's error is kept");
	FUZZ_ASSERT(f != SSE_ERR_ABORTED && f != SSE_ERR_NOMEM, "never aborted, never out of memory here");
	/* Feeding after the end changes nothing and calls nobody. */
	size_t before = r->pieces;
	if (f != SSE_OK) {
		FUZZ_ASSERT(sse_feed(&p, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n", 45) == f,
			    "sticky after the end");
		FUZZ_ASSERT(r->pieces == before, "no piece after an error");
	}
	int done = sse_done(&p), finished = sse_finished(&p);
	unsigned long count = sse_data_count(&p);
	sse_free(&p);
	r->p = NULL;
	return (int)f | done << 8 | finished << 9 | (count > 0) << 10;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t max_line = data[0] < 128 ? 0 : (size_t)(data[0] - 120) * 8; /* 0: the default 1 MiB */
	unsigned seed = data[1];
	data += 2;
	size -= 2;
	struct run whole, cut;
	int a = parse(data, size, max_line, 0, &whole);
	int b = parse(data, size, max_line, seed ? seed : 1, &cut);
	FUZZ_ASSERT(a == b, "chunking changes neither status nor done nor finished");
	FUZZ_ASSERT(whole.content.len == cut.content.len &&
			    memcmp(buf_str(&whole.content), buf_str(&cut.content), whole.content.len) == 0,
		    "chunking changes no content");
	FUZZ_ASSERT(whole.reasoning.len == cut.reasoning.len &&
			    memcmp(buf_str(&whole.reasoning), buf_str(&cut.reasoning), whole.reasoning.len) == 0,
		    "chunking changes no reasoning");
	FUZZ_ASSERT(!whole.after_end && !cut.after_end, "nothing after [DONE] or an error");
	buf_free(&whole.content);
	buf_free(&whole.reasoning);
	buf_free(&cut.content);
	buf_free(&cut.reasoning);
	return 0;
}
