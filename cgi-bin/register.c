/* register.c: POST /api/register — create an account and log it in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "alloc.h"
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
	long long user_id;
	rc = store_begin(req->store);
	if (rc == STORE_OK)
		rc = store_user_create(req->store, display, key, hash, req->now, &user_id);
	if (rc == STORE_CONFLICT) {
		store_rollback(req->store);
		response_error(res, 409, "User already exists.");
		goto out;
	}
	char *token = NULL, *session = NULL;
	if (rc == STORE_OK)
		rc = session_create(req->store, req->cfg, user_id, req->user_agent, req->now, &token, &session);
	if (rc == STORE_OK)
		rc = store_commit(req->store);
	if (rc != STORE_OK) {
		store_rollback(req->store);
		app_store_error(res, rc);
	} else {
		log_info("registered a new user (id %lld) from %s", user_id, req->client_addr);
		app_set_session_cookie(req, res, token);
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "username", json_object_new_string(display));
		response_json(res, 201, o);
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
	{NULL, 0, 0},
};

static const struct route routes[] = {
	{"POST", ROUTE_BODY, fields, register_user, NULL},
	{NULL, 0, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"register", routes};
	(void)argc;
	/* An SCGI server in persistent mode, else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
