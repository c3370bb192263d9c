/* sse.h: incremental parser for an OpenAI-compatible chat-completions SSE stream.
 *
 * Contract:
 * - The caller owns a struct sse_parser (on the stack is fine), sets it up
 *   with sse_init(), feeds it byte chunks of any size with sse_feed() (a line
 *   may be split anywhere: inside a UTF-8 sequence, between CR and LF), calls
 *   sse_finish() at the end of the input, and always releases it with
 *   sse_free(). Nothing is global; parsers are independent.
 * - Lines end with CR, LF or CRLF. A UTF-8 byte order mark at the start is
 *   skipped. Comment lines (": keep-alive"), blank lines and the fields
 *   event:, id:, retry: and unknown fields are ignored. "data:" may or may not
 *   be followed by one space.
 * - Each data payload is one JSON object, normally on one line. A payload
 *   whose JSON is not complete at the end of its line is continued by the
 *   next data: line of the same event (joined with "\n"); a blank line or
 *   the end of the input ends the event. "data: [DONE]" marks the end of the
 *   answer: sse_done() turns 1 and later data is ignored. An empty data line
 *   is ignored.
 * - For every choice with index 0 (or without index) the parser calls the
 *   piece callback with delta.reasoning_content (or delta.reasoning), then
 *   delta.content, when they are non-empty strings; null or missing values
 *   and empty choices arrays are skipped. A finish_reason marks the answer as
 *   finished (sse_finished()).
 * - Piece text is exactly the bytes json-c decoded: NUL-terminated at
 *   text[len], but it may hold NUL bytes or invalid or split UTF-8 (a
 *   character can be cut between two deltas). Repairing it is the caller's
 *   business (provider.c does it).
 * - Errors are sticky: once sse_feed() or sse_finish() returns non-OK, every
 *   later call returns the same status without reading input, and never
 *   calls the callback again. sse_error() says what went wrong in one line.
 * - Bounds: a line (and a data payload joined across lines) longer than
 *   max_line bytes is SSE_ERR_LINE_TOO_LONG; JSON nesting is limited by
 *   json-c's default depth.
 */
#ifndef AIF_SSE_H
#define AIF_SSE_H
#include <stddef.h>

#include "buf.h"

struct json_object;
struct json_tokener;

#define SSE_DEFAULT_MAX_LINE ((size_t)1024 * 1024)

enum sse_status {
	SSE_OK = 0,
	SSE_ERR_NOMEM,
	SSE_ERR_LINE_TOO_LONG,
	SSE_ERR_MALFORMED,   /* a data payload is not a chat-completion chunk */
	SSE_ERR_PROVIDER,    /* the stream carried {"error": ...}: see sse_error_object() */
	SSE_ERR_ABORTED      /* the piece callback returned non-zero */
};

enum sse_piece { SSE_PIECE_CONTENT, SSE_PIECE_REASONING };

/* Called for each non-empty piece; text[len] == '\0'. The text is valid only
 * during the call. Return 0 to go on, non-zero to stop (SSE_ERR_ABORTED). */
typedef int (*sse_piece_fn)(void *ctx, enum sse_piece kind, const char *text, size_t len);

/* All members are private: use the functions below. */
struct sse_parser {
	sse_piece_fn on_piece;
	void *ctx;
	size_t max_line;
	struct buf line;       /* the current, unfinished line */
	struct buf payload;    /* data of the current event whose JSON is still incomplete */
	struct json_tokener *tok;
	struct json_object *error_obj; /* the "error" member of an error payload (a reference we own) */
	unsigned long line_no;
	unsigned long data_count;      /* data payloads handled, [DONE] included */
	int skip_lf;           /* the previous line ended with CR: a following LF belongs to it */
	int started;           /* the first line has been seen (BOM check done) */
	int done;
	int finished;
	long long usage_tokens; /* usage.total_tokens of the last chunk that had one, else -1 */
	enum sse_status status;
	char error[160];
};

/* Prepares p. max_line 0 means SSE_DEFAULT_MAX_LINE (at most INT_MAX / 2).
 * Allocates nothing. */
void sse_init(struct sse_parser *p, size_t max_line, sse_piece_fn on_piece, void *ctx);
/* Parses len bytes; calls on_piece for every complete piece they finish. */
enum sse_status sse_feed(struct sse_parser *p, const char *data, size_t len);
/* Ends the input: a last line without a line end is parsed as if it had one.
 * A JSON payload still incomplete is dropped (the answer is then not done). */
enum sse_status sse_finish(struct sse_parser *p);
/* The stream's usage.total_tokens (the chunk "stream_options":
 * {"include_usage": true} asks for), or -1 when none came. */
long long sse_usage_tokens(const struct sse_parser *p);
/* Releases what p holds; p may be passed to sse_init() again. */
void sse_free(struct sse_parser *p);

/* 1 once "data: [DONE]" was seen, else 0. */
int sse_done(const struct sse_parser *p);
/* 1 once a choice carried a non-null finish_reason, else 0. */
int sse_finished(const struct sse_parser *p);
/* Number of data payloads handled so far, [DONE] included. */
unsigned long sse_data_count(const struct sse_parser *p);
/* The sticky status. */
enum sse_status sse_status(const struct sse_parser *p);
/* One line describing the error ("" when none); owned by p. */
const char *sse_error(const struct sse_parser *p);
/* With SSE_ERR_PROVIDER: the payload's "error" value (an object, or
 * whatever the provider sent); owned by p, valid until sse_free(). Else NULL. */
struct json_object *sse_error_object(const struct sse_parser *p);

#endif
