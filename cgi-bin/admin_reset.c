/* admin_reset.c: POST /api/admin/users/{id}/password-reset — a one-time link that sets a new password.
 *
 * The link holds a random token (only its keyed hash is stored), works
 * once and for RESET_VALID_MINUTES; the admin hands it to the user, who
 * opens it and chooses a password (POST /api/password-reset). */
#include <stdlib.h>

#include "alloc.h"
#include "app.h"
#include "scgi.h"
#include "auth.h"
#include "log.h"
#include "session.h"
#include "store.h"
#include "timefmt.h"

#define RESET_VALID_MINUTES 60

static void reset(struct request *req, struct response *res)
{
	struct user u;
	if (auth_target_user(req, res, &u) < 0)
		return;
	char *token = auth_token_new();
	char *hash = session_hash(req->cfg, "password-reset", token);
	long long expires = req->now + RESET_VALID_MINUTES * 60 * 1000LL;
	int rc = store_begin(req->store);
	if (rc == STORE_OK)
		rc = store_reset_create(req->store, hash, u.id, req->now, expires);
	if (rc == STORE_OK) {
		auth_audit(req, NULL, "password-reset-link", u.username, NULL);
		rc = store_commit(req->store);
	}
	if (rc != STORE_OK) {
		store_rollback(req->store);
		app_store_error(res, rc);
	} else {
		log_info("admin %lld made a password reset link for user %lld", req->user_id, u.id);
		/* The token travels in the fragment: no server log sees it. */
		char *path = xasprintf("/reset#%s", token);
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "path", json_object_new_string(path));
		json_object_object_add(o, "token", json_object_new_string(token));
		json_object_object_add(o, "expires_at", timefmt_json(expires));
		response_json(res, 201, o);
		free(path);
	}
	free(token);
	free(hash);
	store_user_free(&u);
}

static const struct route routes[] = {
	{"POST", ROUTE_ADMIN | ROUTE_CSRF | ROUTE_ID, NULL, reset, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"admin_reset", routes};
	(void)argc;
	/* A warm SCGI server when lighttpd.conf spawns it (on PostgreSQL,
	 * tools/cgi-env.sh), else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
