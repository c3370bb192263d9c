/* search.c: finds the user's own messages and conversation titles by words (GET /api/search). */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "scgi.h"
#include "buf.h"
#include "search.h"
#include "store.h"
#include "timefmt.h"

#define LIMIT_DEFAULT 20
#define LIMIT_MAX 50

static struct json_object *hit_json(const struct search_hit *h)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "conversation_id", json_object_new_int64(h->conversation_id));
	json_object_object_add(o, "conversation_title", json_object_new_string(h->conversation_title));
	json_object_object_add(o, "message_id", h->message_id ? json_object_new_int64(h->message_id) : NULL);
	json_object_object_add(o, "role", h->role ? json_object_new_string(h->role) : NULL);
	struct buf snip = BUF_INIT;
	search_snippet_html(&snip, h->snippet ? h->snippet : "", h->snippet ? strlen(h->snippet) : 0);
	json_object_object_add(o, "snippet", json_object_new_string_len(buf_str(&snip), (int)snip.len));
	buf_free(&snip);
	json_object_object_add(o, "created_at", timefmt_json(h->created_at));
	return o;
}

static void search(struct request *req, struct response *res)
{
	const char *q = app_query(req, "q");
	int limit = (int)app_query_number(req, "limit", LIMIT_DEFAULT);
	if (q == NULL) {
		response_error(res, 400, "Say what to search for in q.");
		return;
	}
	const char *err = NULL;
	struct search_query terms;
	if (search_parse(q, strlen(q), &terms, &err) != 0) {
		response_error(res, 400, err);
		return;
	}
	struct search_hit *hits;
	size_t n;
	int rc = store_search(req->store, req->user_id, &terms, limit, &hits, &n);
	search_query_free(&terms);
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, hit_json(&hits[i]));
	store_search_free(hits, n);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "results", arr);
	response_json(res, 200, o);
}

static const struct param search_params[] = {
	{"q", PARAM_STRING, 0, NULL, NULL},
	{"limit", PARAM_COUNT, LIMIT_MAX, NULL, "limit must be a whole number from 1 to 50."},
	{NULL, 0, 0, NULL, NULL},
};

static const struct route routes[] = {
	{"GET", ROUTE_AUTH, NULL, search, search_params, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"search", routes};
	(void)argc;
	/* An SCGI server in persistent mode, else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
