/* account.c: DELETE /api/account — the user removes their account and everything they wrote.
 *
 * Needs the password (a stolen session alone cannot do it). At once and for
 * good: the user's row goes, and with it, through ON DELETE CASCADE, their
 * sessions, API tokens, conversations, messages, turns and usage. The
 * audit log keeps that the account was deleted, under its name. The last
 * active admin cannot leave (409): another admin must exist first. */
#include <stdlib.h>

#include "app.h"
#include "scgi.h"
#include "auth.h"
#include "log.h"
#include "password.h"
#include "store.h"

static void delete_account(struct request *req, struct response *res)
{
	size_t plen;
	const char *password = app_field_string(req, "password", &plen);
	struct user u;
	int rc = store_user_get(req->store, req->user_id, &u);
	if (rc != STORE_OK) {
		app_store_error(res, rc == STORE_NOTFOUND ? STORE_ERROR : rc);
		return;
	}
	if (!password_verify(u.password_hash, password, plen)) {
		response_error(res, 403, "The password is not right; nothing was deleted.");
		store_user_free(&u);
		return;
	}
	rc = store_begin(req->store);
	if (rc == STORE_OK)
		rc = store_user_delete_id(req->store, u.id);
	if (rc == STORE_OK) {
		auth_audit(req, NULL, "delete-account", u.username, NULL);
		rc = store_commit(req->store);
	}
	if (rc == STORE_CONFLICT) {
		store_rollback(req->store);
		response_error(res, 409, "You are the last administrator; make someone else an admin before you leave.");
	} else if (rc != STORE_OK) {
		store_rollback(req->store);
		app_store_error(res, rc);
	} else {
		log_info("user %lld deleted their account", u.id);
		app_set_session_cookie(req, res, NULL);
		response_empty(res, 204);
	}
	store_user_free(&u);
}

static const struct field fields[] = {
	{"password", FIELD_STRING, 1},
	{NULL, 0, 0},
};

static const struct route routes[] = {
	{"DELETE", ROUTE_AUTH | ROUTE_CSRF | ROUTE_BODY, fields, delete_account, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"account", routes};
	(void)argc;
	/* A warm SCGI server when lighttpd.conf spawns it (on PostgreSQL,
	 * tools/cgi-env.sh), else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
