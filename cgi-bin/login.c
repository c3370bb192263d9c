/* login.c: POST /api/login — check a password and start a session. */
#include <stdlib.h>

#include "account.h"
#include "alloc.h"
#include "auth.h"
#include "app.h"
#include "scgi.h"
#include "config.h"
#include "log.h"
#include "password.h"
#include "ratelimit.h"
#include "session.h"

static const char invalid[] = "Invalid username or password";

static void login(struct request *req, struct response *res)
{
	size_t ulen, plen;
	const char *username = app_field_string(req, "username", &ulen);
	const char *password = app_field_string(req, "password", &plen);
	long retry = 0;
	char *display = NULL, *key = NULL, *user_bucket = NULL, *token = NULL, *session = NULL;
	struct user u = {0};

	char *ip_bucket = xasprintf("auth-ip:%s", req->client_net);
	int rc = ratelimit_hit(req->store, ip_bucket, &req->cfg->rate_auth_ip, req->now, 1, &retry);
	free(ip_bucket);
	if (rc == 1) {
		app_too_many(res, retry, "Too many attempts from your address");
		return;
	}
	if (rc < 0) {
		app_store_error(res, rc);
		return;
	}
	/* A malformed username cannot exist; answer exactly as for a wrong one. */
	if (account_check_username(username, ulen, &display, &key) != NULL) {
		password_verify_dummy(password, plen);
		response_error(res, 401, invalid);
		goto out;
	}
	user_bucket = xasprintf("login-user:%s", key);
	rc = ratelimit_hit(req->store, user_bucket, &req->cfg->rate_login, req->now, 0, &retry);
	if (rc == 1) {
		app_too_many(res, retry, "Too many failed logins for this account");
		goto out;
	}
	if (rc < 0) {
		app_store_error(res, rc);
		goto out;
	}
	rc = store_user_find(req->store, key, &u);
	if (rc < 0) {
		app_store_error(res, rc);
		goto out;
	}
	int ok = rc == STORE_OK ? password_verify(u.password_hash, password, plen)
				: password_verify_dummy(password, plen);
	if (!ok) {
		rc = ratelimit_record(req->store, user_bucket, req->now);
		if (rc < 0)
			app_store_error(res, rc);
		else
			response_error(res, 401, invalid);
		log_info("failed login from %s", req->client_addr);
		auth_audit(req, display, "login-failed", display, NULL);
		goto out;
	}
	int refused_code = 0;
	const char *refusal = auth_status_refusal(u.status, &refused_code);
	if (refusal) {
		/* The password was right: saying why is no leak. */
		response_error(res, 403, refusal);
		auth_audit(req, u.username, "login-refused", u.username, u.status);
		goto out;
	}
	if (password_needs_rehash(u.password_hash)) {
		char hash[PASSWORD_HASH_MAX];
		if (password_hash(password, plen, hash) == 0 && store_user_set_hash(req->store, u.id, hash) != STORE_OK)
			log_warn("could not upgrade the password hash of user %lld", u.id);
	}
	rc = session_create_from(req->store, req->cfg, u.id, req->user_agent, req->client_addr, req->now, &token,
				 &session);
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		goto out;
	}
	/* Expired sessions go now and then; any login may do it. */
	if (req->now % 16 == 0 &&
	    store_session_purge(req->store, req->now - req->cfg->session_idle * 1000,
				req->now - req->cfg->session_max * 1000) != STORE_OK)
		log_warn("could not purge expired sessions");
	auth_audit(req, u.username, "login", u.username, NULL);
	if (store_user_seen(req->store, u.id, req->now) != STORE_OK)
		log_warn("could not record when user %lld was last seen", u.id);
	app_set_session_cookie(req, res, token);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "username", json_object_new_string(u.username));
	json_object_object_add(o, "role", json_object_new_string(u.role ? u.role : "user"));
	response_json(res, 200, o);
out:
	store_user_free(&u);
	free(display);
	free(key);
	free(user_bucket);
	free(token);
	free(session);
}

static const struct field fields[] = {
	{"username", FIELD_STRING, 1},
	{"password", FIELD_STRING, 1},
	{NULL, 0, 0},
};

static const struct route routes[] = {
	{"POST", ROUTE_BODY, fields, login, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"login", routes};
	(void)argc;
	/* An SCGI server in persistent mode, else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
