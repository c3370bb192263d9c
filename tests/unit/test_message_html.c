/* test_message_html.c: HTML stored at write time gives the very bytes a render on read gives.
 *
 * A message keeps the HTML rendered from its content when it is written
 * (migration 2); message_json() uses it when the running renderer made it
 * and renders otherwise. This program proves the two paths give the same
 * JSON for the same data: rows written with their HTML, rows from before
 * the migration (a real schema-1 file, migrated by store_open), rows whose
 * HTML an older renderer made, and interrupted partial answers. It also
 * checks that the stored HTML is what reads use, that reads write nothing,
 * and that no store write leaves HTML that disagrees with the content. Like
 * test_queryplan.c it includes store_sqlite.c to reach the schema-1
 * migration and the raw connection. */
#include "store_sqlite.c"

#include <unistd.h>

#include <cmark-gfm.h>

#include "check.h"
#include "conversation.h"
#include "json.h"
#include "markdown.h"

static char dir[] = "/tmp/aifacade-test-message-html.XXXXXX";

/* Markdown that exercises every extension, escaping and the safe mode. */
static const char *const answers[] = {
	"Here is a plan.\n\n## Steps\n\n1. Read the **whole file**.\n2. Parse `name=value`.\n\n"
	"```c\nint main(void) { return 0; }\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
	"- [x] done\n- [ ] todo\n\n~~gone~~ see https://example.com/a?b=1&c=2 and [x](javascript:alert(1))\n",
	"<script>alert(1)</script> <b>raw</b> & \"quotes\" 'single' <iframe src=x>",
	"Invalid UTF-8: a\xff" "b, and a NUL-free \xe2\x80\xa6 ellipsis.\n\n> quoted\n> text",
	"",
};
static const char *const prompts[] = {
	"How do I <b>parse</b> & check \"every\" value? 'now'",
	"**not markdown** `x` <script>",
	"line one\nline two\n\n\ttabbed",
	" ",
};
#define N_TURNS (sizeof answers / sizeof answers[0])

static char *db_path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* Opens (and migrates) the database at path as check `what`; NULL on failure. */
static struct store *open_db(const char *path, const char *what)
{
	struct store *st = NULL;
	char err[512];
	if (!CHECK(store_open(path, &st, err, sizeof err) == 0, what)) {
		printf("#   %s\n", err);
		return NULL;
	}
	return st;
}

/* The page's JSON as GET /api/conversations/{id} builds it (conversations.c's
 * read_one); with ignore_html, every stored HTML is dropped first: the
 * render-on-read path. */
static char *page_json_as(struct store *st, long long user, long long conv, int ignore_html)
{
	struct conversation c;
	if (store_conv_get(st, user, conv, &c) != STORE_OK)
		return xstrdup("no conversation");
	struct message *msgs;
	size_t n;
	int more;
	if (store_msg_page(st, user, conv, 0, 50, &msgs, &n, &more) != STORE_OK) {
		store_conv_free(&c);
		return xstrdup("no page");
	}
	struct json_object *o = conversation_json(&c);
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		if (ignore_html) {
			free(msgs[i].html);
			msgs[i].html = NULL;
			msgs[i].html_version = 0;
		}
		json_object_array_add(arr, message_json(&msgs[i]));
	}
	json_object_object_add(o, "messages", arr);
	json_object_object_add(o, "has_more", json_object_new_boolean(more));
	char *s = jsonx_to_string(o);
	json_object_put(o);
	store_msg_list_free(msgs, n);
	store_conv_free(&c);
	return s;
}

static char *page_json(struct store *st, long long user, long long conv)
{
	return page_json_as(st, user, conv, 0);
}

static char *page_json_rendered(struct store *st, long long user, long long conv)
{
	return page_json_as(st, user, conv, 1);
}

static long long count(struct store *st, const char *q)
{
	return count_of(sq(st), q);
}

static int run_sql(sqlite3 *db, const char *q)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, q, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		printf("#   %s: %s\n", q, msg ? msg : "?");
	sqlite3_free(msg);
	return rc == SQLITE_OK;
}

/* Writes turns the way chat.c does: the prompt with its HTML, a blank
 * answer without, then both finished with their HTML. */
static void write_turns(struct store *st, long long user, long long conv)
{
	const long long v = message_html_version();
	for (size_t i = 0; i < N_TURNS; i++) {
		long long u = 0, a = 0;
		char *ph = message_html("user", prompts[i]);
		char *ah = message_html("assistant", answers[i]);
		const char *status = i == 1 ? "interrupted" : i == 2 ? "error" : "ok";
		store_msg_add(st, user, conv, "user", prompts[i], "interrupted", NULL, ph, v, 1000 + (long long)i, &u);
		store_msg_add(st, user, conv, "assistant", "", "interrupted", "m", NULL, 0, 1000 + (long long)i, &a);
		store_msg_finish(st, user, conv, a, answers[i], i == 0 ? "thinking" : NULL, status,
				 i == 2 ? "It failed." : NULL,
				 ah, v);
		store_msg_finish(st, user, conv, u, prompts[i], NULL, status, NULL, ph, v);
		free(ph);
		free(ah);
	}
}

/* A schema-1 file with turns in it, as a build before migration 2 left it. */
static int make_schema1_file(const char *path)
{
	sqlite3 *db = NULL;
	int ok = sqlite3_open(path, &db) == SQLITE_OK && run_sql(db, migrations[0]) &&
		 run_sql(db, "PRAGMA user_version = 1;"
			     "INSERT INTO users (id, username, username_key, password_hash, created_at)"
			     " VALUES (1, 'Old', 'old', 'h', 1);"
			     "INSERT INTO conversations (id, user_id, title, created_at, updated_at)"
			     " VALUES (1, 1, 'Old talk', 5, 6);");
	sqlite3_stmt *s = NULL;
	ok = ok && sqlite3_prepare_v2(db, "INSERT INTO messages (conversation_id, role, content, reasoning, status,"
					  " model, error, created_at) VALUES (1, ?1, ?2, NULL, 'ok', ?3, NULL, 7)",
				      -1, &s, NULL) == SQLITE_OK;
	for (size_t i = 0; ok && i < N_TURNS; i++) {
		bind_text(s, 1, "user");
		bind_text(s, 2, prompts[i]);
		bind_text(s, 3, NULL);
		ok = sqlite3_step(s) == SQLITE_DONE;
		sqlite3_reset(s); /* a raw connection, not a store */
		bind_text(s, 1, "assistant");
		bind_text(s, 2, answers[i]);
		bind_text(s, 3, "m");
		ok = ok && sqlite3_step(s) == SQLITE_DONE;
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return ok;
}

static void check_same(const char *got, const char *want, const char *name)
{
	if (!CHECK(strcmp(got, want) == 0, name)) {
		size_t i = 0;
		while (got[i] && got[i] == want[i])
			i++;
		printf("#   differ at byte %zu: got ...%.80s\n#   want ...%.80s\n", i, got + i, want + i);
	}
}

static void test_written_with_html(void)
{
	char *path = db_path("new.db");
	struct store *st = open_db(path, "open a fresh database");
	if (!st) {
		free(path);
		return;
	}
	long long user;
	struct conversation c;
	CHECK(store_user_create(st, "A", "a", "h", 1, &user) == STORE_OK &&
		      store_conv_create(st, user, "T", 2, &c) == STORE_OK,
	      "a user and a conversation");
	write_turns(st, user, c.id);
	CHECK(count(st, "SELECT count(*) FROM messages WHERE html IS NULL") == 0,
	      "every finished message has its HTML stored");

	char *cached = page_json(st, user, c.id);
	char *rendered = page_json_rendered(st, user, c.id);
	check_same(cached, rendered, "stored HTML and a render on read give byte-identical page JSON");
	CHECK(strstr(cached, "<table>") && strstr(cached, "&lt;b&gt;parse&lt;/b&gt;") &&
		      strstr(cached, "raw HTML omitted") && strstr(cached, "\"status\":\"interrupted\""),
	      "and that JSON holds rendered Markdown, escaped prompts and the statuses");

	/* The stored HTML is what the read uses: a marker written beside the
	 * current revision shows through (an UPDATE of html alone, so the
	 * content trigger does not fire). */
	sqlite3_stmt *s = NULL;
	int marked = sqlite3_prepare_v2(sq(st)->db, "UPDATE messages SET html = '<p>from the store</p>'"
						" WHERE id = (SELECT max(id) FROM messages WHERE role = 'assistant')",
					-1, &s, NULL) == SQLITE_OK &&
		     sqlite3_step(s) == SQLITE_DONE;
	sqlite3_finalize(s);
	char *marked_json = page_json(st, user, c.id);
	CHECK(marked && strstr(marked_json, "<p>from the store</p>") != NULL, "the read uses the stored HTML");
	free(marked_json);

	/* An older renderer's HTML is never served: rendered again instead. */
	run_sql(sq(st)->db, "UPDATE messages SET html = '<p>stale</p>', html_version = 1");
	char *old = page_json(st, user, c.id);
	CHECK(strstr(old, "stale") == NULL, "HTML of another renderer revision is not used");
	check_same(old, rendered, "rows of an older revision give the same JSON as a render");
	free(old);

	/* Rows without HTML (NULL) render on read, and the read writes nothing. */
	run_sql(sq(st)->db, "UPDATE messages SET html = NULL, html_version = NULL");
	int changes = sqlite3_total_changes(sq(st)->db);
	char *none = page_json(st, user, c.id);
	check_same(none, rendered, "rows without stored HTML give the same JSON as a render");
	CHECK(sqlite3_total_changes(sq(st)->db) == changes &&
		      count(st, "SELECT count(*) FROM messages WHERE html IS NOT NULL") == 0,
	      "reading them stores nothing (reads stay read-only)");
	free(none);

	free(cached);
	free(rendered);
	store_conv_free(&c);
	store_close(st);
	free(path);
}

static void test_before_migration(void)
{
	char *path = db_path("old.db");
	if (!CHECK(make_schema1_file(path), "a schema-1 file with messages")) {
		free(path);
		return;
	}
	struct store *st = open_db(path, "opening it migrates it");
	if (!st) {
		free(path);
		return;
	}
	CHECK(store_schema_version(st) == store_schema_latest() && store_schema_latest() >= 2,
	      "to the latest schema version");
	CHECK(count(st, "SELECT count(*) FROM messages WHERE html IS NULL AND html_version IS NULL") ==
		      (long long)(2 * N_TURNS),
	      "its messages have no HTML yet");
	char *before = page_json(st, 1, 1);
	char *rendered = page_json_rendered(st, 1, 1);
	check_same(before, rendered, "messages from before the migration render on read, byte-identical");
	CHECK(count(st, "SELECT count(*) FROM messages WHERE html IS NOT NULL") == 0, "without being rewritten");

	/* What `aifacadectl render-html` does: list, render, store. The last
	 * answer is empty, like a turn still in progress: it is left out. */
	const long long v = message_html_version();
	const size_t with_content = 2 * N_TURNS - 1;
	struct message *list;
	size_t n;
	CHECK(store_msg_unrendered(st, v, 0, 3, &list, &n) == STORE_OK && n == 3 && list[0].id == 1 &&
		      list[2].id == 3 && list[0].html == NULL,
	      "unrendered messages are listed in id order, limit kept");
	long long after = n ? list[n - 1].id : 0;
	store_msg_list_free(list, n);
	CHECK(store_msg_unrendered(st, v, after, 100, &list, &n) == STORE_OK && n == with_content - 3,
	      "and after an id");
	store_msg_list_free(list, n);
	CHECK(store_msg_unrendered(st, v, 0, 100, &list, &n) == STORE_OK && n == with_content,
	      "all of them but the empty answer");
	int stored = 1;
	for (size_t i = 0; i < n; i++) {
		char *h = message_html(list[i].role, list[i].content);
		stored &= store_msg_set_html(st, list[i].id, list[i].content, h, v) == STORE_OK;
		free(h);
	}
	CHECK(stored, "their HTML is stored");
	CHECK(store_msg_set_html(st, list[0].id, "other content", "<p>x</p>", v) == STORE_NOTFOUND &&
		      count(st, "SELECT count(*) FROM messages WHERE html = '<p>x</p>'") == 0,
	      "HTML for content the message no longer has is refused");
	store_msg_list_free(list, n);
	CHECK(store_msg_unrendered(st, v, 0, 100, &list, &n) == STORE_OK && n == 0, "then none is left to render");
	store_msg_list_free(list, n);
	CHECK(store_msg_unrendered(st, v + 1, 0, 100, &list, &n) == STORE_OK && n == with_content,
	      "while a newer revision would render them all again");
	store_msg_list_free(list, n);
	char *after_render = page_json(st, 1, 1);
	check_same(after_render, before, "stored afterwards, the page is byte-identical to before");

	free(after_render);
	free(before);
	free(rendered);
	store_close(st);
	free(path);
}

static void test_html_follows_content(void)
{
	char *path = db_path("follow.db");
	struct store *st = open_db(path, "open a database for the content checks");
	if (!st) {
		free(path);
		return;
	}
	long long user = 0, a = 0;
	struct conversation c = {0};
	CHECK(store_user_create(st, "A", "a", "h", 1, &user) == STORE_OK &&
		      store_conv_create(st, user, "T", 2, &c) == STORE_OK,
	      "a user with a conversation");
	const long long v = message_html_version();

	/* An interrupted partial answer: what is stored has matching HTML. */
	CHECK(store_msg_add(st, user, c.id, "assistant", "", "interrupted", "m", NULL, 0, 3, &a) == STORE_OK,
	      "an answer placeholder");
	const char *partial = "Half of a **list**:\n\n1. one\n2. tw";
	char *ph = message_html("assistant", partial);
	CHECK(store_msg_finish(st, user, c.id, a, partial, NULL, "interrupted", "The answer was stopped.", ph, v) == STORE_OK,
	      "an interrupted partial answer is stored with its HTML");
	char *cached = page_json(st, user, c.id);
	char *rendered = page_json_rendered(st, user, c.id);
	check_same(cached, rendered, "the partial answer's stored HTML matches its content");
	CHECK(strstr(cached, "<strong>list</strong>") != NULL, "and is its rendering");
	free(cached);
	free(rendered);

	/* Content written again without HTML drops the old HTML. */
	CHECK(store_msg_finish(st, user, c.id, a, "other", NULL, "error", NULL, NULL, 0) == STORE_OK &&
		      count(st, "SELECT count(*) FROM messages WHERE html IS NOT NULL OR html_version IS NOT NULL") == 0,
	      "a finish without HTML leaves none");
	CHECK(store_msg_finish(st, user, c.id, a, partial, NULL, "interrupted", NULL, ph, v) == STORE_OK &&
		      count(st, "SELECT count(*) FROM messages WHERE html IS NOT NULL") == 1,
	      "a finish with HTML stores it again");

	/* A placeholder still empty is not render-html's to fill: its writer
	 * stores content and HTML together when the answer ends. */
	long long placeholder = 0;
	struct message *list;
	size_t n;
	CHECK(store_msg_add(st, user, c.id, "assistant", "", "interrupted", "m", NULL, 0, 4, &placeholder) == STORE_OK,
	      "a second answer placeholder");
	CHECK(store_msg_unrendered(st, v, 0, 100, &list, &n) == STORE_OK && n == 0,
	      "an empty answer in progress is not listed for rendering");
	store_msg_list_free(list, n);
	/* A render that lost the race to the writer stores nothing. */
	CHECK(store_msg_set_html(st, placeholder, "", "", v) == STORE_OK, "HTML for the content it has is stored");
	CHECK(store_msg_finish(st, user, c.id, placeholder, "late **answer**", NULL, "ok", NULL, NULL, 0) == STORE_OK &&
		      count(st, "SELECT count(*) FROM messages WHERE content = 'late **answer**' AND html IS NULL") == 1,
	      "a later finish without HTML clears what was stored for the old content");
	CHECK(store_msg_set_html(st, placeholder, "", "", v) == STORE_NOTFOUND &&
		      count(st, "SELECT count(*) FROM messages WHERE content = 'late **answer**' AND html IS NULL") == 1,
	      "and HTML rendered for the old content is refused");
	free(ph);
	store_conv_free(&c);
	store_close(st);
	free(path);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK(message_html_version() == markdown_render_version() &&
		      message_html_version() >> 32 == MARKDOWN_RENDER_VERSION &&
		      (message_html_version() & 0xffffffffLL) == (long long)(unsigned)cmark_version(),
	      "the render version joins MARKDOWN_RENDER_VERSION and cmark-gfm's version");
	test_written_with_html();
	test_before_migration();
	test_html_follows_content();

	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return check_done();
}
