/* store.h: the storage interface: every read and write of application data.
 *
 * Contract: endpoints and tools speak only to these functions. A struct store
 * carries a table of operations (store_backend.h) chosen by store_open()
 * from DATABASE: a path or a file: URI selects SQLite (store_sqlite.c);
 * postgresql:// is PostgreSQL's (store_pg.c, docs/issue14-plan.md). Each
 * function is one atomic change unless the caller wraps several in
 * store_begin()/store_commit(); an operation that must be atomic on any
 * engine says so (store_rate_take()) rather than leaning on one engine's
 * locks.
 * Strings handed out in result structs are owned by the struct and released
 * by its *_free() function. Times are milliseconds since the Unix epoch. */
#ifndef AIF_STORE_H
#define AIF_STORE_H
#include <stddef.h>

enum store_rc {
	STORE_OK = 0,
	STORE_NOTFOUND = 1,
	STORE_CONFLICT = 2,
	STORE_ERROR = -1, /* logged with the cause; answer 500 or 503 */
	STORE_BUSY = -2,  /* locked longer than the busy timeout; answer 503 */
	STORE_READONLY = -3, /* disk full or read-only; answer 503 */
	STORE_UNAVAILABLE = -4, /* the database server cannot be reached (logged with the cause); answer 503 */
};

struct user {
	long long id;
	char *username;
	char *password_hash;
	long long created_at;
	/* Schema 5 (README, "Accounts and administration"). */
	char *role;                  /* "admin" | "user" */
	char *status;                /* "active" | "pending" | "disabled" */
	long long quota_prompts_day; /* the user's own budget, or -1: the setting's */
	long long quota_tokens_month;
	long long last_seen;         /* 0 when never */
};

struct session {
	long long user_id;
	char *username;
	char *ua_hash;
	long long created_at, last_seen;
	char *role, *status;         /* the user's (schema 5) */
	/* An API token's (store_token_find(); schema 7), else 0 and NULL. */
	long long token_id;
	char *token_name;
	int token_store;             /* its calls are kept as conversations */
};

struct conversation {
	long long id;
	char *title;
	long long created_at, updated_at;
	long long leaf_id; /* the message whose branch was shown last; 0: the newest */
};

struct message {
	long long id;
	char *role;      /* "user" | "assistant" */
	char *content;
	char *reasoning; /* may be NULL */
	char *status;    /* "ok" | "error" | "interrupted" */
	char *model;     /* may be NULL */
	char *error;     /* the user-facing failure text, may be NULL */
	long long created_at;
	/* The HTML rendered from content when it was written, and the renderer
	 * revision that made it (message_html_version(), conversation.h); NULL
	 * and 0 when none is stored. Every write of content writes them too
	 * (a write without HTML clears them), so they never describe another
	 * content. Only store_msg_page reads them. */
	char *html;
	long long html_version;
	long long parent_id; /* 0 at a root; read by store_msg_get only */
};

struct store_stats {
	long long users, sessions, conversations, messages, rate_events;
	int schema_version;
};

struct store;

/* Opens (and migrates) the database; on failure err says why for the operator. */
int store_open(const char *database, struct store **out, char *err, size_t errlen);
/* What a warm parent does once before it forks: for a PostgreSQL DATABASE,
 * loads libpq (pq.h), so that no child pays for it; nothing for SQLite. A
 * failure is not reported here: each store_open() then says why. */
void store_prepare(const char *database);
void store_close(struct store *st);
/* The schema version this build writes, and the one the file has. */
int store_schema_latest(void);
int store_schema_version(struct store *st);
int store_ping(struct store *st);

int store_begin(struct store *st);   /* a write transaction, taken at once */
/* How long a statement waits for other writers that make no progress
 * before STORE_BUSY (behind writers that do get through theirs it waits up
 * to 30 s in all; README, "How it is built"). Every connection starts at
 * STORE_BUSY_MS; a caller holding something that cannot be asked for again
 * (an answer already paid for) waits longer, and one that tries again
 * shortly anyway (saving an answer as it arrives) waits less, in all, and
 * its STORE_BUSY is not logged as an error. */
#define STORE_BUSY_MS 5000
void store_patience(struct store *st, int ms);
/* After any failure but STORE_NOTFOUND inside a transaction the caller
 * rolls back (or commits only what it can lose): on PostgreSQL the failure
 * ended the transaction, every later statement fails, and store_commit()
 * rolls back and returns the first failure; on SQLite only that statement
 * failed. store_commit() never answers STORE_OK for writes not kept. A
 * caller whose transaction must go on past a write that may fail does that
 * write in a transaction of its own (turn.c's usage). */
int store_commit(struct store *st);
void store_rollback(struct store *st);
/* Ends what a request left on a connection that serves the next one
 * (persistent mode): resets any statement still stepping, which would hold
 * an old snapshot, and lets the next request reconnect at once to a
 * database this one could not reach. Returns how many it reset. */
int store_end_request(struct store *st);
/* 0 with no transaction open, 1 while a read transaction is (a snapshot,
 * store_read_begin()), 2 while a write transaction is (a handler that
 * returned with one open failed halfway). */
int store_in_transaction(struct store *st);

int store_user_create(struct store *st, const char *username, const char *key,
		      const char *password_hash, long long now, long long *id);
int store_user_find(struct store *st, const char *key, struct user *out);
int store_user_set_hash(struct store *st, long long id, const char *password_hash);
int store_user_delete(struct store *st, const char *key);
/* Calls fn for each user, oldest first. */
int store_users_each(struct store *st, void (*fn)(void *ctx, const struct user *u,
						  long long conversations, long long messages), void *ctx);
void store_user_free(struct user *u);

int store_session_insert(struct store *st, const char *token_hash, long long user_id,
			 const char *ua_hash, long long now);
int store_session_find(struct store *st, const char *token_hash, struct session *out);
int store_session_touch(struct store *st, const char *token_hash, long long now);
int store_session_delete(struct store *st, const char *token_hash);
/* Deletes sessions idle since before idle_before or created before created_before. */
int store_session_purge(struct store *st, long long idle_before, long long created_before);
void store_session_free(struct session *s);

/* One unit of a sliding-window rate limit, atomically: when fewer than limit
 * events of bucket fall in the window_ms before now (now - window_ms + 1 ..
 * now), sets *allowed and, when record is set, records one event at now;
 * else clears *allowed, records nothing, and sets *wait_ms to how long until
 * the oldest counted event leaves the window. Two processes, or two web
 * nodes, that take the last unit at once: one of them is refused. */
int store_rate_take(struct store *st, const char *bucket, long long limit, long long window_ms, long long now,
		    int record, int *allowed, long long *wait_ms);
/* Counts events of bucket at or after since; *oldest is the oldest counted one. */
int store_rate_count(struct store *st, const char *bucket, long long since,
		     long long *count, long long *oldest);
int store_rate_add(struct store *st, const char *bucket, long long now);
int store_rate_purge(struct store *st, long long before);

int store_conv_create(struct store *st, long long user_id, const char *title, long long now,
		      struct conversation *out);
/* Newest first. *list is an array the caller frees with store_conv_list_free. */
int store_conv_list(struct store *st, long long user_id, struct conversation **list, size_t *n);
int store_conv_get(struct store *st, long long user_id, long long id, struct conversation *out);
int store_conv_rename(struct store *st, long long user_id, long long id, const char *title,
		      long long now);
/* Every function that changes a conversation or a message by id names
 * its owner too, and changes nothing (STORE_NOTFOUND) when the
 * conversation is not that user's, or no longer exists. */
int store_conv_touch(struct store *st, long long user_id, long long id, long long now);
int store_conv_delete(struct store *st, long long user_id, long long id);
/* Deletes every conversation (and message) of the user; *n how many. */
int store_conv_clear(struct store *st, long long user_id, long long *n);
/* Deletes every conversation of every user. */
int store_conv_clear_all(struct store *st, long long *n);
void store_conv_free(struct conversation *c);
void store_conv_list_free(struct conversation *list, size_t n);

/* html is content's rendering by revision html_version, or NULL (and 0)
 * when it has none: it is stored with content in the same statement, so
 * the two never disagree. */
int store_msg_add(struct store *st, long long user_id, long long conv_id, const char *role, const char *content,
		  const char *status, const char *model, const char *html, long long html_version,
		  long long now, long long *id);
/* Changes message id only while it is in conversation conv_id of user_id. */
int store_msg_finish(struct store *st, long long user_id, long long conv_id, long long id, const char *content,
		     const char *reasoning, const char *status, const char *error, const char *html,
		     long long html_version);
/* The newest `limit` messages with id < before (0: no bound), oldest
 * first; none when the conversation is not user_id's. */
int store_msg_page(struct store *st, long long user_id, long long conv_id, long long before, int limit,
		   struct message **list, size_t *n, int *has_more);
/* The most recent `ok` messages with id < before whose contents fit in
 * budget characters, oldest first: the context for the next answer. */
int store_msg_context(struct store *st, long long user_id, long long conv_id, long long before,
		      long long budget, struct message **list, size_t *n);
/* Up to limit messages with id > after, with content, whose stored HTML is
 * missing or of another revision than html_version, in id order
 * (store_msg_set_html's work list; reads no stored HTML). An empty content
 * is left out: it renders to nothing, and it is what a turn in progress
 * holds until its answer is written. */
int store_msg_unrendered(struct store *st, long long html_version, long long after, int limit,
			 struct message **list, size_t *n);
/* Stores html for message id only while its content is still content (a
 * message finished meanwhile keeps its own): STORE_NOTFOUND when not. */
int store_msg_set_html(struct store *st, long long id, const char *content, const char *html,
		       long long html_version);
/* Frees the strings of one message (not the struct). */
void store_msg_free(struct message *m);
void store_msg_list_free(struct message *list, size_t n);

/* Turns in flight, one row per answer being written (inflight.h). */
struct turn_row {
	long long id, pid, heartbeat_at;
};
/* Deletes other hosts' turns whose last heartbeat is older than stale_before,
 * and this host's older than local_stale_before (inflight.h: on its own host
 * a live process answers for its turn). */
int store_turn_reap(struct store *st, long long stale_before, const char *host, long long local_stale_before);
/* The turns recorded by processes of host; *list is the caller's to free(). */
int store_turn_on_host(struct store *st, const char *host, struct turn_row **list, size_t *n);
/* Deletes turn id whatever its owner, if it still names process pid (its
 * process is gone, or is not the turn's generator): a generator that took
 * the turn over meanwhile keeps it. */
int store_turn_drop(struct store *st, long long id, long long pid);
/* How many turns are in flight for user_id, and in all. */
int store_turn_count(struct store *st, long long user_id, long long *mine, long long *all);
/* One slot for user_id's answer message_id, atomically: counts the turns
 * in flight (*mine, *all, as store_turn_count) and adds this one (its id in
 * *id) only while fewer than per_user are the user's and fewer than total
 * in all; else *id is 0 and nothing is added. Two processes, or two web
 * nodes, that take the last slot at once: one of them gets it. */
int store_turn_take(struct store *st, long long user_id, long long message_id, const char *host, long long pid,
		    long long now, long long per_user, long long total, long long *mine, long long *all, long long *id);
int store_turn_add(struct store *st, long long user_id, long long message_id, const char *host, long long pid,
		   long long now, long long *id);
/* Heartbeat and end of user_id's turn id; STORE_NOTFOUND when it is gone. */
int store_turn_beat(struct store *st, long long user_id, long long id, long long now);
int store_turn_end(struct store *st, long long user_id, long long id);

/* An answer's process, found by its message (turn.h): which host and pid
 * generate it, its last heartbeat, and whether a stop was asked. */
struct turn_state {
	long long id, pid, heartbeat_at;
	char host[256];
	int stop_requested;
};
/* The turn moves to the process that generates the answer. */
int store_turn_set_pid(struct store *st, long long user_id, long long id, const char *host, long long pid,
		       long long now);
/* The newest turn of user_id's message message_id; STORE_NOTFOUND when none. */
int store_turn_of_msg(struct store *st, long long user_id, long long message_id, struct turn_state *out);
/* Asks the process generating message_id to stop; STORE_NOTFOUND when none does. */
int store_turn_stop(struct store *st, long long user_id, long long message_id);
/* Whether a stop was asked of user_id's turn id (0 when the turn is gone). */
int store_turn_stop_flag(struct store *st, long long user_id, long long id, int *stop);

/* ---- the message tree (README, "Regenerate, edit, continue") ---- */

/* As store_msg_add, under parent_id (0: a root of the conversation), which
 * must be a message of the same conversation (else STORE_NOTFOUND). */
int store_msg_add_under(struct store *st, long long user_id, long long conv_id, long long parent_id,
			const char *role, const char *content, const char *status, const char *model,
			const char *html, long long html_version, long long now, long long *id);
/* One message of user_id's, with its stored HTML and parent_id, and its
 * conversation in *conv_id; STORE_NOTFOUND for anyone else's. */
int store_msg_get(struct store *st, long long user_id, long long id, struct message *out, long long *conv_id);
/* Saves the text of an answer still being written (status interrupted);
 * its HTML is rendered when it ends. */
int store_msg_progress(struct store *st, long long user_id, long long conv_id, long long id, const char *content,
		       const char *reasoning);
struct msg_node {
	long long id, parent_id;
	int is_user;
};
/* Every message of the conversation as (id, parent_id), in id order; *list
 * is the caller's to free(). */
int store_msg_tree(struct store *st, long long user_id, long long conv_id, struct msg_node **list, size_t *n);
/* The ok messages above message from on its branch whose contents fit in
 * budget characters, oldest first: the context of an answer under from. */
int store_msg_branch_context(struct store *st, long long user_id, long long conv_id, long long from,
			     long long budget, struct message **list, size_t *n);
/* Remembers the branch the user looked at last. */
int store_conv_set_leaf(struct store *st, long long user_id, long long conv_id, long long leaf_id);

/* ---- search (README, "Search") ---- */

struct search_query; /* search.h */

struct search_hit {
	long long conversation_id;
	char *conversation_title;
	long long message_id;    /* 0 for a match in the title */
	char *role;              /* NULL for a match in the title */
	char *snippet;           /* text with SEARCH_MARK_OPEN/CLOSE (search.h) around matches */
	long long created_at;    /* the message's time, or the conversation's last change */
	double rank;             /* lower is better */
};

/* The user's best `limit` matches of q (made by search_parse(), search.h)
 * among message contents and conversation titles: every term matches, in
 * any case and with accents folded; a phrase's words in order; a prefix
 * term's last word as a prefix. Best first (a short text that holds the
 * terms before a long one), newest first among equals. Each backend builds
 * its own query from the terms and quotes every one: no term is ever an
 * operator. Free with store_search_free(). */
int store_search(struct store *st, long long user_id, const struct search_query *q, int limit,
		 struct search_hit **list, size_t *n);
void store_search_free(struct search_hit *list, size_t n);
/* The page of `limit` messages of the user's conversation conv_id that
 * holds msg_id near its middle, oldest first; *has_newer when messages
 * newer than the page exist. STORE_NOTFOUND when the message is not in
 * that conversation of that user. */
int store_msg_page_around(struct store *st, long long user_id, long long conv_id, long long msg_id,
			  int limit, struct message **list, size_t *n, int *has_more, int *has_newer);

/* ---- export and import (README, "Export and import") ---- */

/* Up to limit messages of the user's conversation conv_id with id > after,
 * in id order, without stored HTML; none when the conversation is not the
 * user's. */
int store_msg_after(struct store *st, long long user_id, long long conv_id, long long after, int limit,
		    struct message **list, size_t *n);
/* Creates a conversation of the user with the given times. */
int store_import_conv(struct store *st, long long user_id, const char *title, long long created_at,
		      long long updated_at, long long *id);
/* A message to import: the caller's strings, borrowed. */
struct message_in {
	const char *role, *content, *reasoning, *status, *model, *error;
	long long created_at;
	const char *html;       /* content's rendering, or NULL */
	long long html_version;
};
/* Adds m to the user's conversation conv_id; STORE_NOTFOUND when that
 * conversation is not the user's. */
int store_import_msg(struct store *st, long long user_id, long long conv_id, const struct message_in *m);

/* ---- accounts and administration (README, "Accounts and administration") ---- */

/* As store_user_create, with a status; the account is made an admin (and
 * active) when no admin exists yet: the first account. *role receives
 * which (a static string). */
int store_user_register(struct store *st, const char *username, const char *key, const char *password_hash,
			const char *status, long long now, long long *id, const char **role);
int store_user_get(struct store *st, long long id, struct user *out);
/* Role and status changes and deletion refuse (STORE_CONFLICT) to leave no
 * active admin; STORE_NOTFOUND when there is no such user. */
int store_user_set_role(struct store *st, long long id, const char *role);
int store_user_set_status(struct store *st, long long id, const char *status);
/* -1 for either: back to the setting's budget. */
int store_user_set_quota(struct store *st, long long id, long long prompts_day, long long tokens_month);
int store_user_delete_id(struct store *st, long long id);
int store_user_seen(struct store *st, long long id, long long now);

struct user_stats {
	long long conversations, messages, prompts_day, tokens_month;
};
/* Calls fn for each user, oldest first, with usage since day_start and month_start. */
int store_users_admin(struct store *st, long long day_start, long long month_start,
		      void (*fn)(void *ctx, const struct user *u, const struct user_stats *s), void *ctx);

/* Sessions as the account page lists them. */
struct session_row {
	long long sid;               /* public id: random, never the token or its hash */
	long long created_at, last_seen;
	char *user_agent, *addr;
	int current;                 /* the session whose hash was passed */
};
int store_session_describe(struct store *st, const char *token_hash, long long sid, const char *user_agent,
			   const char *addr);
int store_session_list(struct store *st, long long user_id, const char *current_hash, struct session_row **list,
		       size_t *n);
void store_session_list_free(struct session_row *list, size_t n);
int store_session_delete_sid(struct store *st, long long user_id, long long sid);
/* Ends every session of the user but keep_hash (NULL: all); *n how many. */
int store_session_end_all(struct store *st, long long user_id, const char *keep_hash, long long *n);

/* API tokens, stored as keyed hashes (auth.h). */
struct token_row {
	long long id;
	char *name;
	long long created_at, last_used;
	int store_conversations;     /* gateway calls are kept as conversations (schema 7) */
	long long calls, tokens, refusals; /* gateway calls since the list's `since` */
};
int store_token_create(struct store *st, long long user_id, const char *name, const char *hash, long long now,
		       int store_conversations, long long *id);
/* The user's tokens, oldest first, with their gateway use since since (ms). */
int store_token_list(struct store *st, long long user_id, long long since, struct token_row **list, size_t *n);
void store_token_list_free(struct token_row *list, size_t n);
int store_token_delete(struct store *st, long long user_id, long long id);
int store_token_end_all(struct store *st, long long user_id);
/* The token's user as a session would give it (username, role, status);
 * marks it used at now. */
int store_token_find(struct store *st, const char *hash, long long now, struct session *out);

/* Invitation codes (single use, expiring) and one-time password resets. */
int store_invite_create(struct store *st, const char *code_hash, long long by, long long now, long long expires);
/* Marks the code used by user_id; STORE_NOTFOUND when unknown, used or expired. */
int store_invite_use(struct store *st, const char *code_hash, long long user_id, long long now);
int store_reset_create(struct store *st, const char *hash, long long user_id, long long now, long long expires);
/* Deletes the reset and gives its user; STORE_NOTFOUND when unknown or expired. */
int store_reset_take(struct store *st, const char *hash, long long now, long long *user_id);

/* Budgets (budget.h): one row per answered prompt. */
int store_usage_add(struct store *st, long long user_id, long long now, long long tokens, int estimated);
int store_usage_sum(struct store *st, long long user_id, long long day_start, long long month_start,
		    long long *prompts_day, long long *tokens_month, int *estimated);

/* Gateway calls (README, "The OpenAI-compatible API"): one row per call of
 * a known token, answered (refused NULL) or refused (its error code). */
struct gateway_use {
	long long calls, tokens, refusals;
};
int store_gateway_add(struct store *st, long long user_id, long long token_id, long long now, long long tokens,
		      const char *refused);
int store_gateway_sum(struct store *st, long long user_id, long long since, struct gateway_use *out);

/* The audit log: who did what, when, from where. */
struct audit_row {
	long long id, at;
	char *actor, *action, *target, *addr, *detail; /* actor, target, detail may be NULL */
};
int store_audit_add(struct store *st, long long now, const char *actor, const char *action, const char *target,
		    const char *addr, const char *detail);
/* The newest limit entries with id < before (0: no bound), newest first. */
int store_audit_list(struct store *st, long long before, int limit, struct audit_row **list, size_t *n);
void store_audit_list_free(struct audit_row *list, size_t n);

int store_stats(struct store *st, struct store_stats *out);
/* Online backup to path (consistent while others write); restore replaces
 * the database with the file's contents (and migrates it). Restore and
 * reset keep the id sequences: an id handed out before is not handed out
 * again after either. */
int store_backup(struct store *st, const char *path);
int store_restore(struct store *st, const char *path);
/* Drops every table and recreates the schema; ids go on from where they were. */
int store_reset(struct store *st);

/* Pins a read snapshot (a deferred transaction that has read): work done
 * before store_rollback() sees the database as it was now, while other
 * processes go on writing. store_backup() inside one copies that snapshot
 * without restarting however busy the app is. */
int store_read_begin(struct store *st);
/* Checks without a store that the file at path is a sound AIFacade
 * database: a SQLite file that passes PRAGMA integrity_check, has a schema
 * version of at least 1 and every table and column of schema 1. Returns 0
 * and its schema version in *version, or -1 with the reason in err. */
int store_check_file(const char *path, int *version, char *err, size_t errlen);
/* The tables of the latest schema that hold rows (search indexes aside),
 * in a fixed order: what a backup carries and what copy-db counts. */
#define STORE_N_TABLES 12
extern const char *const store_table_names[STORE_N_TABLES];
/* Counts the rows of every table of store_table_names in the SQLite file
 * at path (a backup of the latest schema), read-only. Returns 0, or -1
 * with the reason in err. */
int store_file_counts(const char *path, long long counts[STORE_N_TABLES], char *err, size_t errlen);

#endif
