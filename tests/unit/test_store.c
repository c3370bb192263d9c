/* test_store.c: the SQLite store keeps owners apart, pages exactly, and migrates once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
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

static long long add_turn(struct store *st, long long conv, const char *q, const char *a, const char *status)
{
	long long u, m;
	store_msg_add(st, conv, "user", q, status, NULL, NULL, 0, 1000, &u);
	store_msg_add(st, conv, "assistant", a, status, "m", NULL, 0, 1000, &m);
	return m;
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
		add_turn(st, ca.id, q, "answer", i == 10 ? "error" : "ok");
	}
	struct message *page;
	size_t n;
	int more;
	long long seen = 0, before = 0, last_first = 0;
	int pages = 0, ordered = 1;
	do {
		CHECK(store_msg_page(st, ca.id, before, 25, &page, &n, &more) == STORE_OK, "page reads");
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
	CHECK(store_msg_context(st, ca.id, 0, 1000000, &ctx, &n) == STORE_OK, "context reads");
	int only_ok = 1;
	for (size_t i = 0; i < n; i++)
		only_ok &= strcmp(ctx[i].status, "ok") == 0;
	CHECK(n == 58 && only_ok, "context holds only ok messages");
	store_msg_list_free(ctx, n);
	CHECK(store_msg_context(st, ca.id, 0, 10, &ctx, &n) == STORE_OK && n == 2 &&
		      strcmp(ctx[0].content, "q29") == 0 && strcmp(ctx[1].content, "answer") == 0,
	      "a small budget keeps the newest messages that fit, in order");
	store_msg_list_free(ctx, n);

	long long cleared = 0;
	CHECK(store_conv_clear(st, alice, &cleared) == STORE_OK && cleared == 1, "clear removes the user's conversations");
	CHECK(store_msg_page(st, ca.id, 0, 50, &page, &n, &more) == STORE_OK && n == 0, "and their messages");
	store_msg_list_free(page, n);
	CHECK(store_conv_get(st, bob, cb.id, &c) == STORE_OK, "other users keep theirs");
	store_conv_free(&c);
	add_turn(st, cb.id, "kept", "yes", "ok");

	char backup[256];
	snprintf(backup, sizeof backup, "%s/backup.db", dir);
	CHECK(store_backup(st, backup) == STORE_OK, "online backup");
	CHECK(store_user_delete(st, "bob") == STORE_OK, "delete user");
	CHECK(store_conv_get(st, bob, cb.id, &c) == STORE_NOTFOUND, "deleting a user cascades to conversations");
	CHECK(store_restore(st, backup) == STORE_OK, "restore");
	CHECK(store_conv_get(st, bob, cb.id, &c) == STORE_OK, "restore brings the conversation back");
	store_conv_free(&c);
	CHECK(store_msg_page(st, cb.id, 0, 50, &page, &n, &more) == STORE_OK && n == 2, "with its messages");
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

	CHECK(store_reset(st) == STORE_OK && store_user_find(st, "alice", &u) == STORE_NOTFOUND &&
		      store_schema_version(st) == store_schema_latest(),
	      "reset empties and recreates the schema");
	struct store_stats s;
	CHECK(store_stats(st, &s) == STORE_OK && s.users == 0 && s.messages == 0, "stats after reset");
	store_close(st);
	store_conv_free(&ca);
	store_conv_free(&cb);

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
