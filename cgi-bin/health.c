/* health.c: GET /api/health — 200 when the database answers, 503 otherwise. */
#include "app.h"
#include "scgi.h"
#include "config.h"
#include "log.h"
#include "store.h"

static void health(struct request *req, struct response *res)
{
	struct store *st = NULL;
	char err[512];
	int ok = store_open(req->cfg->database, &st, err, sizeof err) == 0 && store_ping(st) == STORE_OK;
	if (!ok && st == NULL)
		log_error("health: %s", err);
	store_close(st);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(ok ? "ok" : "unavailable"));
	response_json(res, ok ? 200 : 503, o);
}

static const struct route routes[] = {
	{"GET", ROUTE_NO_STORE, NULL, health, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"health", routes};
	(void)argc;
	/* An SCGI server in persistent mode, else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
