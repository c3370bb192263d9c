/* logout.c: POST /api/logout — end the session on the server and in the browser. */
#include "app.h"
#include "scgi.h"
#include "store.h"

static void logout(struct request *req, struct response *res)
{
	int rc = store_session_delete(req->store, req->session_hash);
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	app_set_session_cookie(req, res, NULL);
	response_empty(res, 204);
}

static const struct route routes[] = {
	{"POST", ROUTE_AUTH | ROUTE_CSRF, NULL, logout, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"logout", routes};
	(void)argc;
	/* An SCGI server in persistent mode, else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
