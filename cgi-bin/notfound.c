/* notfound.c: the JSON 404 for every unknown /api/ path (lighttpd's error handler). */
#include "app.h"

int main(void)
{
	struct response res;
	response_init(&res, 1);
	response_error(&res, 404, "Not found.");
	int rc = response_send(&res);
	response_free(&res);
	return rc == 0 ? 0 : 1;
}
