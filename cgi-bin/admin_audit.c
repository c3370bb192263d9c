/* admin_audit.c: GET /api/admin/audit — the audit log, newest first (?before=ID&limit=N). */
#include <stdlib.h>

#include "app.h"
#include "scgi.h"
#include "store.h"
#include "timefmt.h"

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static void audit(struct request *req, struct response *res)
{
	long long before = app_query_number(req, "before", 0), limit = app_query_number(req, "limit", 100);
	struct audit_row *list;
	size_t n;
	int rc = store_audit_list(req->store, before, (int)limit, &list, &n);
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(list[i].id));
		json_object_object_add(o, "at", timefmt_json(list[i].at));
		json_object_object_add(o, "actor", str_or_null(list[i].actor));
		json_object_object_add(o, "action", str_or_null(list[i].action));
		json_object_object_add(o, "target", str_or_null(list[i].target));
		json_object_object_add(o, "addr", str_or_null(list[i].addr));
		json_object_object_add(o, "detail", str_or_null(list[i].detail));
		json_object_array_add(arr, o);
	}
	store_audit_list_free(list, n);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "entries", arr);
	response_json(res, 200, o);
}

static const struct param audit_params[] = {
	{"before", PARAM_ID, 0, NULL, "before must be an entry's id."},
	{"limit", PARAM_COUNT, 500, NULL, "limit must be a whole number from 1 to 500."},
	{NULL, 0, 0, NULL, NULL},
};

static const struct route routes[] = {
	{"GET", ROUTE_ADMIN, NULL, audit, audit_params, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"admin_audit", routes};
	(void)argc;
	/* A warm SCGI server when lighttpd.conf spawns it (on PostgreSQL,
	 * tools/cgi-env.sh), else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
