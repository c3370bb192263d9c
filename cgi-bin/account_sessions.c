/* account_sessions.c: /api/account/sessions[/{id}] — where the user is logged in; end one, or all but this one. */
#include <stdlib.h>

#include "app.h"
#include "scgi.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"

static void list(struct request *req, struct response *res)
{
	struct session_row *rows;
	size_t n;
	int rc = store_session_list(req->store, req->user_id, req->session_hash, &rows, &n);
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(rows[i].sid));
		json_object_object_add(o, "created", timefmt_json(rows[i].created_at));
		json_object_object_add(o, "last_seen", timefmt_json(rows[i].last_seen));
		json_object_object_add(o, "user_agent", rows[i].user_agent ? json_object_new_string(rows[i].user_agent) : NULL);
		json_object_object_add(o, "addr", rows[i].addr ? json_object_new_string(rows[i].addr) : NULL);
		json_object_object_add(o, "current", json_object_new_boolean(rows[i].current));
		json_object_array_add(arr, o);
	}
	store_session_list_free(rows, n);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "sessions", arr);
	response_json(res, 200, o);
}

static void end_one(struct request *req, struct response *res)
{
	int rc = store_session_delete_sid(req->store, req->user_id, req->id);
	if (rc == STORE_NOTFOUND)
		response_error(res, 404, "No such session; it may have ended already.");
	else if (rc != STORE_OK)
		app_store_error(res, rc);
	else
		response_empty(res, 204);
}

static void end_others(struct request *req, struct response *res)
{
	long long n = 0;
	int rc = store_session_end_all(req->store, req->user_id, req->session_hash, &n);
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	log_info("user %lld ended %lld other sessions", req->user_id, n);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "sessions_ended", json_object_new_int64(n));
	response_json(res, 200, o);
}

static const struct route routes[] = {
	{"GET", ROUTE_AUTH, NULL, list, NULL, NULL},
	{"DELETE", ROUTE_AUTH | ROUTE_CSRF, NULL, end_others, NULL, NULL},
	{"DELETE", ROUTE_AUTH | ROUTE_CSRF | ROUTE_ID, NULL, end_one, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"account_sessions", routes};
	(void)argc;
	/* A warm SCGI server when lighttpd.conf spawns it (on PostgreSQL,
	 * tools/cgi-env.sh), else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
