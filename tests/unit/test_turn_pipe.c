/* test_turn_pipe.c: frames from a generator to its follower arrive whole
 * and in order however read() cuts them, and anything else breaks the
 * reader into a wake-up (the follower then reads the stored answer). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "turn_pipe.h"

struct seen {
	char text[8192];
	size_t len;
	int pieces;
	size_t last_offset;
	char last_kind;
};

static void on_piece(void *ctx, char kind, size_t offset, const char *text, size_t len)
{
	struct seen *s = ctx;
	if (s->len + len < sizeof s->text) {
		memcpy(s->text + s->len, text, len);
		s->len += len;
	}
	s->pieces++;
	s->last_offset = offset;
	s->last_kind = kind;
}

int main(void)
{
	char frame[TURN_PIPE_MAX], all[4 * TURN_PIPE_MAX];
	size_t n1 = turn_pipe_frame(frame, 'c', 0, "Hello, ", 7);
	CHECK(n1 == TURN_PIPE_HEAD + 7, "a frame is its head and its piece");
	memcpy(all, frame, n1);
	all[n1] = TURN_PIPE_WAKE;
	size_t n2 = turn_pipe_frame(frame, 'r', 40, "thinking", 8);
	memcpy(all + n1 + 1, frame, n2);
	size_t n3 = turn_pipe_frame(frame, 'c', 7, "wörld", strlen("wörld"));
	memcpy(all + n1 + 1 + n2, frame, n3);
	size_t total = n1 + 1 + n2 + n3;

	/* every cut of the stream into two reads gives the same pieces */
	int ok = 1;
	for (size_t cut = 0; cut <= total; cut++) {
		struct turn_pipe_reader r = {.len = 0};
		struct seen s = {.len = 0};
		turn_pipe_feed(&r, all, cut, on_piece, &s);
		turn_pipe_feed(&r, all + cut, total - cut, on_piece, &s);
		ok &= s.pieces == 3 && s.len == 7 + 8 + strlen("wörld") &&
		      memcmp(s.text, "Hello, thinkingwörld", s.len) == 0 && s.last_kind == 'c' && s.last_offset == 7 &&
		      r.woken && !r.broken && r.len == 0;
	}
	CHECK(ok, "cut anywhere, three pieces arrive whole, in order, with their kinds and offsets, and the wake-up");

	/* byte by byte */
	struct turn_pipe_reader r = {.len = 0};
	struct seen s = {.len = 0};
	for (size_t i = 0; i < total; i++)
		turn_pipe_feed(&r, all + i, 1, on_piece, &s);
	CHECK(s.pieces == 3 && !r.broken, "one byte at a time, the same");

	CHECK(turn_pipe_frame(frame, 'c', 0, all, TURN_PIPE_MAX - TURN_PIPE_HEAD + 1) == 0,
	      "a piece too long for one atomic write is refused");
	CHECK(turn_pipe_frame(frame, 'c', 0, all, TURN_PIPE_MAX - TURN_PIPE_HEAD) == TURN_PIPE_MAX,
	      "the longest piece fills a frame exactly");

	/* hostile: an unknown kind, a length past the frame, a huge offset */
	struct turn_pipe_reader h = {.len = 0};
	struct seen hs = {.len = 0};
	turn_pipe_feed(&h, "x123456789012345", 16, on_piece, &hs);
	CHECK(h.broken && h.woken && hs.pieces == 0 && h.len == 0, "an unknown kind breaks the reader into a wake-up");
	turn_pipe_feed(&h, all, total, on_piece, &hs);
	CHECK(hs.pieces == 0, "a broken reader reads no frames after");

	struct turn_pipe_reader h2 = {.len = 0};
	uint32_t big = TURN_PIPE_MAX;
	uint64_t off = 0;
	char bad[TURN_PIPE_HEAD] = {'c'};
	memcpy(bad + 1, &big, sizeof big);
	memcpy(bad + 5, &off, sizeof off);
	turn_pipe_feed(&h2, bad, sizeof bad, on_piece, &hs);
	CHECK(h2.broken && hs.pieces == 0, "a length past one frame breaks it, before waiting for the bytes");

	struct turn_pipe_reader h3 = {.len = 0};
	uint32_t small = 1;
	uint64_t huge = UINT64_MAX;
	memcpy(bad + 1, &small, sizeof small);
	memcpy(bad + 5, &huge, sizeof huge);
	turn_pipe_feed(&h3, bad, sizeof bad, on_piece, &hs);
	turn_pipe_feed(&h3, "z", 1, on_piece, &hs);
	CHECK(h3.broken && hs.pieces == 0, "an offset no text can have breaks it");

	struct turn_pipe_reader h4 = {.len = 0};
	char flood[sizeof h4.buf + 1];
	memset(flood, 'c', sizeof flood);
	turn_pipe_feed(&h4, flood, sizeof flood, on_piece, &hs);
	CHECK(h4.broken && h4.len == 0, "more bytes than the reader holds break it, and nothing is written past it");

	/* through a real pipe: what a generator writes, a follower reads; EOF is the end */
	int p[2];
	CHECK(pipe2(p, O_NONBLOCK) == 0, "a non-blocking pipe");
	struct turn_pipe_reader pr = {.len = 0};
	struct seen ps = {.len = 0};
	CHECK(turn_pipe_read(&pr, p[0], on_piece, &ps) == 0 && ps.pieces == 0, "an empty pipe: nothing yet, not the end");
	CHECK(write(p[1], all, total) == (ssize_t)total, "the generator writes three frames and a wake-up");
	CHECK(turn_pipe_read(&pr, p[0], on_piece, &ps) == 0 && ps.pieces == 3 && pr.woken, "the follower reads them");
	close(p[1]);
	CHECK(turn_pipe_read(&pr, p[0], on_piece, &ps) == -1, "a closed writer is the end");
	close(p[0]);
	return check_done();
}
