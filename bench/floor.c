/* floor.c: the cheapest CGI program there is: one write of a fixed JSON
 * answer. Linked as the endpoints are (mk/bench.mk) and served by the
 * same lighttpd as the endpoints, it is the floor: the cost of one
 * fork/exec/exit through lighttpd, against which each endpoint is a ratio. */
#include <unistd.h>

int main(void)
{
	static const char r[] = "Status: 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
				"Content-Length: 16\r\n\r\n{\"status\":\"ok\"}\n";
	return write(1, r, sizeof r - 1) == (ssize_t)(sizeof r - 1) ? 0 : 1;
}
