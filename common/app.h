/* app.h: the request runner every endpoint program hands itself to.
 *
 * Contract: an endpoint declares its routes (method, whether it takes an
 * {id}, whether it needs a session and a CSRF token, the JSON fields and the
 * query parameters it accepts). app_serve() answers 405, 404, 415, 413 and
 * 400 before any handler runs, refuses cross-site writes (403), loads the
 * configuration, opens the store, resolves the session (401) and checks the
 * CSRF token (403); only then does it call the handler with a request whose
 * body fields and query parameters are known, typed and unrepeated. The
 * handler fills the response; app_serve() sends it.
 *
 * What a process needs once (the configuration, libsodium, the sandbox, and
 * in persistent mode the database connection with its prepared statements)
 * is kept in the process; what a request needs is in struct request and
 * ends with it. */
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
	ROUTE_OPENAI = 128, /* the OpenAI-compatible API (README, "The OpenAI-compatible API"):
			     * only an API token authenticates (auth_attach_token(), so no
			     * CSRF or cross-site check), errors take OpenAI's shape
			     * (response.h) and the handler parses its own JSON body */
};

enum field_type {
	FIELD_STRING,       /* a JSON string */
	FIELD_ID,           /* a positive integer, or null for absent */
	FIELD_BOOL,         /* true or false, or null for absent */
};

struct field {
	const char *name;
	enum field_type type;
	int required;
};

enum param_type {
	PARAM_ID,           /* a positive whole number (an id) */
	PARAM_COUNT,        /* a whole number from 1 to max */
	PARAM_STRING,       /* any text (decoded, valid UTF-8, no NUL) */
	PARAM_CHOICE,       /* one of the words of choices ("md|json") */
};

/* A query parameter a route accepts (kcgi's kvalid is the model). A route
 * answers 400 for a parameter it does not declare and for a bad value. */
struct param {
	const char *name;           /* NULL ends the table */
	enum param_type type;
	long long max;              /* PARAM_COUNT: the largest value */
	const char *choices;        /* PARAM_CHOICE: the words allowed, separated by '|' */
	const char *invalid;        /* the 400's message for a bad value */
};

struct route {
	const char *method;         /* NULL ends the table */
	int flags;
	const struct field *fields; /* NULL-named entry ends it; NULL for none */
	void (*handler)(struct request *req, struct response *res);
	const struct param *params; /* NULL-named entry ends it; NULL: no query parameter is accepted */
	const char *suffix;         /* after /<id> (ROUTE_ID): "stream" takes /<id>/stream; NULL: /<id> alone */
};

struct endpoint {
	const char *name;           /* program and log name, e.g. "login" */
	const struct route *routes;
};

/* Runs one CGI request (the environment, fds 0 and 1; SIGTERM and SIGHUP
 * cancel it once app_cancel_on_signals() was called); returns the process
 * exit status. */
int app_run(const struct endpoint *ep);

/* What app_serve() tells its transport, a set of bits. */
enum app_outcome {
	APP_SENT = 0,           /* answered; the process may take the next request */
	APP_CLIENT_GONE = 1,    /* the response could not be written whole */
	APP_REPLACE = 2,        /* the request failed in a way that may have left state in
	                         * this process (a transaction left open, a 5xx), or the
	                         * settings changed under a sandboxed process: a persistent
	                         * process ends after this request and a new one takes over */
};

/* Runs one request the transport received; returns enum app_outcome bits. */
int app_serve(const struct endpoint *ep, const struct request_input *in);

/* Persistent mode (scgi.h): keep the database connection and its prepared
 * statements between requests. Set once, before the first request. */
void app_keep_store(int keep);
/* Releases what the process kept (the configuration, the store). */
void app_release(void);
/* Loads the configuration, or loads it again when .env, a *_FILE or the
 * secret key file changed since (config_changed()). Returns it, or NULL with
 * the cause logged. The configuration belongs to the process. */
const struct config *app_config(void);
/* Makes SIGTERM and SIGHUP set the request's cancellation flag instead of
 * ending the process (a CGI run or a forked SCGI child); a persistent
 * server's signals are its own (scgi.c), and then this does nothing. */
void app_cancel_on_signals(const struct request *req);
/* Called by a transport that handles SIGTERM itself (the persistent server). */
void app_signals_are_transports(void);

/* Answers a store failure: 503 when busy or unwritable, else 500. */
void app_store_error(struct response *res, int rc);
/* The field's string, or NULL when absent (fields were validated). */
const char *app_field_string(const struct request *req, const char *name, size_t *len);
/* The FIELD_BOOL field's value, 0 when absent or null. */
int app_field_bool(const struct request *req, const char *name);
/* The field's id, or 0 when absent or null. */
long long app_field_id(const struct request *req, const char *name);
/* The query parameter's value, or NULL when absent (parameters were validated). */
const char *app_query(const struct request *req, const char *name);
/* A PARAM_ID or PARAM_COUNT parameter's number, or dflt when absent. */
long long app_query_number(const struct request *req, const char *name, long long dflt);

/* Answers 429 with Retry-After and "<what>; try again in N seconds." */
void app_too_many(struct response *res, long retry_after, const char *what);
/* Sets the session cookie (token) or expires it (NULL). */
void app_set_session_cookie(const struct request *req, struct response *res, const char *token);

#endif
