/* fuzz.h: what the libFuzzer targets in fuzz/ share.
 *
 * FUZZ_ASSERT() aborts with a message, so a broken property is a crash that
 * libFuzzer saves like any memory error. fuzz_split() cuts the input at
 * '\x01' bytes into at most n parts (NUL-terminated fresh copies), so one
 * input can carry several fields; the caller frees them with fuzz_free(). */
#ifndef AIF_FUZZ_H
#define AIF_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond, what)                                                                   \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			fprintf(stderr, "fuzz property broken at %s:%d: %s\n", __FILE__, __LINE__, what); \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

/* A fresh copy of p[0..n) with a NUL after it (interior NULs kept). */
static inline char *fuzz_dup(const void *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

struct fuzz_parts {
	char *part[8];
	size_t len[8];
	size_t n;
};

static inline void fuzz_split(const uint8_t *data, size_t size, size_t want, struct fuzz_parts *out)
{
	size_t start = 0;
	memset(out, 0, sizeof *out);
	if (want > 8)
		want = 8;
	for (size_t i = 0; i <= size && out->n < want; i++) {
		if (i == size || (data[i] == 0x01 && out->n + 1 < want)) {
			out->part[out->n] = fuzz_dup(data + start, i - start);
			out->len[out->n] = i - start;
			out->n++;
			start = i + 1;
		}
	}
	while (out->n < want) {
		out->part[out->n] = fuzz_dup("", 0);
		out->len[out->n] = 0;
		out->n++;
	}
}

static inline void fuzz_free(struct fuzz_parts *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->part[i]);
	p->n = 0;
}

static inline char fuzz_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* 1 when the NUL-terminated s contains needle, ignoring ASCII case. */
static inline int fuzz_contains_nocase(const char *s, const char *needle)
{
	size_t n = strlen(needle);
	for (; *s; s++) {
		size_t i = 0;
		while (i < n && s[i] && fuzz_lower(s[i]) == fuzz_lower(needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

#endif
