/* request.h: one parsed request, passed to every handler.
 *
 * Contract: the transport that received the request describes it as data
 * (struct request_input): its CGI variables, the descriptor its body is read
 * from, the one its response goes to, and a cancellation flag the transport
 * sets. A CGI run fills it from its environment and fds 0 and 1; the SCGI
 * server from the netstring it read and the connection (scgi.h). Nothing on
 * the request path reads or changes the process environment.
 * request_parse() validates what it got (a variable given twice, size,
 * UTF-8, percent-encoding, duplicate query keys) and reads the body once;
 * request_free() releases it. Handlers read typed values only; nothing here
 * is global. */
#ifndef AIF_REQUEST_H
#define AIF_REQUEST_H
#include <signal.h>
#include <stddef.h>

#include "json.h"

#define REQUEST_BODY_MAX (64 * 1024)

struct query_param {
	char *key, *value; /* decoded, valid UTF-8, NUL-free */
};

struct config;
struct store;

/* A request as its transport received it (all borrowed from the transport). */
struct request_input {
	char *const *vars;           /* the CGI variables, "NAME=value", NULL-terminated, every
	                              * copy kept (a name sent twice is refused) */
	int body_fd;                 /* CONTENT_LENGTH bytes of body are read from here */
	int out_fd;                  /* the response is written here */
	volatile sig_atomic_t *cancelled; /* set to 1 by the transport when the client went away
	                              * or the server stops; NULL when nothing can cancel */
};

struct request {
	char *const *vars;           /* the transport's variables (request_var()) */
	int body_fd;                 /* where an upload route reads its body (ROUTE_UPLOAD, app.h) */
	volatile sig_atomic_t *cancelled; /* the transport's flag; read it with request_cancelled() */
	const char *method;          /* REQUEST_METHOD */
	const char *path_info;       /* PATH_INFO, "" when none */
	struct query_param *query;
	size_t n_query;
	char *session_cookie;        /* value of the session cookie, NULL when absent or repeated */
	const char *user_agent, *origin, *sec_fetch_site, *csrf_header;
	const char *content_type, *accept, *host;
	const char *authorization;   /* HTTP_AUTHORIZATION, NULL when absent (auth.h) */
	char *client_addr;           /* REMOTE_ADDR: lighttpd's mod_extforward sets it from Caddy's
	                              * X-Forwarded-For, trusting only TRUSTED_PROXIES (lighttpd.conf) */
	char *client_net;            /* the rate-limit key: the IPv4 address, or the IPv6 /64 */
	char *body;
	size_t body_len;
	struct jv_object json;       /* the parsed body, when the route takes one */
	long long id;                /* the {id} of /api/<name>/{id}, when routed so */
	long long now;               /* ms since the epoch, read once */
	long long upload_len;        /* an upload route's Content-Length; its body is left on fd 0 */

	/* Filled in by the application runner (app.c) before a handler runs. */
	const struct config *cfg;
	struct store *store;
	long long user_id;           /* 0 when not logged in */
	char *username;
	char *session_hash;          /* hash of the session token */
	char *role;                  /* "admin" or "user" when logged in (auth.h) */
	int auth_kind;               /* enum auth_kind (auth.h): how the user was recognised */
	long long token_id;          /* AUTH_TOKEN: the API token's id, its name and whether */
	char *token_name;            /* its gateway calls are kept as conversations */
	int token_store;
};

/* Fills req from the transport's variables and reads the body from
 * in->body_fd. Returns 0, or an HTTP status (400, 411, 413) with a message
 * in *err. */
int request_parse(struct request *req, const struct request_input *in, const char **err);
/* As request_parse(), for a route that streams its own body (ROUTE_UPLOAD,
 * app.h): checks Content-Length (411 when absent) and keeps it in
 * upload_len, without the 64 KiB limit and without reading the body. */
int request_parse_upload(struct request *req, const struct request_input *in, const char **err);
void request_free(struct request *req);

/* The value of the transport's variable name ("HTTP_COOKIE"), NULL when absent. */
const char *request_var(char *const *vars, const char *name);
/* 1 once the transport said the client went away or the server stops. */
int request_cancelled(const struct request *req);

/* Parsers exposed for unit tests. */
int request_parse_query(const char *qs, struct query_param **out, size_t *n, const char **err);
/* Returns the single value of cookie name in a Cookie header (fresh string),
 * NULL when absent; *repeated is set when it appears more than once. */
char *request_cookie(const char *header, const char *name, int *repeated);
/* Client address: REMOTE_ADDR's value (remote), or "unknown" when there is
 * none. Headers are never read: lighttpd already put the address Caddy saw
 * there (lighttpd.conf, mod_extforward). Returns a fresh string. */
char *request_client_addr(const char *remote);
/* The network a per-address limit counts: an IPv4 address (also when written
 * as ::ffff:a.b.c.d), or an IPv6 address's /64 as "2001:db8:1:2::/64", since
 * one host may use any address of its /64. Anything else is returned as it
 * is. Returns a fresh string. */
char *request_client_net(const char *addr);
/* 1 when two entries of envp (NAME=value, NULL-terminated) have the same
 * NAME, else 0. */
int request_env_repeated(char *const *envp);
/* Parses a positive decimal id without sign, spaces or leading zeros. */
int request_parse_id(const char *s, long long *out);

#endif
