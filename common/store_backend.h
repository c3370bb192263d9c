/* store_backend.h: what a storage backend provides (store.h's contract).
 *
 * Contract: a backend fills one struct store_ops with a function for every
 * operation of store.h and hands out handles whose first member is a
 * struct store pointing at that table; store.c chooses the backend from
 * DATABASE and calls through the table. Only store.c and the backends
 * include this file. The operations mean what store.h says they mean,
 * whatever the engine. Every member is filled: store.c calls through the
 * table without checking (test_store_contract walks both tables for a NULL,
 * and designated initializers make the compiler check each function's
 * type). */
#ifndef AIF_STORE_BACKEND_H
#define AIF_STORE_BACKEND_H
#include "store.h"

struct store_ops {
	const char *name; /* for log lines: "SQLite", "PostgreSQL" */
	void (*close)(struct store *st);
	int (*schema_version)(struct store *st);
	int (*ping)(struct store *st);
	int (*begin)(struct store *st);
	void (*patience)(struct store *st, int ms);
	int (*commit)(struct store *st);
	void (*rollback)(struct store *st);
	int (*end_request)(struct store *st);
	int (*in_transaction)(struct store *st);
	int (*user_create)(struct store *st, const char *username, const char *key, const char *password_hash,
			   long long now, long long *id);
	int (*user_find)(struct store *st, const char *key, struct user *out);
	int (*user_set_hash)(struct store *st, long long id, const char *password_hash);
	int (*user_delete)(struct store *st, const char *key);
	int (*users_each)(struct store *st,
			  void (*fn)(void *ctx, const struct user *u, long long conversations, long long messages),
			  void *ctx);
	int (*session_insert)(struct store *st, const char *token_hash, long long user_id,
			      const char *ua_hash, long long now);
	int (*session_find)(struct store *st, const char *token_hash, struct session *out);
	int (*session_touch)(struct store *st, const char *token_hash, long long now);
	int (*session_delete)(struct store *st, const char *token_hash);
	int (*session_purge)(struct store *st, long long idle_before, long long created_before);
	int (*rate_take)(struct store *st, const char *bucket, long long limit, long long window_ms,
			 long long now, int record, int *allowed, long long *wait_ms);
	int (*rate_count)(struct store *st, const char *bucket, long long since, long long *count,
			  long long *oldest);
	int (*rate_add)(struct store *st, const char *bucket, long long now);
	int (*rate_purge)(struct store *st, long long before);
	int (*conv_create)(struct store *st, long long user_id, const char *title, long long now,
			   struct conversation *out);
	int (*conv_list)(struct store *st, long long user_id, struct conversation **list, size_t *n);
	int (*conv_get)(struct store *st, long long user_id, long long id, struct conversation *out);
	int (*conv_rename)(struct store *st, long long user_id, long long id, const char *title, long long now);
	int (*conv_touch)(struct store *st, long long user_id, long long id, long long now);
	int (*conv_delete)(struct store *st, long long user_id, long long id);
	int (*conv_clear)(struct store *st, long long user_id, long long *n);
	int (*conv_clear_all)(struct store *st, long long *n);
	int (*msg_add)(struct store *st, long long user_id, long long conv_id, const char *role,
		       const char *content, const char *status, const char *model, const char *html,
		       long long html_version, long long now, long long *id);
	int (*msg_finish)(struct store *st, long long user_id, long long conv_id, long long id,
			  const char *content, const char *reasoning, const char *status, const char *error,
			  const char *html, long long html_version);
	int (*msg_page)(struct store *st, long long user_id, long long conv_id, long long before, int limit,
			struct message **list, size_t *n, int *has_more);
	int (*msg_context)(struct store *st, long long user_id, long long conv_id, long long before,
			   long long budget, struct message **list, size_t *n);
	int (*msg_unrendered)(struct store *st, long long html_version, long long after, int limit,
			      struct message **list, size_t *n);
	int (*msg_set_html)(struct store *st, long long id, const char *content, const char *html,
			    long long html_version);
	int (*turn_reap)(struct store *st, long long stale_before, const char *host,
			 long long local_stale_before);
	int (*turn_on_host)(struct store *st, const char *host, struct turn_row **list, size_t *n);
	int (*turn_drop)(struct store *st, long long id, long long pid);
	int (*turn_count)(struct store *st, long long user_id, long long *mine, long long *all);
	int (*turn_take)(struct store *st, long long user_id, long long message_id, const char *host, long long pid,
			 long long now, long long per_user, long long total, long long *mine, long long *all,
			 long long *id);
	int (*turn_add)(struct store *st, long long user_id, long long message_id, const char *host,
			long long pid, long long now, long long *id);
	int (*turn_beat)(struct store *st, long long user_id, long long id, long long now);
	int (*turn_end)(struct store *st, long long user_id, long long id);
	int (*turn_set_pid)(struct store *st, long long user_id, long long id, const char *host,
			    long long pid, long long now);
	int (*turn_of_msg)(struct store *st, long long user_id, long long message_id, struct turn_state *out);
	int (*turn_stop)(struct store *st, long long user_id, long long message_id);
	int (*turn_stop_flag)(struct store *st, long long user_id, long long id, int *stop);
	int (*msg_add_under)(struct store *st, long long user_id, long long conv_id, long long parent_id,
			     const char *role, const char *content, const char *status, const char *model,
			     const char *html, long long html_version, long long now, long long *id);
	int (*msg_get)(struct store *st, long long user_id, long long id, struct message *out,
		       long long *conv_id);
	int (*msg_progress)(struct store *st, long long user_id, long long conv_id, long long id,
			    const char *content, const char *reasoning);
	int (*msg_tree)(struct store *st, long long user_id, long long conv_id, struct msg_node **list,
			size_t *n);
	int (*msg_branch_context)(struct store *st, long long user_id, long long conv_id, long long from,
				  long long budget, struct message **list, size_t *n);
	int (*conv_set_leaf)(struct store *st, long long user_id, long long conv_id, long long leaf_id);
	int (*search)(struct store *st, long long user_id, const struct search_query *q, int limit,
		      struct search_hit **list, size_t *n);
	int (*msg_page_around)(struct store *st, long long user_id, long long conv_id, long long msg_id,
			       int limit, struct message **list, size_t *n, int *has_more, int *has_newer);
	int (*msg_after)(struct store *st, long long user_id, long long conv_id, long long after, int limit,
			 struct message **list, size_t *n);
	int (*import_conv)(struct store *st, long long user_id, const char *title, long long created_at,
			   long long updated_at, long long *id);
	int (*import_msg)(struct store *st, long long user_id, long long conv_id, const struct message_in *m);
	int (*user_register)(struct store *st, const char *username, const char *key,
			     const char *password_hash, const char *status, long long now, long long *id,
			     const char **role);
	int (*user_get)(struct store *st, long long id, struct user *out);
	int (*user_set_role)(struct store *st, long long id, const char *role);
	int (*user_set_status)(struct store *st, long long id, const char *status);
	int (*user_set_quota)(struct store *st, long long id, long long prompts_day, long long tokens_month);
	int (*user_delete_id)(struct store *st, long long id);
	int (*user_seen)(struct store *st, long long id, long long now);
	int (*users_admin)(struct store *st, long long day_start, long long month_start,
			   void (*fn)(void *ctx, const struct user *u, const struct user_stats *s), void *ctx);
	int (*session_describe)(struct store *st, const char *token_hash, long long sid,
				const char *user_agent, const char *addr);
	int (*session_list)(struct store *st, long long user_id, const char *current_hash,
			    struct session_row **list, size_t *n);
	int (*session_delete_sid)(struct store *st, long long user_id, long long sid);
	int (*session_end_all)(struct store *st, long long user_id, const char *keep_hash, long long *n);
	int (*token_create)(struct store *st, long long user_id, const char *name, const char *hash,
			    long long now, int store_conversations, long long *id);
	int (*token_list)(struct store *st, long long user_id, long long since, struct token_row **list,
			  size_t *n);
	int (*token_delete)(struct store *st, long long user_id, long long id);
	int (*token_end_all)(struct store *st, long long user_id);
	int (*token_find)(struct store *st, const char *hash, long long now, struct session *out);
	int (*invite_create)(struct store *st, const char *code_hash, long long by, long long now,
			     long long expires);
	int (*invite_use)(struct store *st, const char *code_hash, long long user_id, long long now);
	int (*reset_create)(struct store *st, const char *hash, long long user_id, long long now,
			    long long expires);
	int (*reset_take)(struct store *st, const char *hash, long long now, long long *user_id);
	int (*usage_add)(struct store *st, long long user_id, long long now, long long tokens, int estimated);
	int (*usage_sum)(struct store *st, long long user_id, long long day_start, long long month_start,
			 long long *prompts_day, long long *tokens_month, int *estimated);
	int (*gateway_add)(struct store *st, long long user_id, long long token_id, long long now,
			   long long tokens, const char *refused);
	int (*gateway_sum)(struct store *st, long long user_id, long long since, struct gateway_use *out);
	int (*audit_add)(struct store *st, long long now, const char *actor, const char *action,
			 const char *target, const char *addr, const char *detail);
	int (*audit_list)(struct store *st, long long before, int limit, struct audit_row **list, size_t *n);
	int (*stats)(struct store *st, struct store_stats *out);
	int (*backup)(struct store *st, const char *path);
	int (*restore)(struct store *st, const char *path);
	int (*reset)(struct store *st);
	int (*read_begin)(struct store *st);
};

/* The handle every backend's own struct starts with. */
struct store {
	const struct store_ops *ops;
};

/* Each backend's table, both in every program: store_pg.c calls libpq only
 * through pq.h, which loads it when DATABASE names PostgreSQL. */
extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* SQLite (store_sqlite.c): DATABASE is a path, or a file: URI. */
int store_sqlite_open(const char *database, struct store **out, char *err, size_t errlen);
/* SQLite's FTS5 query for search terms (search.h): every term an FTS5
 * string ("..." with inner quotes doubled), '*' after a prefix term, joined
 * by spaces (every term must match). A fresh string. Not static so that
 * test_search.c runs hostile terms through it against a real FTS5 table. */
char *store_sqlite_fts5_query(const struct search_query *q);
/* PostgreSQL (store_pg.c): DATABASE is a postgresql:// URL. store_open()
 * calls it only after pq_load() (pq.h) has loaded libpq. */
int store_pg_open(const char *database, struct store **out, char *err, size_t errlen);

#endif
