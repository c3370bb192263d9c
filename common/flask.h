/* flask.h: reading the database of the Flask app this one replaces.
 *
 * Contract: flask_open() opens the file read-only and checks that it is
 * the Flask app's database as it ships: a table "user" with id, username
 * and a Werkzeug hash in a column named "password" (some releases) or
 * "password_hash" (others), and a table "chats" with user_id, timestamp,
 * prompt and response (response is the HTML markdown2 rendered). Nothing
 * is ever written to it. Statements are fixed text; the column name picks
 * one of two. Strings in the structs passed to callbacks live until the
 * callback returns. */
#ifndef AIF_FLASK_H
#define AIF_FLASK_H
#include <stddef.h>

struct flask_db;

struct flask_user {
	long long id;
	const char *username;  /* may be NULL in a damaged row */
	const char *hash;      /* may be NULL */
};

struct flask_chat {
	long long at;          /* ms since the epoch, or -1 when the row has no readable time */
	const char *prompt;    /* may be NULL */
	const char *response;  /* may be NULL */
};

/* Returns 0, or -1 with the reason for the operator in err. */
int flask_open(const char *path, struct flask_db **out, char *err, size_t errlen);
void flask_close(struct flask_db *db);
/* Calls fn for each user, by id; a non-zero return from fn stops and is
 * returned. Returns 0, or -1 with err set when reading fails. */
int flask_users_each(struct flask_db *db, int (*fn)(void *ctx, const struct flask_user *u), void *ctx, char *err,
		     size_t errlen);
/* Calls fn for each chat of user_id in timestamp order (then row order). */
int flask_chats_each(struct flask_db *db, long long user_id, int (*fn)(void *ctx, const struct flask_chat *c),
		     void *ctx, char *err, size_t errlen);

#endif
