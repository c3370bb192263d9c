/* reply.h: what the runner tests (test_app, test_scgi) share: a temporary
 * project root, reading a whole fd, and splitting a CGI answer into status,
 * head and body.
 *
 * A reply owns raw; head and body point into it. reply_free() releases it. */
#ifndef AIF_TEST_REPLY_H
#define AIF_TEST_REPLY_H
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct reply {
	char *raw;        /* everything read, NUL-terminated */
	size_t len;
	int status;       /* from "Status: NNN", 0 when none */
	const char *body; /* after the blank line ("" when none) */
	size_t body_len;
	size_t head_len;  /* bytes of raw before the blank line */
};

/* Reads fd to its end into r->raw; returns 0 or -1. */
static inline int reply_read(int fd, struct reply *r)
{
	size_t cap = 4096;
	memset(r, 0, sizeof *r);
	r->raw = malloc(cap);
	if (!r->raw)
		return -1;
	for (;;) {
		if (r->len + 1 >= cap) {
			char *p = realloc(r->raw, cap * 2);
			if (!p)
				return -1;
			r->raw = p;
			cap *= 2;
		}
		ssize_t n = read(fd, r->raw + r->len, cap - r->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		r->len += (size_t)n;
	}
	r->raw[r->len] = '\0';
	const char *blank = strstr(r->raw, "\r\n\r\n");
	r->body = blank ? blank + 4 : "";
	r->body_len = blank ? r->len - (size_t)(r->body - r->raw) : 0;
	r->head_len = blank ? (size_t)(blank - r->raw) : r->len;
	if (strncmp(r->raw, "Status: ", 8) == 0)
		r->status = atoi(r->raw + 8);
	return 0;
}

static inline void reply_free(struct reply *r)
{
	free(r->raw);
	memset(r, 0, sizeof *r);
}

/* The value of header name in the head (copied into out), or NULL. */
static inline const char *reply_header(const struct reply *r, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	for (const char *p = r->raw; p && p < r->raw + r->head_len;) {
		const char *eol = strstr(p, "\r\n");
		if (!eol)
			eol = r->raw + r->head_len;
		if ((size_t)(eol - p) > n + 1 && strncasecmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ') {
			size_t vlen = (size_t)(eol - p) - n - 2;
			if (vlen >= outlen)
				vlen = outlen - 1;
			memcpy(out, p + n + 2, vlen);
			out[vlen] = '\0';
			return out;
		}
		p = eol + 2;
	}
	return NULL;
}

/* Removes a directory tree made by a test. */
static inline void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[4096];
		if ((size_t)snprintf(p, sizeof p, "%s/%.*s", dir, 255, e->d_name) >= sizeof p)
			continue;
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(p);
		else if (unlink(p) != 0)
			printf("# could not remove %s\n", p);
	}
	closedir(d);
	if (rmdir(dir) != 0)
		printf("# could not remove %s\n", dir);
}

#endif
