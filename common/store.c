/* store.c: the storage interface (store.h) chooses its backend from DATABASE
 * and calls through the backend's operations table (store_backend.h).
 *
 * Contract: nothing here knows an engine. store_open() picks SQLite for a
 * path or a file: URI and PostgreSQL for a postgresql:// or postgres://
 * URL; every other function of store.h forwards to the table of the store
 * it is given. The *_free() functions free what store.h's result structs
 * own, the same for every backend. */
#include "store_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pq.h"

static int is_postgres(const char *database)
{
	return strncmp(database, "postgresql://", 13) == 0 || strncmp(database, "postgres://", 11) == 0;
}

int store_open(const char *database, struct store **out, char *err, size_t errlen)
{
	*out = NULL;
	if (is_postgres(database))
		return pq_load(err, errlen) < 0 ? -1 : store_pg_open(database, out, err, errlen);
	return store_sqlite_open(database, out, err, errlen);
}

void store_prepare(const char *database)
{
	if (database && is_postgres(database)) {
		char err[256];
		(void)pq_load(err, sizeof err);
	}
}

/* An operation the store's backend does not provide (yet). */
static int missing(struct store *st, const char *op)
{
	log_error("store_%s is not available on %s yet (docs/issue14-plan.md); use a SQLite DATABASE", op,
		  st->ops->name);
	return STORE_ERROR;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	st->ops->close(st);
}

int store_schema_version(struct store *st)
{
	if (!st->ops->schema_version)
		return missing(st, "schema_version");
	return st->ops->schema_version(st);
}

int store_ping(struct store *st)
{
	if (!st->ops->ping)
		return missing(st, "ping");
	return st->ops->ping(st);
}

int store_begin(struct store *st)
{
	if (!st->ops->begin)
		return missing(st, "begin");
	return st->ops->begin(st);
}

void store_patience(struct store *st, int ms)
{
	st->ops->patience(st, ms);
}

int store_commit(struct store *st)
{
	if (!st->ops->commit)
		return missing(st, "commit");
	return st->ops->commit(st);
}

void store_rollback(struct store *st)
{
	st->ops->rollback(st);
}

int store_end_request(struct store *st)
{
	if (!st)
		return 0;
	if (!st->ops->end_request)
		return missing(st, "end_request");
	return st->ops->end_request(st);
}

int store_in_transaction(struct store *st)
{
	if (!st)
		return 0;
	if (!st->ops->in_transaction)
		return missing(st, "in_transaction");
	return st->ops->in_transaction(st);
}

int store_user_create(struct store *st, const char *username, const char *key, const char *password_hash,
		      long long now, long long *id)
{
	if (!st->ops->user_create)
		return missing(st, "user_create");
	return st->ops->user_create(st, username, key, password_hash, now, id);
}

int store_user_find(struct store *st, const char *key, struct user *out)
{
	if (!st->ops->user_find)
		return missing(st, "user_find");
	return st->ops->user_find(st, key, out);
}

int store_user_set_hash(struct store *st, long long id, const char *password_hash)
{
	if (!st->ops->user_set_hash)
		return missing(st, "user_set_hash");
	return st->ops->user_set_hash(st, id, password_hash);
}

int store_user_delete(struct store *st, const char *key)
{
	if (!st->ops->user_delete)
		return missing(st, "user_delete");
	return st->ops->user_delete(st, key);
}

int store_users_each(struct store *st,
		     void (*fn)(void *ctx, const struct user *u, long long conversations, long long messages),
		     void *ctx)
{
	if (!st->ops->users_each)
		return missing(st, "users_each");
	return st->ops->users_each(st, fn, ctx);
}

int store_session_insert(struct store *st, const char *token_hash, long long user_id, const char *ua_hash,
			 long long now)
{
	if (!st->ops->session_insert)
		return missing(st, "session_insert");
	return st->ops->session_insert(st, token_hash, user_id, ua_hash, now);
}

int store_session_find(struct store *st, const char *token_hash, struct session *out)
{
	if (!st->ops->session_find)
		return missing(st, "session_find");
	return st->ops->session_find(st, token_hash, out);
}

int store_session_touch(struct store *st, const char *token_hash, long long now)
{
	if (!st->ops->session_touch)
		return missing(st, "session_touch");
	return st->ops->session_touch(st, token_hash, now);
}

int store_session_delete(struct store *st, const char *token_hash)
{
	if (!st->ops->session_delete)
		return missing(st, "session_delete");
	return st->ops->session_delete(st, token_hash);
}

int store_session_purge(struct store *st, long long idle_before, long long created_before)
{
	if (!st->ops->session_purge)
		return missing(st, "session_purge");
	return st->ops->session_purge(st, idle_before, created_before);
}

int store_rate_take(struct store *st, const char *bucket, long long limit, long long window_ms, long long now,
		    int record, int *allowed, long long *wait_ms)
{
	if (!st->ops->rate_take)
		return missing(st, "rate_take");
	return st->ops->rate_take(st, bucket, limit, window_ms, now, record, allowed, wait_ms);
}

int store_rate_count(struct store *st, const char *bucket, long long since, long long *count,
		     long long *oldest)
{
	if (!st->ops->rate_count)
		return missing(st, "rate_count");
	return st->ops->rate_count(st, bucket, since, count, oldest);
}

int store_rate_add(struct store *st, const char *bucket, long long now)
{
	if (!st->ops->rate_add)
		return missing(st, "rate_add");
	return st->ops->rate_add(st, bucket, now);
}

int store_rate_purge(struct store *st, long long before)
{
	if (!st->ops->rate_purge)
		return missing(st, "rate_purge");
	return st->ops->rate_purge(st, before);
}

int store_conv_create(struct store *st, long long user_id, const char *title, long long now,
		      struct conversation *out)
{
	if (!st->ops->conv_create)
		return missing(st, "conv_create");
	return st->ops->conv_create(st, user_id, title, now, out);
}

int store_conv_list(struct store *st, long long user_id, struct conversation **list, size_t *n)
{
	if (!st->ops->conv_list)
		return missing(st, "conv_list");
	return st->ops->conv_list(st, user_id, list, n);
}

int store_conv_get(struct store *st, long long user_id, long long id, struct conversation *out)
{
	if (!st->ops->conv_get)
		return missing(st, "conv_get");
	return st->ops->conv_get(st, user_id, id, out);
}

int store_conv_rename(struct store *st, long long user_id, long long id, const char *title, long long now)
{
	if (!st->ops->conv_rename)
		return missing(st, "conv_rename");
	return st->ops->conv_rename(st, user_id, id, title, now);
}

int store_conv_touch(struct store *st, long long user_id, long long id, long long now)
{
	if (!st->ops->conv_touch)
		return missing(st, "conv_touch");
	return st->ops->conv_touch(st, user_id, id, now);
}

int store_conv_delete(struct store *st, long long user_id, long long id)
{
	if (!st->ops->conv_delete)
		return missing(st, "conv_delete");
	return st->ops->conv_delete(st, user_id, id);
}

int store_conv_clear(struct store *st, long long user_id, long long *n)
{
	if (!st->ops->conv_clear)
		return missing(st, "conv_clear");
	return st->ops->conv_clear(st, user_id, n);
}

int store_conv_clear_all(struct store *st, long long *n)
{
	if (!st->ops->conv_clear_all)
		return missing(st, "conv_clear_all");
	return st->ops->conv_clear_all(st, n);
}

int store_msg_add(struct store *st, long long user_id, long long conv_id, const char *role,
		  const char *content, const char *status, const char *model, const char *html,
		  long long html_version, long long now, long long *id)
{
	if (!st->ops->msg_add)
		return missing(st, "msg_add");
	return st->ops->msg_add(st, user_id, conv_id, role, content, status, model, html, html_version, now, id);
}

int store_msg_finish(struct store *st, long long user_id, long long conv_id, long long id,
		     const char *content, const char *reasoning, const char *status, const char *error,
		     const char *html, long long html_version)
{
	if (!st->ops->msg_finish)
		return missing(st, "msg_finish");
	return st->ops->msg_finish(st, user_id, conv_id, id, content, reasoning, status, error, html, html_version);
}

int store_msg_page(struct store *st, long long user_id, long long conv_id, long long before, int limit,
		   struct message **list, size_t *n, int *has_more)
{
	if (!st->ops->msg_page)
		return missing(st, "msg_page");
	return st->ops->msg_page(st, user_id, conv_id, before, limit, list, n, has_more);
}

int store_msg_context(struct store *st, long long user_id, long long conv_id, long long before,
		      long long budget, struct message **list, size_t *n)
{
	if (!st->ops->msg_context)
		return missing(st, "msg_context");
	return st->ops->msg_context(st, user_id, conv_id, before, budget, list, n);
}

int store_msg_unrendered(struct store *st, long long html_version, long long after, int limit,
			 struct message **list, size_t *n)
{
	if (!st->ops->msg_unrendered)
		return missing(st, "msg_unrendered");
	return st->ops->msg_unrendered(st, html_version, after, limit, list, n);
}

int store_msg_set_html(struct store *st, long long id, const char *content, const char *html,
		       long long html_version)
{
	if (!st->ops->msg_set_html)
		return missing(st, "msg_set_html");
	return st->ops->msg_set_html(st, id, content, html, html_version);
}

int store_turn_reap(struct store *st, long long stale_before, const char *host, long long local_stale_before)
{
	if (!st->ops->turn_reap)
		return missing(st, "turn_reap");
	return st->ops->turn_reap(st, stale_before, host, local_stale_before);
}

int store_turn_on_host(struct store *st, const char *host, struct turn_row **list, size_t *n)
{
	if (!st->ops->turn_on_host)
		return missing(st, "turn_on_host");
	return st->ops->turn_on_host(st, host, list, n);
}

int store_turn_drop(struct store *st, long long id)
{
	if (!st->ops->turn_drop)
		return missing(st, "turn_drop");
	return st->ops->turn_drop(st, id);
}

int store_turn_count(struct store *st, long long user_id, long long *mine, long long *all)
{
	if (!st->ops->turn_count)
		return missing(st, "turn_count");
	return st->ops->turn_count(st, user_id, mine, all);
}

int store_turn_take(struct store *st, long long user_id, long long message_id, const char *host, long long pid,
		    long long now, long long per_user, long long total, long long *mine, long long *all, long long *id)
{
	if (!st->ops->turn_take)
		return missing(st, "turn_take");
	return st->ops->turn_take(st, user_id, message_id, host, pid, now, per_user, total, mine, all, id);
}

int store_turn_add(struct store *st, long long user_id, long long message_id, const char *host, long long pid,
		   long long now, long long *id)
{
	if (!st->ops->turn_add)
		return missing(st, "turn_add");
	return st->ops->turn_add(st, user_id, message_id, host, pid, now, id);
}

int store_turn_beat(struct store *st, long long user_id, long long id, long long now)
{
	if (!st->ops->turn_beat)
		return missing(st, "turn_beat");
	return st->ops->turn_beat(st, user_id, id, now);
}

int store_turn_end(struct store *st, long long user_id, long long id)
{
	if (!st->ops->turn_end)
		return missing(st, "turn_end");
	return st->ops->turn_end(st, user_id, id);
}

int store_turn_set_pid(struct store *st, long long user_id, long long id, const char *host, long long pid,
		       long long now)
{
	if (!st->ops->turn_set_pid)
		return missing(st, "turn_set_pid");
	return st->ops->turn_set_pid(st, user_id, id, host, pid, now);
}

int store_turn_of_msg(struct store *st, long long user_id, long long message_id, struct turn_state *out)
{
	if (!st->ops->turn_of_msg)
		return missing(st, "turn_of_msg");
	return st->ops->turn_of_msg(st, user_id, message_id, out);
}

int store_turn_stop(struct store *st, long long user_id, long long message_id)
{
	if (!st->ops->turn_stop)
		return missing(st, "turn_stop");
	return st->ops->turn_stop(st, user_id, message_id);
}

int store_turn_stop_flag(struct store *st, long long user_id, long long id, int *stop)
{
	if (!st->ops->turn_stop_flag)
		return missing(st, "turn_stop_flag");
	return st->ops->turn_stop_flag(st, user_id, id, stop);
}

int store_msg_add_under(struct store *st, long long user_id, long long conv_id, long long parent_id,
			const char *role, const char *content, const char *status, const char *model,
			const char *html, long long html_version, long long now, long long *id)
{
	if (!st->ops->msg_add_under)
		return missing(st, "msg_add_under");
	return st->ops->msg_add_under(st, user_id, conv_id, parent_id, role, content, status, model, html, html_version, now, id);
}

int store_msg_get(struct store *st, long long user_id, long long id, struct message *out, long long *conv_id)
{
	if (!st->ops->msg_get)
		return missing(st, "msg_get");
	return st->ops->msg_get(st, user_id, id, out, conv_id);
}

int store_msg_progress(struct store *st, long long user_id, long long conv_id, long long id,
		       const char *content, const char *reasoning)
{
	if (!st->ops->msg_progress)
		return missing(st, "msg_progress");
	return st->ops->msg_progress(st, user_id, conv_id, id, content, reasoning);
}

int store_msg_tree(struct store *st, long long user_id, long long conv_id, struct msg_node **list, size_t *n)
{
	if (!st->ops->msg_tree)
		return missing(st, "msg_tree");
	return st->ops->msg_tree(st, user_id, conv_id, list, n);
}

int store_msg_branch_context(struct store *st, long long user_id, long long conv_id, long long from,
			     long long budget, struct message **list, size_t *n)
{
	if (!st->ops->msg_branch_context)
		return missing(st, "msg_branch_context");
	return st->ops->msg_branch_context(st, user_id, conv_id, from, budget, list, n);
}

int store_conv_set_leaf(struct store *st, long long user_id, long long conv_id, long long leaf_id)
{
	if (!st->ops->conv_set_leaf)
		return missing(st, "conv_set_leaf");
	return st->ops->conv_set_leaf(st, user_id, conv_id, leaf_id);
}

int store_search(struct store *st, long long user_id, const char *fts_query, int limit,
		 struct search_hit **list, size_t *n)
{
	if (!st->ops->search)
		return missing(st, "search");
	return st->ops->search(st, user_id, fts_query, limit, list, n);
}

int store_msg_page_around(struct store *st, long long user_id, long long conv_id, long long msg_id, int limit,
			  struct message **list, size_t *n, int *has_more, int *has_newer)
{
	if (!st->ops->msg_page_around)
		return missing(st, "msg_page_around");
	return st->ops->msg_page_around(st, user_id, conv_id, msg_id, limit, list, n, has_more, has_newer);
}

int store_msg_after(struct store *st, long long user_id, long long conv_id, long long after, int limit,
		    struct message **list, size_t *n)
{
	if (!st->ops->msg_after)
		return missing(st, "msg_after");
	return st->ops->msg_after(st, user_id, conv_id, after, limit, list, n);
}

int store_import_conv(struct store *st, long long user_id, const char *title, long long created_at,
		      long long updated_at, long long *id)
{
	if (!st->ops->import_conv)
		return missing(st, "import_conv");
	return st->ops->import_conv(st, user_id, title, created_at, updated_at, id);
}

int store_import_msg(struct store *st, long long user_id, long long conv_id, const struct message_in *m)
{
	if (!st->ops->import_msg)
		return missing(st, "import_msg");
	return st->ops->import_msg(st, user_id, conv_id, m);
}

int store_user_register(struct store *st, const char *username, const char *key, const char *password_hash,
			const char *status, long long now, long long *id, const char **role)
{
	if (!st->ops->user_register)
		return missing(st, "user_register");
	return st->ops->user_register(st, username, key, password_hash, status, now, id, role);
}

int store_user_get(struct store *st, long long id, struct user *out)
{
	if (!st->ops->user_get)
		return missing(st, "user_get");
	return st->ops->user_get(st, id, out);
}

int store_user_set_role(struct store *st, long long id, const char *role)
{
	if (!st->ops->user_set_role)
		return missing(st, "user_set_role");
	return st->ops->user_set_role(st, id, role);
}

int store_user_set_status(struct store *st, long long id, const char *status)
{
	if (!st->ops->user_set_status)
		return missing(st, "user_set_status");
	return st->ops->user_set_status(st, id, status);
}

int store_user_set_quota(struct store *st, long long id, long long prompts_day, long long tokens_month)
{
	if (!st->ops->user_set_quota)
		return missing(st, "user_set_quota");
	return st->ops->user_set_quota(st, id, prompts_day, tokens_month);
}

int store_user_delete_id(struct store *st, long long id)
{
	if (!st->ops->user_delete_id)
		return missing(st, "user_delete_id");
	return st->ops->user_delete_id(st, id);
}

int store_user_seen(struct store *st, long long id, long long now)
{
	if (!st->ops->user_seen)
		return missing(st, "user_seen");
	return st->ops->user_seen(st, id, now);
}

int store_users_admin(struct store *st, long long day_start, long long month_start,
		      void (*fn)(void *ctx, const struct user *u, const struct user_stats *s), void *ctx)
{
	if (!st->ops->users_admin)
		return missing(st, "users_admin");
	return st->ops->users_admin(st, day_start, month_start, fn, ctx);
}

int store_session_describe(struct store *st, const char *token_hash, long long sid, const char *user_agent,
			   const char *addr)
{
	if (!st->ops->session_describe)
		return missing(st, "session_describe");
	return st->ops->session_describe(st, token_hash, sid, user_agent, addr);
}

int store_session_list(struct store *st, long long user_id, const char *current_hash,
		       struct session_row **list, size_t *n)
{
	if (!st->ops->session_list)
		return missing(st, "session_list");
	return st->ops->session_list(st, user_id, current_hash, list, n);
}

int store_session_delete_sid(struct store *st, long long user_id, long long sid)
{
	if (!st->ops->session_delete_sid)
		return missing(st, "session_delete_sid");
	return st->ops->session_delete_sid(st, user_id, sid);
}

int store_session_end_all(struct store *st, long long user_id, const char *keep_hash, long long *n)
{
	if (!st->ops->session_end_all)
		return missing(st, "session_end_all");
	return st->ops->session_end_all(st, user_id, keep_hash, n);
}

int store_token_create(struct store *st, long long user_id, const char *name, const char *hash, long long now,
		       int store_conversations, long long *id)
{
	if (!st->ops->token_create)
		return missing(st, "token_create");
	return st->ops->token_create(st, user_id, name, hash, now, store_conversations, id);
}

int store_token_list(struct store *st, long long user_id, long long since, struct token_row **list, size_t *n)
{
	if (!st->ops->token_list)
		return missing(st, "token_list");
	return st->ops->token_list(st, user_id, since, list, n);
}

int store_token_delete(struct store *st, long long user_id, long long id)
{
	if (!st->ops->token_delete)
		return missing(st, "token_delete");
	return st->ops->token_delete(st, user_id, id);
}

int store_token_end_all(struct store *st, long long user_id)
{
	if (!st->ops->token_end_all)
		return missing(st, "token_end_all");
	return st->ops->token_end_all(st, user_id);
}

int store_token_find(struct store *st, const char *hash, long long now, struct session *out)
{
	if (!st->ops->token_find)
		return missing(st, "token_find");
	return st->ops->token_find(st, hash, now, out);
}

int store_invite_create(struct store *st, const char *code_hash, long long by, long long now,
			long long expires)
{
	if (!st->ops->invite_create)
		return missing(st, "invite_create");
	return st->ops->invite_create(st, code_hash, by, now, expires);
}

int store_invite_use(struct store *st, const char *code_hash, long long user_id, long long now)
{
	if (!st->ops->invite_use)
		return missing(st, "invite_use");
	return st->ops->invite_use(st, code_hash, user_id, now);
}

int store_reset_create(struct store *st, const char *hash, long long user_id, long long now, long long expires)
{
	if (!st->ops->reset_create)
		return missing(st, "reset_create");
	return st->ops->reset_create(st, hash, user_id, now, expires);
}

int store_reset_take(struct store *st, const char *hash, long long now, long long *user_id)
{
	if (!st->ops->reset_take)
		return missing(st, "reset_take");
	return st->ops->reset_take(st, hash, now, user_id);
}

int store_usage_add(struct store *st, long long user_id, long long now, long long tokens, int estimated)
{
	if (!st->ops->usage_add)
		return missing(st, "usage_add");
	return st->ops->usage_add(st, user_id, now, tokens, estimated);
}

int store_usage_sum(struct store *st, long long user_id, long long day_start, long long month_start,
		    long long *prompts_day, long long *tokens_month, int *estimated)
{
	if (!st->ops->usage_sum)
		return missing(st, "usage_sum");
	return st->ops->usage_sum(st, user_id, day_start, month_start, prompts_day, tokens_month, estimated);
}

int store_gateway_add(struct store *st, long long user_id, long long token_id, long long now,
		      long long tokens, const char *refused)
{
	if (!st->ops->gateway_add)
		return missing(st, "gateway_add");
	return st->ops->gateway_add(st, user_id, token_id, now, tokens, refused);
}

int store_gateway_sum(struct store *st, long long user_id, long long since, struct gateway_use *out)
{
	if (!st->ops->gateway_sum)
		return missing(st, "gateway_sum");
	return st->ops->gateway_sum(st, user_id, since, out);
}

int store_audit_add(struct store *st, long long now, const char *actor, const char *action,
		    const char *target, const char *addr, const char *detail)
{
	if (!st->ops->audit_add)
		return missing(st, "audit_add");
	return st->ops->audit_add(st, now, actor, action, target, addr, detail);
}

int store_audit_list(struct store *st, long long before, int limit, struct audit_row **list, size_t *n)
{
	if (!st->ops->audit_list)
		return missing(st, "audit_list");
	return st->ops->audit_list(st, before, limit, list, n);
}

int store_stats(struct store *st, struct store_stats *out)
{
	if (!st->ops->stats)
		return missing(st, "stats");
	return st->ops->stats(st, out);
}

int store_backup(struct store *st, const char *path)
{
	if (!st->ops->backup)
		return missing(st, "backup");
	return st->ops->backup(st, path);
}

int store_restore(struct store *st, const char *path)
{
	if (!st->ops->restore)
		return missing(st, "restore");
	return st->ops->restore(st, path);
}

int store_reset(struct store *st)
{
	if (!st->ops->reset)
		return missing(st, "reset");
	return st->ops->reset(st);
}

int store_read_begin(struct store *st)
{
	if (!st->ops->read_begin)
		return missing(st, "read_begin");
	return st->ops->read_begin(st);
}

/* ---- what the result structs own ---- */

void store_user_free(struct user *u)
{
	free(u->username);
	free(u->password_hash);
	free(u->role);
	free(u->status);
	memset(u, 0, sizeof *u);
}

void store_session_free(struct session *se)
{
	free(se->username);
	free(se->ua_hash);
	free(se->role);
	free(se->status);
	free(se->token_name);
	memset(se, 0, sizeof *se);
}

void store_conv_free(struct conversation *c)
{
	free(c->title);
	memset(c, 0, sizeof *c);
}

void store_conv_list_free(struct conversation *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].title);
	free(list);
}

void store_msg_free(struct message *m)
{
	free(m->role);
	free(m->content);
	free(m->reasoning);
	free(m->status);
	free(m->model);
	free(m->error);
	free(m->html);
	memset(m, 0, sizeof *m);
}

void store_msg_list_free(struct message *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_msg_free(&list[i]);
	free(list);
}

void store_search_free(struct search_hit *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].conversation_title);
		free(list[i].role);
		free(list[i].snippet);
	}
	free(list);
}

void store_session_list_free(struct session_row *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].user_agent);
		free(list[i].addr);
	}
	free(list);
}

void store_token_list_free(struct token_row *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

void store_audit_list_free(struct audit_row *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].actor);
		free(list[i].action);
		free(list[i].target);
		free(list[i].addr);
		free(list[i].detail);
	}
	free(list);
}
