/* me.c: GET /api/me — who is logged in, their CSRF token, and what the UI may offer. */
#include <stdlib.h>

#include "app.h"
#include "budget.h"
#include "config.h"
#include "csrf.h"
#include "scgi.h"
#include "store.h"

static void me(struct request *req, struct response *res)
{
	const struct config *cfg = req->cfg;
	/* An API token needs no CSRF token, and has no session to bind one to. */
	char *token = req->session_hash ? csrf_token(cfg, req->session_hash) : NULL;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "username", json_object_new_string(req->username));
	json_object_object_add(o, "csrf_token", token ? json_object_new_string(token) : NULL);
	struct json_object *models = json_object_new_array();
	for (size_t i = 0; i < cfg->n_models; i++)
		json_object_array_add(models, json_object_new_string(cfg->models[i]));
	json_object_object_add(o, "models", models);
	json_object_object_add(o, "default_model", json_object_new_string(cfg->model));
	json_object_object_add(o, "demo", json_object_new_boolean(cfg->api_key == NULL));
	json_object_object_add(o, "prompt_max_chars", json_object_new_int64(cfg->prompt_max_chars));
	json_object_object_add(o, "role", json_object_new_string(req->role ? req->role : "user"));
	struct budget b;
	int rc = budget_read(req->store, cfg, req->user_id, req->now, &b);
	free(token);
	if (rc != STORE_OK) {
		json_object_put(o);
		app_store_error(res, rc);
		return;
	}
	json_object_object_add(o, "usage", budget_json(&b));
	response_json(res, 200, o);
}

static const struct route routes[] = {
	{"GET", ROUTE_AUTH, NULL, me, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"me", routes};
	(void)argc;
	/* Every page load asks for this: lighttpd.conf runs it as an SCGI
	 * server so that a request costs a fork, not an exec (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
