/* request.c: CGI request parsing and validation (see request.h). */
#define _GNU_SOURCE
#include "request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "escape.h"
#include "timefmt.h"
#include "utf8.h"

const char *request_var(char *const *vars, const char *name)
{
	size_t n = strlen(name);
	for (char *const *v = vars; v && *v; v++)
		if (strncmp(*v, name, n) == 0 && (*v)[n] == '=')
			return *v + n + 1;
	return NULL;
}

int request_cancelled(const struct request *req)
{
	return req->cancelled && *req->cancelled;
}

static const char *var(char *const *vars, const char *name)
{
	const char *v = request_var(vars, name);
	return v ? v : "";
}

static const char *var_or_null(char *const *vars, const char *name)
{
	const char *v = request_var(vars, name);
	return v && *v ? v : NULL;
}

int request_parse_id(const char *s, long long *out)
{
	if (!s || *s < '1' || *s > '9')
		return -1;
	long long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (LLONG_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return 0;
}

static void free_query(struct query_param *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(q[i].key);
		free(q[i].value);
	}
	free(q);
}

/* Decodes one component; -1 on a malformed escape, bad UTF-8 or NUL. */
static int decode_component(const char *s, size_t len, char **out)
{
	struct buf b = BUF_INIT;
	if (unescape_url(&b, s, len, 1) < 0 || !utf8_valid(buf_str(&b), b.len)) {
		buf_free(&b);
		return -1;
	}
	*out = buf_detach(&b);
	return 0;
}

int request_parse_query(const char *qs, struct query_param **out, size_t *n, const char **err)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0;
	const char *p = qs;
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > 0) {
			const char *eq = memchr(p, '=', len);
			size_t klen = eq ? (size_t)(eq - p) : len;
			char *key, *value;
			if (decode_component(p, klen, &key) < 0) {
				*err = "The query string is malformed.";
				goto fail;
			}
			if (decode_component(eq ? eq + 1 : p + len, eq ? len - klen - 1 : 0, &value) < 0) {
				free(key);
				*err = "The query string is malformed.";
				goto fail;
			}
			for (size_t i = 0; i < *n; i++) {
				if (strcmp((*out)[i].key, key) == 0) {
					free(key);
					free(value);
					*err = "The query string repeats a parameter.";
					goto fail;
				}
			}
			if (*n == cap) {
				cap = cap ? cap * 2 : 4;
				if (cap > 32) {
					free(key);
					free(value);
					*err = "The query string has too many parameters.";
					goto fail;
				}
				*out = xrealloc(*out, cap * sizeof **out);
			}
			(*out)[*n].key = key;
			(*out)[*n].value = value;
			(*n)++;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
fail:
	free_query(*out, *n);
	*out = NULL;
	*n = 0;
	return -1;
}

char *request_cookie(const char *header, const char *name, int *repeated)
{
	*repeated = 0;
	if (!header)
		return NULL;
	size_t nlen = strlen(name);
	char *found = NULL;
	const char *p = header;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
			if (found) {
				*repeated = 1;
				free(found);
				return NULL;
			}
			const char *v = p + nlen + 1;
			size_t vlen = len - nlen - 1;
			while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			found = xstrndup(v, vlen);
		}
		p += len;
	}
	return found;
}

char *request_client_addr(const char *remote)
{
	return xstrdup(remote && *remote ? remote : "unknown");
}

char *request_client_net(const char *addr)
{
	if (!addr)
		return xstrdup("unknown");
	char text[INET6_ADDRSTRLEN + 4];
	size_t len = strcspn(addr, "%"); /* a link-local zone (fe80::1%eth0) names no other client */
	if (len >= sizeof text - 4)
		return xstrdup(addr);
	memcpy(text, addr, len);
	text[len] = '\0';
	unsigned char raw[16];
	char out[INET6_ADDRSTRLEN + 4];
	if (inet_pton(AF_INET, text, raw) == 1 && inet_ntop(AF_INET, raw, out, sizeof out))
		return xstrdup(out);
	if (inet_pton(AF_INET6, text, raw) != 1)
		return xstrdup(addr);
	static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(raw, v4_mapped, sizeof v4_mapped) == 0 && inet_ntop(AF_INET, raw + 12, out, sizeof out))
		return xstrdup(out);
	/* One site or home gets a /64 (RFC 6177) and picks any address in it. */
	memset(raw + 8, 0, 8);
	if (!inet_ntop(AF_INET6, raw, out, INET6_ADDRSTRLEN))
		return xstrdup(addr);
	strcat(out, "/64");
	return xstrdup(out);
}

static int env_name_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	for (;; x++, y++) {
		int cx = *x == '=' ? '\0' : (unsigned char)*x, cy = *y == '=' ? '\0' : (unsigned char)*y;
		if (cx != cy || cx == '\0')
			return cx - cy;
	}
}

int request_env_repeated(char *const *envp)
{
	size_t n = 0;
	while (envp && envp[n])
		n++;
	if (n < 2)
		return 0;
	const char **names = xmalloc(n * sizeof *names);
	for (size_t i = 0; i < n; i++)
		names[i] = envp[i];
	qsort(names, n, sizeof *names, env_name_cmp);
	int repeated = 0;
	for (size_t i = 1; i < n && !repeated; i++)
		repeated = env_name_cmp(&names[i - 1], &names[i]) == 0;
	free(names);
	return repeated;
}

/* Reads exactly len bytes; returns 0 or -1. */
static int read_body(int fd, char *dst, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, dst + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int parse(struct request *req, const struct request_input *in, const char **err, int upload)
{
	memset(req, 0, sizeof *req);
	char *const *vars = in->vars;
	req->vars = vars;
	req->body_fd = in->body_fd;
	req->cancelled = in->cancelled;
	req->now = wall_ms();
	req->client_addr = request_client_addr(var_or_null(vars, "REMOTE_ADDR"));
	req->client_net = request_client_net(req->client_addr);
	/* lighttpd makes X-Forwarded-For and X_Forwarded_For (any non-alphanumeric
	 * spelling) the same variable, and which copy a reader sees differs
	 * between CGI and SCGI: a request that carries one twice is refused. */
	if (request_env_repeated(vars)) {
		*err = "The request carries a header twice under different spellings (such as X-Forwarded-For "
		       "and X_Forwarded_For); send each header once.";
		return 400;
	}
	req->method = var(vars, "REQUEST_METHOD");
	req->path_info = var(vars, "PATH_INFO");
	req->user_agent = var(vars, "HTTP_USER_AGENT");
	req->origin = var_or_null(vars, "HTTP_ORIGIN");
	req->sec_fetch_site = var_or_null(vars, "HTTP_SEC_FETCH_SITE");
	req->csrf_header = var_or_null(vars, "HTTP_X_CSRF_TOKEN");
	req->authorization = var_or_null(vars, "HTTP_AUTHORIZATION");
	req->content_type = var_or_null(vars, "CONTENT_TYPE");
	req->accept = var(vars, "HTTP_ACCEPT");
	req->host = var_or_null(vars, "HTTP_HOST");

	if (request_parse_query(var(vars, "QUERY_STRING"), &req->query, &req->n_query, err) < 0)
		return 400;

	const char *cl = var_or_null(vars, "CONTENT_LENGTH");
	if (cl) {
		/* 1*DIGIT (RFC 9110): strtoull() alone would take a sign or spaces. */
		if (strspn(cl, "0123456789") != strlen(cl)) {
			*err = "Content-Length is malformed.";
			return 400;
		}
		errno = 0;
		unsigned long long len = strtoull(cl, NULL, 10);
		if (upload) {
			if (errno == ERANGE || len > LLONG_MAX) {
				*err = "Content-Length is too large.";
				return 413;
			}
			req->upload_len = (long long)len;
			return 0;
		}
		if (errno == ERANGE || len > REQUEST_BODY_MAX) {
			*err = "The request body is too large (the limit is 64 KiB).";
			return 413;
		}
		req->body = xmalloc((size_t)len + 1);
		req->body_len = (size_t)len;
		if (read_body(in->body_fd, req->body, req->body_len) < 0) {
			*err = "The request body ended early.";
			return 400;
		}
		req->body[req->body_len] = '\0';
		if (!utf8_valid(req->body, req->body_len)) {
			*err = "The request body is not valid UTF-8.";
			return 400;
		}
	}
	if (upload) {
		*err = "Send the file with a Content-Length.";
		return 411;
	}
	return 0;
}

int request_parse(struct request *req, const struct request_input *in, const char **err)
{
	return parse(req, in, err, 0);
}

int request_parse_upload(struct request *req, const struct request_input *in, const char **err)
{
	return parse(req, in, err, 1);
}

void request_free(struct request *req)
{
	free_query(req->query, req->n_query);
	free(req->session_cookie);
	free(req->client_addr);
	free(req->client_net);
	free(req->body);
	jsonx_free_members(&req->json);
	free(req->username);
	free(req->session_hash);
	free(req->role);
	free(req->token_name);
	memset(req, 0, sizeof *req);
}
