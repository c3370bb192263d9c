/* app.h: the request runner every endpoint program hands itself to.
 *
 * Contract: an endpoint declares its routes (method, whether it takes an
 * {id}, whether it needs a session and a CSRF token, and the JSON fields it
 * accepts). app_run() answers 405, 404, 415, 413 and 400 before any handler
 * runs, refuses cross-site writes (403), loads the configuration, opens the
 * store, resolves the session (401) and checks the CSRF token (403); only
 * then does it call the handler with a request whose body fields are
 * present, typed and unrepeated. The handler fills the response; app_run()
 * sends it. */
#ifndef AIF_APP_H
#define AIF_APP_H

#include "request.h"
#include "response.h"

enum route_flag {
	ROUTE_AUTH = 1,     /* a valid session is required (401) */
	ROUTE_CSRF = 2,     /* X-CSRF-Token must match the session (403) */
	ROUTE_ID = 4,       /* the path is /api/<name>/{id} */
	ROUTE_BODY = 8,     /* a JSON object body is read (may be empty); without it only {} is accepted */
	ROUTE_NO_STORE = 16,/* the handler opens no database (health opens its own) */
	ROUTE_UPLOAD = 32,  /* the handler streams the body from fd 0 itself (req->upload_len);
			     * no 64 KiB limit, no JSON fields (import) */
	ROUTE_ADMIN = 64,   /* an admin's session or token is required (401, else 403) */
};

enum field_type {
	FIELD_STRING,       /* a JSON string */
	FIELD_ID,           /* a positive integer, or null for absent */
};

struct field {
	const char *name;
	enum field_type type;
	int required;
};

struct route {
	const char *method;         /* NULL ends the table */
	int flags;
	const struct field *fields; /* NULL-named entry ends it; NULL for none */
	void (*handler)(struct request *req, struct response *res);
};

struct endpoint {
	const char *name;           /* program and log name, e.g. "login" */
	const struct route *routes;
};

/* Runs one CGI request; returns the process exit status. */
int app_run(const struct endpoint *ep);

/* Answers a store failure: 503 when busy or unwritable, else 500. */
void app_store_error(struct response *res, int rc);
/* The field's string, or NULL when absent (fields were validated). */
const char *app_field_string(const struct request *req, const char *name, size_t *len);
/* The field's id, or 0 when absent or null. */
long long app_field_id(const struct request *req, const char *name);

/* Answers 429 with Retry-After and "<what>; try again in N seconds." */
void app_too_many(struct response *res, long retry_after, const char *what);
/* Sets the session cookie (token) or expires it (NULL). */
void app_set_session_cookie(const struct request *req, struct response *res, const char *token);

#endif
