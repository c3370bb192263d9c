/* app.c: the request runner: checks first, then the handler (see app.h). */
#define _GNU_SOURCE
#include "app.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "alloc.h"
#include "buf.h"
#include "auth.h"
#include "config.h"
#include "csrf.h"
#include "log.h"
#include "password.h"
#include "sandbox.h"
#include "session.h"
#include "store.h"
#include "utf8.h"

void app_store_error(struct response *res, int rc)
{
	if (rc == STORE_BUSY)
		response_error(res, 503, "The server is busy; try again in a moment.");
	else if (rc == STORE_READONLY)
		response_error(res, 503, "The server cannot save data right now; try again later.");
	else if (rc == STORE_UNAVAILABLE)
		response_error(res, 503, "The database is unavailable; try again shortly.");
	else
		response_error(res, 500, "Something went wrong on our side; try again.");
}

void app_too_many(struct response *res, long retry_after, const char *what)
{
	char secs[24], msg[200];
	snprintf(secs, sizeof secs, "%ld", retry_after);
	response_header(res, "Retry-After", secs);
	if (retry_after >= 120)
		snprintf(msg, sizeof msg, "%s; try again in %ld minutes.", what, (retry_after + 59) / 60);
	else
		snprintf(msg, sizeof msg, "%s; try again in %ld second%s.", what, retry_after, retry_after == 1 ? "" : "s");
	response_error(res, 429, msg);
}

void app_set_session_cookie(const struct request *req, struct response *res, const char *token)
{
	char *cookie = session_cookie(req->cfg, token);
	response_header(res, "Set-Cookie", cookie);
	free(cookie);
}

const char *app_field_string(const struct request *req, const char *name, size_t *len)
{
	const struct jv_member *m = jsonx_member(&req->json, name);
	if (!m || m->type != JV_STRING)
		return NULL;
	if (len)
		*len = m->len;
	return m->str;
}

int app_field_bool(const struct request *req, const char *name)
{
	const struct jv_member *m = jsonx_member(&req->json, name);
	return m && m->type == JV_BOOL ? m->boolean : 0;
}

long long app_field_id(const struct request *req, const char *name)
{
	const struct jv_member *m = jsonx_member(&req->json, name);
	return m && m->type == JV_INT ? m->num : 0;
}

const char *app_query(const struct request *req, const char *name)
{
	for (size_t i = 0; i < req->n_query; i++)
		if (strcmp(req->query[i].key, name) == 0)
			return req->query[i].value;
	return NULL;
}

long long app_query_number(const struct request *req, const char *name, long long dflt)
{
	const char *v = app_query(req, name);
	long long n;
	return v && request_parse_id(v, &n) == 0 ? n : dflt;
}

/* 1 when word is one of choices ("md|json"). */
static int is_choice(const char *choices, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = choices; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && memcmp(p, word, n) == 0)
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

/* Checks the query against the route's declared parameters. */
static const char *params_check(const struct route *r, const struct request *req, char *msg, size_t msglen)
{
	for (size_t i = 0; i < req->n_query; i++) {
		const char *k = req->query[i].key, *v = req->query[i].value;
		const struct param *p = NULL;
		for (const struct param *g = r->params; g && g->name; g++)
			if (strcmp(g->name, k) == 0)
				p = g;
		if (!p) {
			struct buf names = BUF_INIT;
			for (const struct param *g = r->params; g && g->name; g++) {
				if (names.len)
					buf_append_str(&names, g[1].name ? ", " : " and ");
				buf_append_str(&names, g->name);
			}
			size_t cut = utf8_prefix(k, strlen(k), 40);
			if (names.len)
				snprintf(msg, msglen, "Unknown query parameter '%.*s'; this address takes %s.", (int)cut, k,
					 buf_str(&names));
			else
				snprintf(msg, msglen, "Unknown query parameter '%.*s'; this address takes none.", (int)cut, k);
			buf_free(&names);
			return msg;
		}
		long long n;
		int ok = 1;
		if (p->type == PARAM_ID)
			ok = request_parse_id(v, &n) == 0;
		else if (p->type == PARAM_COUNT)
			ok = request_parse_id(v, &n) == 0 && n <= p->max;
		else if (p->type == PARAM_CHOICE)
			ok = is_choice(p->choices, v);
		if (!ok) {
			snprintf(msg, msglen, "%s", p->invalid ? p->invalid : "A query parameter has a bad value.");
			return msg;
		}
	}
	return NULL;
}

/* Finds the route for method and path; sets *status to 404 or 405 if none. */
static const struct route *route_find(const struct endpoint *ep, const char *method, const char *path,
				      struct request *req, int *status, struct response *res)
{
	int want_id = 0;
	const char *suffix = NULL; /* what follows /<id>/ */
	if (path[0] == '\0' || strcmp(path, "/") == 0) {
		want_id = 0;
	} else {
		char id[24];
		const char *slash = path[0] == '/' ? strchr(path + 1, '/') : NULL;
		size_t n = slash ? (size_t)(slash - path - 1) : strlen(path) - 1;
		if (path[0] != '/' || n == 0 || n >= sizeof id) {
			*status = 404;
			return NULL;
		}
		memcpy(id, path + 1, n);
		id[n] = '\0';
		if (request_parse_id(id, &req->id) != 0) {
			*status = 404;
			return NULL;
		}
		want_id = 1;
		suffix = slash ? slash + 1 : NULL;
	}
	struct buf allow = BUF_INIT;
	const struct route *found = NULL;
	for (const struct route *r = ep->routes; r->method; r++) {
		if (!!(r->flags & ROUTE_ID) != want_id)
			continue;
		if (!r->suffix != !suffix || (suffix && strcmp(r->suffix, suffix) != 0))
			continue;
		if (strcmp(r->method, method) == 0)
			found = r;
		if (allow.len)
			buf_append_str(&allow, ", ");
		buf_append_str(&allow, r->method);
	}
	if (!found)
		*status = allow.len ? 405 : 404;
	if (!found && allow.len)
		response_header(res, "Allow", buf_str(&allow));
	buf_free(&allow);
	return found;
}

static int is_json_type(const char *ct)
{
	if (!ct)
		return 0;
	size_t n = strlen("application/json");
	return strncasecmp(ct, "application/json", n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Checks the parsed body against the route's field table. */
static const char *fields_check(const struct route *r, const struct jv_object *obj, char *msg, size_t msglen)
{
	for (size_t i = 0; i < obj->count; i++) {
		const struct jv_member *m = &obj->members[i];
		const struct field *f = NULL;
		for (const struct field *g = r->fields; g && g->name; g++)
			if (strcmp(g->name, m->key) == 0)
				f = g;
		if (!f) {
			size_t cut = utf8_prefix(m->key, strlen(m->key), 40);
			snprintf(msg, msglen, "Unknown field '%.*s' in the request.", (int)cut, m->key);
			return msg;
		}
		if (f->type == FIELD_STRING && m->type != JV_STRING) {
			snprintf(msg, msglen, "Field '%s' must be a string.", f->name);
			return msg;
		}
		if (f->type == FIELD_BOOL && m->type != JV_BOOL && m->type != JV_NULL) {
			snprintf(msg, msglen, "Field '%s' must be true or false.", f->name);
			return msg;
		}
		if (f->type == FIELD_ID && !(m->type == JV_NULL || (m->type == JV_INT && m->num > 0))) {
			snprintf(msg, msglen, "Field '%s' must be a positive whole number.", f->name);
			return msg;
		}
	}
	for (const struct field *g = r->fields; g && g->name; g++) {
		const struct jv_member *m = jsonx_member(obj, g->name);
		if (g->required && (!m || m->type == JV_NULL)) {
			snprintf(msg, msglen, "Field '%s' is required.", g->name);
			return msg;
		}
	}
	return NULL;
}

/* Gives up what a request process does not need before it reads the
 * request (sandbox.h): files outside the instance and database directories
 * (read-write), www/ and the program's own directory (read-only).
 * AIFACADE_SANDBOX=off leaves it out, for debugging tools that must open
 * or run more (README, "Settings"). Returns 0, or -1 when it failed. */
static int enter_sandbox(const struct config *cfg)
{
	const char *off = getenv("AIFACADE_SANDBOX");
	if (off && strcmp(off, "off") == 0)
		return 0;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	char *www = xasprintf("%s/www", cfg->root ? cfg->root : ".");
	char *db_dir = NULL;
	if (cfg->database && strstr(cfg->database, "://") == NULL) {
		const char *last = strrchr(cfg->database, '/');
		db_dir = last ? xstrndup(cfg->database, (size_t)(last - cfg->database)) : xstrdup(".");
		if (*db_dir == '\0') {
			free(db_dir);
			db_dir = xstrdup("/");
		}
	}
	const char *read_write[] = {cfg->instance_dir ? cfg->instance_dir : ".", db_dir, NULL};
	const char *read_only[] = {www, exe[0] ? exe : NULL, NULL};
	enum sandbox_result rc = sandbox_enter(read_write, read_only);
	free(www);
	free(db_dir);
	if (rc == SANDBOX_FAILED) {
		log_error("cannot enter the sandbox (%s); set AIFACADE_SANDBOX=off to run without it", strerror(errno));
		return -1;
	}
	return 0;
}

/* What the process keeps between requests (app.h). */
static struct config app_cfg;
static int app_cfg_loaded;
static int app_sandboxed;
static int app_store_kept_mode;
static struct store *app_kept_store;
static int app_signals_owned;
/* The flag SIGTERM and SIGHUP set in a CGI run or a forked SCGI child. */
static volatile sig_atomic_t *volatile app_signal_flag;

static void on_cancel_signal(int sig)
{
	(void)sig;
	volatile sig_atomic_t *flag = app_signal_flag;
	if (flag)
		*flag = 1;
}

void app_cancel_on_signals(const struct request *req)
{
	if (app_signals_owned || !req->cancelled)
		return;
	app_signal_flag = req->cancelled;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_cancel_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void app_signals_are_transports(void)
{
	app_signals_owned = 1;
}

void app_keep_store(int keep)
{
	app_store_kept_mode = keep;
}

void app_release(void)
{
	store_close(app_kept_store);
	app_kept_store = NULL;
	if (app_cfg_loaded)
		config_free(&app_cfg);
	app_cfg_loaded = 0;
}

/* Loads the configuration when none is loaded or its files changed; a
 * sandboxed process cannot read them again and keeps the one it has
 * (*stale is then set: the transport replaces the process). */
static const struct config *config_current(int *stale)
{
	if (app_cfg_loaded && !config_changed(&app_cfg))
		return &app_cfg;
	if (app_cfg_loaded && app_sandboxed) {
		*stale = 1;
		return &app_cfg;
	}
	if (app_cfg_loaded) {
		log_info("the configuration changed; reading it again");
		config_free(&app_cfg);
		app_cfg_loaded = 0;
		store_close(app_kept_store); /* DATABASE may have changed */
		app_kept_store = NULL;
	}
	char msg[512];
	if (sodium_init() < 0) { /* the key derivation and a generated key use it */
		log_error("libsodium failed to initialise");
		return NULL;
	}
	if (config_load(&app_cfg, msg, sizeof msg) < 0) {
		log_error("configuration: %s", msg);
		config_free(&app_cfg);
		return NULL;
	}
	app_cfg_loaded = 1;
	password_set_cost(app_cfg.password_cost);
	return &app_cfg;
}

const struct config *app_config(void)
{
	int stale = 0;
	return config_current(&stale);
}

/* What one request found: the route's flags and whether the process stays sound. */
struct run_state {
	int replace; /* APP_REPLACE */
};

static void run_checks_and_handler(const struct endpoint *ep, const struct request_input *in, struct request *req,
				   struct response *res, struct run_state *state)
{
	const char *err = NULL;
	char msg[240];
	int status = 0;
	const char *method = request_var(in->vars, "REQUEST_METHOD");
	const char *path = request_var(in->vars, "PATH_INFO");
	const struct route *r = route_find(ep, method ? method : "", path ? path : "", req, &status, res);
	if (!r) {
		if (res->openai_errors && status == 404)
			response_error(res, 404, "Unknown address: this server's OpenAI-compatible API offers POST "
				       "/v1/chat/completions and GET /v1/models.");
		else
			response_error(res, status, status == 404 ? "Not found." : "Method not allowed.");
		return;
	}
	long long id = req->id;
	int stale = 0;
	const struct config *cfg = config_current(&stale);
	if (stale)
		state->replace = 1;
	if (!cfg) {
		response_error(res, 500, "The server is misconfigured; the operator's log says what to fix.");
		return;
	}
	if (!app_sandboxed) {
		if (enter_sandbox(cfg) < 0) {
			response_error(res, 500, "The server is misconfigured; the operator's log says what to fix.");
			return;
		}
		app_sandboxed = 1;
	}
	if (r->flags & ROUTE_UPLOAD)
		status = request_parse_upload(req, in, &err);
	else
		status = request_parse(req, in, &err);
	req->id = id;
	req->cfg = cfg;
	if (status) {
		response_error(res, status, err);
		return;
	}
	if ((req->body_len > 0 || req->upload_len > 0) && !is_json_type(req->content_type)) {
		response_error(res, 415, "Send the request body as application/json.");
		return;
	}
	const int openai = (r->flags & ROUTE_OPENAI) != 0;
	if (!openai && strcmp(r->method, "GET") != 0 && csrf_cross_site(req->origin, req->sec_fetch_site, req->host)) {
		log_warn("refused a cross-site %s from %s", r->method, req->client_addr);
		response_error(res, 403, "Cross-site requests are not allowed.");
		return;
	}
	if (r->flags & ROUTE_NO_STORE) {
		if ((err = params_check(r, req, msg, sizeof msg)) != NULL)
			response_error(res, 400, err);
		else
			r->handler(req, res);
		return;
	}
	if (app_kept_store) {
		req->store = app_kept_store;
		app_kept_store = NULL;
	} else {
		char dberr[512];
		if (store_open(cfg->database, &req->store, dberr, sizeof dberr) < 0) {
			log_error("%s", dberr);
			response_error(res, 503, "The database is unavailable; try again shortly.");
			return;
		}
	}
	/* Cookie, API token or trusted header, and the account's status (auth.h). */
	if (openai ? auth_attach_token(req, res) < 0 : auth_attach(req, res, (r->flags & (ROUTE_AUTH | ROUTE_ADMIN)) != 0) < 0)
		return;
	if ((r->flags & ROUTE_ADMIN) && (!req->role || strcmp(req->role, "admin") != 0)) {
		response_error(res, 403, "Only an administrator may do this.");
		return;
	}
	/* A bearer token is no cookie: no browser sends it by itself. */
	if ((r->flags & ROUTE_CSRF) && req->auth_kind != AUTH_TOKEN &&
	    !csrf_valid(cfg, req->session_hash, req->csrf_header)) {
		response_error(res, 403, "Missing or invalid CSRF token; reload the page and try again.");
		return;
	}
	if ((err = params_check(r, req, msg, sizeof msg)) != NULL) {
		response_error(res, 400, err);
		return;
	}
	/* A route without fields still accepts an empty object ({}), as
	 * browsers' fetch() callers often send one. */
	if (!openai && ((r->flags & ROUTE_BODY) || req->body_len > 0)) {
		const char *text = req->body_len ? req->body : "{}";
		size_t len = req->body_len ? req->body_len : 2;
		if (jsonx_parse_object(text, len, &req->json, &err) < 0) {
			response_error(res, 400, err);
			return;
		}
		if ((err = fields_check(r, &req->json, msg, sizeof msg)) != NULL) {
			response_error(res, 400, err);
			return;
		}
	}
	r->handler(req, res);
}

int app_serve(const struct endpoint *ep, const struct request_input *in)
{
	log_set_program(ep->name);
	struct request req;
	struct response res;
	struct run_state state = {0};
	memset(&req, 0, sizeof req);
	req.vars = in->vars;
	req.cancelled = in->cancelled;
	response_init(&res, in->out_fd);
	for (const struct route *r = ep->routes; r->method; r++)
		if (r->flags & ROUTE_OPENAI)
			res.openai_errors = 1;
	/* Out of memory before the head is sent answers 500 here (alloc.h). */
	alloc_reply_to(in->out_fd);
	if (sodium_init() < 0) {
		log_error("libsodium failed to initialise");
		response_error(&res, 500, "Something went wrong on our side; try again.");
	} else {
		run_checks_and_handler(ep, in, &req, &res, &state);
	}
	if (req.store && app_store_kept_mode)
		store_end_request(req.store);
	int open_tx = req.store ? store_in_transaction(req.store) : 0;
	if (open_tx) {
		/* A handler that failed halfway leaves nothing in the database;
		 * a persistent process does not trust what else it left. A read
		 * snapshot (the export's) simply ends here. */
		store_rollback(req.store);
		if (open_tx == 2)
			state.replace = 1;
	}
	if (res.status == 500 && !res.streaming)
		state.replace = 1;
	int rc = response_send(&res);
	alloc_reply_to(-1);
	if (req.store && app_store_kept_mode && !state.replace)
		app_kept_store = req.store;
	else
		store_close(req.store);
	req.store = NULL;
	request_free(&req);
	response_free(&res);
	return (rc == 0 ? APP_SENT : APP_CLIENT_GONE) | (state.replace ? APP_REPLACE : 0);
}

int app_run(const struct endpoint *ep)
{
	static volatile sig_atomic_t cancelled;
	struct request_input in = {environ, 0, 1, &cancelled};
	int outcome = app_serve(ep, &in);
	app_release();
	return outcome & APP_CLIENT_GONE ? 1 : 0;
}
