/* session.h: login sessions: random cookie tokens whose hash is stored.
 *
 * Contract: a token is 32 random bytes from libsodium, sent base64url in the
 * cookie; the database keeps only a keyed hash of it and of the User-Agent
 * it was created with. A session ends when idle longer than
 * SESSION_IDLE_TIMEOUT, older than SESSION_MAX_AGE, logged out, or presented
 * with another User-Agent (it is then treated as logged out). */
#ifndef AIF_SESSION_H
#define AIF_SESSION_H

#include "config.h"
#include "store.h"

#define SESSION_COOKIE_SECURE "__Host-aifacade"
#define SESSION_COOKIE_PLAIN "aifacade_session"

const char *session_cookie_name(const struct config *cfg);

/* Creates a session; *token receives the cookie value (fresh, caller frees)
 * and *hash the stored hash (fresh, caller frees). Returns a store_rc. */
int session_create(struct store *st, const struct config *cfg, long long user_id,
		   const char *user_agent, long long now, char **token, char **hash);
/* As session_create, and records the User-Agent and address the session was
 * made from, under a random public id, for the account's list of sessions. */
int session_create_from(struct store *st, const struct config *cfg, long long user_id, const char *user_agent,
			const char *addr, long long now, char **token, char **hash);
/* Resolves a cookie value. Returns STORE_OK with *user_id, *username and
 * *hash filled (fresh strings), STORE_NOTFOUND when there is no valid
 * session, or an error. */
int session_resolve(struct store *st, const struct config *cfg, const char *token,
		    const char *user_agent, long long now, long long *user_id, char **username, char **hash);
/* As session_resolve, filling *out (the session, with the user's name,
 * role and status) instead; *hash as there. */
int session_resolve_full(struct store *st, const struct config *cfg, const char *token, const char *user_agent,
			 long long now, struct session *out, char **hash);
/* Keyed hash of a token or a User-Agent, hex; fresh string. */
char *session_hash(const struct config *cfg, const char *what, const char *value);
/* The Set-Cookie value that sets (token) or expires (NULL) the cookie. */
char *session_cookie(const struct config *cfg, const char *token);

#endif
