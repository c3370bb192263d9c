/* test_queryplan.c: the hot queries use their indexes (EXPLAIN QUERY PLAN).
 *
 * A request's cost must not grow with the data (bench/README.md): a page of a
 * 5,000-message conversation in a 100,000-message database costs what a page
 * of a short one does only while SQLite searches an index instead of scanning
 * a table or sorting rows. This program includes store_sqlite.c itself, so it
 * asks SQLite for the plan of the very statements the programs prepare (the
 * sql[] table), in a fresh database and again in a filled one after ANALYZE
 * (statistics can change the planner's mind). It also checks that every
 * foreign key has an index starting with its column, so that deleting a
 * user or a conversation does not scan the child table. */
#include "store_sqlite.c"

#include <unistd.h>

#include "check.h"

static char dir[] = "/tmp/aifacade-test-queryplan.XXXXXX";

/* The plan of a statement as one line: its details joined by "; ". */
static void plan_of(sqlite3 *db, const char *text, char *out, size_t outlen)
{
	char *q = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", text);
	sqlite3_stmt *s = NULL;
	out[0] = '\0';
	if (sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK) {
		snprintf(out, outlen, "PREPARE FAILED: %s", sqlite3_errmsg(db));
	} else {
		size_t n = 0;
		while (sqlite3_step(s) == SQLITE_ROW && n < outlen) {
			const char *d = (const char *)sqlite3_column_text(s, 3);
			n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? "; " : "", d ? d : "");
		}
	}
	sqlite3_finalize(s);
	sqlite3_free(q);
}

/* Full-text searches read the matches from the FTS5 index (its plan says
 * "SCAN ... VIRTUAL TABLE INDEX 0:M", a MATCH lookup, not a table scan)
 * and must sort them by rank; the wants below check the lookup and joins. */
static int is_fulltext(int id)
{
	return id == S_SEARCH_MSGS || id == S_SEARCH_TITLES;
}

/* Statements that may scan: maintenance and admin work (the admin page's
 * list of users), not requests; and
 * the count of turns in flight, a table of at most MAX_STREAMS_TOTAL rows. */
static int may_scan(int id)
{
	return id == S_USERS_EACH || id == S_USERS_ADMIN || id == S_SESSION_PURGE || id == S_RATE_PURGE || id == S_CONV_CLEAR_ALL ||
	       id == S_PING || id == S_BEGIN || id == S_COMMIT || id == S_ROLLBACK || id == S_TURN_COUNT ||
	       is_fulltext(id);
}

/* A scan of a table, not the one constant row of an INSERT ... SELECT. */
static int scans_table(const char *plan)
{
	for (const char *p = strstr(plan, "SCAN "); p; p = strstr(p + 5, "SCAN "))
		if (strncmp(p, "SCAN CONSTANT ROW", 17) != 0)
			return 1;
	return 0;
}

struct want {
	int id;
	const char *name;
	const char *needles[3]; /* each must appear in the plan */
};

static const struct want wants[] = {
	{S_SESSION_FIND, "session lookup by token hash, user by id",
	 {"USING PRIMARY KEY (token_hash=?)", "USING INTEGER PRIMARY KEY (rowid=?)", NULL}},
	{S_USER_FIND, "user lookup by folded name", {"INDEX sqlite_autoindex_users_1 (username_key=?)", NULL, NULL}},
	{S_RATE_COUNT, "rate-limit count searches its bucket's window",
	 {"INDEX rate_events_bucket (bucket=? AND at>?)", NULL, NULL}},
	{S_CONV_LIST, "conversation list in index order", {"INDEX conversations_user (user_id=?)", NULL, NULL}},
	{S_CONV_GET, "one conversation by id", {"USING INTEGER PRIMARY KEY (rowid=?)", NULL, NULL}},
	{S_MSG_PAGE, "message page walks the conversation's index backwards",
	 {"INDEX messages_conversation (conversation_id=? AND id<?)", NULL, NULL}},
	{S_MSG_CONTEXT, "context walks the conversation's index backwards",
	 {"INDEX messages_conversation (conversation_id=? AND id<?)", NULL, NULL}},
	{S_MSG_FINISH, "finishing a message by id", {"USING INTEGER PRIMARY KEY (rowid=?)", NULL, NULL}},
	{S_MSG_ADD, "adding a message checks its conversation's owner by id",
	 {"SEARCH conversations USING INTEGER PRIMARY KEY (rowid=?)", NULL, NULL}},
	{S_TURN_ON_HOST, "a host's turns by their index", {"INDEX turns_host (host=?)", NULL, NULL}},
	{S_MSG_UNRENDERED, "render-html's work list walks messages by id from where it left off",
	 {"USING INTEGER PRIMARY KEY (rowid>?)", NULL, NULL}},
	{S_MSG_SET_HTML, "storing a message's HTML by id", {"USING INTEGER PRIMARY KEY (rowid=?)", NULL, NULL}},
	{S_SESSION_TOUCH, "touching a session by token hash", {"USING PRIMARY KEY (token_hash=?)", NULL, NULL}},
	{S_SEARCH_MSGS, "message search looks matches up in the index, then rows by id",
	 {"messages_fts VIRTUAL TABLE INDEX 0:M", "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)",
	  "SEARCH c USING INTEGER PRIMARY KEY (rowid=?)"}},
	{S_SEARCH_TITLES, "title search looks matches up in the index, then rows by id",
	 {"conversations_fts VIRTUAL TABLE INDEX 0:M", "SEARCH c USING INTEGER PRIMARY KEY (rowid=?)", NULL}},
	{S_MSG_IN_CONV, "a message of a conversation by ids", {"USING INTEGER PRIMARY KEY (rowid=?)", NULL, NULL}},
	{S_MSG_AFTER, "export walks the conversation's index forwards",
	 {"INDEX messages_conversation (conversation_id=? AND id>?)", NULL, NULL}},
	{S_MSG_NEWER_NTH, "the page boundary walks the conversation's index",
	 {"INDEX messages_conversation (conversation_id=? AND id>?)", NULL, NULL}},
};

/* A table scan in a plan; "SCAN CONSTANT ROW" is the one row of an
 * INSERT ... SELECT without a FROM, not a scan. */
static void check_plans(struct store *st, const char *when)
{
	char plan[2048], name[256];
	for (int id = 0; id < S_COUNT; id++) {
		if (may_scan(id))
			continue;
		plan_of(sq(st)->db, sql[id], plan, sizeof plan);
		int ok = strstr(plan, "PREPARE FAILED") == NULL && !scans_table(plan) &&
			 strstr(plan, "TEMP B-TREE") == NULL;
		snprintf(name, sizeof name, "%s: statement %d neither scans a table nor sorts (%.60s)", when, id, sql[id]);
		if (!CHECK(ok, name))
			printf("#   plan: %s\n", plan);
	}
	for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++) {
		plan_of(sq(st)->db, sql[wants[i].id], plan, sizeof plan);
		int ok = 1;
		for (int k = 0; k < 3 && wants[i].needles[k]; k++)
			ok = ok && strstr(plan, wants[i].needles[k]) != NULL;
		snprintf(name, sizeof name, "%s: %s", when, wants[i].name);
		if (!CHECK(ok, name))
			printf("#   plan: %s\n", plan);
	}
}

/* Every foreign key's column starts some index of its table. */
static void check_foreign_keys(struct store *st)
{
	sqlite3_stmt *s = NULL;
	const char *q = "SELECT m.name, f.\"from\", (SELECT count(*) FROM pragma_index_list(m.name) il"
			" WHERE (SELECT name FROM pragma_index_info(il.name) WHERE seqno = 0) = f.\"from\")"
			" + (SELECT count(*) FROM pragma_table_info(m.name) t WHERE t.pk = 1 AND t.name = f.\"from\")"
			" FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'";
	if (!CHECK(sqlite3_prepare_v2(sq(st)->db, q, -1, &s, NULL) == SQLITE_OK, "foreign keys can be listed"))
		return;
	int n = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		char name[256];
		snprintf(name, sizeof name, "foreign key %s.%s has an index that starts with it",
			 (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1));
		CHECK(sqlite3_column_int(s, 2) > 0, name);
		n++;
	}
	sqlite3_finalize(s);
	CHECK(n >= 3, "the schema has its foreign keys (sessions, conversations, messages)");
}

/* Enough rows of every kind that ANALYZE has something to say. */
static void fill(struct store *st)
{
	static const char sqltext[] =
	    "BEGIN;"
	    "WITH RECURSIVE q(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM q WHERE i < 200)"
	    " INSERT INTO users (username, username_key, password_hash, created_at)"
	    "  SELECT 'U' || i, 'u' || i, 'h', i FROM q;"
	    "WITH RECURSIVE q(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM q WHERE i < 400)"
	    " INSERT INTO sessions (token_hash, user_id, ua_hash, created_at, last_seen)"
	    "  SELECT hex(randomblob(16)), i % 200 + 1, 'ua', i, i FROM q;"
	    "WITH RECURSIVE q(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM q WHERE i < 600)"
	    " INSERT INTO conversations (user_id, title, created_at, updated_at) SELECT i % 200 + 1, 't', i, i FROM q;"
	    "WITH RECURSIVE q(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM q WHERE i < 20000)"
	    " INSERT INTO messages (conversation_id, role, content, status, created_at)"
	    "  SELECT CASE WHEN i % 4 = 0 THEN 1 ELSE i % 600 + 1 END,"
	    "         CASE i % 2 WHEN 0 THEN 'user' ELSE 'assistant' END, 'text', 'ok', i FROM q;"
	    "WITH RECURSIVE q(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM q WHERE i < 3000)"
	    " INSERT INTO rate_events (bucket, at) SELECT 'prompt-user:' || (i % 50), i FROM q;"
	    "COMMIT; ANALYZE;";
	char *msg = NULL;
	if (!CHECK(sqlite3_exec(sq(st)->db, sqltext, NULL, NULL, &msg) == SQLITE_OK, "fill and ANALYZE"))
		printf("#   %s\n", msg ? msg : "?");
	sqlite3_free(msg);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char path[256], err[512];
	snprintf(path, sizeof path, "%s/plan.db", dir);
	struct store *st = NULL;
	if (!CHECK(store_open(path, &st, err, sizeof err) == 0, "open and migrate a fresh database")) {
		printf("#   %s\n", err);
		return check_done();
	}
	check_plans(st, "fresh");
	check_foreign_keys(st);
	fill(st);
	store_close(st);
	/* A new connection reads the statistics, as the next request would. */
	st = NULL;
	if (CHECK(store_open(path, &st, err, sizeof err) == 0, "reopen the filled database"))
		check_plans(st, "filled and analysed");
	store_close(st);
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(path, sizeof path, "%s/plan.db%s", dir, suffixes[i]);
		unlink(path);
	}
	if (rmdir(dir) != 0)
		printf("# could not remove %s\n", dir);
	return check_done();
}
