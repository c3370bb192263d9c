/* turn_pipe.c: frames from a generator to its follower (see turn_pipe.h). */
#include "turn_pipe.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

size_t turn_pipe_frame(char *out, char kind, size_t offset, const char *text, size_t len)
{
	if (len > TURN_PIPE_MAX - TURN_PIPE_HEAD)
		return 0;
	uint32_t l = (uint32_t)len;
	uint64_t o = (uint64_t)offset;
	out[0] = kind;
	memcpy(out + 1, &l, sizeof l);
	memcpy(out + 5, &o, sizeof o);
	memcpy(out + TURN_PIPE_HEAD, text, len);
	return TURN_PIPE_HEAD + len;
}

static void broken(struct turn_pipe_reader *r)
{
	r->broken = 1;
	r->woken = 1;
	r->len = 0;
}

void turn_pipe_feed(struct turn_pipe_reader *r, const char *data, size_t n, turn_pipe_piece_fn *piece, void *ctx)
{
	if (r->broken)
		return;
	if (n > sizeof r->buf - r->len) {
		broken(r);
		return;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	size_t at = 0;
	while (at < r->len) {
		const char *f = r->buf + at;
		if (f[0] == TURN_PIPE_WAKE) {
			r->woken = 1;
			at++;
			continue;
		}
		if (f[0] != 'c' && f[0] != 'r') {
			broken(r);
			return;
		}
		if (r->len - at < TURN_PIPE_HEAD)
			break;
		uint32_t l;
		uint64_t o;
		memcpy(&l, f + 1, sizeof l);
		memcpy(&o, f + 5, sizeof o);
		if (l > TURN_PIPE_MAX - TURN_PIPE_HEAD || o > SIZE_MAX / 2) {
			broken(r);
			return;
		}
		if (r->len - at < TURN_PIPE_HEAD + l)
			break;
		piece(ctx, f[0], (size_t)o, f + TURN_PIPE_HEAD, l);
		at += TURN_PIPE_HEAD + l;
	}
	memmove(r->buf, r->buf + at, r->len - at);
	r->len -= at;
}

int turn_pipe_read(struct turn_pipe_reader *r, int fd, turn_pipe_piece_fn *piece, void *ctx)
{
	char chunk[TURN_PIPE_MAX];
	for (;;) {
		size_t room = r->broken ? sizeof chunk : sizeof r->buf - r->len;
		if (room > sizeof chunk)
			room = sizeof chunk;
		ssize_t k = read(fd, chunk, room);
		if (k > 0) {
			turn_pipe_feed(r, chunk, (size_t)k, piece, ctx);
			continue;
		}
		if (k == 0)
			return -1;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	}
}
