/* test_store.c: the SQLite store keeps owners apart, pages exactly, never
 * reuses ids, bounds turns in flight, and migrates once. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "inflight.h"
#include "store.h"

static char dir[] = "/tmp/aifacade-test-store.XXXXXX";

static struct store *open_db(const char *name)
{
	char path[256], err[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct store *st = NULL;
	if (store_open(path, &st, err, sizeof err) < 0)
		printf("# open %s: %s\n", path, err);
	return st;
}

static long long add_turn(struct store *st, long long user, long long conv, const char *q, const char *a,
			  const char *status)
{
	long long u, m;
	store_msg_add(st, user, conv, "user", q, status, NULL, NULL, 0, 1000, &u);
	store_msg_add(st, user, conv, "assistant", a, status, "m", NULL, 0, 1000, &m);
	return m;
}

/* One integer from a query on the file at path (-1 when it fails). */
static long long file_value(const char *path, const char *q)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, q, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* Every row of the three rebuilt tables as one text, ids included. */
static char *file_dump(const char *path)
{
	static const char q[] =
	    "SELECT group_concat(x, '|') FROM ("
	    " SELECT 'u' || id || ',' || username || ',' || username_key || ',' || password_hash || ',' || created_at AS x"
	    "  FROM users"
	    " UNION ALL SELECT 'c' || id || ',' || user_id || ',' || title || ',' || created_at || ',' || updated_at"
	    "  FROM conversations"
	    " UNION ALL SELECT 'm' || id || ',' || conversation_id || ',' || role || ',' || content || ','"
	    "  || coalesce(reasoning, '-') || ',' || status || ',' || coalesce(model, '-') || ','"
	    "  || coalesce(error, '-') || ',' || created_at || ',' || coalesce(html, '-') || ','"
	    "  || coalesce(html_version, '-') FROM messages"
	    " UNION ALL SELECT 's' || token_hash || ',' || user_id FROM sessions)";
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *out = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, q, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_text(s, 0))
		out = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return out ? out : strdup("(no rows)");
}

/* A schema-2 file as builds before migration 3 left it: the DDL of
 * migrations 1 and 2, frozen here, with rows whose ids have gaps (deleted
 * rows) and the highest ids deleted, as SQLite would hand out again. */
static int make_schema2_file(const char *path)
{
	static const char ddl[] =
	    "CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL, username_key TEXT NOT NULL UNIQUE,"
	    " password_hash TEXT NOT NULL, created_at INTEGER NOT NULL);"
	    "CREATE TABLE sessions (token_hash TEXT PRIMARY KEY,"
	    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, ua_hash TEXT NOT NULL,"
	    " created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL) WITHOUT ROWID;"
	    "CREATE INDEX sessions_user ON sessions(user_id);"
	    "CREATE TABLE rate_events (bucket TEXT NOT NULL, at INTEGER NOT NULL);"
	    "CREATE INDEX rate_events_bucket ON rate_events(bucket, at);"
	    "CREATE TABLE conversations (id INTEGER PRIMARY KEY,"
	    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, title TEXT NOT NULL,"
	    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	    "CREATE INDEX conversations_user ON conversations(user_id, updated_at DESC, id DESC);"
	    "CREATE TABLE messages (id INTEGER PRIMARY KEY,"
	    " conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
	    " role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), content TEXT NOT NULL, reasoning TEXT,"
	    " status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'interrupted')), model TEXT, error TEXT,"
	    " created_at INTEGER NOT NULL);"
	    "CREATE INDEX messages_conversation ON messages(conversation_id, id);"
	    "ALTER TABLE messages ADD COLUMN html TEXT;"
	    "ALTER TABLE messages ADD COLUMN html_version INTEGER;"
	    "PRAGMA user_version = 2;"
	    "INSERT INTO users VALUES (1, 'Alice', 'alice', 'h1', 10), (4, 'Bob', 'bob', 'h2', 11);"
	    "INSERT INTO sessions VALUES ('tok', 4, 'ua', 12, 13);"
	    "INSERT INTO rate_events VALUES ('prompt-user:1', 14);"
	    "INSERT INTO conversations VALUES (2, 1, 'Alice talk', 20, 21), (9, 4, 'Bob talk', 22, 23);"
	    "INSERT INTO messages VALUES"
	    " (3, 2, 'user', 'hello', NULL, 'ok', NULL, NULL, 30, '<p>hello</p>', 7),"
	    " (5, 2, 'assistant', 'hi **there**', 'thought', 'ok', 'm', NULL, 31, NULL, NULL),"
	    " (17, 9, 'user', 'bob asks', NULL, 'error', NULL, NULL, 32, NULL, NULL),"
	    " (18, 9, 'assistant', '', NULL, 'error', 'm', 'It failed.', 33, NULL, NULL);";
	sqlite3 *db = NULL;
	int ok = sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, ddl, NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
	return ok;
}

/* An old file with rows migrates keeping every row, id and index; the
 * next ids are above every existing one; foreign keys still cascade. */
static void test_migration_keeps_rows(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/schema2.db", dir);
	if (!CHECK(make_schema2_file(path), "a schema-2 file with rows"))
		return;
	char *before = file_dump(path);
	char err[512];
	struct store *st = NULL;
	if (!CHECK(store_open(path, &st, err, sizeof err) == 0, "the schema-2 file opens and migrates")) {
		printf("#   %s\n", err);
		free(before);
		return;
	}
	CHECK(store_schema_version(st) == store_schema_latest() && store_schema_latest() >= 3, "to the latest version");
	char *after = file_dump(path);
	if (!CHECK(strcmp(before, after) == 0, "every row and id is kept"))
		printf("#   before %s\n#   after  %s\n", before, after);
	free(before);
	free(after);
	CHECK(file_value(path, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN"
			       " ('conversations_user', 'messages_conversation', 'sessions_user', 'rate_events_bucket')") == 4,
	      "and every index");
	/* migration 6: each conversation becomes one branch, each message
	 * under the one before it */
	CHECK(file_value(path, "SELECT count(*) FROM messages WHERE parent_id IS NULL") == 2 &&
		      file_value(path, "SELECT parent_id FROM messages WHERE id = 5") == 3 &&
		      file_value(path, "SELECT parent_id FROM messages WHERE id = 18") == 17,
	      "existing conversations become single branches");
	CHECK(file_value(path, "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%AUTOINCREMENT%' AND name IN"
			       " ('users', 'conversations', 'messages')") == 3,
	      "users, conversations and messages now never reuse an id");
	CHECK(file_value(path, "SELECT count(*) FROM pragma_foreign_key_check") == 0 &&
		      file_value(path, "SELECT count(*) FROM pragma_foreign_key_list('messages')"
				       " WHERE \"table\" = 'conversations' AND on_delete = 'CASCADE'") == 1,
	      "the foreign keys are kept and hold");
	long long uid = 0, mid = 0;
	struct conversation c = {0};
	CHECK(store_user_create(st, "Carol", "carol", "h", 40, &uid) == STORE_OK && uid == 5 &&
		      store_conv_create(st, uid, "t", 41, &c) == STORE_OK && c.id == 10 &&
		      store_msg_add(st, uid, c.id, "user", "x", "ok", NULL, NULL, 0, 42, &mid) == STORE_OK && mid == 19,
	      "new ids start above the highest existing ones");
	store_conv_free(&c);
	/* Deleting Bob cascades (foreign keys are on again after the rebuild). */
	CHECK(store_user_delete(st, "bob") == STORE_OK &&
		      file_value(path, "SELECT count(*) FROM messages WHERE conversation_id = 9") == 0 &&
		      file_value(path, "SELECT count(*) FROM sessions") == 0,
	      "deleting a user still cascades to conversations, messages and sessions");
	long long again = 0;
	CHECK(store_user_create(st, "Dave", "dave", "h", 50, &again) == STORE_OK && again == 6,
	      "and the deleted user's id is not handed out again");
	store_close(st);
}

/* Writes that name an id also name its owner and conversation. */
static void test_owner_scoped_writes(struct store *st, long long alice, long long bob)
{
	struct conversation ca, cb;
	long long m = 0, other = 0;
	CHECK(store_conv_create(st, alice, "mine", 100, &ca) == STORE_OK &&
		      store_conv_create(st, bob, "his", 100, &cb) == STORE_OK &&
		      store_msg_add(st, alice, ca.id, "assistant", "", "interrupted", "m", NULL, 0, 101, &m) == STORE_OK,
	      "two users, a conversation each, an answer in progress");
	CHECK(store_msg_add(st, bob, ca.id, "user", "intruder", "ok", NULL, NULL, 0, 102, &other) == STORE_NOTFOUND,
	      "a message cannot be added to another user's conversation");
	CHECK(store_msg_finish(st, bob, ca.id, m, "overwritten", NULL, "ok", NULL, NULL, 0) == STORE_NOTFOUND,
	      "another user cannot finish a message");
	CHECK(store_msg_finish(st, bob, cb.id, m, "overwritten", NULL, "ok", NULL, NULL, 0) == STORE_NOTFOUND,
	      "nor through a conversation of his own");
	CHECK(store_msg_finish(st, alice, cb.id, m, "moved", NULL, "ok", NULL, NULL, 0) == STORE_NOTFOUND,
	      "the owner cannot finish a message through the wrong conversation");
	CHECK(store_conv_touch(st, bob, ca.id, 999) == STORE_NOTFOUND, "another user cannot touch a conversation");
	struct message *list;
	size_t n;
	int more;
	CHECK(store_msg_page(st, bob, ca.id, 0, 50, &list, &n, &more) == STORE_OK && n == 0,
	      "another user's page of a conversation is empty");
	store_msg_list_free(list, n);
	CHECK(store_msg_context(st, bob, ca.id, 0, 100000, &list, &n) == STORE_OK && n == 0,
	      "and so is its context");
	store_msg_list_free(list, n);
	CHECK(store_msg_page(st, alice, ca.id, 0, 50, &list, &n, &more) == STORE_OK && n == 1 &&
		      strcmp(list[0].content, "") == 0 && strcmp(list[0].status, "interrupted") == 0,
	      "the owner's message is untouched");
	store_msg_list_free(list, n);
	CHECK(store_msg_finish(st, alice, ca.id, m, "done", NULL, "ok", NULL, NULL, 0) == STORE_OK &&
		      store_conv_touch(st, alice, ca.id, 200) == STORE_OK,
	      "the owner finishes it through its conversation");

	/* The reported attack: a conversation deleted during its answer;
	 * another user's new messages must not be reachable by the old ids. */
	long long late = 0;
	CHECK(store_msg_add(st, bob, cb.id, "assistant", "", "interrupted", "m", NULL, 0, 300, &late) == STORE_OK &&
		      store_conv_delete(st, bob, cb.id) == STORE_OK,
	      "bob's conversation is deleted while its answer is written");
	struct conversation cn;
	long long fresh = 0;
	CHECK(store_conv_create(st, alice, "new", 301, &cn) == STORE_OK && cn.id > cb.id &&
		      store_msg_add(st, alice, cn.id, "user", "alice's prompt", "ok", NULL, NULL, 0, 302, &fresh) ==
			  STORE_OK &&
		      fresh > late,
	      "ids freed by the delete are not handed out again");
	CHECK(store_msg_finish(st, bob, cb.id, late, "bob's late answer", NULL, "ok", NULL, NULL, 0) == STORE_NOTFOUND &&
		      store_conv_touch(st, bob, cb.id, 303) == STORE_NOTFOUND,
	      "the late answer finds nothing to write");
	CHECK(store_msg_page(st, alice, cn.id, 0, 50, &list, &n, &more) == STORE_OK && n == 1 &&
		      strcmp(list[0].content, "alice's prompt") == 0,
	      "alice's message is intact");
	store_msg_list_free(list, n);
	long long cleared = 0;
	CHECK(store_conv_clear(st, alice, &cleared) == STORE_OK &&
		      store_msg_finish(st, alice, cn.id, fresh, "x", NULL, "ok", NULL, NULL, 0) == STORE_NOTFOUND,
	      "after clearing the history, a finish writes nothing");
	store_conv_free(&ca);
	store_conv_free(&cb);
	store_conv_free(&cn);
}

/* A child process that takes user_id's slot for message_id at now and,
 * as a generator (leader: a session of its own, as turn.c's), takes it
 * over; it holds the slot until killed. Its pid once the slot is taken,
 * or -1. */
static pid_t slot_holder(long long user_id, long long message_id, long long now, int leader)
{
	int ready[2];
	if (pipe(ready) != 0)
		return -1;
	pid_t child = fork();
	if (child == 0) {
		close(ready[0]);
		struct store *cst = NULL;
		char err[256], path[256];
		snprintf(path, sizeof path, "%s/a.db", dir);
		struct inflight mine;
		enum inflight_full f;
		if ((!leader || setsid() == getpid()) && store_open(path, &cst, err, sizeof err) == 0 &&
		    inflight_take(cst, user_id, message_id, 1, 3, now, &mine, &f) == STORE_OK && f == INFLIGHT_FREE) {
			if (leader) {
				inflight_move(cst, &mine);
				/* the test's clock, not the machine's */
				store_turn_beat(cst, user_id, mine.id, now);
			}
			if (!mine.moving && write(ready[1], "k", 1) == 1)
				pause(); /* holds its slot until killed */
		}
		_exit(1);
	}
	close(ready[1]);
	char c;
	ssize_t n = child > 0 ? read(ready[0], &c, 1) : -1;
	close(ready[0]);
	if (n == 1)
		return child;
	if (child > 0)
		waitpid(child, NULL, 0);
	return -1;
}

/* The turns in flight: per-user and total bounds, freed slots, and slots
 * of processes that are gone. */
static void test_inflight(struct store *st, long long alice, long long bob)
{
	struct inflight a[3], b, extra;
	enum inflight_full full;
	long long now = 1000000;
	int ok = 1;
	for (int i = 0; i < 2; i++)
		ok &= inflight_take(st, alice, 100 + i, 2, 3, now, &a[i], &full) == STORE_OK && full == INFLIGHT_FREE &&
		      a[i].id > 0;
	CHECK(ok, "a user takes slots up to the per-user bound");
	CHECK(inflight_take(st, alice, 102, 2, 3, now, &extra, &full) == STORE_OK && full == INFLIGHT_USER_FULL &&
		      extra.id == 0,
	      "one more is refused as the user's bound");
	CHECK(inflight_take(st, bob, 200, 2, 3, now, &b, &full) == STORE_OK && full == INFLIGHT_FREE,
	      "another user still gets one");
	struct inflight carol;
	CHECK(inflight_take(st, bob, 201, 5, 3, now, &carol, &full) == STORE_OK && full == INFLIGHT_ALL_FULL,
	      "the total bound refuses once every slot is taken");
	inflight_release(st, &a[0]);
	CHECK(a[0].id == 0 && inflight_take(st, alice, 103, 2, 3, now, &a[2], &full) == STORE_OK &&
		      full == INFLIGHT_FREE,
	      "a released slot is free again");
	inflight_release(st, &a[1]);
	inflight_release(st, &a[2]);
	inflight_release(st, &b);

	/* A generator (a session of its own, turn.c) that took its turn over
	 * holds the slot while it lives, past a stale heartbeat (a writer
	 * holding the database keeps it from beating), and frees it once it
	 * is killed. */
	pid_t gen = slot_holder(alice, 300, now, 1);
	CHECK(gen > 0, "a generator of this host holds alice's one slot");
	CHECK(inflight_take(st, alice, 301, 1, 3, now, &extra, &full) == STORE_OK && full == INFLIGHT_USER_FULL,
	      "while it lives, the slot stays taken");
	CHECK(inflight_take(st, alice, 301, 1, 3, now + INFLIGHT_STALE_MS + 1, &extra, &full) == STORE_OK &&
		      full == INFLIGHT_USER_FULL,
	      "a live generator of this host holds it past a stale heartbeat");
	struct turn_state t;
	CHECK(store_turn_of_msg(st, alice, 300, &t) == STORE_OK && t.pid == gen &&
		      inflight_running(&t, now + INFLIGHT_LOCAL_STALE_MS - 1) &&
		      !inflight_running(&t, now + INFLIGHT_LOCAL_STALE_MS + 1),
	      "up to the bound past which its pid may be another's");
	kill(gen, SIGKILL);
	waitpid(gen, NULL, 0);
	CHECK(inflight_take(st, alice, 302, 1, 3, now, &extra, &full) == STORE_OK && full == INFLIGHT_FREE,
	      "once it is killed, its slot is free at once");
	/* A row that still names the live request that took it (its
	 * generator died before taking it over: the database was out of
	 * reach) runs only while its heartbeat is recent: the request lives
	 * on (a persistent worker) and must not keep it "streaming". */
	pid_t req = slot_holder(bob, 400, now, 0);
	CHECK(req > 0, "a request of this host holds bob's one slot, never taken over");
	CHECK(store_turn_of_msg(st, bob, 400, &t) == STORE_OK && t.pid == req &&
		      inflight_running(&t, now + INFLIGHT_STALE_MS - 1) && !inflight_running(&t, now + INFLIGHT_STALE_MS + 1),
	      "it runs while its heartbeat is recent, not past it though the request lives");
	CHECK(inflight_take(st, bob, 401, 1, 3, now + INFLIGHT_STALE_MS - 1, &b, &full) == STORE_OK &&
		      full == INFLIGHT_USER_FULL,
	      "its slot is held while the heartbeat is recent");
	CHECK(inflight_take(st, bob, 401, 1, 3, now + INFLIGHT_STALE_MS + 1, &b, &full) == STORE_OK &&
		      full == INFLIGHT_FREE && store_turn_of_msg(st, bob, 400, &t) == STORE_NOTFOUND,
	      "and freed, its row dropped, once it is stale");
	kill(req, SIGKILL);
	waitpid(req, NULL, 0);
	inflight_release(st, &b);
	/* Another host's turn is known only by its heartbeat, and expires. */
	struct inflight old;
	CHECK(inflight_take(st, bob, 403, 1, 3, now, &old, &full) == STORE_OK && full == INFLIGHT_FREE &&
		      store_turn_set_pid(st, bob, old.id, "another-node", 1, now) == STORE_OK,
	      "bob takes his one slot, on another node");
	CHECK(inflight_take(st, bob, 404, 1, 3, now + INFLIGHT_STALE_MS - 1, &b, &full) == STORE_OK &&
		      full == INFLIGHT_USER_FULL,
	      "which holds while its heartbeat is recent");
	CHECK(inflight_take(st, bob, 405, 1, 3, now + INFLIGHT_STALE_MS + 1, &b, &full) == STORE_OK &&
		      full == INFLIGHT_FREE,
	      "and expires when its heartbeat is stale");
	inflight_release(st, &b);
	/* The same hostname before a restart (a container's pids start again
	 * at 1): a live pid of ours is not the process the turn recorded. */
	char name[256], here[256];
	CHECK(gethostname(name, sizeof name) == 0, "this machine has a hostname");
	inflight_host(here, sizeof here);
	CHECK(strncmp(here, name, strlen(name)) == 0 && strcmp(here, name) != 0 && !strstr(here, " .0"),
	      "a turn's host names the machine and when its pid namespace began");
	printf("# this process's host: %s\n", here);
	CHECK(inflight_take(st, bob, 406, 1, 3, now, &old, &full) == STORE_OK && full == INFLIGHT_FREE &&
		      store_turn_set_pid(st, bob, old.id, name, (long long)getpid(), now) == STORE_OK,
	      "bob takes his one slot, recorded by this hostname's run before a restart, with a live pid");
	CHECK(store_turn_of_msg(st, bob, 406, &t) == STORE_OK && inflight_running(&t, now + INFLIGHT_STALE_MS - 1) &&
		      !inflight_running(&t, now + INFLIGHT_STALE_MS + 1),
	      "it runs while its heartbeat is recent and is over once it is stale, though the pid lives");
	CHECK(inflight_take(st, bob, 407, 1, 3, now + INFLIGHT_STALE_MS + 1, &b, &full) == STORE_OK &&
		      full == INFLIGHT_FREE,
	      "so its slot is freed by the heartbeat, not held for the pid");
	inflight_release(st, &b);
	inflight_release(st, &extra);
}

/* A store checkpoints its WAL itself, once the writer that grew it has
 * left the writers' queue (store_sqlite.c): the rows reach the database
 * file while the connection is open, and the WAL stays near its limit
 * instead of growing with every write. */
static void test_checkpoint(void)
{
	struct store *w = open_db("w.db");
	CHECK(w != NULL, "open a database for the checkpoint test");
	if (!w)
		return;
	static char detail[12 * 1024];
	memset(detail, 'x', sizeof detail - 1);
	int ok = 1;
	for (int i = 0; i < 1000 && ok; i++) /* about 3,000 pages, each write a transaction of its own */
		ok = store_audit_add(w, i, "test", "checkpoint", "t", "127.0.0.1", detail) == STORE_OK;
	CHECK(ok, "a thousand writes of 12 KiB");
	char path[256];
	struct stat sb;
	snprintf(path, sizeof path, "%s/w.db", dir);
	CHECK(stat(path, &sb) == 0 && sb.st_size > 8 * 1024 * 1024, "the rows reached the database file while it is open");
	snprintf(path, sizeof path, "%s/w.db-wal", dir);
	CHECK(stat(path, &sb) == 0 && sb.st_size < 6 * 1024 * 1024, "the WAL stays near its limit of 1,000 pages");
	store_close(w);
}

/* The ticket counter of a database's writers' queue (store_sqlite.c). */
static unsigned long long queue_tickets(const char *db)
{
	char path[300];
	unsigned char b[8] = {0};
	unsigned long long t = 0;
	snprintf(path, sizeof path, "%s-queue", db);
	FILE *f = fopen(path, "rb");
	if (f && fseek(f, 8, SEEK_SET) == 0 && fread(b, 1, sizeof b, f) == sizeof b)
		for (int i = 7; i >= 0; i--)
			t = t << 8 | b[i];
	if (f)
		fclose(f);
	return t;
}

/* Waits (up to 5 s) until a writer has taken a ticket after `before`. */
static int ticket_taken(const char *db, unsigned long long before)
{
	for (int waited = 0; queue_tickets(db) == before && waited < 500; waited++)
		usleep(10000);
	return queue_tickets(db) > before;
}

/* Writers get their turns in the order they asked: eight processes queue
 * one after another behind a transaction, and write in that order once it
 * ends. (A lock that every waiter waits on would give the turn to
 * whichever woken waiter runs first.) Every writer is a child: SQLite's
 * state must not cross a fork, so this process never opens q.db. */
static void test_queue_order(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/q.db", dir);
	int go[2];
	CHECK(pipe(go) == 0, "a pipe to end the holder's transaction");
	pid_t holder = fork();
	if (holder == 0) {
		struct store *h = NULL;
		char err[256], c;
		close(go[1]);
		if (store_open(path, &h, err, sizeof err) < 0 || store_begin(h) != STORE_OK)
			_exit(2);
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(store_commit(h) == STORE_OK ? 0 : 1);
	}
	close(go[0]);
	CHECK(ticket_taken(path, 0) && queue_tickets(path) == 1, "a writer holds its turn in a transaction");
	pid_t kids[8];
	int queued = 1;
	for (int i = 0; i < 8; i++) {
		unsigned long long before = queue_tickets(path);
		kids[i] = fork();
		if (kids[i] == 0) {
			struct store *w = NULL;
			char err[256], mine[16];
			snprintf(mine, sizeof mine, "%d", i);
			if (store_open(path, &w, err, sizeof err) < 0)
				_exit(2);
			_exit(store_audit_add(w, i, "test", "queue", "t", "127.0.0.1", mine) == STORE_OK ? 0 : 1);
		}
		queued &= ticket_taken(path, before); /* the next one starts once this one has its ticket */
	}
	CHECK(queued, "eight writers take their tickets one after another behind it");
	int status = 0;
	CHECK(write(go[1], "c", 1) == 1 && waitpid(holder, &status, 0) == holder && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0,
	      "the holder ends its transaction");
	close(go[1]);
	int ok = 1;
	for (int i = 0; i < 8; i++)
		ok &= waitpid(kids[i], &status, 0) == kids[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	CHECK(ok, "every writer wrote");
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char order[64] = "";
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT group_concat(detail, '') FROM (SELECT detail FROM audit ORDER BY id)", -1, &q,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		snprintf(order, sizeof order, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	CHECK_STR(order, "01234567", "they wrote in the order they queued");
}

/* A child that takes its turn in path's queue, holds a transaction for
 * hold_ms and commits; it exits 0 if both worked. */
static pid_t spawn_holder(const char *path, int hold_ms)
{
	unsigned long long before = queue_tickets(path);
	pid_t pid = fork();
	if (pid == 0) {
		struct store *h = NULL;
		char err[256];
		if (store_open(path, &h, err, sizeof err) < 0 || store_begin(h) != STORE_OK)
			_exit(2);
		usleep((useconds_t)hold_ms * 1000);
		_exit(store_commit(h) == STORE_OK ? 0 : 1);
	}
	(void)ticket_taken(path, before); /* so the next one queues behind it; a failed child exits 2 */
	return pid;
}

/* A child that makes one write with the full patience, and reports "rc ms"
 * (the store's result, how long it took) on fd. */
static pid_t spawn_timed_write(const char *path, int fd)
{
	unsigned long long before = queue_tickets(path);
	pid_t pid = fork();
	if (pid == 0) {
		struct store *w = NULL;
		char err[256], out[64];
		struct timespec a, b;
		if (store_open(path, &w, err, sizeof err) < 0)
			_exit(2);
		clock_gettime(CLOCK_MONOTONIC, &a);
		int rc = store_audit_add(w, 1, "test", "queue", "t", "127.0.0.1", "timed");
		clock_gettime(CLOCK_MONOTONIC, &b);
		long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		int n = snprintf(out, sizeof out, "%d %ld\n", rc, ms);
		_exit(write(fd, out, (size_t)n) == n ? 0 : 3);
	}
	(void)ticket_taken(path, before);
	return pid;
}

static void reap(pid_t pid, int *ok)
{
	int status = 0;
	*ok &= waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A writers' queue that moves is waited for past the busy timeout; one
 * stuck behind a lock that does not move is busy after it, for every
 * writer at once (not one timeout after another). Two databases side by
 * side, each written only by children. */
static void test_queue_patience(void)
{
	char moving[256], stuck[256];
	snprintf(moving, sizeof moving, "%s/moving.db", dir);
	snprintf(stuck, sizeof stuck, "%s/stuck.db", dir);
	int ok = 1;
	reap(spawn_holder(moving, 0), &ok); /* created and migrated before the clock starts */
	reap(spawn_holder(stuck, 0), &ok);
	CHECK(ok, "two databases");
	int fds[3][2];
	for (int i = 0; i < 3; i++)
		CHECK(pipe(fds[i]) == 0, "a pipe for a writer's result");

	/* Four turns of 1.7 s ahead: 6.8 s in all, none 5 s long. */
	pid_t chain[4];
	for (int i = 0; i < 4; i++)
		chain[i] = spawn_holder(moving, 1700);
	pid_t who[3];
	who[0] = spawn_timed_write(moving, fds[0][1]);
	/* A turn of 7.5 s, and two writers behind it. */
	pid_t blocker = spawn_holder(stuck, 7500);
	who[1] = spawn_timed_write(stuck, fds[1][1]);
	who[2] = spawn_timed_write(stuck, fds[2][1]);

	ok = 1;
	int rc[3] = {9, 9, 9};
	long ms[3] = {0, 0, 0};
	for (int i = 0; i < 3; i++) {
		reap(who[i], &ok);
		close(fds[i][1]);
		char line[64] = "";
		ssize_t n = read(fds[i][0], line, sizeof line - 1);
		close(fds[i][0]);
		if (n > 0)
			ok &= sscanf(line, "%d %ld", &rc[i], &ms[i]) == 2;
	}
	for (int i = 0; i < 4; i++)
		reap(chain[i], &ok);
	int status = 0;
	(void)waitpid(blocker, &status, 0); /* it commits after the others gave up */
	CHECK(ok, "every writer reported");
	fprintf(stderr, "# moving queue: %d after %ld ms; stuck: %d after %ld ms, %d after %ld ms\n", rc[0], ms[0],
		rc[1], ms[1], rc[2], ms[2]);
	CHECK(rc[0] == STORE_OK && ms[0] >= 5000, "behind a queue that moves, a writer waits past the busy timeout");
	CHECK(rc[1] == STORE_BUSY && ms[1] >= 4500 && ms[1] < 7000, "behind a stuck lock, busy after the busy timeout");
	CHECK(rc[2] == STORE_BUSY && ms[2] >= 4500 && ms[2] < 7000, "and the writer after it too, not 5 s later");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	struct store *st = open_db("a.db");
	CHECK(st != NULL, "open creates the database");
	if (!st)
		return check_done();
	CHECK(store_schema_version(st) == store_schema_latest(), "migrated to the latest version");
	struct store *again = open_db("a.db");
	CHECK(again && store_schema_version(again) == store_schema_latest(), "a second open migrates nothing");
	store_close(again);

	long long alice, bob, id;
	CHECK(store_user_create(st, "Alice", "alice", "h1", 1, &alice) == STORE_OK, "create user");
	CHECK(store_user_create(st, "ALICE", "alice", "h2", 2, &id) == STORE_CONFLICT, "same key conflicts");
	CHECK(store_user_create(st, "Bob", "bob", "h3", 3, &bob) == STORE_OK, "second user");
	struct user u;
	CHECK(store_user_find(st, "alice", &u) == STORE_OK && strcmp(u.username, "Alice") == 0 &&
		      strcmp(u.password_hash, "h1") == 0,
	      "find by key keeps the display name");
	store_user_free(&u);
	CHECK(store_user_find(st, "carol", &u) == STORE_NOTFOUND, "unknown user is not found");

	CHECK(store_session_insert(st, "tok", alice, "ua", 10) == STORE_OK, "session insert");
	struct session se;
	CHECK(store_session_find(st, "tok", &se) == STORE_OK && se.user_id == alice && strcmp(se.username, "Alice") == 0,
	      "session find joins the user");
	store_session_free(&se);
	CHECK(store_session_purge(st, 5, 5) == STORE_OK && store_session_find(st, "tok", &se) == STORE_OK,
	      "purge keeps fresh sessions");
	store_session_free(&se);
	CHECK(store_session_purge(st, 11, 0) == STORE_OK && store_session_find(st, "tok", &se) == STORE_NOTFOUND,
	      "purge removes idle sessions");

	long long count = -1, oldest = -1;
	store_rate_add(st, "b", 100);
	store_rate_add(st, "b", 200);
	store_rate_add(st, "other", 150);
	CHECK(store_rate_count(st, "b", 150, &count, &oldest) == STORE_OK && count == 1 && oldest == 200,
	      "rate count sees only its bucket and window");

	struct conversation ca, cb, c;
	CHECK(store_conv_create(st, alice, "A1", 100, &ca) == STORE_OK, "create conversation");
	CHECK(store_conv_create(st, bob, "B1", 100, &cb) == STORE_OK, "create another user's conversation");
	CHECK(store_conv_get(st, bob, ca.id, &c) == STORE_NOTFOUND, "another user's conversation is not found");
	CHECK(store_conv_rename(st, bob, ca.id, "x", 5) == STORE_NOTFOUND, "another user cannot rename");
	CHECK(store_conv_delete(st, bob, ca.id) == STORE_NOTFOUND, "another user cannot delete");
	CHECK(store_conv_get(st, alice, ca.id, &c) == STORE_OK && strcmp(c.title, "A1") == 0, "the owner still has it");
	store_conv_free(&c);

	/* 30 turns: 60 messages; page 25 at a time. */
	for (int i = 0; i < 30; i++) {
		char q[32];
		snprintf(q, sizeof q, "q%d", i);
		add_turn(st, alice, ca.id, q, "answer", i == 10 ? "error" : "ok");
	}
	struct message *page;
	size_t n;
	int more;
	long long seen = 0, before = 0, last_first = 0;
	int pages = 0, ordered = 1;
	do {
		CHECK(store_msg_page(st, alice, ca.id, before, 25, &page, &n, &more) == STORE_OK, "page reads");
		for (size_t i = 1; i < n; i++)
			ordered &= page[i - 1].id < page[i].id;
		if (n && last_first)
			ordered &= page[n - 1].id < last_first;
		seen += (long long)n;
		before = n ? page[0].id : 0;
		last_first = before;
		store_msg_list_free(page, n);
		pages++;
	} while (more && pages < 10);
	CHECK(seen == 60 && pages == 3 && ordered, "pages cover every message once, oldest first");

	struct message *ctx;
	CHECK(store_msg_context(st, alice, ca.id, 0, 1000000, &ctx, &n) == STORE_OK, "context reads");
	int only_ok = 1;
	for (size_t i = 0; i < n; i++)
		only_ok &= strcmp(ctx[i].status, "ok") == 0;
	CHECK(n == 58 && only_ok, "context holds only ok messages");
	store_msg_list_free(ctx, n);
	CHECK(store_msg_context(st, alice, ca.id, 0, 10, &ctx, &n) == STORE_OK && n == 2 &&
		      strcmp(ctx[0].content, "q29") == 0 && strcmp(ctx[1].content, "answer") == 0,
	      "a small budget keeps the newest messages that fit, in order");
	store_msg_list_free(ctx, n);

	long long cleared = 0;
	CHECK(store_conv_clear(st, alice, &cleared) == STORE_OK && cleared == 1, "clear removes the user's conversations");
	CHECK(store_msg_page(st, alice, ca.id, 0, 50, &page, &n, &more) == STORE_OK && n == 0, "and their messages");
	store_msg_list_free(page, n);
	CHECK(store_conv_get(st, bob, cb.id, &c) == STORE_OK, "other users keep theirs");
	store_conv_free(&c);
	add_turn(st, bob, cb.id, "kept", "yes", "ok");
	test_owner_scoped_writes(st, alice, bob);
	test_inflight(st, alice, bob);
	test_checkpoint();
	test_queue_order();
	test_queue_patience();

	char backup[256];
	snprintf(backup, sizeof backup, "%s/backup.db", dir);
	CHECK(store_backup(st, backup) == STORE_OK, "online backup");
	CHECK(store_user_delete(st, "bob") == STORE_OK, "delete user");
	CHECK(store_conv_get(st, bob, cb.id, &c) == STORE_NOTFOUND, "deleting a user cascades to conversations");
	CHECK(store_restore(st, backup) == STORE_OK, "restore");
	CHECK(store_conv_get(st, bob, cb.id, &c) == STORE_OK, "restore brings the conversation back");
	store_conv_free(&c);
	CHECK(store_msg_page(st, bob, cb.id, 0, 50, &page, &n, &more) == STORE_OK && n == 2, "with its messages");
	store_msg_list_free(page, n);

	char junk[256];
	snprintf(junk, sizeof junk, "%s/junk.db", dir);
	FILE *f = fopen(junk, "w");
	if (f) {
		fputs("this is not a database", f);
		fclose(f);
	}
	CHECK(store_restore(st, junk) != STORE_OK, "restore refuses a file that is not a database");
	CHECK(store_user_find(st, "alice", &u) == STORE_OK, "and keeps the data");
	store_user_free(&u);

	/* The backup predates users and messages made since: after the
	 * restore, their ids are still not handed out again. */
	long long top_user = 0, top_msg = 0, top_conv = 0;
	struct conversation probe;
	CHECK(store_user_create(st, "Eve", "eve", "h", 500, &top_user) == STORE_OK &&
		      store_conv_create(st, top_user, "t", 501, &probe) == STORE_OK &&
		      store_msg_add(st, top_user, probe.id, "user", "x", "ok", NULL, NULL, 0, 502, &top_msg) == STORE_OK,
	      "rows made after the backup");
	top_conv = probe.id;
	store_conv_free(&probe);
	CHECK(store_restore(st, backup) == STORE_OK && store_user_find(st, "eve", &u) == STORE_NOTFOUND,
	      "a restore of the older backup");
	long long nu = 0, nm = 0;
	CHECK(store_user_create(st, "Fay", "fay", "h", 600, &nu) == STORE_OK && nu > top_user &&
		      store_conv_create(st, nu, "t", 601, &probe) == STORE_OK && probe.id > top_conv &&
		      store_msg_add(st, nu, probe.id, "user", "x", "ok", NULL, NULL, 0, 602, &nm) == STORE_OK &&
		      nm > top_msg,
	      "hands out ids above any the database had before it");
	store_conv_free(&probe);
	CHECK(store_reset(st) == STORE_OK && store_user_find(st, "alice", &u) == STORE_NOTFOUND &&
		      store_schema_version(st) == store_schema_latest(),
	      "reset empties and recreates the schema");
	CHECK(store_user_create(st, "Gus", "gus", "h", 700, &id) == STORE_OK && id > nu,
	      "and ids go on from where they were");
	struct store_stats s;
	CHECK(store_stats(st, &s) == STORE_OK && s.users == 1 && s.messages == 0, "stats after reset");
	store_close(st);
	store_conv_free(&ca);
	store_conv_free(&cb);
	test_migration_keeps_rows();

	char err[256];
	CHECK(store_open("/nonexistent-dir/x.db", &st, err, sizeof err) < 0 && strstr(err, "writable"),
	      "an unopenable path says what to check");
	CHECK(store_open("postgresql://db/x", &st, err, sizeof err) < 0 && strstr(err, "PostgreSQL"),
	      "PostgreSQL URLs are refused with a reason");

	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return check_done();
}
