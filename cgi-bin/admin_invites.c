/* admin_invites.c: POST /api/admin/invites — an invitation code for REGISTRATION=invite.
 *
 * A code works once and for INVITE_VALID_DAYS; only its keyed hash is
 * stored, so the admin must pass it on as shown. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "scgi.h"
#include "auth.h"
#include "log.h"
#include "session.h"
#include "store.h"
#include "timefmt.h"

#define INVITE_VALID_DAYS 7

static void create(struct request *req, struct response *res)
{
	unsigned char raw[16];
	randombytes_buf(raw, sizeof raw);
	char code[sodium_base64_ENCODED_LEN(16, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	sodium_bin2base64(code, sizeof code, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *hash = session_hash(req->cfg, "invite", code);
	long long expires = req->now + INVITE_VALID_DAYS * 86400 * 1000LL;
	int rc = store_begin(req->store);
	if (rc == STORE_OK)
		rc = store_invite_create(req->store, hash, req->user_id, req->now, expires);
	if (rc == STORE_OK) {
		auth_audit(req, NULL, "invite", NULL, NULL);
		rc = store_commit(req->store);
	}
	free(hash);
	if (rc != STORE_OK) {
		store_rollback(req->store);
		app_store_error(res, rc);
		return;
	}
	log_info("admin %lld made an invitation code", req->user_id);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "expires_at", timefmt_json(expires));
	json_object_object_add(o, "single_use", json_object_new_boolean(1));
	response_json(res, 201, o);
	sodium_memzero(code, sizeof code);
}

static const struct route routes[] = {
	{"POST", ROUTE_ADMIN | ROUTE_CSRF, NULL, create, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"admin_invites", routes};
	(void)argc;
	/* A warm SCGI server when lighttpd.conf spawns it (on PostgreSQL,
	 * tools/cgi-env.sh), else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
