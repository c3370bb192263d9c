/* store_nopg.c: store_pg_open() for programs built without PostgreSQL.
 *
 * Contract: libaifacade.a carries this file's store_pg_open(); a program
 * linked with store_pg.o (the Makefile's PG_PROGRAMS) takes that one
 * instead, and the linker never pulls this member out of the archive. This
 * file must define nothing else, or both would be linked. Programs that
 * are started once per request (CGI) are built without libpq: loading it
 * costs each run a few milliseconds (docs/issue14-plan.md). */
#include "store_backend.h"

#include <stdio.h>

int store_pg_open(const char *database, struct store **out, char *err, size_t errlen)
{
	(void)database;
	*out = NULL;
	snprintf(err, errlen, "DATABASE names PostgreSQL, but this program is built without it; PostgreSQL is not"
		 " supported by the web programs yet (docs/issue14-plan.md): use a SQLite path");
	return -1;
}
