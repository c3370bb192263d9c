/* flask.c: the Flask app's SQLite database, read-only (see flask.h). */
#include "flask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "alloc.h"

enum flask_stmt { F_COLUMN, F_USERS_PASSWORD, F_USERS_PASSWORD_HASH, F_CHATS, F_COUNT };

static const char *const flask_sql[F_COUNT] = {
	[F_COLUMN] = "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
	[F_USERS_PASSWORD] = "SELECT id, username, password FROM user ORDER BY id",
	[F_USERS_PASSWORD_HASH] = "SELECT id, username, password_hash FROM user ORDER BY id",
	/* Flask-SQLAlchemy stores a DateTime as text ("2024-01-31 12:00:00.123456");
	 * a number is taken as seconds since 1970. */
	[F_CHATS] = "SELECT CASE WHEN typeof(timestamp) IN ('integer', 'real') THEN CAST(timestamp * 1000 AS INTEGER)"
		    " ELSE CAST(round((julianday(timestamp) - 2440587.5) * 86400000.0) AS INTEGER) END,"
		    " prompt, response FROM chats WHERE user_id = ?1 ORDER BY timestamp, rowid",
};

struct flask_db {
	sqlite3 *db;
	char *path;
	int hash_column; /* F_USERS_PASSWORD or F_USERS_PASSWORD_HASH */
};

static int has_column(struct flask_db *f, const char *table, const char *column)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(f->db, flask_sql[F_COLUMN], -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, column, -1, SQLITE_STATIC);
	int n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	return n;
}

int flask_open(const char *path, struct flask_db **out, char *err, size_t errlen)
{
	*out = NULL;
	struct flask_db *f = xcalloc(1, sizeof *f);
	f->path = xstrdup(path);
	if (sqlite3_open_v2(path, &f->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path, f->db ? sqlite3_errmsg(f->db) : "out of memory");
		flask_close(f);
		return -1;
	}
	sqlite3_busy_timeout(f->db, 5000);
	static const char *const need[][2] = {
		{"user", "id"}, {"user", "username"}, {"chats", "user_id"}, {"chats", "timestamp"},
		{"chats", "prompt"}, {"chats", "response"},
	};
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
		int n = has_column(f, need[i][0], need[i][1]);
		if (n < 0) {
			snprintf(err, errlen, "%s is not a SQLite database, or cannot be read: %s", path, sqlite3_errmsg(f->db));
			flask_close(f);
			return -1;
		}
		if (n == 0) {
			snprintf(err, errlen, "%s is not the Flask app's database: it has no column %s.%s", path, need[i][0],
				 need[i][1]);
			flask_close(f);
			return -1;
		}
	}
	if (has_column(f, "user", "password_hash") == 1)
		f->hash_column = F_USERS_PASSWORD_HASH;
	else if (has_column(f, "user", "password") == 1)
		f->hash_column = F_USERS_PASSWORD;
	else {
		snprintf(err, errlen, "%s is not the Flask app's database: its user table has neither password nor "
				      "password_hash", path);
		flask_close(f);
		return -1;
	}
	*out = f;
	return 0;
}

void flask_close(struct flask_db *f)
{
	if (!f)
		return;
	if (f->db)
		sqlite3_close(f->db);
	free(f->path);
	free(f);
}

int flask_users_each(struct flask_db *f, int (*fn)(void *ctx, const struct flask_user *u), void *ctx, char *err,
		     size_t errlen)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(f->db, flask_sql[f->hash_column], -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read the users of %s: %s", f->path, sqlite3_errmsg(f->db));
		return -1;
	}
	int rc, stop = 0;
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct flask_user u = {sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
				       (const char *)sqlite3_column_text(s, 2)};
		stop = fn(ctx, &u);
	}
	if (!stop && rc != SQLITE_DONE) {
		snprintf(err, errlen, "cannot read the users of %s: %s", f->path, sqlite3_errmsg(f->db));
		stop = -1;
	}
	sqlite3_finalize(s);
	return stop;
}

int flask_chats_each(struct flask_db *f, long long user_id, int (*fn)(void *ctx, const struct flask_chat *c),
		     void *ctx, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(f->db, flask_sql[F_CHATS], -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read the chats of %s: %s", f->path, sqlite3_errmsg(f->db));
		return -1;
	}
	sqlite3_bind_int64(s, 1, user_id);
	int rc, stop = 0;
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct flask_chat c = {sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0),
				       (const char *)sqlite3_column_text(s, 1), (const char *)sqlite3_column_text(s, 2)};
		stop = fn(ctx, &c);
	}
	if (!stop && rc != SQLITE_DONE) {
		snprintf(err, errlen, "cannot read the chats of %s: %s", f->path, sqlite3_errmsg(f->db));
		stop = -1;
	}
	sqlite3_finalize(s);
	return stop;
}
