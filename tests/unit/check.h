/* check.h: the tiny TAP-style harness the unit tests share.
 *
 * CHECK(cond, name) prints "ok N - name" or "not ok N - name (file:line)";
 * CHECK_STR and CHECK_MEM also show what was got and wanted, escaped, on
 * failure. check_done() prints the plan and the closing line
 * "N passed, N failed" that tests/run.sh reads, and returns the exit status
 * (1 when anything failed). */
#ifndef AIF_TEST_CHECK_H
#define AIF_TEST_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_count, check_failed;

static inline int check_report(int ok, const char *name, const char *file, int line)
{
	check_count++;
	if (ok) {
		printf("ok %d - %s\n", check_count, name);
	} else {
		check_failed++;
		printf("not ok %d - %s (%s:%d)\n", check_count, name, file, line);
	}
	return ok;
}

/* Prints bytes on a "#" diagnostic line, control and non-ASCII bytes as \xHH. */
static inline void check_show(const char *label, const char *s, size_t len)
{
	printf("#   %s: ", label);
	if (s == NULL) {
		printf("NULL\n");
		return;
	}
	putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7F && c != '\\' && c != '"')
			putchar(c);
		else
			printf("\\x%02X", c);
	}
	printf("\"\n");
}

static inline int check_mem(const char *got, size_t got_len, const char *want, size_t want_len,
			    const char *name, const char *file, int line)
{
	int ok = (got == NULL && want == NULL) ||
		 (got != NULL && want != NULL && got_len == want_len && memcmp(got, want, got_len) == 0);
	if (!check_report(ok, name, file, line)) {
		check_show("got", got, got_len);
		check_show("want", want, want_len);
	}
	return ok;
}

static inline int check_str(const char *got, const char *want, const char *name, const char *file, int line)
{
	return check_mem(got, got ? strlen(got) : 0, want, want ? strlen(want) : 0, name, file, line);
}

static inline int check_done(void)
{
	printf("1..%d\n", check_count);
	printf("%d passed, %d failed\n", check_count - check_failed, check_failed);
	return check_failed ? 1 : 0;
}

/* A heap copy of exactly len bytes, without a terminating NUL, so that
 * valgrind reports any read past the end. The caller frees it. */
static inline char *check_exact(const void *s, size_t len)
{
	char *p = malloc(len ? len : 1);
	if (p == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	if (len)
		memcpy(p, s, len);
	return p;
}

#define CHECK(cond, name) check_report((cond) ? 1 : 0, (name), __FILE__, __LINE__)
/* Compares C strings; either may be NULL (then both must be). */
#define CHECK_STR(got, want, name) check_str((got), (want), (name), __FILE__, __LINE__)
/* Compares byte ranges. */
#define CHECK_MEM(got, got_len, want, want_len, name) \
	check_mem((got), (got_len), (want), (want_len), (name), __FILE__, __LINE__)

#endif
