/* password_reset.c: POST /api/password-reset — set a new password with an admin's one-time link.
 *
 * The token works once and only until it expires; using it ends every
 * session of the account, which then logs in with the new password. */
#include <stdlib.h>

#include "account.h"
#include "app.h"
#include "scgi.h"
#include "auth.h"
#include "log.h"
#include "password.h"
#include "session.h"
#include "store.h"

static void reset(struct request *req, struct response *res)
{
	size_t tlen, plen;
	const char *token = app_field_string(req, "token", &tlen);
	const char *password = app_field_string(req, "password", &plen);
	const char *problem = account_check_password(password, plen);
	if (problem) {
		response_error(res, 400, problem);
		return;
	}
	char hash[PASSWORD_HASH_MAX];
	if (password_hash(password, plen, hash) < 0) {
		response_error(res, 503, "The server is busy; try again in a moment.");
		return;
	}
	char *th = session_hash(req->cfg, "password-reset", token);
	long long user_id = 0;
	struct user u = {0};
	int rc = store_begin(req->store);
	if (rc == STORE_OK)
		rc = store_reset_take(req->store, th, req->now, &user_id);
	if (rc == STORE_OK)
		rc = store_user_get(req->store, user_id, &u);
	if (rc == STORE_OK)
		rc = store_user_set_hash(req->store, user_id, hash);
	if (rc == STORE_OK)
		rc = store_session_end_all(req->store, user_id, NULL, NULL);
	if (rc == STORE_OK)
		auth_audit(req, u.username, "password-reset", u.username, NULL);
	if (rc == STORE_NOTFOUND) {
		/* A spent token is spent also when expired: keep the delete. */
		rc = store_commit(req->store);
		if (rc == STORE_OK)
			response_error(res, 403, "This reset link is unknown, used or expired; ask the administrator for a new one.");
		else
			app_store_error(res, rc);
	} else {
		if (rc == STORE_OK)
			rc = store_commit(req->store);
		if (rc != STORE_OK) {
			store_rollback(req->store);
			app_store_error(res, rc);
		} else {
			log_info("user %lld set a new password with a reset link", user_id);
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "username", json_object_new_string(u.username));
			response_json(res, 200, o);
		}
	}
	store_user_free(&u);
	free(th);
}

static const struct field fields[] = {
	{"token", FIELD_STRING, 1},
	{"password", FIELD_STRING, 1},
	{NULL, 0, 0},
};

static const struct route routes[] = {
	{"POST", ROUTE_BODY, fields, reset, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"password_reset", routes};
	(void)argc;
	/* A warm SCGI server when lighttpd.conf spawns it (on PostgreSQL,
	 * tools/cgi-env.sh), else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
