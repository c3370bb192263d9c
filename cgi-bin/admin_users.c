/* admin_users.c: /api/admin/users[/{id}] — an admin lists, approves, disables, promotes and deletes accounts.
 *
 * GET lists every account with its usage; PATCH /{id} changes status,
 * role and the user's own budgets; DELETE /{id} removes the account and
 * everything it wrote (README, "Accounts and administration"). Disabling
 * ends the user's sessions and API tokens at once. No change may leave
 * the server without an active admin (409). */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "scgi.h"
#include "auth.h"
#include "budget.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"

struct list_ctx {
	struct json_object *arr;
	const struct config *cfg;
	struct request *req;
};

static struct json_object *use_json(long long calls, long long tokens, long long refusals)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "calls", json_object_new_int64(calls));
	json_object_object_add(o, "tokens", json_object_new_int64(tokens));
	json_object_object_add(o, "refusals", json_object_new_int64(refusals));
	return o;
}

/* The user's use of the OpenAI-compatible API this month (UTC): in all,
 * and per live token (README, "The OpenAI-compatible API"). */
static struct json_object *gateway_json(struct request *req, long long user_id)
{
	long long since = budget_month_start(req->now);
	struct gateway_use sum;
	struct token_row *rows = NULL;
	size_t n = 0;
	if (store_gateway_sum(req->store, user_id, since, &sum) != STORE_OK ||
	    store_token_list(req->store, user_id, since, &rows, &n) != STORE_OK) {
		log_warn("could not read the gateway use of user %lld", user_id);
		return NULL;
	}
	struct json_object *o = use_json(sum.calls, sum.tokens, sum.refusals);
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = use_json(rows[i].calls, rows[i].tokens, rows[i].refusals);
		json_object_object_add(t, "id", json_object_new_int64(rows[i].id));
		json_object_object_add(t, "name", json_object_new_string(rows[i].name));
		json_object_array_add(arr, t);
	}
	store_token_list_free(rows, n);
	json_object_object_add(o, "tokens_by_token", arr);
	return o;
}

static struct json_object *quota_json(long long own, long long setting)
{
	return own >= 0 ? json_object_new_int64(own) : setting > 0 ? json_object_new_int64(setting) : NULL;
}

static void add_user(void *vctx, const struct user *u, const struct user_stats *s)
{
	struct list_ctx *ctx = vctx;
	const struct config *cfg = ctx->cfg;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(u->id));
	json_object_object_add(o, "username", json_object_new_string(u->username));
	json_object_object_add(o, "role", json_object_new_string(u->role));
	json_object_object_add(o, "status", json_object_new_string(u->status));
	json_object_object_add(o, "created", timefmt_json(u->created_at));
	json_object_object_add(o, "last_seen", u->last_seen ? timefmt_json(u->last_seen) : NULL);
	json_object_object_add(o, "conversations", json_object_new_int64(s->conversations));
	json_object_object_add(o, "messages", json_object_new_int64(s->messages));
	json_object_object_add(o, "prompts_today", json_object_new_int64(s->prompts_day));
	json_object_object_add(o, "tokens_this_month", json_object_new_int64(s->tokens_month));
	json_object_object_add(o, "api_this_month", gateway_json(ctx->req, u->id));
	/* The budget in force, and whether it is the user's own. */
	json_object_object_add(o, "quota_prompts_day", quota_json(u->quota_prompts_day, cfg->quota_prompts_day));
	json_object_object_add(o, "quota_tokens_month", quota_json(u->quota_tokens_month, cfg->quota_tokens_month));
	json_object_object_add(o, "quota_own", json_object_new_boolean(u->quota_prompts_day >= 0 ||
									u->quota_tokens_month >= 0));
	json_object_array_add(ctx->arr, o);
}

static void list(struct request *req, struct response *res)
{
	struct list_ctx ctx = {json_object_new_array(), req->cfg, req};
	int rc = store_users_admin(req->store, budget_day_start(req->now), budget_month_start(req->now), add_user, &ctx);
	if (rc != STORE_OK) {
		json_object_put(ctx.arr);
		app_store_error(res, rc);
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "users", ctx.arr);
	static const char *const modes[] = {"open", "approval", "invite", "closed"};
	json_object_object_add(o, "registration", json_object_new_string(modes[req->cfg->registration]));
	response_json(res, 200, o);
}

/* A budget field: absent (leave), null (the setting's), or a whole number > 0. */
static int quota_field(const struct request *req, const char *name, long long current, long long *out)
{
	const struct jv_member *m = jsonx_member(&req->json, name);
	*out = current;
	if (!m)
		return 0;
	*out = m->type == JV_NULL ? -1 : m->num;
	return 1;
}

static void patch(struct request *req, struct response *res)
{
	const char *status = app_field_string(req, "status", NULL);
	const char *role = app_field_string(req, "role", NULL);
	if (status && strcmp(status, "active") != 0 && strcmp(status, "disabled") != 0 && strcmp(status, "pending") != 0) {
		response_error(res, 400, "Field 'status' must be active, pending or disabled.");
		return;
	}
	if (role && strcmp(role, "admin") != 0 && strcmp(role, "user") != 0) {
		response_error(res, 400, "Field 'role' must be admin or user.");
		return;
	}
	struct user u;
	if (auth_target_user(req, res, &u) < 0)
		return;
	long long qp, qt;
	int quota = quota_field(req, "quota_prompts_day", u.quota_prompts_day, &qp);
	quota |= quota_field(req, "quota_tokens_month", u.quota_tokens_month, &qt);
	int rc = store_begin(req->store);
	if (rc == STORE_OK && role && strcmp(role, u.role) != 0) {
		rc = store_user_set_role(req->store, u.id, role);
		if (rc == STORE_OK)
			auth_audit(req, NULL, "role", u.username, role);
	}
	if (rc == STORE_OK && status && strcmp(status, u.status) != 0) {
		rc = store_user_set_status(req->store, u.id, status);
		/* Their next request is no one's: sessions and tokens end now. */
		if (rc == STORE_OK && strcmp(status, "active") != 0)
			rc = store_session_end_all(req->store, u.id, NULL, NULL);
		if (rc == STORE_OK && strcmp(status, "disabled") == 0)
			rc = store_token_end_all(req->store, u.id);
		if (rc == STORE_OK)
			auth_audit(req, NULL, strcmp(u.status, "pending") == 0 && strcmp(status, "active") == 0 ? "approve"
													    : "status",
				   u.username, status);
	}
	if (rc == STORE_OK && quota) {
		rc = store_user_set_quota(req->store, u.id, qp, qt);
		if (rc == STORE_OK)
			auth_audit(req, NULL, "budget", u.username, NULL);
	}
	if (rc == STORE_OK)
		rc = store_commit(req->store);
	if (rc == STORE_CONFLICT) {
		store_rollback(req->store);
		response_error(res, 409, "That would leave no active administrator; make someone else an admin first.");
	} else if (rc != STORE_OK) {
		store_rollback(req->store);
		app_store_error(res, rc);
	} else {
		log_info("admin %lld changed user %lld", req->user_id, u.id);
		response_empty(res, 204);
	}
	store_user_free(&u);
}

static void delete(struct request *req, struct response *res)
{
	struct user u;
	if (auth_target_user(req, res, &u) < 0)
		return;
	int rc = store_begin(req->store);
	if (rc == STORE_OK)
		rc = store_user_delete_id(req->store, u.id);
	if (rc == STORE_OK) {
		auth_audit(req, NULL, "delete-user", u.username, NULL);
		rc = store_commit(req->store);
	}
	if (rc == STORE_CONFLICT) {
		store_rollback(req->store);
		response_error(res, 409, "That would leave no active administrator; make someone else an admin first.");
	} else if (rc != STORE_OK) {
		store_rollback(req->store);
		app_store_error(res, rc);
	} else {
		log_info("admin %lld deleted user %lld", req->user_id, u.id);
		response_empty(res, 204);
	}
	store_user_free(&u);
}

static const struct field patch_fields[] = {
	{"status", FIELD_STRING, 0},
	{"role", FIELD_STRING, 0},
	{"quota_prompts_day", FIELD_ID, 0},
	{"quota_tokens_month", FIELD_ID, 0},
	{NULL, 0, 0},
};

static const struct route routes[] = {
	{"GET", ROUTE_ADMIN, NULL, list, NULL, NULL},
	{"PATCH", ROUTE_ADMIN | ROUTE_CSRF | ROUTE_ID | ROUTE_BODY, patch_fields, patch, NULL, NULL},
	{"DELETE", ROUTE_ADMIN | ROUTE_CSRF | ROUTE_ID, NULL, delete, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"admin_users", routes};
	(void)argc;
	/* A warm SCGI server when lighttpd.conf spawns it (on PostgreSQL,
	 * tools/cgi-env.sh), else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
