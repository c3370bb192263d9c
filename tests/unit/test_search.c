/* test_search.c: unit tests for search.c (the terms parser and the snippet escaper) and SQLite's FTS5 query made of its terms, hostile input first. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "check.h"
#include "search.h"
#include "store_backend.h"

static sqlite3 *db;

/* SQLite's FTS5 query for q's terms, or NULL; *err set when NULL. */
static char *fts(const char *q, const char **err)
{
	struct search_query terms;
	*err = NULL;
	if (search_parse(q, strlen(q), &terms, err) != 0)
		return NULL;
	char *out = store_sqlite_fts5_query(&terms);
	search_query_free(&terms);
	return out;
}

#define CHECK_FTS(q, want, name)                                              \
	do {                                                                  \
		const char *e_;                                               \
		char *got_ = fts(q, &e_);                                     \
		CHECK_STR(got_, want, name);                                  \
		free(got_);                                                   \
	} while (0)

/* Runs the sanitised query on a real FTS5 table: it must never be a
 * syntax error, whatever the input. Returns matches, or -1 on an error. */
static int fts_matches(const char *expr)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE t MATCH ?1", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, expr, -1, SQLITE_STATIC);
	int n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	return n;
}

static void test_hostile(void)
{
	static const char *const hostile[] = {
		"NEAR", "NEAR(a b, 2)", "AND", "OR OR", "NOT x", "a AND", "\"", "\"\"", "\"unclosed", "***", "*",
		"a*b", "^start", "content:gate", "t:gate", "{content}:gate", "(", ")", "((a)", "a\"b\"c", "gate -",
		"- gate", "gate'", "\"a\" OR \"b\" NOT \"c\"", ":", "+", "rank", "bm25(t)", "gate**", "\"x\"*y",
		"\"phrase\"***", "a\tb\nc", "\x01\x02", "x\x7fy", "caf\xC3\xA9", "\xE2\x9C\x93", "a\"", "\"a",
		"' OR 1=1 --", "'); DROP TABLE t; --", "col:", "NEAR/3", "a + b", "a - b", "*a", "**a**",
	};
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		const char *err;
		char *q = fts(hostile[i], &err);
		char name[200];
		snprintf(name, sizeof name, "hostile query %zu is refused with a reason or runs cleanly", i);
		CHECK(q ? fts_matches(q) >= 0 : err != NULL, name);
		free(q);
	}
	const char *err;
	char *q = fts("\xFF\xFE", &err);
	CHECK(q == NULL && err && strstr(err, "UTF-8"), "invalid UTF-8 refused");
	free(q);
	char big[SEARCH_QUERY_MAX + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	q = fts(big, &err);
	CHECK(q == NULL && err && strstr(err, "too long"), "a query over 500 bytes refused");
	free(q);
	big[SEARCH_QUERY_MAX] = '\0';
	q = fts(big, &err);
	CHECK(q != NULL && fts_matches(q) == 0, "a query of 500 bytes runs");
	free(q);
	q = fts("a b c d e f g h i j k l m n o p q", &err);
	CHECK(q == NULL && err && strstr(err, "too many"), "17 terms refused");
	free(q);
	q = fts("a b c d e f g h i j k l m n o p ** ; ()", &err);
	CHECK(q != NULL, "16 terms and punctuation accepted");
	free(q);
	q = fts("  \t\n ", &err);
	CHECK(q == NULL && err && strstr(err, "word"), "blank query refused");
	free(q);
	q = fts("", &err);
	CHECK(q == NULL && err, "empty query refused");
	free(q);
}

static void test_shapes(void)
{
	CHECK_FTS("hello world", "\"hello\" \"world\"", "words become quoted terms");
	CHECK_FTS("NEAR AND OR NOT", "\"NEAR\" \"AND\" \"OR\" \"NOT\"", "operators are words");
	CHECK_FTS("\"purple elephant\"", "\"purple elephant\"", "a phrase stays a phrase");
	CHECK_FTS("\"purple ele\"*", "\"purple ele\"*", "a phrase with a star is a prefix phrase");
	CHECK_FTS("eleph*", "\"eleph\"*", "a trailing star is a prefix");
	CHECK_FTS("eleph***", "\"eleph\"*", "several trailing stars are one prefix");
	CHECK_FTS("*eleph", "\"*eleph\"", "a leading star is punctuation, quoted");
	CHECK_FTS("a\"b", "\"a\" \"b\"", "a quote inside a word splits it");
	CHECK_FTS("\"unclosed phrase", "\"unclosed phrase\"", "an unclosed phrase runs to the end");
	CHECK_FTS("content:gate", "\"content:gate\"", "a column filter is quoted text");
	CHECK_FTS("x\x01y", "\"x y\"", "control characters become spaces");
	CHECK_FTS("*** word ;;", "\"word\"", "punctuation-only terms are dropped");
}

static void test_matching(void)
{
	const char *err;
	struct {
		const char *q;
		int want;
	} cases[] = {
		{"elephant", 2}, {"ELEPHANT", 2}, {"eleph*", 2}, {"eleph", 0}, {"\"purple elephant\"", 1},
		{"\"elephant purple\"", 0}, {"cafe", 1}, {"NEAR", 1}, {"near gate", 1}, {"content:gate", 0},
		{"gate content", 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *q = fts(cases[i].q, &err);
		char name[160];
		snprintf(name, sizeof name, "'%s' matches %d rows", cases[i].q, cases[i].want);
		CHECK(q && fts_matches(q) == cases[i].want, name);
		free(q);
	}
}

static void check_snippet(const char *in, size_t len, const char *want, const char *name)
{
	struct buf b = BUF_INIT;
	search_snippet_html(&b, in, len);
	CHECK_STR(buf_str(&b), want, name);
	buf_free(&b);
}

static void test_snippet(void)
{
	check_snippet("a \x01" "b\x02 c", 7, "a <mark>b</mark> c", "markers become mark");
	check_snippet("<script>\x01x\x02</script>", 20, "&lt;script&gt;<mark>x</mark>&lt;/script&gt;",
		      "text around marks is escaped");
	check_snippet("\x01\x01x", 3, "<mark>x</mark>", "a repeated open is dropped, the mark closed at the end");
	check_snippet("\x02x\x02", 3, "x", "a close without an open is dropped");
	check_snippet("\"'&", 3, "&quot;&#39;&amp;", "quotes and ampersands are escaped");
	check_snippet("", 0, "", "empty snippet");
}

int main(void)
{
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db,
			 "CREATE VIRTUAL TABLE t USING fts5(content, tokenize='unicode61 remove_diacritics 2');"
			 "INSERT INTO t VALUES ('the purple elephant'), ('an elephant, then purple'),"
			 " ('Caf\xC3\xA9 NEAR the gate: content');",
			 NULL, NULL, NULL) != SQLITE_OK) {
		printf("Bail out! cannot make the FTS5 table: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	test_hostile();
	test_shapes();
	test_matching();
	test_snippet();
	sqlite3_close(db);
	return check_done();
}
