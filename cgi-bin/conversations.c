/* conversations.c: list, create, read (paged), rename and delete a user's conversations. */
#include <stdlib.h>

#include "app.h"
#include "conversation.h"
#include "scgi.h"
#include "store.h"

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

static void read_one(struct request *req, struct response *res)
{
	long long before = app_query_number(req, "before", 0), around = app_query_number(req, "around", 0);
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
	struct message *msgs;
	size_t n;
	int has_more, has_newer = 0;
	if (around)
		rc = store_msg_page_around(req->store, req->user_id, c.id, around, limit, &msgs, &n, &has_more,
					   &has_newer);
	else
		rc = store_msg_page(req->store, req->user_id, c.id, before, limit, &msgs, &n, &has_more);
	if (rc == STORE_NOTFOUND) {
		store_conv_free(&c);
		response_error(res, 404, "That message is not in this conversation; it may have been deleted.");
		return;
	}
	if (rc != STORE_OK) {
		store_conv_free(&c);
		app_store_error(res, rc);
		return;
	}
	struct json_object *o = conversation_json(&c);
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, message_json(&msgs[i]));
	json_object_object_add(o, "messages", arr);
	json_object_object_add(o, "has_more", json_object_new_boolean(has_more));
	if (around)
		json_object_object_add(o, "has_newer", json_object_new_boolean(has_newer));
	store_msg_list_free(msgs, n);
	store_conv_free(&c);
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

/* ?before=, ?around= and ?limit= of a conversation's page of messages. */
static const struct param page_params[] = {
	{"before", PARAM_ID, 0, NULL, "before must be a message id."},
	{"around", PARAM_ID, 0, NULL, "around must be a message id."},
	{"limit", PARAM_COUNT, PAGE_MAX, NULL, "limit must be a whole number from 1 to 200."},
	{NULL, 0, 0, NULL, NULL},
};

static const struct route routes[] = {
	{"GET", ROUTE_AUTH, NULL, list, NULL},
	{"POST", ROUTE_AUTH | ROUTE_CSRF | ROUTE_BODY, create_fields, create, NULL},
	{"GET", ROUTE_AUTH | ROUTE_ID, NULL, read_one, page_params},
	{"PATCH", ROUTE_AUTH | ROUTE_CSRF | ROUTE_ID | ROUTE_BODY, rename_fields, rename_one, NULL},
	{"DELETE", ROUTE_AUTH | ROUTE_CSRF | ROUTE_ID, NULL, delete_one, NULL},
	{NULL, 0, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"conversations", routes};
	(void)argc;
	/* Every page load asks for this: lighttpd.conf runs it as an SCGI
	 * server so that a request costs a fork, not an exec (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
