/* pq.c: libpq, loaded only by a process that opens PostgreSQL (see pq.h).
 *
 * Every libpq function store_pg.c calls is defined here under its own name
 * and forwards to the one dlsym() found, so store_pg.c reads as plain libpq
 * code and no program has libpq among its DT_NEEDED libraries: a CGI run on
 * SQLite maps none of libpq's 25 shared objects (docs/issue14-plan.md, "Web
 * programs on PostgreSQL", has the figures). A libpq function store_pg.c
 * starts to use must be added to both lists below; the link fails until it
 * is (libaifacade.a holds no other definition). */
#include "pq.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

/* The library's soname: its ABI has been stable since PostgreSQL 8.0. */
#define PQ_SONAME "libpq.so.5"

static struct {
	PGconn *(*connectdb)(const char *);
	void (*finish)(PGconn *);
	void (*reset)(PGconn *);
	ConnStatusType (*status)(const PGconn *);
	PGTransactionStatusType (*transaction_status)(const PGconn *);
	char *(*error_message)(const PGconn *);
	char *(*db)(const PGconn *);
	char *(*host)(const PGconn *);
	char *(*port)(const PGconn *);
	PGresult *(*exec)(PGconn *, const char *);
	PGresult *(*exec_params)(PGconn *, const char *, int, const Oid *, const char *const *, const int *,
				 const int *, int);
	ExecStatusType (*result_status)(const PGresult *);
	char *(*result_error_message)(const PGresult *);
	char *(*result_error_field)(const PGresult *, int);
	char *(*cmd_tuples)(PGresult *);
	int (*ntuples)(const PGresult *);
	int (*nfields)(const PGresult *);
	char *(*getvalue)(const PGresult *, int, int);
	int (*getisnull)(const PGresult *, int, int);
	int (*getlength)(const PGresult *, int, int);
	void (*clear)(PGresult *);
	PQnoticeReceiver (*set_notice_receiver)(PGconn *, PQnoticeReceiver, void *);
	Oid (*ftype)(const PGresult *, int);
	int (*send_query_params)(PGconn *, const char *, int, const Oid *, const char *const *, const int *,
				 const int *, int);
	int (*set_single_row_mode)(PGconn *);
	PGresult *(*get_result)(PGconn *);
	int (*put_copy_data)(PGconn *, const char *, int);
	int (*put_copy_end)(PGconn *, const char *);
	int (*socket)(const PGconn *);
	int (*consume_input)(PGconn *);
	int (*is_busy)(PGconn *);
} pq;

static int pq_loaded;

/* dlsym's answer as a function pointer (POSIX allows the conversion; ISO C
 * has no cast for it, so the bytes are copied). */
static int take(void *lib, const char *name, void *fn, size_t size, char *err, size_t errlen)
{
	void *sym = dlsym(lib, name);
	if (!sym) {
		snprintf(err, errlen, "%s has no %s; install libpq5 from PostgreSQL 10 or later", PQ_SONAME, name);
		return -1;
	}
	memcpy(fn, &sym, size);
	return 0;
}

int pq_load(char *err, size_t errlen)
{
	if (pq_loaded)
		return 0;
	void *lib = dlopen(PQ_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *why = dlerror();
		snprintf(err, errlen, "DATABASE names PostgreSQL, but %s cannot be loaded (%s); install it (Debian: "
			 "apt-get install libpq5)", PQ_SONAME, why ? why : "no reason given");
		return -1;
	}
#define TAKE(field, name) take(lib, name, &pq.field, sizeof pq.field, err, errlen)
	if (TAKE(connectdb, "PQconnectdb") < 0 || TAKE(finish, "PQfinish") < 0 || TAKE(reset, "PQreset") < 0 ||
	    TAKE(status, "PQstatus") < 0 || TAKE(transaction_status, "PQtransactionStatus") < 0 ||
	    TAKE(error_message, "PQerrorMessage") < 0 || TAKE(db, "PQdb") < 0 || TAKE(host, "PQhost") < 0 ||
	    TAKE(port, "PQport") < 0 || TAKE(exec, "PQexec") < 0 || TAKE(exec_params, "PQexecParams") < 0 ||
	    TAKE(result_status, "PQresultStatus") < 0 || TAKE(result_error_message, "PQresultErrorMessage") < 0 ||
	    TAKE(result_error_field, "PQresultErrorField") < 0 || TAKE(cmd_tuples, "PQcmdTuples") < 0 ||
	    TAKE(ntuples, "PQntuples") < 0 || TAKE(nfields, "PQnfields") < 0 || TAKE(getvalue, "PQgetvalue") < 0 ||
	    TAKE(getisnull, "PQgetisnull") < 0 || TAKE(getlength, "PQgetlength") < 0 || TAKE(clear, "PQclear") < 0 ||
	    TAKE(set_notice_receiver, "PQsetNoticeReceiver") < 0 || TAKE(ftype, "PQftype") < 0 ||
	    TAKE(send_query_params, "PQsendQueryParams") < 0 || TAKE(set_single_row_mode, "PQsetSingleRowMode") < 0 ||
	    TAKE(get_result, "PQgetResult") < 0 || TAKE(put_copy_data, "PQputCopyData") < 0 ||
	    TAKE(put_copy_end, "PQputCopyEnd") < 0 || TAKE(socket, "PQsocket") < 0 ||
	    TAKE(consume_input, "PQconsumeInput") < 0 || TAKE(is_busy, "PQisBusy") < 0) {
		dlclose(lib);
		memset(&pq, 0, sizeof pq);
		return -1;
	}
#undef TAKE
	/* Kept loaded for the process's life: a warm parent's children use it. */
	pq_loaded = 1;
	return 0;
}

/* The forwarders. store_pg.c calls them only on a store pq_load() opened. */
PGconn *PQconnectdb(const char *conninfo) { return pq.connectdb(conninfo); }
void PQfinish(PGconn *conn) { pq.finish(conn); }
void PQreset(PGconn *conn) { pq.reset(conn); }
ConnStatusType PQstatus(const PGconn *conn) { return pq.status(conn); }
PGTransactionStatusType PQtransactionStatus(const PGconn *conn) { return pq.transaction_status(conn); }
char *PQerrorMessage(const PGconn *conn) { return pq.error_message(conn); }
char *PQdb(const PGconn *conn) { return pq.db(conn); }
char *PQhost(const PGconn *conn) { return pq.host(conn); }
char *PQport(const PGconn *conn) { return pq.port(conn); }
PGresult *PQexec(PGconn *conn, const char *query) { return pq.exec(conn, query); }

PGresult *PQexecParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
		       const char *const *paramValues, const int *paramLengths, const int *paramFormats,
		       int resultFormat)
{
	return pq.exec_params(conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,
			      resultFormat);
}

ExecStatusType PQresultStatus(const PGresult *res) { return pq.result_status(res); }
char *PQresultErrorMessage(const PGresult *res) { return pq.result_error_message(res); }
char *PQresultErrorField(const PGresult *res, int fieldcode) { return pq.result_error_field(res, fieldcode); }
char *PQcmdTuples(PGresult *res) { return pq.cmd_tuples(res); }
int PQntuples(const PGresult *res) { return pq.ntuples(res); }
int PQnfields(const PGresult *res) { return pq.nfields(res); }
char *PQgetvalue(const PGresult *res, int tup_num, int field_num) { return pq.getvalue(res, tup_num, field_num); }
int PQgetisnull(const PGresult *res, int tup_num, int field_num) { return pq.getisnull(res, tup_num, field_num); }
int PQgetlength(const PGresult *res, int tup_num, int field_num) { return pq.getlength(res, tup_num, field_num); }

PQnoticeReceiver PQsetNoticeReceiver(PGconn *conn, PQnoticeReceiver proc, void *arg)
{
	return pq.set_notice_receiver(conn, proc, arg);
}

Oid PQftype(const PGresult *res, int field_num) { return pq.ftype(res, field_num); }

int PQsendQueryParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
		      const char *const *paramValues, const int *paramLengths, const int *paramFormats,
		      int resultFormat)
{
	return pq.send_query_params(conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,
				    resultFormat);
}

int PQsetSingleRowMode(PGconn *conn) { return pq.set_single_row_mode(conn); }
PGresult *PQgetResult(PGconn *conn) { return pq.get_result(conn); }
int PQputCopyData(PGconn *conn, const char *buffer, int nbytes) { return pq.put_copy_data(conn, buffer, nbytes); }
int PQputCopyEnd(PGconn *conn, const char *errormsg) { return pq.put_copy_end(conn, errormsg); }
int PQsocket(const PGconn *conn) { return pq.socket(conn); }
int PQconsumeInput(PGconn *conn) { return pq.consume_input(conn); }
int PQisBusy(PGconn *conn) { return pq.is_busy(conn); }

/* PQclear(NULL) is allowed, and store_pg.c relies on it. */
void PQclear(PGresult *res)
{
	if (pq.clear)
		pq.clear(res);
}
