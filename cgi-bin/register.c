/* register.c: POST /api/register — create an account and log it in, as REGISTRATION allows.
 *
 * REGISTRATION (README, "Accounts and administration"): open, approval
 * (the default: the account waits for an admin), invite (a code an admin
 * made, used once) or closed. The first account becomes the admin and is
 * active whatever the mode but closed, so that a new server can be set up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void register_user(struct request *req, struct response *res)
{
	size_t ulen, plen;
	const char *username = app_field_string(req, "username", &ulen);
	const char *password = app_field_string(req, "password", &plen);
	const struct config *cfg = req->cfg;
	if (cfg->registration == REG_CLOSED) {
		response_error(res, 403, "Registration is closed on this server; ask its administrator for an account.");
		return;
	}
	size_t clen = 0;
	const char *code = app_field_string(req, "invite", &clen);
	long retry = 0;
	char *bucket = xasprintf("auth-ip:%s", req->client_net);
	int rc = ratelimit_hit(req->store, bucket, &req->cfg->rate_auth_ip, req->now, 1, &retry);
	free(bucket);
	if (rc < 0) {
		app_store_error(res, rc);
		return;
	}
	if (rc == 1) {
		app_too_many(res, retry, "Too many attempts from your address");
		return;
	}
	char *display = NULL, *key = NULL;
	const char *problem = account_check_username(username, ulen, &display, &key);
	if (!problem)
		problem = account_check_password(password, plen);
	if (problem) {
		response_error(res, 400, problem);
		goto out;
	}
	char hash[PASSWORD_HASH_MAX];
	if (password_hash(password, plen, hash) < 0) {
		log_error("argon2id hashing failed (out of memory?)");
		response_error(res, 503, "The server is busy; try again in a moment.");
		goto out;
	}
	long long user_id = 0;
	const char *role = "user";
	const char *status = cfg->registration == REG_APPROVAL ? "pending" : "active";
	rc = store_begin(req->store);
	if (rc == STORE_OK)
		rc = store_user_register(req->store, display, key, hash, status, req->now, &user_id, &role);
	if (rc == STORE_CONFLICT) {
		store_rollback(req->store);
		response_error(res, 409, "User already exists.");
		goto out;
	}
	int first = strcmp(role, "admin") == 0;
	if (first)
		status = "active";
	if (rc == STORE_OK && cfg->registration == REG_INVITE && !first) {
		char *code_hash = code ? session_hash(cfg, "invite", code) : NULL;
		rc = code_hash ? store_invite_use(req->store, code_hash, user_id, req->now) : STORE_NOTFOUND;
		free(code_hash);
		if (rc == STORE_NOTFOUND) {
			store_rollback(req->store);
			response_error(res, 403, code ? "That invitation code is unknown, used or expired; ask the administrator "
						 "for a new one."
						      : "Registration on this server needs an invitation code from its administrator.");
			goto out;
		}
	}
	char *token = NULL, *session = NULL;
	int active = strcmp(status, "active") == 0;
	if (rc == STORE_OK && active)
		rc = store_user_seen(req->store, user_id, req->now);
	if (rc == STORE_OK && active)
		rc = session_create_from(req->store, cfg, user_id, req->user_agent, req->client_addr, req->now, &token,
					 &session);
	if (rc == STORE_OK) {
		auth_audit(req, display, "register", display, first ? "first account: admin" : active ? NULL : "pending");
		rc = store_commit(req->store);
	}
	if (rc != STORE_OK) {
		store_rollback(req->store);
		app_store_error(res, rc);
	} else {
		log_info("registered a new user (id %lld, %s) from %s", user_id, status, req->client_addr);
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "username", json_object_new_string(display));
		json_object_object_add(o, "role", json_object_new_string(role));
		json_object_object_add(o, "status", json_object_new_string(status));
		if (active) {
			app_set_session_cookie(req, res, token);
			response_json(res, 201, o);
		} else {
			/* No session: an account waiting for approval is no one yet. */
			json_object_object_add(o, "message", json_object_new_string(
				"Your account was created and waits for an administrator's approval; log in once they have approved it."));
			response_json(res, 202, o);
		}
	}
	free(token);
	free(session);
out:
	free(display);
	free(key);
}

static const struct field fields[] = {
	{"username", FIELD_STRING, 1},
	{"password", FIELD_STRING, 1},
	{"invite", FIELD_STRING, 0},
	{NULL, 0, 0},
};

static const struct route routes[] = {
	{"POST", ROUTE_BODY, fields, register_user, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"register", routes};
	(void)argc;
	/* An SCGI server in persistent mode, else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
