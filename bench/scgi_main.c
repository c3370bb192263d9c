/* scgi_main.c: for the bench's "proposed" rows only. It lets any endpoint
 * program run as an SCGI server the way chat does (common/scgi.h) without
 * touching its source: mk/bench.mk compiles cgi-bin/<name>.c with
 * -Dapp_run=bench_app_run, so its main() lands here, and a second lighttpd
 * started by bench/run.sh spawns it through mod_scgi. What the table then
 * shows is what every endpoint would cost run the way chat is. */
#include <fcntl.h>
#include <unistd.h>

#include "app.h"
#include "scgi.h"

int bench_app_run(const struct endpoint *ep);

int bench_app_run(const struct endpoint *ep)
{
	if (!scgi_listening())
		return app_run(ep);
	/* argv[0] as lighttpd gave it (bin-path), for scgi_serve's re-exec. */
	static char path[4096];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, path, sizeof path - 1) : -1;
	if (fd >= 0)
		close(fd);
	path[n > 0 ? n : 0] = '\0';
	char *argv[] = {path, NULL};
	return scgi_serve(ep, path[0] ? argv : NULL, NULL);
}
