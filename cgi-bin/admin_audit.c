/* admin_audit.c: GET /api/admin/audit — the audit log, newest first (?before=ID&limit=N). */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "store.h"
#include "timefmt.h"

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static void audit(struct request *req, struct response *res)
{
	long long before = 0, limit = 100;
	for (size_t i = 0; i < req->n_query; i++) {
		const char *k = req->query[i].key, *v = req->query[i].value;
		long long *dst = strcmp(k, "before") == 0 ? &before : strcmp(k, "limit") == 0 ? &limit : NULL;
		if (!dst) {
			response_error(res, 400, "Unknown query parameter; use before and limit.");
			return;
		}
		if (request_parse_id(v, dst) < 0 || (dst == &limit && *dst > 500)) {
			response_error(res, 400, "before must be an entry's id and limit a whole number from 1 to 500.");
			return;
		}
	}
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

static const struct route routes[] = {
	{"GET", ROUTE_ADMIN, NULL, audit},
	{NULL, 0, NULL, NULL},
};

int main(void)
{
	static const struct endpoint ep = {"admin_audit", routes};
	return app_run(&ep);
}
