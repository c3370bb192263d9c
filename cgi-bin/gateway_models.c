/* gateway_models.c: GET /v1/models — the models of the OpenAI-compatible API (AI_MODELS).
 *
 * Behind a personal API token only (README, "The OpenAI-compatible API");
 * errors take OpenAI's shape. lighttpd sends every other /v1/ address here
 * with a path no route takes, so an OpenAI client asking for an endpoint we
 * do not offer gets OpenAI's 404 rather than an HTML page. */
#include "app.h"
#include "scgi.h"
#include "gateway.h"

static void models(struct request *req, struct response *res)
{
	response_json(res, 200, gateway_models_json(req->cfg));
}

static const struct route routes[] = {
	{"GET", ROUTE_OPENAI, NULL, models, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"gateway_models", routes};
	(void)argc;
	/* A warm SCGI server when lighttpd.conf spawns it (on PostgreSQL,
	 * tools/cgi-env.sh), else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
