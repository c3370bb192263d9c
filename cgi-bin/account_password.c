/* account_password.c: POST /api/account/password — change the password; the user's other sessions end. */
#include <stdlib.h>

#include "account.h"
#include "app.h"
#include "scgi.h"
#include "auth.h"
#include "log.h"
#include "password.h"
#include "store.h"

static void change(struct request *req, struct response *res)
{
	size_t clen, nlen;
	const char *current = app_field_string(req, "current", &clen);
	const char *next = app_field_string(req, "new", &nlen);
	const char *problem = account_check_password(next, nlen);
	if (problem) {
		response_error(res, 400, problem);
		return;
	}
	struct user u;
	int rc = store_user_get(req->store, req->user_id, &u);
	if (rc != STORE_OK) {
		app_store_error(res, rc == STORE_NOTFOUND ? STORE_ERROR : rc);
		return;
	}
	if (!password_verify(u.password_hash, current, clen)) {
		response_error(res, 403, "The current password is not right; the password was not changed.");
		store_user_free(&u);
		return;
	}
	char hash[PASSWORD_HASH_MAX];
	if (password_hash(next, nlen, hash) < 0) {
		log_error("argon2id hashing failed (out of memory?)");
		response_error(res, 503, "The server is busy; try again in a moment.");
		store_user_free(&u);
		return;
	}
	long long ended = 0;
	rc = store_begin(req->store);
	if (rc == STORE_OK)
		rc = store_user_set_hash(req->store, u.id, hash);
	/* Whoever else knew the old password is logged out everywhere. */
	if (rc == STORE_OK)
		rc = store_session_end_all(req->store, u.id, req->session_hash, &ended);
	if (rc == STORE_OK) {
		auth_audit(req, NULL, "password-change", u.username, NULL);
		rc = store_commit(req->store);
	}
	if (rc != STORE_OK) {
		store_rollback(req->store);
		app_store_error(res, rc);
	} else {
		log_info("user %lld changed their password; %lld other sessions ended", u.id, ended);
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "sessions_ended", json_object_new_int64(ended));
		response_json(res, 200, o);
	}
	store_user_free(&u);
}

static const struct field fields[] = {
	{"current", FIELD_STRING, 1},
	{"new", FIELD_STRING, 1},
	{NULL, 0, 0},
};

static const struct route routes[] = {
	{"POST", ROUTE_AUTH | ROUTE_CSRF | ROUTE_BODY, fields, change, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"account_password", routes};
	(void)argc;
	/* A warm SCGI server when lighttpd.conf spawns it (on PostgreSQL,
	 * tools/cgi-env.sh), else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
