/* conversations.c: list, create, read (one branch, paged), rename and delete a user's conversations. */
#include <stdlib.h>

#include "app.h"
#include "branch.h"
#include "conversation.h"
#include "scgi.h"
#include "store.h"
#include "turn.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 200

static void list(struct request *req, struct response *res)
{
	struct conversation *convs;
	size_t n;
	int rc = store_conv_list(req->store, req->user_id, &convs, &n);
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, conversation_json(&convs[i]));
	store_conv_list_free(convs, n);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "conversations", arr);
	response_json(res, 200, o);
}

static void create(struct request *req, struct response *res)
{
	size_t len;
	const char *title = app_field_string(req, "title", &len);
	char *clean = NULL;
	if (title) {
		const char *problem = conversation_check_title(title, len, &clean);
		if (problem) {
			response_error(res, 400, problem);
			return;
		}
	}
	struct conversation c;
	int rc = store_conv_create(req->store, req->user_id, clean ? clean : "New chat", req->now, &c);
	free(clean);
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	response_json(res, 201, conversation_json(&c));
	store_conv_free(&c);
}

/* GET /api/conversations/{id}: a page of the branch shown (branch.h): the
 * one through ?leaf= (remembered for next time), through ?around= (a
 * search hit), or the one looked at last. ?before= pages back within it. */
static void read_one(struct request *req, struct response *res)
{
	long long before = app_query_number(req, "before", 0), around = app_query_number(req, "around", 0);
	long long leaf = app_query_number(req, "leaf", 0);
	int limit = (int)app_query_number(req, "limit", PAGE_DEFAULT);
	if (before && around) {
		response_error(res, 400, "Give before or around, not both.");
		return;
	}
	struct conversation c;
	int rc = store_conv_get(req->store, req->user_id, req->id, &c);
	if (rc == STORE_NOTFOUND) {
		response_error(res, 404, "Conversation not found.");
		return;
	}
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	struct msg_node *tree = NULL;
	size_t n = 0;
	rc = store_msg_tree(req->store, req->user_id, c.id, &tree, &n);
	long long through = leaf ? leaf : around;
	if (rc == STORE_OK && through && !branch_has(tree, n, through)) {
		free(tree);
		store_conv_free(&c);
		response_error(res, 404, "That message is not in this conversation; it may have been deleted.");
		return;
	}
	if (rc == STORE_OK && leaf && leaf != c.leaf_id)
		rc = store_conv_set_leaf(req->store, req->user_id, c.id, leaf);
	if (rc != STORE_OK) {
		free(tree);
		store_conv_free(&c);
		app_store_error(res, rc);
		return;
	}
	long long end = branch_end(tree, n, through ? through : c.leaf_id);
	long long *path;
	size_t len, from = 0, to;
	branch_path(tree, n, end, &path, &len);
	to = len;
	if (around) { /* the page that holds it near its middle */
		size_t at = 0;
		while (at < len && path[at] != around)
			at++;
		/* ends just before the message half a page newer, as before */
		to = at + 1 + (size_t)limit / 2 < len ? at + 1 + (size_t)limit / 2 : len;
		from = to > (size_t)limit ? to - (size_t)limit : 0;
	} else {
		if (before)
			while (to > 0 && path[to - 1] >= before)
				to--;
		from = to > (size_t)limit ? to - (size_t)limit : 0;
	}
	struct json_object *o = conversation_json(&c);
	struct json_object *arr = json_object_new_array();
	for (size_t i = from; i < to && rc == STORE_OK; i++) {
		struct message m;
		long long conv_id;
		rc = store_msg_get(req->store, req->user_id, path[i], &m, &conv_id);
		if (rc == STORE_OK) {
			json_object_array_add(arr, turn_message_json_in(req->store, req->user_id, c.id, &m, tree, n));
			store_msg_free(&m);
		}
	}
	json_object_object_add(o, "messages", arr);
	json_object_object_add(o, "has_more", json_object_new_boolean(from > 0));
	if (around)
		json_object_object_add(o, "has_newer", json_object_new_boolean(to < len));
	json_object_object_add(o, "leaf_id", end ? json_object_new_int64(end) : NULL);
	free(path);
	free(tree);
	store_conv_free(&c);
	if (rc != STORE_OK) {
		json_object_put(o);
		app_store_error(res, rc);
		return;
	}
	response_json(res, 200, o);
}

static void rename_one(struct request *req, struct response *res)
{
	size_t len;
	const char *title = app_field_string(req, "title", &len);
	char *clean;
	const char *problem = conversation_check_title(title, len, &clean);
	if (problem) {
		response_error(res, 400, problem);
		return;
	}
	int rc = store_conv_rename(req->store, req->user_id, req->id, clean, req->now);
	free(clean);
	struct conversation c;
	if (rc == STORE_OK)
		rc = store_conv_get(req->store, req->user_id, req->id, &c);
	if (rc == STORE_NOTFOUND) {
		response_error(res, 404, "Conversation not found.");
	} else if (rc != STORE_OK) {
		app_store_error(res, rc);
	} else {
		response_json(res, 200, conversation_json(&c));
		store_conv_free(&c);
	}
}

static void delete_one(struct request *req, struct response *res)
{
	int rc = store_conv_delete(req->store, req->user_id, req->id);
	if (rc == STORE_NOTFOUND)
		response_error(res, 404, "Conversation not found.");
	else if (rc != STORE_OK)
		app_store_error(res, rc);
	else
		response_empty(res, 204);
}

static const struct field create_fields[] = {
	{"title", FIELD_STRING, 0},
	{NULL, 0, 0},
};

static const struct field rename_fields[] = {
	{"title", FIELD_STRING, 1},
	{NULL, 0, 0},
};

static const struct param page_params[] = {
	{"before", PARAM_ID, 0, NULL, "before must be a message id."},
	{"around", PARAM_ID, 0, NULL, "around must be a message id."},
	{"leaf", PARAM_ID, 0, NULL, "leaf must be a message id."},
	{"limit", PARAM_COUNT, PAGE_MAX, NULL, "limit must be a whole number from 1 to 200."},
	{NULL, 0, 0, NULL, NULL},
};

static const struct route routes[] = {
	{"GET", ROUTE_AUTH, NULL, list, NULL, NULL},
	{"POST", ROUTE_AUTH | ROUTE_CSRF | ROUTE_BODY, create_fields, create, NULL, NULL},
	{"GET", ROUTE_AUTH | ROUTE_ID, NULL, read_one, page_params, NULL},
	{"PATCH", ROUTE_AUTH | ROUTE_CSRF | ROUTE_ID | ROUTE_BODY, rename_fields, rename_one, NULL, NULL},
	{"DELETE", ROUTE_AUTH | ROUTE_CSRF | ROUTE_ID, NULL, delete_one, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"conversations", routes};
	(void)argc;
	/* Every page load asks for this: lighttpd.conf runs it as an SCGI
	 * server so that a request costs a fork, not an exec (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
