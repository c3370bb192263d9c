/* test_store_contract.c: store.h's contract by meaning, run unchanged
 * against every backend.
 *
 * SQLite always, on a temporary file; PostgreSQL when AIFACADE_TEST_PG is a
 * postgresql:// URL of a scratch database (tests/pg.sh start writes one;
 * tests/run.sh unit starts it), whose tables this test drops first. The
 * checks name only store.h's functions, so a backend passes them by doing
 * what the contract says, whatever its engine: of six first registrations
 * at once exactly one makes the admin, keys are unique, ids are never handed out twice, sessions follow
 * their user, a transaction rolled back leaves nothing, conversations and
 * messages are their owner's alone and page, finish and give context as
 * store.h says, turns, sessions and tokens answer only their owner, the last
 * active admin stays, invitations and resets work once, and a rate limit
 * grants exactly its units to processes that race for them. */
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "pq.h"

#include "check.h"
#include "reply.h"
#include "search.h"
#include "store.h"
#include "store_backend.h"

static char root[] = "/tmp/aifacade-unit-contract.XXXXXX";

static struct store *open_store(const char *database, const char *backend)
{
	char err[512], name[160];
	struct store *st = NULL;
	snprintf(name, sizeof name, "%s: open and migrate", backend);
	if (!CHECK(store_open(database, &st, err, sizeof err) == 0, name))
		printf("# %s\n", err);
	return st;
}

/* Starts RACERS processes, each with its own connection to database,
 * and lets them run racer(store, i) all at once; returns the sum of what
 * they returned (each 0..TRIES), or -1 when one failed. Each sends its
 * result as one byte on a pipe (its exit status is not its own under
 * valgrind). */
#define RACERS 6
#define TRIES 10
static int race(const char *database, int (*racer)(struct store *st, int i))
{
	pid_t pids[RACERS];
	int gate[2], results[2];
	if (pipe(gate) != 0)
		return -1;
	if (pipe(results) != 0) {
		close(gate[0]);
		close(gate[1]);
		return -1;
	}
	fflush(stdout);
	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char err[512], go;
			unsigned char got = 255;
			struct store *mine = NULL;
			close(gate[1]);
			close(results[0]);
			/* Connected: wait for the others, then all go at once. */
			if (store_open(database, &mine, err, sizeof err) == 0 && read(gate[0], &go, 1) >= 0) {
				int r = racer(mine, i);
				got = r < 0 || r > TRIES ? 255 : (unsigned char)r;
			}
			store_close(mine);
			if (write(results[1], &got, 1) != 1)
				_exit(1);
			_exit(0);
		}
	}
	close(gate[0]);
	close(results[1]);
	struct timespec settle = {0, 200000000L}; /* the racers connect meanwhile */
	nanosleep(&settle, NULL);
	close(gate[1]);                           /* EOF: every read returns at once */
	int sum = 0, failed = 0;
	for (int i = 0; i < RACERS; i++) {
		unsigned char got = 255;
		if (read(results[0], &got, 1) != 1 || got == 255)
			failed++;
		else
			sum += got;
	}
	for (int i = 0; i < RACERS; i++)
		if (pids[i] < 0 || waitpid(pids[i], NULL, 0) < 0)
			failed++;
	close(results[0]);
	return failed ? -1 : sum;
}

/* Takes TRIES turn slots for turn_user, of TURN_TOTAL in all; returns how
 * many it got. */
#define TURN_TOTAL 7
static long long turn_user;
static int turn_racer(struct store *st, int i)
{
	int got = 0;
	for (int k = 0; k < TRIES; k++) {
		long long mine = 0, all = 0, id = 0;
		if (store_turn_take(st, turn_user, 1000 + i * TRIES + k, "racer", 100 + i, 5000, 1000, TURN_TOTAL, &mine,
				    &all, &id) != STORE_OK)
			return -1;
		got += id > 0;
	}
	return got;
}

/* Registers racer i; returns 1 when it became the admin. */
static int register_racer(struct store *st, int i)
{
	char name[24];
	long long id = 0;
	const char *role = NULL;
	snprintf(name, sizeof name, "racer%d", i);
	if (store_user_register(st, name, name, "h", "active", 500 + i, &id, &role) != STORE_OK)
		return -1;
	return strcmp(role, "admin") == 0;
}

/* Two admins step down at once (racers 0 and 1; the others do nothing);
 * returns 1 when this one's step down was accepted. */
static long long stepping_down[2];
static int demote_racer(struct store *st, int i)
{
	if (i > 1)
		return 0;
	int rc = store_user_set_role(st, stepping_down[i], "user");
	return rc == STORE_OK ? 1 : rc == STORE_CONFLICT ? 0 : -1;
}

/* Uses one invitation for racer i's account as register.c does, inside a
 * transaction that stays open a moment after the use; returns 1 when its
 * use was committed. */
static long long invite_users[RACERS];
static int invite_racer(struct store *st, int i)
{
	int rc = store_begin(st);
	if (rc == STORE_OK)
		rc = store_invite_use(st, "race-inv", invite_users[i], 3000);
	if (rc == STORE_OK) {
		struct timespec pause = {0, 50000000L};
		nanosleep(&pause, NULL);
		rc = store_commit(st);
	}
	if (rc != STORE_OK)
		store_rollback(st);
	return rc == STORE_OK ? 1 : rc == STORE_NOTFOUND ? 0 : -1;
}

/* Takes TRIES units of a bucket that has room for RATE_LIMIT; returns how
 * many it was granted. */
#define RATE_LIMIT 15
static int rate_racer(struct store *st, int i)
{
	int granted = 0;
	(void)i;
	for (int k = 0; k < TRIES; k++) {
		int allowed = 0;
		long long wait_ms = 0;
		if (store_rate_take(st, "race", RATE_LIMIT, 60000, 1700000000001LL + k, 1, &allowed, &wait_ms) != STORE_OK)
			return -1;
		granted += allowed;
	}
	return granted;
}

static void test_users(struct store *st, const char *b)
{
	char name[200];
	long long first = 0, second = 0, id = 0;
	const char *role = NULL;
#define NAME(s) (snprintf(name, sizeof name, "%s: %s", b, s), name)
	CHECK(store_ping(st) == STORE_OK, NAME("ping"));
	CHECK(store_schema_version(st) == store_schema_latest(), NAME("the schema is the latest version"));
	CHECK(store_user_register(st, "Alice", "alice", "h1", "pending", 1000, &first, &role) == STORE_OK &&
		      role && strcmp(role, "user") == 0,
	      NAME("once an admin exists, an account is a user"));
	CHECK(store_user_register(st, "Bob", "bob", "h2", "pending", 1001, &second, &role) == STORE_OK && role &&
		      strcmp(role, "user") == 0 && second > first,
	      NAME("the next is a user, with a greater id"));
	CHECK(store_user_register(st, "ALICE", "alice", "h3", "active", 1002, &id, &role) == STORE_CONFLICT,
	      NAME("a taken key conflicts"));
	struct user u;
	CHECK(store_user_find(st, "alice", &u) == STORE_OK && u.id == first && strcmp(u.username, "Alice") == 0 &&
		      strcmp(u.password_hash, "h1") == 0 && u.created_at == 1000 && strcmp(u.role, "user") == 0 &&
		      strcmp(u.status, "pending") == 0 && u.quota_prompts_day == -1 && u.quota_tokens_month == -1 &&
		      u.last_seen == 0,
	      NAME("find by key: every field, the status asked for, no budgets of its own, never seen"));
	store_user_free(&u);
	CHECK(store_user_get(st, second, &u) == STORE_OK && strcmp(u.username, "Bob") == 0 &&
		      strcmp(u.status, "pending") == 0,
	      NAME("get by id"));
	store_user_free(&u);
	CHECK(store_user_find(st, "carol", &u) == STORE_NOTFOUND, NAME("an unknown key is not found"));
	CHECK(store_user_get(st, second + 1000, &u) == STORE_NOTFOUND, NAME("an unknown id is not found"));
	CHECK(store_user_set_hash(st, second, "h2b") == STORE_OK && store_user_get(st, second, &u) == STORE_OK &&
		      strcmp(u.password_hash, "h2b") == 0,
	      NAME("a new password hash is stored"));
	store_user_free(&u);

	long long carol = 0, dave = 0;
	CHECK(store_user_create(st, "Carol", "carol", "h4", 1003, &carol) == STORE_OK && carol > second,
	      NAME("create user"));
	CHECK(store_user_delete(st, "carol") == STORE_OK, NAME("delete user"));
	CHECK(store_user_delete(st, "carol") == STORE_NOTFOUND, NAME("deleting again finds nothing"));
	CHECK(store_user_create(st, "Dave", "dave", "h5", 1004, &dave) == STORE_OK && dave > carol,
	      NAME("a deleted user's id is not handed out again"));
}

static void test_sessions(struct store *st, const char *b)
{
	char name[200];
	struct user alice;
	if (!CHECK(store_user_find(st, "alice", &alice) == STORE_OK, NAME("sessions: alice exists")))
		return;
	struct session se;
	CHECK(store_session_insert(st, "tok1", alice.id, "ua", 5000) == STORE_OK, NAME("insert a session"));
	CHECK(store_session_insert(st, "tok1", alice.id, "ua", 5000) == STORE_CONFLICT,
	      NAME("the same token twice conflicts"));
	CHECK(store_session_insert(st, "tok-nobody", alice.id + 100000, "ua", 5000) == STORE_CONFLICT,
	      NAME("a session of no user conflicts"));
	CHECK(store_session_find(st, "tok1", &se) == STORE_OK && se.user_id == alice.id &&
		      strcmp(se.username, "Alice") == 0 && strcmp(se.ua_hash, "ua") == 0 && se.created_at == 5000 &&
		      se.last_seen == 5000 && strcmp(se.role, "user") == 0 && strcmp(se.status, "pending") == 0,
	      NAME("find a session with its user's name, role and status"));
	store_session_free(&se);
	CHECK(store_session_touch(st, "tok1", 7000) == STORE_OK && store_session_find(st, "tok1", &se) == STORE_OK &&
		      se.last_seen == 7000 && se.created_at == 5000,
	      NAME("touch moves last_seen only"));
	store_session_free(&se);
	CHECK(store_session_purge(st, 6000, 4000) == STORE_OK && store_session_find(st, "tok1", &se) == STORE_OK,
	      NAME("purge keeps a session used and made since"));
	store_session_free(&se);
	CHECK(store_session_purge(st, 7001, 0) == STORE_OK && store_session_find(st, "tok1", &se) == STORE_NOTFOUND,
	      NAME("purge removes an idle session"));
	CHECK(store_session_insert(st, "tok2", alice.id, "ua", 8000) == STORE_OK &&
		      store_session_delete(st, "tok2") == STORE_OK && store_session_find(st, "tok2", &se) == STORE_NOTFOUND,
	      NAME("delete a session"));
	long long eve = 0;
	CHECK(store_user_create(st, "Eve", "eve", "h", 9000, &eve) == STORE_OK &&
		      store_session_insert(st, "tok-eve", eve, "ua", 9000) == STORE_OK &&
		      store_user_delete(st, "eve") == STORE_OK && store_session_find(st, "tok-eve", &se) == STORE_NOTFOUND,
	      NAME("deleting a user ends its sessions"));
	store_user_free(&alice);
}

static void test_conversations(struct store *st, const char *b)
{
	char name[200];
	struct user ua, ub;
	if (!CHECK(store_user_find(st, "alice", &ua) == STORE_OK && store_user_find(st, "bob", &ub) == STORE_OK,
		   NAME("conversations: alice and bob exist")))
		return;
	long long alice = ua.id, bob = ub.id;
	store_user_free(&ua);
	store_user_free(&ub);
	struct conversation a1, a2, b1, c, *list = NULL;
	size_t n = 0;
	CHECK(store_conv_create(st, alice, "A1", 100, &a1) == STORE_OK && a1.id > 0 && strcmp(a1.title, "A1") == 0 &&
		      a1.created_at == 100 && a1.updated_at == 100,
	      NAME("create a conversation"));
	CHECK(store_conv_create(st, alice, "A2", 200, &a2) == STORE_OK && a2.id > a1.id, NAME("a second, a greater id"));
	CHECK(store_conv_create(st, bob, "B1", 150, &b1) == STORE_OK, NAME("another user's"));
	CHECK(store_conv_list(st, alice, &list, &n) == STORE_OK && n == 2 && list[0].id == a2.id && list[1].id == a1.id,
	      NAME("list: only the owner's, the latest changed first"));
	store_conv_list_free(list, n);
	CHECK(store_conv_get(st, bob, a1.id, &c) == STORE_NOTFOUND, NAME("another user's conversation is not found"));
	CHECK(store_conv_rename(st, bob, a1.id, "x", 300) == STORE_NOTFOUND, NAME("another user cannot rename"));
	CHECK(store_conv_touch(st, bob, a1.id, 300) == STORE_NOTFOUND, NAME("another user cannot touch"));
	CHECK(store_conv_delete(st, bob, a1.id) == STORE_NOTFOUND, NAME("another user cannot delete"));
	CHECK(store_conv_rename(st, alice, a1.id, "A1 renamed", 300) == STORE_OK &&
		      store_conv_get(st, alice, a1.id, &c) == STORE_OK && strcmp(c.title, "A1 renamed") == 0 &&
		      c.updated_at == 300 && c.leaf_id == 0,
	      NAME("the owner renames; the change time moves"));
	store_conv_free(&c);
	CHECK(store_conv_touch(st, alice, a2.id, 250) == STORE_OK && store_conv_touch(st, alice, a2.id, 10) == STORE_OK &&
		      store_conv_get(st, alice, a2.id, &c) == STORE_OK && c.updated_at == 250,
	      NAME("touch never moves the change time back"));
	store_conv_free(&c);

	/* 30 messages, every fourth an error; paged 25 at a time. */
	long long id = 0, first = 0, last = 0;
	int added = 1;
	for (int i = 0; i < 30; i++) {
		char text[32];
		snprintf(text, sizeof text, "m%02d", i);
		added &= store_msg_add(st, alice, a1.id, i % 2 ? "assistant" : "user", text, i % 4 == 3 ? "error" : "ok",
				       i % 2 ? "fake-model" : NULL, NULL, 0, 1000 + i, &id) == STORE_OK;
		if (!first)
			first = id;
		added &= id >= last;
		last = id;
	}
	CHECK(added && last > first, NAME("add 30 messages, ids growing"));
	CHECK(store_msg_add(st, bob, a1.id, "user", "intruder", "ok", NULL, NULL, 0, 2000, &id) == STORE_NOTFOUND,
	      NAME("another user cannot add to the conversation"));
	struct message *page = NULL;
	int more = 0;
	CHECK(store_msg_page(st, alice, a1.id, 0, 25, &page, &n, &more) == STORE_OK && n == 25 && more &&
		      strcmp(page[0].content, "m05") == 0 && strcmp(page[24].content, "m29") == 0 &&
		      page[0].id < page[24].id && page[24].model && strcmp(page[24].model, "fake-model") == 0 &&
		      page[24].html == NULL,
	      NAME("the newest page, oldest first, and older ones exist"));
	long long before = n ? page[0].id : 0;
	store_msg_list_free(page, n);
	CHECK(store_msg_page(st, alice, a1.id, before, 25, &page, &n, &more) == STORE_OK && n == 5 && !more &&
		      strcmp(page[0].content, "m00") == 0,
	      NAME("the page before it, and no more"));
	store_msg_list_free(page, n);
	CHECK(store_msg_page(st, bob, a1.id, 0, 25, &page, &n, &more) == STORE_OK && n == 0,
	      NAME("another user's page is empty"));
	store_msg_list_free(page, n);

	CHECK(store_msg_finish(st, bob, a1.id, last, "stolen", NULL, "ok", NULL, NULL, 0) == STORE_NOTFOUND,
	      NAME("another user cannot finish a message"));
	CHECK(store_msg_finish(st, alice, a2.id, last, "moved", NULL, "ok", NULL, NULL, 0) == STORE_NOTFOUND,
	      NAME("a message is finished only in its own conversation"));
	CHECK(store_msg_finish(st, alice, a1.id, last, "final answer", "", "ok", NULL, "<p>final answer</p>", 7) ==
		      STORE_OK,
	      NAME("the owner finishes a message with its HTML"));
	CHECK(store_msg_page(st, alice, a1.id, 0, 1, &page, &n, &more) == STORE_OK && n == 1 &&
		      strcmp(page[0].content, "final answer") == 0 && page[0].reasoning == NULL &&
		      page[0].html && strcmp(page[0].html, "<p>final answer</p>") == 0 && page[0].html_version == 7,
	      NAME("the page reads it back; an empty reasoning is none"));
	store_msg_list_free(page, n);

	/* Context: ok messages only, newest first until the budget is spent. */
	CHECK(store_msg_context(st, alice, a1.id, 0, 12 + 3 + 3, &page, &n) == STORE_OK && n == 3 &&
		      strcmp(page[2].content, "final answer") == 0 && strcmp(page[1].content, "m28") == 0 &&
		      strcmp(page[0].content, "m26") == 0,
	      NAME("context: the newest ok messages that fit the budget, oldest first"));
	store_msg_list_free(page, n);
	CHECK(store_msg_context(st, bob, a1.id, 0, 100000, &page, &n) == STORE_OK && n == 0,
	      NAME("context: none from another user's conversation"));
	store_msg_list_free(page, n);

	CHECK(store_msg_unrendered(st, 7, 0, 100, &page, &n) == STORE_OK && n == 29, NAME("unrendered: all but one"));
	store_msg_list_free(page, n);
	CHECK(store_msg_set_html(st, first, "not its content", "<p>x</p>", 7) == STORE_NOTFOUND,
	      NAME("set_html refuses HTML of another content"));
	CHECK(store_msg_set_html(st, first, "m00", "<p>m00</p>", 7) == STORE_OK &&
		      store_msg_unrendered(st, 7, 0, 100, &page, &n) == STORE_OK && n == 28,
	      NAME("set_html stores HTML of the very content"));
	store_msg_list_free(page, n);

	long long gone = a1.id, cleared = 0;
	CHECK(store_conv_delete(st, alice, a1.id) == STORE_OK && store_conv_get(st, alice, gone, &c) == STORE_NOTFOUND,
	      NAME("the owner deletes a conversation"));
	CHECK(store_msg_add(st, alice, gone, "user", "late", "ok", NULL, NULL, 0, 3000, &id) == STORE_NOTFOUND,
	      NAME("a message for a deleted conversation is not stored"));
	struct conversation a3;
	CHECK(store_conv_create(st, alice, "A3", 400, &a3) == STORE_OK && a3.id > b1.id &&
		      store_msg_add(st, alice, a3.id, "user", "new", "ok", NULL, NULL, 0, 3001, &id) == STORE_OK &&
		      id > last,
	      NAME("ids of deleted conversations and messages are not handed out again"));
	CHECK(store_conv_clear(st, alice, &cleared) == STORE_OK && cleared == 2, NAME("clear: the owner's two"));
	CHECK(store_conv_get(st, bob, b1.id, &c) == STORE_OK, NAME("clear leaves other users' conversations"));
	store_conv_free(&c);
	CHECK(store_conv_clear_all(st, &cleared) == STORE_OK && cleared == 1, NAME("clear all: every user's"));
	store_conv_free(&a1);
	store_conv_free(&a2);
	store_conv_free(&a3);
	store_conv_free(&b1);
}

static void test_turns(struct store *st, const char *b)
{
	char name[200];
	struct user ua, ub;
	if (!CHECK(store_user_find(st, "alice", &ua) == STORE_OK && store_user_find(st, "bob", &ub) == STORE_OK,
		   NAME("turns: alice and bob exist")))
		return;
	long long alice = ua.id, bob = ub.id, t1 = 0, t2 = 0, mine = -1, all = -1;
	store_user_free(&ua);
	store_user_free(&ub);
	CHECK(store_turn_add(st, alice, 501, "node-a", 11, 1000, &t1) == STORE_OK &&
		      store_turn_add(st, bob, 502, "node-b", 22, 1000, &t2) == STORE_OK && t2 > t1,
	      NAME("record two turns"));
	CHECK(store_turn_count(st, alice, &mine, &all) == STORE_OK && mine == 1 && all == 2,
	      NAME("count: the user's and everyone's"));
	CHECK(store_turn_beat(st, bob, t1, 2000) == STORE_NOTFOUND && store_turn_end(st, bob, t1) == STORE_NOTFOUND &&
		      store_turn_set_pid(st, bob, t1, "x", 1, 2000) == STORE_NOTFOUND &&
		      store_turn_stop(st, bob, 501) == STORE_NOTFOUND,
	      NAME("another user can neither beat, end, move nor stop a turn"));
	struct turn_state ts;
	int stop = -1;
	CHECK(store_turn_set_pid(st, alice, t1, "node-c", 33, 3000) == STORE_OK &&
		      store_turn_of_msg(st, alice, 501, &ts) == STORE_OK && ts.id == t1 && strcmp(ts.host, "node-c") == 0 &&
		      ts.pid == 33 && ts.heartbeat_at == 3000 && !ts.stop_requested,
	      NAME("the turn moves to its generator's process"));
	CHECK(store_turn_of_msg(st, bob, 501, &ts) == STORE_NOTFOUND, NAME("another user's turn is not found"));
	CHECK(store_turn_stop(st, alice, 501) == STORE_OK && store_turn_stop_flag(st, alice, t1, &stop) == STORE_OK &&
		      stop == 1,
	      NAME("a stop asked is seen by the generator"));
	CHECK(store_turn_stop_flag(st, bob, t1, &stop) == STORE_OK && stop == 0,
	      NAME("another user's stop flag reads as none"));
	struct turn_row *rows = NULL;
	size_t n = 0;
	CHECK(store_turn_on_host(st, "node-b", &rows, &n) == STORE_OK && n == 1 && rows[0].id == t2 && rows[0].pid == 22 &&
		      rows[0].heartbeat_at == 1000,
	      NAME("the turns of a host, with their heartbeat"));
	free(rows);
	/* Reap: other hosts' turns silent since before 2500, this host's since before 500. */
	CHECK(store_turn_reap(st, 2500, "node-c", 500) == STORE_OK && store_turn_count(st, alice, &mine, &all) == STORE_OK &&
		      mine == 1 && all == 1,
	      NAME("reap drops another host's stale turn, keeps this host's"));
	CHECK(store_turn_beat(st, alice, t1, 4000) == STORE_OK && store_turn_end(st, alice, t1) == STORE_OK &&
		      store_turn_end(st, alice, t1) == STORE_NOTFOUND,
	      NAME("beat, end, and the turn is gone"));
	CHECK(store_turn_add(st, alice, 503, "node-a", 44, 5000, &t2) == STORE_OK &&
		      store_turn_set_pid(st, alice, t2, "node-a", 45, 5001) == STORE_OK && store_turn_drop(st, t2, 44) == STORE_OK &&
		      store_turn_count(st, alice, &mine, &all) == STORE_OK && all == 1,
	      NAME("a turn its generator took over is not dropped for the process that took it"));
	CHECK(store_turn_drop(st, t2, 45) == STORE_OK && store_turn_count(st, alice, &mine, &all) == STORE_OK && all == 0,
	      NAME("a dead process's turn is dropped"));
}

static void test_administration(struct store *st, const char *database, const char *b)
{
	char name[200];
	struct user u, admin;
	if (!CHECK(store_user_find(st, "racer0", &u) == STORE_OK, NAME("administration: the racers exist")))
		return;
	store_user_free(&u);
	/* The one admin among the racers. */
	long long aid = 0;
	for (int i = 0; i < 6 && !aid; i++) {
		char key[24];
		snprintf(key, sizeof key, "racer%d", i);
		if (store_user_find(st, key, &admin) == STORE_OK && strcmp(admin.role, "admin") == 0)
			aid = admin.id;
		store_user_free(&admin);
	}
	if (!CHECK(aid > 0, NAME("administration: the admin is found")))
		return;
	CHECK(store_user_set_role(st, aid, "user") == STORE_CONFLICT &&
		      store_user_set_status(st, aid, "disabled") == STORE_CONFLICT &&
		      store_user_delete_id(st, aid) == STORE_CONFLICT,
	      NAME("the last active admin can be neither demoted, disabled nor deleted"));
	CHECK(store_user_set_role(st, aid + 100000, "user") == STORE_NOTFOUND, NAME("an unknown user is not found"));
	struct user alice;
	if (!CHECK(store_user_find(st, "alice", &alice) == STORE_OK, NAME("alice exists")))
		return;
	CHECK(store_user_set_role(st, alice.id, "admin") == STORE_OK && store_user_set_status(st, alice.id, "active") == STORE_OK &&
		      store_user_set_role(st, aid, "user") == STORE_OK,
	      NAME("with a second active admin, the first can step down"));
	CHECK(store_user_set_role(st, alice.id, "user") == STORE_CONFLICT, NAME("and the second is now the last"));
	stepping_down[0] = alice.id;
	stepping_down[1] = aid;
	int accepted = store_user_set_role(st, aid, "admin") == STORE_OK ? race(database, demote_racer) : -1;
	if (!CHECK(accepted == 1, NAME("two admins stepping down at once: one is refused")))
		printf("# %d accepted (-1: a racer failed)\n", accepted);
	CHECK(store_user_set_role(st, alice.id, "admin") == STORE_OK && store_user_set_role(st, aid, "user") == STORE_OK,
	      NAME("alice is the one admin again"));
	CHECK(store_user_set_quota(st, alice.id, 5, -1) == STORE_OK && store_user_seen(st, alice.id, 777) == STORE_OK &&
		      store_user_get(st, alice.id, &u) == STORE_OK && u.quota_prompts_day == 5 &&
		      u.quota_tokens_month == -1 && u.last_seen == 777,
	      NAME("budgets of one's own (-1: the setting's) and the last visit"));
	store_user_free(&u);

	/* Sessions as the account page lists them. */
	struct session_row *rows = NULL;
	size_t n = 0;
	long long ended = 0;
	CHECK(store_session_insert(st, "s1", alice.id, "ua", 100) == STORE_OK &&
		      store_session_insert(st, "s2", alice.id, "ua", 200) == STORE_OK &&
		      store_session_insert(st, "s3", alice.id, "ua", 300) == STORE_OK &&
		      store_session_describe(st, "s1", 9001, "Firefox", "192.0.2.1") == STORE_OK &&
		      store_session_describe(st, "s2", 9002, "Chromium", "192.0.2.2") == STORE_OK,
	      NAME("describe two sessions"));
	CHECK(store_session_list(st, alice.id, "s1", &rows, &n) == STORE_OK && n == 2 && rows[0].sid == 9002 &&
		      rows[1].sid == 9001 && rows[1].current && !rows[0].current &&
		      strcmp(rows[1].user_agent, "Firefox") == 0 && strcmp(rows[0].addr, "192.0.2.2") == 0,
	      NAME("list: described sessions, the latest used first, the current one marked"));
	store_session_list_free(rows, n);
	struct user bob;
	CHECK(store_user_find(st, "bob", &bob) == STORE_OK && store_session_delete_sid(st, bob.id, 9002) == STORE_NOTFOUND,
	      NAME("another user cannot end a session"));
	/* The same order on every backend: equal last uses by sid. */
	CHECK(store_session_insert(st, "b1", bob.id, "ua", 400) == STORE_OK &&
		      store_session_insert(st, "b2", bob.id, "ua", 400) == STORE_OK &&
		      store_session_insert(st, "b3", bob.id, "ua", 400) == STORE_OK &&
		      store_session_insert(st, "b4", bob.id, "ua", 500) == STORE_OK &&
		      store_session_describe(st, "b2", 9080, "a", "192.0.2.3") == STORE_OK &&
		      store_session_describe(st, "b1", 9070, "b", "192.0.2.3") == STORE_OK &&
		      store_session_describe(st, "b3", 9075, "c", "192.0.2.3") == STORE_OK &&
		      store_session_describe(st, "b4", 9065, "d", "192.0.2.3") == STORE_OK &&
		      store_session_list(st, bob.id, "b1", &rows, &n) == STORE_OK && n == 4 && rows[0].sid == 9065 &&
		      rows[1].sid == 9070 && rows[2].sid == 9075 && rows[3].sid == 9080,
	      NAME("list: the latest used first, equal ones by sid"));
	store_session_list_free(rows, n);
	CHECK(store_session_end_all(st, bob.id, NULL, &ended) == STORE_OK && ended == 4, NAME("list: all of bob's ended"));
	CHECK(store_session_delete_sid(st, alice.id, 9002) == STORE_OK &&
		      store_session_end_all(st, alice.id, "s1", &ended) == STORE_OK && ended == 1 &&
		      store_session_list(st, alice.id, "s1", &rows, &n) == STORE_OK && n == 1,
	      NAME("end one session, then all but the current one"));
	store_session_list_free(rows, n);

	/* API tokens and their gateway calls. */
	long long tok = 0;
	struct session ts;
	struct token_row *toks = NULL;
	CHECK(store_token_create(st, alice.id, "laptop", "th1", 1000, 1, &tok) == STORE_OK && tok > 0,
	      NAME("create a token"));
	CHECK(store_token_create(st, bob.id, "dup", "th1", 1000, 0, NULL) == STORE_CONFLICT,
	      NAME("a token hash is unique"));
	CHECK(store_token_find(st, "th1", 100000, &ts) == STORE_OK && ts.user_id == alice.id && ts.token_id == tok &&
		      strcmp(ts.token_name, "laptop") == 0 && ts.token_store == 1 && strcmp(ts.role, "admin") == 0,
	      NAME("a token finds its user as a session would"));
	store_session_free(&ts);
	CHECK(store_gateway_add(st, alice.id, tok, 2000, 30, NULL) == STORE_OK &&
		      store_gateway_add(st, alice.id, tok, 3000, 0, "rate_limited") == STORE_OK,
	      NAME("record a gateway call and a refusal"));
	CHECK(store_token_list(st, alice.id, 0, &toks, &n) == STORE_OK && n == 1 && toks[0].last_used == 100000 &&
		      toks[0].calls == 2 && toks[0].tokens == 30 && toks[0].refusals == 1 && toks[0].store_conversations,
	      NAME("the token list: last use, calls, tokens, refusals"));
	store_token_list_free(toks, n);
	struct gateway_use gu;
	CHECK(store_gateway_sum(st, alice.id, 2500, &gu) == STORE_OK && gu.calls == 1 && gu.tokens == 0 &&
		      gu.refusals == 1,
	      NAME("gateway use since a time"));
	CHECK(store_token_delete(st, bob.id, tok) == STORE_NOTFOUND && store_token_delete(st, alice.id, tok) == STORE_OK &&
		      store_token_find(st, "th1", 200000, &ts) == STORE_NOTFOUND,
	      NAME("only the owner revokes a token; a revoked token finds nothing"));

	/* Invitations and password resets: single use, expiring. */
	long long who = 0;
	CHECK(store_invite_create(st, "inv", aid, 1000, 5000) == STORE_OK &&
		      store_invite_use(st, "inv", bob.id, 6000) == STORE_NOTFOUND &&
		      store_invite_use(st, "inv", bob.id, 2000) == STORE_OK &&
		      store_invite_use(st, "inv", alice.id, 2001) == STORE_NOTFOUND,
	      NAME("an invitation: not after it expires, once only"));
	CHECK(store_reset_create(st, "rs", bob.id, 1000, 5000) == STORE_OK &&
		      store_reset_take(st, "rs", 2000, &who) == STORE_OK && who == bob.id &&
		      store_reset_take(st, "rs", 2000, &who) == STORE_NOTFOUND,
	      NAME("a password reset gives its user once"));
	CHECK(store_reset_create(st, "rs2", bob.id, 1000, 5000) == STORE_OK &&
		      store_reset_take(st, "rs2", 6000, &who) == STORE_NOTFOUND && who == 0,
	      NAME("an expired reset gives no one"));

	/* Budgets and the audit log. */
	long long prompts = 0, tokens = 0;
	int estimated = -1;
	CHECK(store_usage_add(st, bob.id, 100, 10, 0) == STORE_OK && store_usage_add(st, bob.id, 200, 20, 1) == STORE_OK &&
		      store_usage_add(st, bob.id, 300, 40, 0) == STORE_OK &&
		      store_usage_sum(st, bob.id, 250, 150, &prompts, &tokens, &estimated) == STORE_OK && prompts == 1 &&
		      tokens == 60 && estimated == 1,
	      NAME("usage: prompts since the day, tokens since the month, estimated or not"));
	struct audit_row *audit = NULL;
	CHECK(store_audit_add(st, 1, "alice", "login", NULL, "192.0.2.1", NULL) == STORE_OK &&
		      store_audit_add(st, 2, "alice", "role", "bob", "192.0.2.1", "admin") == STORE_OK &&
		      store_audit_add(st, 3, NULL, "purge", NULL, "-", NULL) == STORE_OK,
	      NAME("write the audit log"));
	CHECK(store_audit_list(st, 0, 2, &audit, &n) == STORE_OK && n == 2 && strcmp(audit[0].action, "purge") == 0 &&
		      audit[0].actor == NULL && strcmp(audit[1].detail, "admin") == 0,
	      NAME("the audit log, newest first"));
	long long older = n ? audit[1].id : 0;
	store_audit_list_free(audit, n);
	CHECK(store_audit_list(st, older, 10, &audit, &n) == STORE_OK && n == 1 && strcmp(audit[0].action, "login") == 0,
	      NAME("and the page before"));
	store_audit_list_free(audit, n);
	store_user_free(&alice);
	store_user_free(&bob);
}

/* sums: users, conversations, messages, admins, active users, Alice's last
 * visit (aifacadectl users prints role, status and last_seen). */
static void count_user(void *ctx, const struct user *u, long long conversations, long long messages)
{
	long long *sums = ctx;
	sums[0]++;
	sums[1] += conversations;
	sums[2] += messages;
	sums[3] += u->role && strcmp(u->role, "admin") == 0;
	sums[4] += u->status && strcmp(u->status, "active") == 0;
	if (u->username && strcmp(u->username, "Alice") == 0)
		sums[5] = u->last_seen;
}

static void count_admin(void *ctx, const struct user *u, const struct user_stats *us)
{
	long long *sums = ctx;
	sums[0]++;
	sums[1] += us->messages;
	if (strcmp(u->role, "admin") == 0)
		sums[2]++;
}

static void test_tree(struct store *st, const char *b)
{
	char name[200];
	struct user ua, ub;
	if (!CHECK(store_user_find(st, "alice", &ua) == STORE_OK && store_user_find(st, "bob", &ub) == STORE_OK,
		   NAME("tree: alice and bob exist")))
		return;
	long long alice = ua.id, bob = ub.id;
	store_user_free(&ua);
	store_user_free(&ub);
	struct conversation c, other, leaf;
	long long q = 0, a1 = 0, a2 = 0, q2 = 0, x = 0;
	if (!CHECK(store_conv_create(st, alice, "tree", 10, &c) == STORE_OK &&
			   store_conv_create(st, bob, "bob's", 10, &other) == STORE_OK,
		   NAME("two conversations")))
		return;
	CHECK(store_msg_add_under(st, alice, c.id, 0, "user", "question", "ok", NULL, NULL, 0, 11, &q) == STORE_OK &&
		      store_msg_add_under(st, alice, c.id, q, "assistant", "first answer", "ok", "m", NULL, 0, 12, &a1) ==
			      STORE_OK &&
		      store_msg_add_under(st, alice, c.id, q, "assistant", "", "interrupted", "m", NULL, 0, 13, &a2) ==
			      STORE_OK,
	      NAME("a question and two answers under it (a regenerated one)"));
	CHECK(store_msg_add_under(st, alice, c.id, a1 + 100000, "user", "x", "ok", NULL, NULL, 0, 14, &x) ==
			      STORE_NOTFOUND &&
		      store_msg_add_under(st, bob, other.id, q, "user", "x", "ok", NULL, NULL, 0, 14, &x) == STORE_NOTFOUND &&
		      store_msg_add_under(st, bob, c.id, 0, "user", "x", "ok", NULL, NULL, 0, 14, &x) == STORE_NOTFOUND,
	      NAME("a parent must be in the same conversation, of the same owner"));
	struct message m;
	long long in_conv = 0;
	CHECK(store_msg_get(st, alice, a2, &m, &in_conv) == STORE_OK && in_conv == c.id && m.parent_id == q &&
		      strcmp(m.status, "interrupted") == 0,
	      NAME("get a message with its conversation and parent"));
	store_msg_free(&m);
	CHECK(store_msg_get(st, bob, a2, &m, &in_conv) == STORE_NOTFOUND, NAME("another user's message is not found"));
	CHECK(store_msg_progress(st, bob, c.id, a2, "stolen", NULL) == STORE_NOTFOUND &&
		      store_msg_progress(st, alice, c.id, a2, "partial", "thinking") == STORE_OK &&
		      store_msg_progress(st, alice, c.id, a1, "late", NULL) == STORE_NOTFOUND,
	      NAME("progress: only the owner's, only while still being written"));
	CHECK(store_msg_add_under(st, alice, c.id, a2, "user", "follow-up", "ok", NULL, NULL, 0, 15, &q2) == STORE_OK,
	      NAME("a follow-up under the second answer"));
	struct msg_node *tree = NULL;
	size_t n = 0;
	CHECK(store_msg_tree(st, alice, c.id, &tree, &n) == STORE_OK && n == 4 && tree[0].id == q && tree[0].parent_id == 0 &&
		      tree[0].is_user && tree[1].parent_id == q && tree[2].parent_id == q && tree[3].parent_id == a2,
	      NAME("the tree as (id, parent), in id order"));
	free(tree);
	tree = NULL;
	CHECK(store_msg_tree(st, bob, c.id, &tree, &n) == STORE_OK && n == 0, NAME("no tree of another user's"));
	free(tree);
	struct message *list = NULL;
	CHECK(store_msg_branch_context(st, alice, c.id, q2, 100000, &list, &n) == STORE_OK && n == 1 &&
		      strcmp(list[0].content, "question") == 0,
	      NAME("branch context: the ok messages above, not the other branch"));
	store_msg_list_free(list, n);
	CHECK(store_conv_set_leaf(st, bob, c.id, a1) == STORE_NOTFOUND && store_conv_set_leaf(st, alice, c.id, a1) == STORE_OK &&
		      store_conv_get(st, alice, c.id, &leaf) == STORE_OK && leaf.leaf_id == a1,
	      NAME("the branch shown last is remembered, by its owner only"));
	store_conv_free(&leaf);
	store_conv_free(&other);

	/* page_around, and export order. */
	int more = 0, newer = 0;
	CHECK(store_msg_page_around(st, alice, c.id, a1, 2, &list, &n, &more, &newer) == STORE_OK && n == 2 &&
		      list[0].id == a1 && list[1].id == a2 && newer && more,
	      NAME("the page around a message: it, half a page after, newer and older ones exist"));
	store_msg_list_free(list, n);
	CHECK(store_msg_page_around(st, bob, c.id, a1, 2, &list, &n, &more, &newer) == STORE_NOTFOUND,
	      NAME("no page around another user's message"));
	CHECK(store_msg_after(st, alice, c.id, q, 2, &list, &n) == STORE_OK && n == 2 && list[0].id == a1 &&
		      list[1].id == a2 && strcmp(list[1].content, "partial") == 0,
	      NAME("messages after an id, in order"));
	store_msg_list_free(list, n);
	long long imported = 0;
	struct message_in in = {.role = "user", .content = "imported", .status = "ok", .created_at = 5,
				.html = "<p>imported</p>", .html_version = 3};
	CHECK(store_import_conv(st, alice, "old", 1, 2, &imported) == STORE_OK && imported > c.id &&
		      store_import_msg(st, alice, imported, &in) == STORE_OK &&
		      store_import_msg(st, bob, imported, &in) == STORE_NOTFOUND &&
		      store_msg_page(st, alice, imported, 0, 10, &list, &n, &more) == STORE_OK && n == 1 &&
		      list[0].created_at == 5 && list[0].html_version == 3,
	      NAME("import a conversation with its times, and a message into it"));
	store_msg_list_free(list, n);

	long long sums[6] = {0, 0, 0, 0, 0, 0}, admin_sums[3] = {0, 0, 0};
	struct store_stats ss;
	CHECK(store_users_each(st, count_user, sums) == STORE_OK && store_stats(st, &ss) == STORE_OK &&
		      sums[0] == ss.users && sums[1] == ss.conversations && sums[2] == ss.messages && ss.messages == 5 &&
		      ss.schema_version == store_schema_latest(),
	      NAME("every user with counts, and the counts agree with the stats"));
	CHECK(sums[3] == 1 && sums[4] > 1 && sums[4] < sums[0] && sums[5] == 777,
	      NAME("every user with role, status and last visit"));
	CHECK(store_users_admin(st, 0, 0, count_admin, admin_sums) == STORE_OK && admin_sums[0] == ss.users &&
		      admin_sums[1] == ss.messages && admin_sums[2] == 1,
	      NAME("the admin page's list: one admin, every message counted"));
	store_conv_free(&c);
}

/* Searches q for uid; returns the number of hits (up to limit), or -1 when
 * q is refused or the search fails. The hits stay in *hits (the caller
 * frees them with store_search_free) when hits is not NULL. */
static int found(struct store *st, long long uid, const char *q, int limit, struct search_hit **hits, size_t *n)
{
	struct search_query terms;
	const char *err = NULL;
	struct search_hit *list = NULL;
	size_t got = 0;
	if (search_parse(q, strlen(q), &terms, &err) != 0)
		return -1;
	int rc = store_search(st, uid, &terms, limit, &list, &got);
	search_query_free(&terms);
	if (rc != STORE_OK)
		return -1;
	if (hits) {
		*hits = list;
		*n = got;
	} else {
		store_search_free(list, got);
	}
	return (int)got;
}

static void test_search(struct store *st, const char *b)
{
	char name[200];
	long long seeker = 0, other = 0, id = 0;
	struct conversation budget, older, long_one, newest, secret, doomed;
	if (!CHECK(store_user_create(st, "Seeker", "seeker", "h", 1, &seeker) == STORE_OK &&
			   store_user_create(st, "Other", "other", "h", 1, &other) == STORE_OK &&
			   store_conv_create(st, seeker, "Quarterly Café budget", 50, &budget) == STORE_OK &&
			   store_msg_add(st, seeker, budget.id, "user", "the purple elephant dances slowly", "ok", NULL,
					 NULL, 0, 60, &id) == STORE_OK &&
			   store_msg_add(st, seeker, budget.id, "user",
					 "Tell me about the zanzibar archipelago <b>please</b>", "ok", NULL, NULL, 0, 70,
					 &id) == STORE_OK &&
			   store_conv_create(st, seeker, "one", 100, &older) == STORE_OK &&
			   store_msg_add(st, seeker, older.id, "user", "walrus", "ok", NULL, NULL, 0, 100, &id) ==
				   STORE_OK &&
			   store_conv_create(st, seeker, "two", 200, &long_one) == STORE_OK &&
			   store_msg_add(st, seeker, long_one.id, "user",
					 "walrus walrus walrus and the carpenter went walking on the long sandy beach",
					 "ok", NULL, NULL, 0, 200, &id) == STORE_OK &&
			   store_conv_create(st, seeker, "three", 300, &newest) == STORE_OK &&
			   store_msg_add(st, seeker, newest.id, "user", "walrus", "ok", NULL, NULL, 0, 300, &id) ==
				   STORE_OK &&
			   store_conv_create(st, other, "mine", 10, &secret) == STORE_OK &&
			   store_msg_add(st, other, secret.id, "user", "my secret ocelot recipe", "ok", NULL, NULL, 0, 10,
					 &id) == STORE_OK,
		   NAME("search: two users, titles and messages")))
		return;
	struct search_hit *hits = NULL;
	size_t n = 0;
	CHECK(found(st, seeker, "cafe", 20, &hits, &n) == 1 && hits[0].conversation_id == budget.id &&
		      hits[0].message_id == 0 && hits[0].role == NULL && hits[0].created_at == 50 &&
		      strcmp(hits[0].snippet, "Quarterly " SEARCH_MARK_OPEN "Café" SEARCH_MARK_CLOSE " budget") == 0,
	      NAME("search: a title, accents folded, the whole title with its match marked"));
	store_search_free(hits, n);
	CHECK(found(st, seeker, "zanzibar", 20, &hits, &n) == 1 && hits[0].conversation_id == budget.id &&
		      hits[0].message_id > 0 && hits[0].created_at == 70 && strcmp(hits[0].role, "user") == 0 &&
		      strcmp(hits[0].conversation_title, "Quarterly Café budget") == 0 &&
		      strcmp(hits[0].snippet, "Tell me about the " SEARCH_MARK_OPEN "zanzibar" SEARCH_MARK_CLOSE
					      " archipelago <b>please</b>") == 0,
	      NAME("search: a message, its text as written with the match marked"));
	store_search_free(hits, n);
	CHECK(found(st, seeker, "\"purple elephant\"", 20, NULL, NULL) == 1 &&
		      found(st, seeker, "\"elephant purple\"", 20, NULL, NULL) == 0,
	      NAME("search: a phrase matches its words in order only"));
	CHECK(found(st, seeker, "eleph*", 20, NULL, NULL) == 1 && found(st, seeker, "eleph", 20, NULL, NULL) == 0 &&
		      found(st, seeker, "\"purple ele\"*", 20, NULL, NULL) == 1 &&
		      found(st, seeker, "\"purp elephant\"*", 20, NULL, NULL) == 0,
	      NAME("search: a prefix, and a phrase whose last word is a prefix"));
	CHECK(found(st, seeker, "PURPLE dances", 20, NULL, NULL) == 1 &&
		      found(st, seeker, "purple giraffe", 20, NULL, NULL) == 0,
	      NAME("search: every word must match, in any case"));
	CHECK(found(st, seeker, "walrus", 20, &hits, &n) == 3 && hits[0].conversation_id == newest.id &&
		      hits[1].conversation_id == older.id && hits[2].conversation_id == long_one.id,
	      NAME("search: the short match first, the newest first among equals"));
	store_search_free(hits, n);
	CHECK(found(st, seeker, "walrus", 1, &hits, &n) == 1 && hits[0].conversation_id == newest.id,
	      NAME("search: the limit keeps the best"));
	store_search_free(hits, n);
	CHECK(found(st, seeker, "ocelot", 20, NULL, NULL) == 0 && found(st, other, "ocelot", 20, NULL, NULL) == 1,
	      NAME("search: only the user's own"));

	/* A long text: the snippet is the part around the match. */
	char text[1200] = "";
	for (int i = 0; i < 60; i++) {
		char w[24];
		snprintf(w, sizeof w, "%sfiller%d", i ? " " : "", i);
		strcat(text, w);
		if (i == 30)
			strcat(text, " narwhal");
	}
	CHECK(store_msg_add(st, seeker, older.id, "assistant", text, "ok", NULL, NULL, 0, 400, &id) == STORE_OK &&
		      found(st, seeker, "narwhal", 20, &hits, &n) == 1 && strlen(hits[0].snippet) < strlen(text) / 2 &&
		      strncmp(hits[0].snippet, SEARCH_ELLIPSIS, 3) == 0 &&
		      strstr(hits[0].snippet, SEARCH_MARK_OPEN "narwhal" SEARCH_MARK_CLOSE) &&
		      strcmp(hits[0].snippet + strlen(hits[0].snippet) - 3, SEARCH_ELLIPSIS) == 0,
	      NAME("search: a long text's snippet is cut around the match, with ellipses"));
	store_search_free(hits, n);

	/* Nothing a user types is an operator or an error. */
	static const char *const hostile[] = {
		"NEAR", "NEAR(a b, 2)", "AND", "OR OR", "NOT x", "\"unclosed", "a*b", "^start", "content:gate",
		"(", ")", "((a)", "a\"b\"c", "gate -", "- gate", "gate'", "'", "''", "\\", "a\\", "\\'", "x & y",
		"x | y", "!x", "x <-> y", "x:*", "x:A", "'x':*", "\"x\"*y", "\"phrase\"***", "\"- x\"*", "\"x -\"*",
		"caf\xC3\xA9", "\xE2\x9C\x93", "' OR 1=1 --", "'); DROP TABLE messages; --", "$1", "a + b", "*a",
	};
	int clean = 1;
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		struct search_query terms;
		const char *err = NULL;
		if (search_parse(hostile[i], strlen(hostile[i]), &terms, &err) != 0)
			continue;
		int rc = store_search(st, seeker, &terms, 20, &hits, &n);
		search_query_free(&terms);
		if (rc != STORE_OK) {
			printf("# search: '%s' failed (%d)\n", hostile[i], rc);
			clean = 0;
			continue;
		}
		store_search_free(hits, n);
	}
	CHECK(clean, NAME("search: hostile queries run as plain words, never an error"));
	CHECK(found(st, seeker, "\"the\" walrus*", 20, NULL, NULL) == 1 && found(st, seeker, "it's", 20, NULL, NULL) == 0,
	      NAME("search: quotes inside words are text"));

	CHECK(store_conv_create(st, seeker, "doomed", 500, &doomed) == STORE_OK &&
		      store_msg_add(st, seeker, doomed.id, "user", "quokka", "ok", NULL, NULL, 0, 500, &id) == STORE_OK &&
		      found(st, seeker, "quokka", 20, NULL, NULL) == 1 &&
		      store_msg_finish(st, seeker, doomed.id, id, "wombat", NULL, "ok", NULL, NULL, 0) == STORE_OK &&
		      found(st, seeker, "quokka", 20, NULL, NULL) == 0 && found(st, seeker, "wombat", 20, NULL, NULL) == 1 &&
		      store_conv_delete(st, seeker, doomed.id) == STORE_OK && found(st, seeker, "wombat", 20, NULL, NULL) == 0,
	      NAME("search: the index follows an edit and a delete"));
	/* Equal titles at the same time: the newest conversation first, on
	 * every backend. */
	struct conversation ties[3];
	int made = 0;
	for (int i = 0; i < 3; i++)
		made += store_conv_create(st, seeker, "kiwi tiebreak", 800, &ties[i]) == STORE_OK;
	int got = made == 3 ? found(st, seeker, "tiebreak", 20, &hits, &n) : -1;
	CHECK(got == 3 && hits[0].conversation_id == ties[2].id && hits[1].conversation_id == ties[1].id &&
		      hits[2].conversation_id == ties[0].id,
	      NAME("search: equal title hits, the newest conversation first"));
	if (got >= 0)
		store_search_free(hits, n);
	for (int i = 0; i < made; i++) {
		store_conv_delete(st, seeker, ties[i].id);
		store_conv_free(&ties[i]);
	}

	/* A message far longer than any search index holds whole (answers
	 * may be 4 MiB, imports more): about 2 MB of distinct words. It is
	 * stored and read back as written, and a word near its start is
	 * found (README, "Search": PostgreSQL indexes a message's first
	 * characters, its tsvector being bounded to 1 MB). */
	size_t big_len = 2u * 1024 * 1024;
	char *big = malloc(big_len + 32);
	struct conversation huge = {0};
	struct message back = {0};
	long long back_conv = 0;
	if (CHECK(big != NULL, NAME("search: memory for a 2 MB message"))) {
		size_t at = (size_t)snprintf(big, 32, "aardvarkian");
		for (unsigned i = 0; at < big_len; i++) {
			/* letters only, each word a distinct lexeme of 40
			 * (long words: fewer of them to index, same bytes) */
			char w[48];
			size_t k = 0;
			for (unsigned v = i; k < 8; v /= 26)
				w[k++] = (char)('a' + v % 26);
			memcpy(w + k, "qwertyuiopasdfghjklzxcvbnmqwerty", 32);
			k += 32;
			big[at++] = ' ';
			memcpy(big + at, w, k);
			at += k;
		}
		big[at] = '\0';
		CHECK(store_conv_create(st, seeker, "huge", 600, &huge) == STORE_OK &&
			      store_msg_add(st, seeker, huge.id, "assistant", big, "ok", NULL, NULL, 0, 600, &id) ==
				      STORE_OK &&
			      store_msg_get(st, seeker, id, &back, &back_conv) == STORE_OK && back.content &&
			      strcmp(back.content, big) == 0,
		      NAME("search: a 2 MB message of distinct words is stored and read back whole"));
		CHECK(found(st, seeker, "aardvarkian", 20, &hits, &n) == 1 && hits[0].message_id == id,
		      NAME("search: a word near the start of a 2 MB message is found"));
		store_search_free(hits, n);
		/* gone before the backups below, which need not copy it */
		CHECK(store_conv_delete(st, seeker, huge.id) == STORE_OK, NAME("search: the 2 MB message goes"));
		store_msg_free(&back);
		store_conv_free(&huge);
		free(big);
	}
	store_conv_free(&budget);
	store_conv_free(&older);
	store_conv_free(&long_one);
	store_conv_free(&newest);
	store_conv_free(&secret);
	store_conv_free(&doomed);
}

/* A backup is a SQLite file whichever the backend; a restore brings back
 * exactly what was backed up, and ids handed out in between are never
 * handed out again. The SQLite run leaves its backup for the PostgreSQL
 * run to restore (cross_backup): a backup of one backend restores into the
 * other. */
static char cross_backup[300];
static long long cross_ghost_user, cross_ghost_msg; /* deleted before the backup: its ids are handed out */
static void test_backup(struct store *st, const char *b)
{
	char name[200], dir[] = "/tmp/aifacade-unit-backup.XXXXXX", file[300], snap[300], junk[300];
	if (!CHECK(mkdtemp(dir) != NULL, NAME("backup: a directory")))
		return;
	snprintf(file, sizeof file, "%s/backup.db", dir);
	snprintf(snap, sizeof snap, "%s/snapshot.db", dir);
	snprintf(junk, sizeof junk, "%s/junk.db", dir);
	struct store_stats before, after;
	struct user alice, u;
	int version = 0;
	char err[512];
	/* The newest user, conversation and message are deleted before the
	 * backup: their ids are handed out, in no row. */
	long long ghost = 0, ghost_msg = 0;
	struct conversation gc;
	if (!CHECK(store_user_create(st, "Ghost", "ghost", "h", 4, &ghost) == STORE_OK &&
			   store_conv_create(st, ghost, "ghost", 4, &gc) == STORE_OK &&
			   store_msg_add(st, ghost, gc.id, "user", "boo", "ok", NULL, NULL, 0, 4, &ghost_msg) == STORE_OK &&
			   store_user_delete(st, "ghost") == STORE_OK && store_stats(st, &before) == STORE_OK &&
			   store_user_find(st, "alice", &alice) == STORE_OK,
		   NAME("backup: the database before")))
		return;
	store_conv_free(&gc);
	CHECK(store_backup(st, file) == STORE_OK && store_check_file(file, &version, err, sizeof err) == 0 &&
		      version == store_schema_latest(),
	      NAME("backup: a sound file of the latest schema"));
	CHECK(store_read_begin(st) == STORE_OK && store_backup(st, snap) == STORE_OK &&
		      (store_rollback(st), store_check_file(snap, &version, err, sizeof err) == 0),
	      NAME("backup: inside a read snapshot too"));
	/* Changes after the backup, which the restore undoes. */
	long long late = 0, conv_late = 0, msg_late = 0;
	struct conversation c = {0};
	CHECK(store_user_create(st, "Late", "late", "h", 5, &late) == STORE_OK &&
		      store_conv_create(st, alice.id, "late one", 5, &c) == STORE_OK &&
		      store_msg_add(st, alice.id, c.id, "user", "platypus", "ok", NULL, NULL, 0, 5, &msg_late) == STORE_OK &&
		      store_user_delete(st, "bob") == STORE_OK,
	      NAME("backup: changes after it"));
	conv_late = c.id;
	store_conv_free(&c);
	FILE *f = fopen(junk, "w");
	if (f) {
		fputs("not a database at all, but long enough to be read as one by mistake......................", f);
		fclose(f);
	}
	CHECK(store_restore(st, junk) != STORE_OK && store_stats(st, &after) == STORE_OK &&
		      after.users == before.users && store_user_find(st, "late", &u) == STORE_OK,
	      NAME("restore: a file that is not a database is refused, and nothing changes"));
	store_user_free(&u);
	CHECK(store_restore(st, file) == STORE_OK && store_stats(st, &after) == STORE_OK &&
		      after.users == before.users && after.conversations == before.conversations &&
		      after.messages == before.messages && after.sessions == before.sessions,
	      NAME("restore: every row is back, no more"));
	CHECK(store_user_find(st, "late", &u) == STORE_NOTFOUND && store_user_find(st, "bob", &u) == STORE_OK &&
		      strcmp(u.password_hash, "h2b") == 0,
	      NAME("restore: a user added since is gone, one deleted since is back"));
	store_user_free(&u);
	CHECK(store_user_find(st, "alice", &u) == STORE_OK && u.id == alice.id && u.last_seen == alice.last_seen &&
		      strcmp(u.role, alice.role) == 0 && u.quota_prompts_day == alice.quota_prompts_day,
	      NAME("restore: a user's every field"));
	store_user_free(&u);
	long long seeker = 0;
	if (store_user_find(st, "seeker", &u) == STORE_OK)
		seeker = u.id;
	store_user_free(&u);
	CHECK(found(st, seeker, "walrus", 20, NULL, NULL) == 3 && found(st, alice.id, "platypus", 20, NULL, NULL) == 0,
	      NAME("restore: search finds what the backup holds, and nothing since"));
	long long id = 0, msg = 0;
	CHECK(store_user_create(st, "After", "after", "h", 6, &id) == STORE_OK && id > late &&
		      store_conv_create(st, alice.id, "after", 6, &c) == STORE_OK && c.id > conv_late &&
		      store_msg_add(st, alice.id, c.id, "user", "x", "ok", NULL, NULL, 0, 6, &msg) == STORE_OK && msg > msg_late,
	      NAME("restore: ids handed out since the backup are not handed out again"));
	store_conv_free(&c);
	store_user_free(&alice);
	unlink(snap);
	unlink(junk);
	if (cross_backup[0] == '\0') {
		snprintf(cross_backup, sizeof cross_backup, "%s", file);
		cross_ghost_user = ghost;
		cross_ghost_msg = ghost_msg;
	} else {
		/* The other way: this backend's backup restored into a new SQLite
		 * database hands out no id its database had handed out (the
		 * ghost's; PostgreSQL's backup once wrote sqlite_sequence twice). */
		char fresh[320], side[340];
		struct store *other = NULL;
		long long nid = 0;
		snprintf(fresh, sizeof fresh, "%s/fresh.db", dir);
		CHECK(store_open(fresh, &other, err, sizeof err) == 0 && store_restore(other, file) == STORE_OK &&
			      store_user_create(other, "Newer", "newer", "h", 7, &nid) == STORE_OK && nid > ghost,
		      NAME("restore: its backup in a new SQLite database hands out no id again"));
		store_close(other);
		static const char *const sides[] = {"", "-wal", "-shm", "-queue", "-journal"};
		for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
			snprintf(side, sizeof side, "%s%s", fresh, sides[i]);
			unlink(side);
		}
		unlink(file);
		rmdir(dir);
	}
}

/* Copies file from to to and undoes its migration 7 (as tests/docker.bats
 * does): a backup made by the release before it. */
static int make_older(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	char chunk[8192];
	size_t n;
	int ok = in && out;
	while (ok && (n = fread(chunk, 1, sizeof chunk, in)) > 0)
		ok = fwrite(chunk, 1, n, out) == n;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		ok = 0;
	sqlite3 *db = NULL;
	ok = ok && sqlite3_open(to, &db) == SQLITE_OK &&
	     sqlite3_exec(db, "DROP INDEX gateway_calls_user; DROP INDEX gateway_calls_token; DROP TABLE gateway_calls;"
			      " ALTER TABLE api_tokens DROP COLUMN store_conversations; PRAGMA user_version = 6",
			  NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
	return ok;
}

/* The SQLite run's backup, as the release before migration 7 made it,
 * restored into a new, empty PostgreSQL database: migrated on the way
 * (the file itself untouched), the rows, and ids that go on past every id
 * the file's database handed out, deleted rows' too. */
static void test_cross_restore(struct store *st, const char *b)
{
	char name[200], older[340], err[512];
	struct store_stats ss;
	struct user u = {0};
	struct conversation c = {0};
	long long id = 0, msg = 0;
	int version = 0;
	if (cross_backup[0] == '\0')
		return;
	snprintf(older, sizeof older, "%s.v6", cross_backup);
	CHECK(make_older(cross_backup, older) && store_check_file(older, &version, err, sizeof err) == 0 && version == 6,
	      NAME("restore: a backup of schema 6"));
	CHECK(store_restore(st, older) == STORE_OK && store_stats(st, &ss) == STORE_OK && ss.users > 5 &&
		      ss.schema_version == store_schema_latest() && store_user_find(st, "seeker", &u) == STORE_OK &&
		      found(st, u.id, "walrus", 20, NULL, NULL) == 3,
	      NAME("restore: a backup made on SQLite at an older schema restores into a new database, search and all"));
	CHECK(store_check_file(older, &version, err, sizeof err) == 0 && version == 6,
	      NAME("restore: the backup file itself is not migrated"));
	unlink(older);
	CHECK(store_user_create(st, "Newer", "newer", "h", 7, &id) == STORE_OK && id > cross_ghost_user &&
		      store_conv_create(st, u.id, "newer", 7, &c) == STORE_OK &&
		      store_msg_add(st, u.id, c.id, "user", "x", "ok", NULL, NULL, 0, 7, &msg) == STORE_OK &&
		      msg > cross_ghost_msg,
	      NAME("restore: ids go on past every id the backup's database handed out"));
	store_conv_free(&c);
	store_user_free(&u);
	unlink(cross_backup);
	char *slash = strrchr(cross_backup, '/');
	if (slash) {
		*slash = '\0';
		rmdir(cross_backup);
	}
	cross_backup[0] = '\0';
}

static void test_transactions(struct store *st, const char *b)
{
	char name[200];
	struct user u;
	long long id = 0;
	CHECK(store_in_transaction(st) == 0, NAME("no transaction open"));
	CHECK(store_begin(st) == STORE_OK && store_in_transaction(st) == 2, NAME("begin opens a write transaction"));
	CHECK(store_user_create(st, "Frank", "frank", "h", 1, &id) == STORE_OK, NAME("a write inside it"));
	store_rollback(st);
	CHECK(store_in_transaction(st) == 0 && store_user_find(st, "frank", &u) == STORE_NOTFOUND,
	      NAME("rolled back: the write is gone"));
	CHECK(store_begin(st) == STORE_OK && store_user_create(st, "Grace", "grace", "h", 1, &id) == STORE_OK &&
		      store_commit(st) == STORE_OK && store_in_transaction(st) == 0,
	      NAME("begin, write, commit"));
	CHECK(store_user_find(st, "grace", &u) == STORE_OK, NAME("committed: the write stays"));
	store_user_free(&u);
	/* A statement that fails inside a transaction (here a taken name)
	 * ends a PostgreSQL transaction, not a SQLite one (store.h): either
	 * way store_commit() answers the truth about what was kept. */
	int rc = store_begin(st);
	CHECK(rc == STORE_OK && store_user_create(st, "GRACE", "grace", "h", 2, &id) == STORE_CONFLICT,
	      NAME("a taken name inside a transaction is a conflict"));
	(void)store_user_create(st, "Heidi", "heidi", "h", 3, &id);
	rc = store_commit(st);
	int kept = store_user_find(st, "heidi", &u) == STORE_OK;
	if (kept)
		store_user_free(&u);
	CHECK(store_in_transaction(st) == 0 && (rc == STORE_OK) == kept,
	      NAME("after a failed statement, commit succeeds only if the later write was kept"));
	if (kept)
		CHECK(store_user_delete(st, "heidi") == STORE_OK, NAME("the later write removed"));
}

static void test_rate(struct store *st, const char *b)
{
	char name[200];
	const long long t0 = 1700000000001LL, minute = 60000;
	int allowed = 0, granted = 0;
	long long wait = 0, count = 0, oldest = 0;
	for (int i = 0; i < 3; i++) {
		CHECK(store_rate_take(st, "w", 3, minute, t0 + i * 1000, 1, &allowed, &wait) == STORE_OK, NAME("take"));
		granted += allowed;
	}
	CHECK(granted == 3, NAME("three units of a limit of three are granted"));
	CHECK(store_rate_take(st, "w", 3, minute, t0 + 10000, 1, &allowed, &wait) == STORE_OK && !allowed &&
		      wait == 50000,
	      NAME("the fourth is refused until the oldest leaves the window"));
	CHECK(store_rate_count(st, "w", 0, &count, &oldest) == STORE_OK && count == 3 && oldest == t0,
	      NAME("a refused take records nothing"));
	CHECK(store_rate_take(st, "w", 3, minute, t0 + minute, 1, &allowed, &wait) == STORE_OK && allowed,
	      NAME("once the oldest left the window, a unit is granted again"));
	CHECK(store_rate_take(st, "other", 3, minute, t0, 0, &allowed, &wait) == STORE_OK && allowed &&
		      store_rate_count(st, "other", 0, &count, &oldest) == STORE_OK && count == 0,
	      NAME("another bucket has its own count; a check without record records nothing"));
	CHECK(store_rate_add(st, "old", t0 - 3 * 86400000LL) == STORE_OK && store_rate_purge(st, t0) == STORE_OK &&
		      store_rate_count(st, "old", 0, &count, &oldest) == STORE_OK && count == 0,
	      NAME("purge removes old events"));
}

static void test_turn_race(const char *database, const char *b)
{
	char name[200];
	struct store *st = open_store(database, b);
	struct user u;
	if (!st || !CHECK(store_user_find(st, "bob", &u) == STORE_OK, NAME("turn race: bob exists"))) {
		store_close(st);
		return;
	}
	turn_user = u.id;
	store_user_free(&u);
	long long mine = 0, all = 0, id = 0, id2 = 0;
	CHECK(store_turn_take(st, turn_user, 1, "h", 1, 10, 1, 10, &mine, &all, &id) == STORE_OK && id > 0 &&
		      mine == 0 && all == 0,
	      NAME("take a turn slot"));
	CHECK(store_turn_take(st, turn_user, 2, "h", 1, 10, 1, 10, &mine, &all, &id2) == STORE_OK && id2 == 0 &&
		      mine == 1 && all == 1,
	      NAME("the user's limit reached: no slot, nothing added"));
	CHECK(store_turn_end(st, turn_user, id) == STORE_OK, NAME("give it back"));
	int got = race(database, turn_racer);
	if (!CHECK(got == TURN_TOTAL, NAME("turn race: exactly the total is taken among six processes")))
		printf("# %d taken of %d (-1: a racer failed)\n", got, TURN_TOTAL);
	CHECK(store_turn_count(st, turn_user, &mine, &all) == STORE_OK && all == TURN_TOTAL,
	      NAME("turn race: exactly the total was recorded"));
	store_close(st);
}

static void test_invite_race(const char *database, const char *b)
{
	char name[200];
	struct store *st = open_store(database, b);
	struct user u;
	int have = st != NULL;
	for (int i = 0; i < RACERS && have; i++) {
		char who[24];
		snprintf(who, sizeof who, "racer%d", i);
		have = store_user_find(st, who, &u) == STORE_OK;
		if (have) {
			invite_users[i] = u.id;
			store_user_free(&u);
		}
	}
	if (!CHECK(have && store_invite_create(st, "race-inv", invite_users[0], 1000, 100000) == STORE_OK,
		   NAME("invitation race: the racers and an invitation exist"))) {
		store_close(st);
		return;
	}
	int used = race(database, invite_racer);
	if (!CHECK(used == 1, NAME("invitation race: one invitation, six registrations at once, one use")))
		printf("# %d uses (-1: a racer failed)\n", used);
	store_close(st);
}

static void test_rate_race(const char *database, const char *b)
{
	char name[200];
	int granted = race(database, rate_racer);
	if (!CHECK(granted == RATE_LIMIT, NAME("race: exactly the limit is granted among six processes")))
		printf("# granted %d of %d (-1: a racer failed)\n", granted, RATE_LIMIT);
	struct store *st = open_store(database, b);
	long long count = 0, oldest = 0;
	CHECK(st && store_rate_count(st, "race", 0, &count, &oldest) == STORE_OK && count == RATE_LIMIT,
	      NAME("race: exactly the limit was recorded"));
	store_close(st);
}

/* A writer holds a user's row in another process until told to let go; a
 * writer with 200 ms of patience gives up busy meanwhile. */
static void test_patience(const char *database, const char *b)
{
	char name[200];
	int ready[2], release[2];
	if (!CHECK(pipe(ready) == 0, NAME("patience: a pipe")))
		return;
	if (!CHECK(pipe(release) == 0, NAME("patience: a second pipe"))) {
		close(ready[0]);
		close(ready[1]);
		return;
	}
	fflush(stdout);
	pid_t holder = fork();
	if (holder == 0) {
		char err[512];
		struct store *h = NULL;
		close(ready[0]);
		close(release[1]);
		struct user u;
		int ok = store_open(database, &h, err, sizeof err) == 0 && store_user_find(h, "bob", &u) == STORE_OK;
		ok = ok && store_begin(h) == STORE_OK && store_user_set_hash(h, u.id, "held") == STORE_OK;
		char c = ok ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			ok = 0;
		/* Held until the parent closes the pipe (or ends), at most 10 s:
		 * a store that waits without bound must fail the test, not hang it. */
		struct pollfd pfd = {.fd = release[0], .events = POLLIN};
		if (poll(&pfd, 1, 10000) < 0)
			ok = 0;
		if (h)
			store_rollback(h);
		if (ok)
			store_user_free(&u);
		store_close(h);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	char c = 'n';
	int held = read(ready[0], &c, 1) == 1 && c == 'y';
	close(ready[0]);
	struct store *st = held ? open_store(database, b) : NULL;
	struct user u;
	int rc = STORE_ERROR;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (st && store_user_find(st, "bob", &u) == STORE_OK) {
		store_patience(st, 200);
		rc = store_begin(st);
		if (rc == STORE_OK)
			rc = store_user_set_hash(st, u.id, "waiting");
		store_rollback(st);
		store_user_free(&u);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(held, NAME("patience: another process holds a write"));
	if (!CHECK(rc == STORE_BUSY && ms < 1500, NAME("patience: a short patience gives up busy before the holder ends")))
		printf("# rc %d after %ld ms\n", rc, ms);
	else
		printf("# busy after %ld ms\n", ms);
	/* The same write outside a transaction (an answer's saves as it
	 * arrives, turn.h) gives up as soon. */
	rc = STORE_ERROR;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (st && store_user_find(st, "bob", &u) == STORE_OK) {
		store_patience(st, 200);
		rc = store_user_set_hash(st, u.id, "waiting");
		store_user_free(&u);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (!CHECK(rc == STORE_BUSY && ms < 1500,
		   NAME("patience: outside a transaction too, a short patience gives up busy before the holder ends")))
		printf("# rc %d after %ld ms\n", rc, ms);
	else
		printf("# busy after %ld ms\n", ms);
	store_close(st);
	close(release[1]);
	(void)waitpid(holder, NULL, 0);
}

static void test_reset(const char *database, const char *b)
{
	char name[200];
	struct store *st = open_store(database, b);
	if (!st)
		return;
	long long before = 0, after = 0, n = 0;
	struct user u;
	struct store_stats ss;
	CHECK(store_user_create(st, "Zed", "zed", "h", 1, &before) == STORE_OK && store_reset(st) == STORE_OK &&
		      store_stats(st, &ss) == STORE_OK && ss.users == 0 && ss.messages == 0 && ss.sessions == 0 &&
		      store_user_find(st, "zed", &u) == STORE_NOTFOUND && store_rate_count(st, "race", 0, &n, &after) == STORE_OK &&
		      n == 0,
	      NAME("reset empties every table"));
	CHECK(store_schema_version(st) == store_schema_latest(), NAME("reset keeps the schema"));
	CHECK(store_user_create(st, "Zed", "zed", "h", 2, &after) == STORE_OK && after > before,
	      NAME("after a reset, ids go on from where they were"));
	store_close(st);
}

/* Every member of a backend's operations table is filled: store.c calls
 * through it without checking. The members after name are all function
 * pointers (POSIX: of one size), walked in order. */
static void test_ops_filled(const struct store_ops *ops, const char *b)
{
	char name[200];
	typedef void (*fnptr)(void);
	size_t first = offsetof(struct store_ops, close), n = (sizeof *ops - first) / sizeof(fnptr);
	int nulls = 0;
	for (size_t i = 0; i < n; i++) {
		fnptr f;
		memcpy(&f, (const char *)ops + first + i * sizeof f, sizeof f);
		if (!f) {
			printf("# %s: member %zu after name of struct store_ops (store_backend.h) is NULL\n", b, i + 1);
			nulls++;
		}
	}
	CHECK(ops->name && strcmp(ops->name, b) == 0 && (sizeof *ops - first) % sizeof(fnptr) == 0 && n > 90 &&
		      nulls == 0,
	      NAME("every operation of the backend's table is filled"));
}

/* Writes the schema version by the backend's own means (a newer release's
 * migration would): SQLite's user_version, PostgreSQL's aifacade_schema. */
static int set_schema_version(const char *database, const char *b, int v)
{
	char sqltext[96];
	int ok = 0;
	if (strcmp(b, "SQLite") == 0) {
		sqlite3 *db = NULL;
		snprintf(sqltext, sizeof sqltext, "PRAGMA user_version = %d", v);
		ok = sqlite3_open(database, &db) == SQLITE_OK && sqlite3_exec(db, sqltext, NULL, NULL, NULL) == SQLITE_OK;
		sqlite3_close(db);
	} else {
		snprintf(sqltext, sizeof sqltext, "UPDATE aifacade_schema SET version = %d", v);
		PGconn *c = PQconnectdb(database);
		PGresult *r = PQexec(c, sqltext);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdTuples(r), "1") == 0;
		PQclear(r);
		PQfinish(c);
	}
	return ok;
}

/* An older build beside a newer schema (a release that migrated, then
 * rolled back): migrations only add, so the store opens and reads on. */
static void test_newer_schema(const char *database, const char *b)
{
	char name[200];
	int latest = store_schema_latest();
	struct store *st = NULL;
	struct user u;
	if (!CHECK(set_schema_version(database, b, latest + 1), NAME("newer schema: a newer release's version")))
		return;
	st = open_store(database, b);
	CHECK(st && store_schema_version(st) == latest + 1 && store_user_find(st, "bob", &u) == STORE_OK,
	      NAME("newer schema: an older build opens it and reads on, migrating nothing"));
	if (st)
		store_user_free(&u);
	store_close(st);
	CHECK(set_schema_version(database, b, latest), NAME("newer schema: the version back"));
}

static void run_contract(const char *database, const char *backend)
{
	char name[200];
	const char *b = backend;
	struct store *st = open_store(database, backend);
	if (!st)
		return;
	/* Before any account exists: six first registrations at once. */
	int admins = race(database, register_racer);
	if (!CHECK(admins == 1, NAME("six registrations at once on an empty database make exactly one admin")))
		printf("# %d admins (-1: a racer failed)\n", admins);
	test_users(st, backend);
	test_sessions(st, backend);
	test_transactions(st, backend);
	test_conversations(st, backend);
	test_turns(st, backend);
	test_administration(st, database, backend);
	test_tree(st, backend);
	test_search(st, backend);
	test_backup(st, backend);
	test_rate(st, backend);
	store_close(st);
	/* A second open of a migrated database migrates nothing. */
	st = open_store(database, backend);
	CHECK(st && store_schema_version(st) == store_schema_latest(), "reopened: still the latest version");
	store_close(st);
	test_newer_schema(database, backend);
	test_rate_race(database, backend);
	test_turn_race(database, backend);
	test_invite_race(database, backend);
	test_patience(database, backend);
	test_reset(database, backend);
}

/* Shuts down (how: SHUT_RD, the server's end of the stream unread, as a
 * server or PgBouncer that closed the connection leaves it; SHUT_RDWR)
 * every connection of this process to a PostgreSQL or PgBouncer Unix
 * socket (.s.PGSQL.*) but except: the store's, when it is the only other
 * one open. Returns how many. */
static int pg_sockets_shutdown(int how, int except)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++) {
		if (fd == except)
			continue;
		struct sockaddr_un peer;
		socklen_t len = sizeof peer;
		memset(&peer, 0, sizeof peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0 && peer.sun_family == AF_UNIX &&
		    strstr(peer.sun_path, ".s.PGSQL.") && shutdown(fd, how) == 0)
			n++;
	}
	return n;
}

/* In a forked child: opens a connection of its own and runs lock (a BEGIN
 * and a LOCK TABLE), tells the parent through ready whether it holds the
 * lock ('y' or 'n'), then waits at most 5 s until a statement whose text
 * is like `like` waits on a lock (*waited 1). Returns the connection, still
 * in its transaction. */
static PGconn *hold_until_waited(const char *database, const char *lock, const char *like, int ready, int *waited)
{
	PGconn *h = PQconnectdb(database);
	PGresult *r = PQexec(h, lock);
	char c = PQresultStatus(r) == PGRES_COMMAND_OK ? 'y' : 'n';
	PQclear(r);
	if (write(ready, &c, 1) != 1)
		c = 'n';
	const char *params[1] = {like};
	for (int i = 0; c == 'y' && i < 500; i++) {
		/* in a transaction, pg_stat_activity is read once unless cleared */
		PQclear(PQexec(h, "SELECT pg_stat_clear_snapshot()"));
		r = PQexecParams(h, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
				 1, NULL, params, NULL, NULL, 0);
		*waited = PQresultStatus(r) == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) > 0;
		PQclear(r);
		if (*waited)
			break;
		struct timespec pause = {0, 10000000L};
		nanosleep(&pause, NULL);
	}
	return h;
}

static long long audit_count(struct store *st, const char *action)
{
	struct audit_row *list = NULL;
	size_t n = 0;
	long long count = 0;
	if (store_audit_list(st, 0, 1000, &list, &n) != STORE_OK)
		return -1;
	for (size_t i = 0; i < n; i++)
		count += strcmp(list[i].action, action) == 0;
	store_audit_list_free(list, n);
	return count;
}

/* A connection the server (or PgBouncer, restarted) closed: the store's
 * socket is shut down under it, as a restart leaves it. PostgreSQL only. */
static void test_lost_connection(const char *database, const char *b)
{
	char name[200];
	struct store *st = open_store(database, b);
	if (!st)
		return;
	/* Lost inside a transaction: the statement fails, and the next
	 * transaction begins on a new connection. */
	int rc = store_begin(st);
	if (rc == STORE_OK) {
		rc = pg_sockets_shutdown(SHUT_RDWR, -1) == 1 ? store_audit_add(st, 1, NULL, "lost.inside", NULL, NULL, NULL)
							 : STORE_OK;
		store_rollback(st);
	}
	CHECK(rc == STORE_UNAVAILABLE, NAME("lost connection: a statement of the transaction fails unavailable"));
	rc = store_begin(st);
	if (rc == STORE_OK && (rc = store_audit_add(st, 2, NULL, "lost.after", NULL, NULL, NULL)) == STORE_OK)
		rc = store_commit(st);
	else
		store_rollback(st);
	if (!CHECK(rc == STORE_OK && audit_count(st, "lost.after") == 1,
		   NAME("lost connection: the next begin, write and commit succeed on a new connection")))
		printf("# rc %d\n", rc);
	/* Closed while idle: found before anything is sent, so a write
	 * outside a transaction runs once, on a new connection; and a read
	 * snapshot begins. */
	rc = pg_sockets_shutdown(SHUT_RD, -1) == 1 ? store_audit_add(st, 3, NULL, "lost.idle", NULL, NULL, NULL) : -1;
	CHECK(rc == STORE_OK && audit_count(st, "lost.idle") == 1,
	      NAME("lost connection: closed while idle, a write outside a transaction runs once"));
	rc = pg_sockets_shutdown(SHUT_RD, -1) == 1 ? store_read_begin(st) : -1;
	store_rollback(st);
	CHECK(rc == STORE_OK, NAME("lost connection: closed while idle, a read snapshot begins"));

	/* Lost while the server has a write: it waits behind a lock another
	 * connection holds when the store's connection goes; the server then
	 * runs and commits it all the same. The store cannot know that, and
	 * must not write it again: one row, STORE_UNAVAILABLE. */
	int ready[2];
	if (!CHECK(pipe(ready) == 0, NAME("lost connection: a pipe")))
		goto done;
	fflush(stdout);
	pid_t holder = fork();
	if (holder == 0) {
		close(ready[0]);
		int waited = 0;
		PGconn *h = hold_until_waited(database, "BEGIN; LOCK TABLE audit IN EXCLUSIVE MODE", "INSERT INTO audit%",
					      ready[1], &waited);
		if (waited)
			pg_sockets_shutdown(SHUT_RD, PQsocket(h));
		struct timespec pause = {0, 200000000L};
		nanosleep(&pause, NULL);
		PQclear(PQexec(h, "COMMIT"));
		PQfinish(h);
		_exit(0);
	}
	close(ready[1]);
	char c = 'n';
	int held = read(ready[0], &c, 1) == 1 && c == 'y';
	close(ready[0]);
	rc = held ? store_audit_add(st, 4, NULL, "lost.write", NULL, NULL, NULL) : -1;
	int left_open = store_end_request(st);
	(void)waitpid(holder, NULL, 0);
	/* the server's own run commits once the lock is gone */
	long long count = 0;
	for (int i = 0; i < 100 && count < 1; i++) {
		struct timespec pause = {0, 20000000L};
		nanosleep(&pause, NULL);
		count = audit_count(st, "lost.write");
	}
	struct timespec settle = {0, 300000000L};
	nanosleep(&settle, NULL);
	count = audit_count(st, "lost.write");
	if (!CHECK(held && rc == STORE_UNAVAILABLE && count == 1,
		   NAME("lost connection: a write the server had when it was lost is not written again")))
		printf("# rc %d, %lld rows\n", rc, count);
	CHECK(left_open == 0, NAME("lost connection: the request's end finds no transaction left open"));
done:
	store_close(st);
}

/* A reconnection that fails is not tried again before each of the
 * request's statements (store_pg.c, PG_RECONNECT_HOLD_MS): the next
 * statement fails at once, though the database is back, and the next
 * request reconnects. The store reaches the server through a symbolic
 * link to its socket, which the test takes away and puts back.
 * PostgreSQL only; DATABASE names a Unix socket directory (host=). */
static void test_reconnect_hold(const char *database, const char *b)
{
	char name[200], dir[] = "/tmp/aifacade-hold.XXXXXX", link_path[300], target[300], url[1200];
	const char *host = strstr(database, "host=/"), *port = strstr(database, "port=");
	if (!host || !port || !mkdtemp(dir)) {
		printf("# %s: the reconnection hold is not tested (DATABASE names no socket directory and port)\n", b);
		return;
	}
	int hlen = (int)strcspn(host + 5, "&"), plen = (int)strcspn(port + 5, "&");
	snprintf(target, sizeof target, "%.*s/.s.PGSQL.%.*s", hlen, host + 5, plen, port + 5);
	snprintf(link_path, sizeof link_path, "%s/.s.PGSQL.%.*s", dir, plen, port + 5);
	snprintf(url, sizeof url, "%s&host=%s", database, dir); /* the last host= counts */
	struct store *st = NULL;
	if (CHECK(symlink(target, link_path) == 0, NAME("reconnection hold: a link to the server's socket")))
		st = open_store(url, b);
	if (st) {
		CHECK(store_ping(st) == STORE_OK, NAME("reconnection hold: the store answers through the link"));
		unlink(link_path);
		int lost = pg_sockets_shutdown(SHUT_RDWR, -1);
		CHECK(lost == 1 && store_ping(st) == STORE_UNAVAILABLE,
		      NAME("reconnection hold: its connection lost and the server gone, a statement fails unavailable"));
		CHECK(symlink(target, link_path) == 0 && store_ping(st) == STORE_UNAVAILABLE,
		      NAME("reconnection hold: the server back, the request's next statement fails at once all the same"));
		store_end_request(st);
		CHECK(store_ping(st) == STORE_OK, NAME("reconnection hold: the next request reconnects"));
		store_close(st);
	}
	unlink(link_path);
	rmdir(dir);
}

/* An up-to-date database opens without the migrations' lock: each open
 * (several a chat turn, one a request) only reads the version. Here the
 * lock is held by another connection, and an open must not wait for it.
 * PostgreSQL only (the lock is an advisory lock of its own). */
static void test_open_unlocked(const char *database, const char *b)
{
	char name[200];
	PGconn *h = PQconnectdb(database);
	PGresult *r = PQexec(h, "BEGIN; SELECT pg_advisory_xact_lock(1095321185)");
	int held = PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	fflush(stdout);
	pid_t opener = held ? fork() : -1;
	if (opener == 0) {
		char err[512];
		struct store *st = NULL;
		int rc = store_open(database, &st, err, sizeof err);
		store_close(st);
		_exit(rc == 0 ? 0 : 1);
	}
	int status = -1, done = 0;
	for (int i = 0; opener > 0 && i < 500 && !done; i++) {
		struct timespec pause = {0, 10000000L};
		done = waitpid(opener, &status, WNOHANG) == opener;
		if (!done)
			nanosleep(&pause, NULL);
	}
	if (opener > 0 && !done) {
		kill(opener, SIGKILL);
		(void)waitpid(opener, NULL, 0);
	}
	CHECK(held && done && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      NAME("an up-to-date database opens while another connection holds the migrations' lock"));
	PQclear(PQexec(h, "ROLLBACK"));
	PQfinish(h);
}

/* A restore while another connection inserts: the insert takes an id
 * after the restore read the sequences and before its TRUNCATE's lock
 * (held back by a lock until then); that id is never handed out again.
 * PostgreSQL only (SQLite's restore holds its write lock throughout). */
static void test_restore_race(const char *database, const char *b)
{
	char name[200], dir[] = "/tmp/aifacade-unit-restore.XXXXXX", path[64];
	struct store *st = open_store(database, b);
	int ready[2];
	if (!st || !CHECK(mkdtemp(dir) != NULL && pipe(ready) == 0, NAME("restore race: a directory and a pipe"))) {
		store_close(st);
		return;
	}
	snprintf(path, sizeof path, "%s/b.db", dir);
	int rc = store_audit_add(st, 1, NULL, "race.before", NULL, NULL, NULL);
	if (rc == STORE_OK)
		rc = store_backup(st, path);
	fflush(stdout);
	pid_t inserter = fork();
	if (inserter == 0) {
		close(ready[0]);
		int waited = 0;
		PGconn *h = hold_until_waited(database, "BEGIN; LOCK TABLE audit IN ROW EXCLUSIVE MODE", "TRUNCATE%",
					      ready[1], &waited);
		PGresult *r = PQexec(h, "INSERT INTO audit (at, action) VALUES (2, 'race.during') RETURNING id");
		long long id = PQresultStatus(r) == PGRES_TUPLES_OK ? atoll(PQgetvalue(r, 0, 0)) : 0;
		PQclear(r);
		PQclear(PQexec(h, "COMMIT"));
		PQfinish(h);
		if (write(ready[1], &id, sizeof id) != (ssize_t)sizeof id)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	char c = 'n';
	long long taken = 0;
	int held = read(ready[0], &c, 1) == 1 && c == 'y';
	if (rc == STORE_OK && held)
		rc = store_restore(st, path);
	if (read(ready[0], &taken, sizeof taken) != (ssize_t)sizeof taken)
		taken = 0;
	close(ready[0]);
	(void)waitpid(inserter, NULL, 0);
	struct audit_row *list = NULL;
	size_t n = 0;
	long long next = 0;
	if (rc == STORE_OK && store_audit_add(st, 3, NULL, "race.after", NULL, NULL, NULL) == STORE_OK &&
	    store_audit_list(st, 0, 1, &list, &n) == STORE_OK && n == 1)
		next = list[0].id;
	store_audit_list_free(list, n);
	if (!CHECK(held && rc == STORE_OK && taken > 0 && next > taken,
		   NAME("restore race: an id taken while the restore waited is not handed out again")))
		printf("# rc %d, id %lld taken during the restore, %lld after\n", rc, taken, next);
	unlink(path);
	rmdir(dir);
	store_close(st);
}

#undef NAME

/* Empties the scratch database: the contract starts from no account. */
static int pg_scratch(const char *url)
{
	char err[256];
	if (pq_load(err, sizeof err) < 0) {
		printf("# %s\n", err);
		return 0;
	}
	PGconn *c = PQconnectdb(url);
	PGresult *r = NULL;
	int ok = PQstatus(c) == CONNECTION_OK;
	if (ok) {
		r = PQexec(c, "SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public");
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	}
	if (!ok)
		printf("# cannot empty %s: %s", url, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_ops_filled(&store_sqlite_ops, "SQLite");
	test_ops_filled(&store_pg_ops, "PostgreSQL");
	if (!mkdtemp(root)) {
		printf("Bail out! cannot make a temporary directory\n");
		return 1;
	}
	char path[256];
	snprintf(path, sizeof path, "%s/contract.db", root);
	run_contract(path, "SQLite");
	remove_tree(root);

	/* No server at all: the open fails, saying why and what to check
	 * (the runner answers 503 with it in the log, app.c). */
	char err[512];
	struct store *none = NULL;
	CHECK(store_open("postgresql://nobody@/nothing?host=/nonexistent-aifacade&connect_timeout=2", &none, err,
			 sizeof err) < 0 && none == NULL,
	      "PostgreSQL: an unreachable server fails the open");
	CHECK(strstr(err, "cannot connect to PostgreSQL database nothing@/nonexistent-aifacade") != NULL &&
		      strstr(err, "check that PostgreSQL") != NULL,
	      "PostgreSQL: the error names the database, the cause and what to check");
	printf("# %s\n", err);

	const char *pg = getenv("AIFACADE_TEST_PG");
	if (!pg || !*pg)
		printf("# PostgreSQL: skipped, AIFACADE_TEST_PG is not set (tests/run.sh unit sets it when"
		       " tests/pg.sh can start a cluster)\n");
	else if (CHECK(pg_scratch(pg), "PostgreSQL: empty the scratch database")) {
		run_contract(pg, "PostgreSQL");
		test_lost_connection(pg, "PostgreSQL");
		test_reconnect_hold(pg, "PostgreSQL");
		test_restore_race(pg, "PostgreSQL");
		test_open_unlocked(pg, "PostgreSQL");
		struct store *st = NULL;
		if (CHECK(pg_scratch(pg), "PostgreSQL: empty it again") && (st = open_store(pg, "PostgreSQL")))
			test_cross_restore(st, "PostgreSQL");
		store_close(st);
	}
	if (cross_backup[0]) { /* not restored: PostgreSQL was skipped */
		unlink(cross_backup);
		*strrchr(cross_backup, '/') = '\0';
		rmdir(cross_backup);
	}
	return check_done();
}
