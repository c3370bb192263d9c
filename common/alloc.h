/* alloc.h: allocation wrappers that end the process cleanly when memory runs out.
 *
 * Contract: these never return NULL. On exhaustion they log one line and,
 * when the request's response has not begun, answer 500 with a JSON error
 * on it, then end the process; a response that began (a stream, a download)
 * is never written into: it ends short.
 * Every pointer they return is owned by the caller and released with free(). */
#ifndef AIF_ALLOC_H
#define AIF_ALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Ends the process as on exhaustion; for size overflows found by callers. */
_Noreturn void alloc_fail(void);
/* Where the 500 of an exhaustion goes: the request's response while its
 * head is not sent (app.c), -1 once it is (response.c) and between requests. */
void alloc_reply_to(int fd);
/* Formats into a fresh string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
