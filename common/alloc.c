/* alloc.c: allocation wrappers that never return NULL (see alloc.h). */
#define _GNU_SOURCE
#include "alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where a request's response goes until its head is sent; -1 once it
 * began (or between requests): bytes of a 500 there would corrupt it. */
static volatile int alloc_reply_fd = STDOUT_FILENO;

void alloc_reply_to(int fd)
{
	alloc_reply_fd = fd;
}

_Noreturn void alloc_fail(void)
{
	static const char msg[] =
	    "Status: 500 Internal Server Error\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n\r\n"
	    "{\"error\":\"The server ran out of memory; try again shortly.\"}";
	static const char logline[] = "aifacade: fatal: out of memory\n";
	/* write(2) only: the heap cannot be trusted any more. */
	if (write(STDERR_FILENO, logline, sizeof logline - 1) < 0) {
		/* nothing left to report to */
	}
	/* check-output: the last-resort 500, fixed text: no response can be built without a heap. */
	if (alloc_reply_fd >= 0 && write(alloc_reply_fd, msg, sizeof msg - 1) < 0) {
		/* the client is gone; exit anyway */
	}
	/* A response that began ends short (the client sees the stream cut);
	 * a persistent process ends here too, and its server starts another. */
	_exit(1);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		alloc_fail();
	return p;
}

void *xcalloc(size_t count, size_t n)
{
	void *p = calloc(count ? count : 1, n ? n : 1);
	if (p == NULL)
		alloc_fail();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		alloc_fail();
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *out = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&out, fmt, ap);
	va_end(ap);
	if (n < 0)
		alloc_fail();
	return out;
}
