/* buf.h: a growable byte buffer, always NUL-terminated.
 *
 * Contract: a struct buf starts zeroed (BUF_INIT); buf_free() releases it;
 * buf_detach() hands the bytes to the caller, who frees them. */
#ifndef AIF_BUF_H
#define AIF_BUF_H
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_append(struct buf *b, const void *p, size_t n);
/* Fallible variants, for code that answers an out-of-memory or an overflow
 * itself instead of ending the process (the provider client, the SSE
 * parser): 0, or -1 with b unchanged. */
int buf_try_reserve(struct buf *b, size_t extra);
int buf_try_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
/* Returns the contents (never NULL) and leaves b empty; the caller frees. */
char *buf_detach(struct buf *b);
void buf_free(struct buf *b);
/* Returns the contents as a C string (never NULL); b keeps ownership. */
const char *buf_str(const struct buf *b);

#endif
