/* alloc.h: allocation wrappers that end the process cleanly when memory runs out.
 *
 * Contract: these never return NULL. On exhaustion they log one line and,
 * when a CGI response has not begun, answer 500 with a JSON error, then exit.
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
/* Formats into a fresh string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
