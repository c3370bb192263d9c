/* scgi.h: a warm parent for an endpoint program spawned by lighttpd's mod_scgi.
 *
 * Why: a program that links libcurl pays for loading its 38 shared objects
 * and for setting up OpenSSL on every CGI run, several times the cost of
 * everything else it does (bench/README.md). Spawned by lighttpd through
 * scgi.server with "bin-path", the program starts once, does that set-up
 * once, and forks a child per request.
 *
 * Contract:
 * - scgi_listening() is true when fd 0 is a listening socket, which is how
 *   lighttpd hands one to a program it spawns; a CGI run has a pipe there.
 * - scgi_serve() calls warm() once, then for each connection loads the
 *   settings if they changed, calls store_prepare(DATABASE) (libpq, when
 *   DATABASE names PostgreSQL, loaded at the first) and forks a child.
 *   The child reads the SCGI request (a netstring of NUL-separated CGI
 *   variables, then CONTENT_LENGTH bytes of body), makes those variables its
 *   whole environment and the connection its stdin and stdout, and runs
 *   app_run(ep) exactly as a CGI run would: one process per request that
 *   ends with it, so no request state outlives the request. When lighttpd
 *   closes the connection early (the client went away), or the parent ends
 *   (lighttpd stops, or it is killed), the child gets SIGTERM, as mod_cgi
 *   would send it; lighttpd restarts a parent that died.
 * - When the program file at argv[0] changes (a deploy renames a new binary
 *   into place), the parent re-executes it before accepting the next
 *   request: copying one new binary still updates the endpoint.
 * - It returns only when it cannot go on (the status to exit with). */
#ifndef AIF_SCGI_H
#define AIF_SCGI_H

#include "app.h"

int scgi_listening(void);
int scgi_serve(const struct endpoint *ep, char **argv, void (*warm)(void));

/* scgi_main: the whole main() of an endpoint that lighttpd.conf spawns as an
 * SCGI server: scgi_serve() when fd 0 is a listening socket, otherwise one
 * CGI run (mod_cgi, a test, or by hand). warm may be NULL. */
int scgi_main(const struct endpoint *ep, char **argv, void (*warm)(void));

#endif
