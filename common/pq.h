/* pq.h: libpq, loaded when a process first opens PostgreSQL.
 *
 * Why: loading libpq and the 25 shared objects it needs costs a process a
 * few milliseconds, more than a whole CGI run on SQLite. No program links
 * it; pq_load() maps it with dlopen() when DATABASE names PostgreSQL
 * (store.c), and pq.c defines the libpq functions store_pg.c calls, each
 * forwarding to the loaded library.
 *
 * Contract: pq_load() returns 0 once libpq is loaded (at once when it
 * already is), or -1 with err naming what is missing and how to install
 * it. No libpq function may be called before it succeeded. The library
 * stays loaded for the process's life, so a warm SCGI parent that loads it
 * (store_prepare(), store.h) hands it to every child it forks. */
#ifndef AIF_PQ_H
#define AIF_PQ_H

#include <stddef.h>

int pq_load(char *err, size_t errlen);

#endif
