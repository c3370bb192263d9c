/* account_tokens.c: /api/account/tokens[/{id}] — API tokens for scripts: create (shown once), list, revoke.
 *
 * A token works as `Authorization: Bearer <token>` on the JSON API without
 * a cookie or CSRF token (auth.h), with the user's limits and budgets, and
 * is the API key of the OpenAI-compatible API (README, "The OpenAI-compatible
 * API"); store_conversations (off unless asked) keeps its gateway calls as
 * conversations. Only its keyed hash is stored. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "scgi.h"
#include "auth.h"
#include "budget.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"
#include "utf8.h"

#define TOKEN_NAME_MAX 80

static void list(struct request *req, struct response *res)
{
	struct token_row *rows;
	size_t n;
	int rc = store_token_list(req->store, req->user_id, budget_month_start(req->now), &rows, &n);
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(rows[i].id));
		json_object_object_add(o, "name", json_object_new_string(rows[i].name));
		json_object_object_add(o, "created", timefmt_json(rows[i].created_at));
		json_object_object_add(o, "last_used", rows[i].last_used ? timefmt_json(rows[i].last_used) : NULL);
		json_object_object_add(o, "store_conversations", json_object_new_boolean(rows[i].store_conversations));
		/* Its use of the OpenAI-compatible API this month (UTC). */
		struct json_object *g = json_object_new_object();
		json_object_object_add(g, "calls", json_object_new_int64(rows[i].calls));
		json_object_object_add(g, "tokens", json_object_new_int64(rows[i].tokens));
		json_object_object_add(g, "refusals", json_object_new_int64(rows[i].refusals));
		json_object_object_add(o, "gateway_this_month", g);
		json_object_array_add(arr, o);
	}
	store_token_list_free(rows, n);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "tokens", arr);
	response_json(res, 200, o);
}

static void create(struct request *req, struct response *res)
{
	size_t len;
	const char *name = app_field_string(req, "name", &len);
	size_t chars = utf8_count(name, len);
	if (chars == 0 || chars > TOKEN_NAME_MAX || strspn(name, " ") == len) {
		response_error(res, 400, "Give the token a name of 1 to 80 characters, such as the script that uses it.");
		return;
	}
	char *token = auth_token_new();
	char *hash = auth_token_hash(req->cfg, token);
	long long id = 0;
	int keep = app_field_bool(req, "store_conversations");
	int rc = store_begin(req->store);
	if (rc == STORE_OK)
		rc = store_token_create(req->store, req->user_id, name, hash, req->now, keep, &id);
	if (rc == STORE_OK) {
		auth_audit(req, NULL, "token-create", req->username, name);
		rc = store_commit(req->store);
	}
	if (rc != STORE_OK) {
		store_rollback(req->store);
		app_store_error(res, rc);
	} else {
		log_info("user %lld created API token %lld", req->user_id, id);
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(id));
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "token", json_object_new_string(token));
		json_object_object_add(o, "store_conversations", json_object_new_boolean(keep));
		json_object_object_add(o, "created", timefmt_json(req->now));
		response_json(res, 201, o);
	}
	free(token);
	free(hash);
}

static void revoke(struct request *req, struct response *res)
{
	int rc = store_token_delete(req->store, req->user_id, req->id);
	if (rc == STORE_NOTFOUND) {
		response_error(res, 404, "No such token; it may have been revoked already.");
		return;
	}
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	auth_audit(req, NULL, "token-revoke", req->username, NULL);
	response_empty(res, 204);
}

static const struct field fields[] = {
	{"name", FIELD_STRING, 1},
	{"store_conversations", FIELD_BOOL, 0},
	{NULL, 0, 0},
};

static const struct route routes[] = {
	{"GET", ROUTE_AUTH, NULL, list, NULL, NULL},
	{"POST", ROUTE_AUTH | ROUTE_CSRF | ROUTE_BODY, fields, create, NULL, NULL},
	{"DELETE", ROUTE_AUTH | ROUTE_CSRF | ROUTE_ID, NULL, revoke, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"account_tokens", routes};
	(void)argc;
	/* A warm SCGI server when lighttpd.conf spawns it (on PostgreSQL,
	 * tools/cgi-env.sh), else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
