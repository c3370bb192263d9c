/* clear.c: POST /api/clear — delete every conversation and message of this user. */
#include "app.h"
#include "scgi.h"
#include "log.h"
#include "store.h"

static void clear(struct request *req, struct response *res)
{
	long long n = 0;
	int rc = store_conv_clear(req->store, req->user_id, &n);
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	log_info("user %lld cleared %lld conversations", req->user_id, n);
	response_empty(res, 204);
}

static const struct route routes[] = {
	{"POST", ROUTE_AUTH | ROUTE_CSRF, NULL, clear, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"clear", routes};
	(void)argc;
	/* An SCGI server in persistent mode, else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
