/* turn_pipe.h: what a generator sends the request that started it, over
 * the pipe between them (turn.h, turn_spec.wake_fd).
 *
 * Contract:
 * - A frame is one write of at most TURN_PIPE_MAX bytes, which a pipe
 *   delivers whole and unmixed: a kind byte, then for 'c' (content) and
 *   'r' (reasoning) the piece's length (4 bytes) and its byte offset in
 *   its text (8 bytes, both in this host's order: both ends are this
 *   binary on this host), then the piece. 'w' alone is a wake-up: read
 *   the stored answer now.
 * - The reader is fed what read() returns, in any cuts; it hands each
 *   whole piece to its callback in order. Anything it cannot read as a
 *   frame makes it broken: it keeps only waking its caller from then on,
 *   who then reads the stored answer, which is always right. */
#ifndef AIF_TURN_PIPE_H
#define AIF_TURN_PIPE_H

#include <limits.h>
#include <stddef.h>

#define TURN_PIPE_MAX PIPE_BUF
#define TURN_PIPE_HEAD 13
#define TURN_PIPE_WAKE 'w'

/* Writes a frame of piece text[0..len) at offset into out (TURN_PIPE_MAX
 * bytes); returns its size, or 0 when the piece is too long for one. */
size_t turn_pipe_frame(char *out, char kind, size_t offset, const char *text, size_t len);

typedef void turn_pipe_piece_fn(void *ctx, char kind, size_t offset, const char *text, size_t len);

struct turn_pipe_reader {
	char buf[2 * TURN_PIPE_MAX];
	size_t len;
	int woken;  /* a wake-up came (or the reader broke) since the caller cleared it */
	int broken; /* no more frames are read */
};

/* Feeds n bytes; calls piece for each whole frame. More than the buffer
 * has room for breaks the reader. */
void turn_pipe_feed(struct turn_pipe_reader *r, const char *data, size_t n, turn_pipe_piece_fn *piece, void *ctx);

/* Reads what fd has (non-blocking) and feeds it; returns -1 once the
 * writer has closed its end, else 0. A reader made broken only drains the
 * pipe, and its piece may be NULL. */
int turn_pipe_read(struct turn_pipe_reader *r, int fd, turn_pipe_piece_fn *piece, void *ctx);

#endif
