/* auth.c: recognising the user: cookie, API token or trusted header (see auth.h). */
#include "auth.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "account.h"
#include "alloc.h"
#include "app.h"
#include "config.h"
#include "log.h"
#include "password.h"
#include "request.h"
#include "session.h"
#include "store.h"

char *auth_token_new(void)
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	size_t len = sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *b64 = xmalloc(len);
	sodium_bin2base64(b64, len, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	char *token = xasprintf("%s%s", AUTH_TOKEN_PREFIX, b64);
	sodium_memzero(b64, strlen(b64));
	free(b64);
	return token;
}

char *auth_token_hash(const struct config *cfg, const char *token)
{
	return session_hash(cfg, "api-token", token);
}

const char *auth_status_refusal(const char *status, int *status_code)
{
	if (!status || strcmp(status, "active") == 0)
		return NULL;
	if (strcmp(status, "pending") == 0) {
		*status_code = 403;
		return "Your account is waiting for an administrator's approval; try again once they have approved it.";
	}
	*status_code = 401;
	return "This account has been disabled; ask the server's administrator.";
}

/* 1 when addr equals entry, or lies in entry's CIDR range. */
static int addr_matches(const char *addr, const char *entry)
{
	const char *slash = strchr(entry, '/');
	char net[64];
	size_t nlen = slash ? (size_t)(slash - entry) : strlen(entry);
	if (nlen >= sizeof net)
		return 0;
	memcpy(net, entry, nlen);
	net[nlen] = '\0';
	unsigned char a[16], n[16];
	int fam = strchr(net, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, net, n) != 1 || inet_pton(fam, addr, a) != 1)
		return 0;
	int bits = fam == AF_INET6 ? 128 : 32;
	if (slash) {
		char *end;
		long b = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || b < 0 || b > bits)
			return 0;
		bits = (int)b;
	}
	for (int i = 0; i < bits; i++) {
		int mask = 0x80 >> (i % 8);
		if ((a[i / 8] & mask) != (n[i / 8] & mask))
			return 0;
	}
	return 1;
}

int auth_from_trusted_proxy(const struct config *cfg, const char *remote_addr, const char *remote_port)
{
	if (!remote_addr || !cfg->trusted_proxies || !cfg->trusted_proxies[0])
		return 0;
	if (remote_port && strcmp(remote_port, "0") == 0)
		return 1; /* rewritten by mod_extforward: the peer was trusted (auth.h) */
	for (char **p = cfg->trusted_proxies; *p; p++)
		if (addr_matches(remote_addr, *p))
			return 1;
	return 0;
}

void auth_audit(const struct request *req, const char *actor, const char *action, const char *target,
		const char *detail)
{
	if (!actor)
		actor = req->username;
	if (store_audit_add(req->store, req->now, actor, action, target, req->client_addr, detail) != STORE_OK)
		log_warn("could not write the audit log entry '%s'", action);
}

/* Copies a resolved user into req. */
static void take_user(struct request *req, struct session *s, int kind)
{
	req->user_id = s->user_id;
	req->username = s->username;
	req->role = s->role;
	req->token_id = s->token_id;
	req->token_name = s->token_name;
	req->token_store = s->token_store;
	s->username = s->role = s->token_name = NULL;
	req->auth_kind = kind;
}

static int from_cookie(struct request *req, struct session *s)
{
	int repeated = 0;
	req->session_cookie = request_cookie(request_var(req->vars, "HTTP_COOKIE"), session_cookie_name(req->cfg), &repeated);
	if (!req->session_cookie)
		return STORE_NOTFOUND;
	return session_resolve_full(req->store, req->cfg, req->session_cookie, req->user_agent, req->now, s,
				    &req->session_hash);
}

static int from_bearer(struct request *req, struct session *s)
{
	const char *v = req->authorization + strlen("Bearer ");
	size_t plen = strlen(AUTH_TOKEN_PREFIX);
	if (strncmp(v, AUTH_TOKEN_PREFIX, plen) != 0 || strlen(v) != plen + 43)
		return STORE_NOTFOUND;
	char *hash = auth_token_hash(req->cfg, v);
	int rc = store_token_find(req->store, hash, req->now, s);
	free(hash);
	return rc;
}

/* The trusted header's value, from the CGI variable HTTP_<NAME>. */
static const char *trusted_header_value(const struct request *req, const char *name)
{
	char var[128] = "HTTP_";
	size_t n = strlen(var);
	for (const char *p = name; *p && n < sizeof var - 1; p++)
		var[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	var[n] = '\0';
	const char *v = request_var(req->vars, var);
	return v && *v ? v : NULL;
}

/* Finds or (first sight) creates the header's user. */
static int from_header(struct request *req, const char *value, struct session *s, struct response *res)
{
	char *display = NULL, *key = NULL;
	if (account_check_username(value, strlen(value), &display, &key) != NULL) {
		log_warn("%s names no valid username; ignored", req->cfg->trusted_header);
		free(display);
		free(key);
		return STORE_NOTFOUND;
	}
	struct user u;
	int rc = store_user_find(req->store, key, &u);
	if (rc == STORE_NOTFOUND) {
		const struct config *cfg = req->cfg;
		if (cfg->registration == REG_CLOSED || cfg->registration == REG_INVITE) {
			response_error(res, 403, "There is no account for you on this server and it does not create one on "
				     "sign-in; ask its administrator.");
			free(display);
			free(key);
			return STORE_CONFLICT;
		}
		/* No password: only the proxy can log this account in, until an
		 * admin's reset link gives it one. */
		char hash[PASSWORD_HASH_MAX];
		unsigned char raw[32];
		randombytes_buf(raw, sizeof raw);
		char rnd[65];
		sodium_bin2hex(rnd, sizeof rnd, raw, sizeof raw);
		if (password_hash(rnd, strlen(rnd), hash) < 0) {
			free(display);
			free(key);
			return STORE_BUSY;
		}
		long long id;
		const char *role;
		rc = store_user_register(req->store, display, key, hash,
					 cfg->registration == REG_OPEN ? "active" : "pending", req->now, &id, &role);
		if (rc == STORE_OK) {
			log_info("created user %lld on first sign-in through %s", id, cfg->trusted_header);
			auth_audit(req, display, "register", display, "single sign-on");
		}
		if (rc == STORE_OK || rc == STORE_CONFLICT)
			rc = store_user_find(req->store, key, &u);
	}
	if (rc == STORE_OK) {
		s->user_id = u.id;
		s->username = u.username;
		s->role = u.role;
		s->status = u.status;
		s->last_seen = u.last_seen;
		u.username = u.role = u.status = NULL;
		/* A CSRF token needs something per user to bind to. */
		char *sub = xasprintf("%lld", u.id);
		req->session_hash = session_hash(req->cfg, "trusted-header", sub);
		free(sub);
	}
	store_user_free(&u);
	free(display);
	free(key);
	return rc;
}

int auth_attach(struct request *req, struct response *res, int required)
{
	struct session s = {0};
	int kind = AUTH_SESSION;
	int rc = from_cookie(req, &s);
	if (rc == STORE_NOTFOUND && req->authorization && strncmp(req->authorization, "Bearer ", 7) == 0) {
		kind = AUTH_TOKEN;
		rc = from_bearer(req, &s);
		if (rc == STORE_NOTFOUND) {
			response_header(res, "WWW-Authenticate", "Bearer");
			response_error(res, 401, "The API token is unknown or revoked; create a new one in Settings.");
			return -1;
		}
	}
	if (rc == STORE_NOTFOUND && req->cfg->trusted_header) {
		const char *v = trusted_header_value(req, req->cfg->trusted_header);
		if (v && auth_from_trusted_proxy(req->cfg, request_var(req->vars, "REMOTE_ADDR"),
						 request_var(req->vars, "REMOTE_PORT"))) {
			kind = AUTH_HEADER;
			rc = from_header(req, v, &s, res);
			if (rc == STORE_CONFLICT) {
				store_session_free(&s);
				return -1;
			}
		} else if (v) {
			log_warn("ignored %s from %s, which is not a trusted proxy", req->cfg->trusted_header,
				 req->client_addr);
		}
	}
	if (rc < 0) {
		store_session_free(&s);
		app_store_error(res, rc);
		return -1;
	}
	if (rc == STORE_OK) {
		int code = 0;
		const char *refusal = auth_status_refusal(s.status, &code);
		if (refusal) {
			/* Disabled: the sessions are gone already; this one goes too. */
			free(req->session_hash);
			req->session_hash = NULL;
			store_session_free(&s);
			if (!required)
				return 0;
			response_error(res, code, refusal);
			return -1;
		}
		take_user(req, &s, kind);
		if (kind != AUTH_SESSION && req->now - s.last_seen >= 60000 &&
		    store_user_seen(req->store, req->user_id, req->now) != STORE_OK)
			log_warn("could not record when user %lld was last seen", req->user_id);
	}
	store_session_free(&s);
	if (required && req->user_id == 0) {
		response_error(res, 401, "You are not logged in.");
		return -1;
	}
	return 0;
}

int auth_attach_token(struct request *req, struct response *res)
{
	struct session s = {0};
	if (!req->authorization || strncmp(req->authorization, "Bearer ", 7) != 0) {
		response_header(res, "WWW-Authenticate", "Bearer");
		response_error(res, 401, "Send a personal API token as 'Authorization: Bearer <token>'; create one in "
			       "Settings, API tokens.");
		return -1;
	}
	int rc = from_bearer(req, &s);
	if (rc == STORE_NOTFOUND) {
		response_header(res, "WWW-Authenticate", "Bearer");
		response_error(res, 401, "The API token is unknown or revoked; create a new one in Settings.");
		return -1;
	}
	if (rc != STORE_OK) {
		store_session_free(&s);
		app_store_error(res, rc);
		return -1;
	}
	int code = 0;
	const char *refusal = auth_status_refusal(s.status, &code);
	if (refusal) {
		store_session_free(&s);
		response_error(res, code, refusal);
		return -1;
	}
	take_user(req, &s, AUTH_TOKEN);
	if (req->now - s.last_seen >= 60000 && store_user_seen(req->store, req->user_id, req->now) != STORE_OK)
		log_warn("could not record when user %lld was last seen", req->user_id);
	store_session_free(&s);
	return 0;
}

int auth_target_user(struct request *req, struct response *res, struct user *u)
{
	int rc = store_user_get(req->store, req->id, u);
	if (rc == STORE_NOTFOUND)
		response_error(res, 404, "No such user.");
	else if (rc != STORE_OK)
		app_store_error(res, rc);
	return rc == STORE_OK ? 0 : -1;
}
