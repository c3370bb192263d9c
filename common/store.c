/* store.c: the storage interface (store.h) chooses its backend from DATABASE
 * and calls through the backend's operations table (store_backend.h).
 *
 * Contract: nothing here knows an engine. store_open() picks SQLite for a
 * path or a file: URI and PostgreSQL for a postgresql:// or postgres://
 * URL; every other function of store.h forwards to the table of the store
 * it is given, without checking it: every backend fills every member of
 * its table (store_backend.h; test_store_contract walks both tables). The
 * *_free() functions free what store.h's result structs own, the same for
 * every backend. */
#include "store_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void store_close(struct store *st)
{
	if (!st)
		return;
	st->ops->close(st);
}

int store_schema_version(struct store *st)
{
	return st->ops->schema_version(st);
}

int store_ping(struct store *st)
{
	return st->ops->ping(st);
}

int store_begin(struct store *st)
{
	return st->ops->begin(st);
}

void store_patience(struct store *st, int ms)
{
	st->ops->patience(st, ms);
}

int store_commit(struct store *st)
{
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
	return st->ops->end_request(st);
}

int store_in_transaction(struct store *st)
{
	if (!st)
		return 0;
	return st->ops->in_transaction(st);
}

int store_user_create(struct store *st, const char *username, const char *key, const char *password_hash,
		      long long now, long long *id)
{
	return st->ops->user_create(st, username, key, password_hash, now, id);
}

int store_user_find(struct store *st, const char *key, struct user *out)
{
	return st->ops->user_find(st, key, out);
}

int store_user_set_hash(struct store *st, long long id, const char *password_hash)
{
	return st->ops->user_set_hash(st, id, password_hash);
}

int store_user_delete(struct store *st, const char *key)
{
	return st->ops->user_delete(st, key);
}

int store_users_each(struct store *st,
		     void (*fn)(void *ctx, const struct user *u, long long conversations, long long messages),
		     void *ctx)
{
	return st->ops->users_each(st, fn, ctx);
}

int store_session_insert(struct store *st, const char *token_hash, long long user_id, const char *ua_hash,
			 long long now)
{
	return st->ops->session_insert(st, token_hash, user_id, ua_hash, now);
}

int store_session_find(struct store *st, const char *token_hash, struct session *out)
{
	return st->ops->session_find(st, token_hash, out);
}

int store_session_touch(struct store *st, const char *token_hash, long long now)
{
	return st->ops->session_touch(st, token_hash, now);
}

int store_session_delete(struct store *st, const char *token_hash)
{
	return st->ops->session_delete(st, token_hash);
}

int store_session_purge(struct store *st, long long idle_before, long long created_before)
{
	return st->ops->session_purge(st, idle_before, created_before);
}

int store_rate_take(struct store *st, const char *bucket, long long limit, long long window_ms, long long now,
		    int record, int *allowed, long long *wait_ms)
{
	return st->ops->rate_take(st, bucket, limit, window_ms, now, record, allowed, wait_ms);
}

int store_rate_count(struct store *st, const char *bucket, long long since, long long *count,
		     long long *oldest)
{
	return st->ops->rate_count(st, bucket, since, count, oldest);
}

int store_rate_add(struct store *st, const char *bucket, long long now)
{
	return st->ops->rate_add(st, bucket, now);
}

int store_rate_purge(struct store *st, long long before)
{
	return st->ops->rate_purge(st, before);
}

int store_conv_create(struct store *st, long long user_id, const char *title, long long now,
		      struct conversation *out)
{
	return st->ops->conv_create(st, user_id, title, now, out);
}

int store_conv_list(struct store *st, long long user_id, struct conversation **list, size_t *n)
{
	return st->ops->conv_list(st, user_id, list, n);
}

int store_conv_get(struct store *st, long long user_id, long long id, struct conversation *out)
{
	return st->ops->conv_get(st, user_id, id, out);
}

int store_conv_rename(struct store *st, long long user_id, long long id, const char *title, long long now)
{
	return st->ops->conv_rename(st, user_id, id, title, now);
}

int store_conv_touch(struct store *st, long long user_id, long long id, long long now)
{
	return st->ops->conv_touch(st, user_id, id, now);
}

int store_conv_delete(struct store *st, long long user_id, long long id)
{
	return st->ops->conv_delete(st, user_id, id);
}

int store_conv_clear(struct store *st, long long user_id, long long *n)
{
	return st->ops->conv_clear(st, user_id, n);
}

int store_conv_clear_all(struct store *st, long long *n)
{
	return st->ops->conv_clear_all(st, n);
}

int store_msg_add(struct store *st, long long user_id, long long conv_id, const char *role,
		  const char *content, const char *status, const char *model, const char *html,
		  long long html_version, long long now, long long *id)
{
	return st->ops->msg_add(st, user_id, conv_id, role, content, status, model, html, html_version, now, id);
}

int store_msg_finish(struct store *st, long long user_id, long long conv_id, long long id,
		     const char *content, const char *reasoning, const char *status, const char *error,
		     const char *html, long long html_version)
{
	return st->ops->msg_finish(st, user_id, conv_id, id, content, reasoning, status, error, html, html_version);
}

int store_msg_page(struct store *st, long long user_id, long long conv_id, long long before, int limit,
		   struct message **list, size_t *n, int *has_more)
{
	return st->ops->msg_page(st, user_id, conv_id, before, limit, list, n, has_more);
}

int store_msg_context(struct store *st, long long user_id, long long conv_id, long long before,
		      long long budget, struct message **list, size_t *n)
{
	return st->ops->msg_context(st, user_id, conv_id, before, budget, list, n);
}

int store_msg_unrendered(struct store *st, long long html_version, long long after, int limit,
			 struct message **list, size_t *n)
{
	return st->ops->msg_unrendered(st, html_version, after, limit, list, n);
}

int store_msg_set_html(struct store *st, long long id, const char *content, const char *html,
		       long long html_version)
{
	return st->ops->msg_set_html(st, id, content, html, html_version);
}

int store_turn_reap(struct store *st, long long stale_before, const char *host, long long local_stale_before)
{
	return st->ops->turn_reap(st, stale_before, host, local_stale_before);
}

int store_turn_on_host(struct store *st, const char *host, struct turn_row **list, size_t *n)
{
	return st->ops->turn_on_host(st, host, list, n);
}

int store_turn_drop(struct store *st, long long id, long long pid)
{
	return st->ops->turn_drop(st, id, pid);
}

int store_turn_count(struct store *st, long long user_id, long long *mine, long long *all)
{
	return st->ops->turn_count(st, user_id, mine, all);
}

int store_turn_take(struct store *st, long long user_id, long long message_id, const char *host, long long pid,
		    long long now, long long per_user, long long total, long long *mine, long long *all, long long *id)
{
	return st->ops->turn_take(st, user_id, message_id, host, pid, now, per_user, total, mine, all, id);
}

int store_turn_add(struct store *st, long long user_id, long long message_id, const char *host, long long pid,
		   long long now, long long *id)
{
	return st->ops->turn_add(st, user_id, message_id, host, pid, now, id);
}

int store_turn_beat(struct store *st, long long user_id, long long id, long long now)
{
	return st->ops->turn_beat(st, user_id, id, now);
}

int store_turn_end(struct store *st, long long user_id, long long id)
{
	return st->ops->turn_end(st, user_id, id);
}

int store_turn_set_pid(struct store *st, long long user_id, long long id, const char *host, long long pid,
		       long long now)
{
	return st->ops->turn_set_pid(st, user_id, id, host, pid, now);
}

int store_turn_of_msg(struct store *st, long long user_id, long long message_id, struct turn_state *out)
{
	return st->ops->turn_of_msg(st, user_id, message_id, out);
}

int store_turn_stop(struct store *st, long long user_id, long long message_id)
{
	return st->ops->turn_stop(st, user_id, message_id);
}

int store_turn_stop_flag(struct store *st, long long user_id, long long id, int *stop)
{
	return st->ops->turn_stop_flag(st, user_id, id, stop);
}

int store_msg_add_under(struct store *st, long long user_id, long long conv_id, long long parent_id,
			const char *role, const char *content, const char *status, const char *model,
			const char *html, long long html_version, long long now, long long *id)
{
	return st->ops->msg_add_under(st, user_id, conv_id, parent_id, role, content, status, model, html, html_version, now, id);
}

int store_msg_get(struct store *st, long long user_id, long long id, struct message *out, long long *conv_id)
{
	return st->ops->msg_get(st, user_id, id, out, conv_id);
}

int store_msg_progress(struct store *st, long long user_id, long long conv_id, long long id,
		       const char *content, const char *reasoning)
{
	return st->ops->msg_progress(st, user_id, conv_id, id, content, reasoning);
}

int store_msg_tree(struct store *st, long long user_id, long long conv_id, struct msg_node **list, size_t *n)
{
	return st->ops->msg_tree(st, user_id, conv_id, list, n);
}

int store_msg_branch_context(struct store *st, long long user_id, long long conv_id, long long from,
			     long long budget, struct message **list, size_t *n)
{
	return st->ops->msg_branch_context(st, user_id, conv_id, from, budget, list, n);
}

int store_conv_set_leaf(struct store *st, long long user_id, long long conv_id, long long leaf_id)
{
	return st->ops->conv_set_leaf(st, user_id, conv_id, leaf_id);
}

int store_search(struct store *st, long long user_id, const struct search_query *q, int limit,
		 struct search_hit **list, size_t *n)
{
	return st->ops->search(st, user_id, q, limit, list, n);
}

int store_msg_page_around(struct store *st, long long user_id, long long conv_id, long long msg_id, int limit,
			  struct message **list, size_t *n, int *has_more, int *has_newer)
{
	return st->ops->msg_page_around(st, user_id, conv_id, msg_id, limit, list, n, has_more, has_newer);
}

int store_msg_after(struct store *st, long long user_id, long long conv_id, long long after, int limit,
		    struct message **list, size_t *n)
{
	return st->ops->msg_after(st, user_id, conv_id, after, limit, list, n);
}

int store_import_conv(struct store *st, long long user_id, const char *title, long long created_at,
		      long long updated_at, long long *id)
{
	return st->ops->import_conv(st, user_id, title, created_at, updated_at, id);
}

int store_import_msg(struct store *st, long long user_id, long long conv_id, const struct message_in *m)
{
	return st->ops->import_msg(st, user_id, conv_id, m);
}

int store_user_register(struct store *st, const char *username, const char *key, const char *password_hash,
			const char *status, long long now, long long *id, const char **role)
{
	return st->ops->user_register(st, username, key, password_hash, status, now, id, role);
}

int store_user_get(struct store *st, long long id, struct user *out)
{
	return st->ops->user_get(st, id, out);
}

int store_user_set_role(struct store *st, long long id, const char *role)
{
	return st->ops->user_set_role(st, id, role);
}

int store_user_set_status(struct store *st, long long id, const char *status)
{
	return st->ops->user_set_status(st, id, status);
}

int store_user_set_quota(struct store *st, long long id, long long prompts_day, long long tokens_month)
{
	return st->ops->user_set_quota(st, id, prompts_day, tokens_month);
}

int store_user_delete_id(struct store *st, long long id)
{
	return st->ops->user_delete_id(st, id);
}

int store_user_seen(struct store *st, long long id, long long now)
{
	return st->ops->user_seen(st, id, now);
}

int store_users_admin(struct store *st, long long day_start, long long month_start,
		      void (*fn)(void *ctx, const struct user *u, const struct user_stats *s), void *ctx)
{
	return st->ops->users_admin(st, day_start, month_start, fn, ctx);
}

int store_session_describe(struct store *st, const char *token_hash, long long sid, const char *user_agent,
			   const char *addr)
{
	return st->ops->session_describe(st, token_hash, sid, user_agent, addr);
}

int store_session_list(struct store *st, long long user_id, const char *current_hash,
		       struct session_row **list, size_t *n)
{
	return st->ops->session_list(st, user_id, current_hash, list, n);
}

int store_session_delete_sid(struct store *st, long long user_id, long long sid)
{
	return st->ops->session_delete_sid(st, user_id, sid);
}

int store_session_end_all(struct store *st, long long user_id, const char *keep_hash, long long *n)
{
	return st->ops->session_end_all(st, user_id, keep_hash, n);
}

int store_token_create(struct store *st, long long user_id, const char *name, const char *hash, long long now,
		       int store_conversations, long long *id)
{
	return st->ops->token_create(st, user_id, name, hash, now, store_conversations, id);
}

int store_token_list(struct store *st, long long user_id, long long since, struct token_row **list, size_t *n)
{
	return st->ops->token_list(st, user_id, since, list, n);
}

int store_token_delete(struct store *st, long long user_id, long long id)
{
	return st->ops->token_delete(st, user_id, id);
}

int store_token_end_all(struct store *st, long long user_id)
{
	return st->ops->token_end_all(st, user_id);
}

int store_token_find(struct store *st, const char *hash, long long now, struct session *out)
{
	return st->ops->token_find(st, hash, now, out);
}

int store_invite_create(struct store *st, const char *code_hash, long long by, long long now,
			long long expires)
{
	return st->ops->invite_create(st, code_hash, by, now, expires);
}

int store_invite_use(struct store *st, const char *code_hash, long long user_id, long long now)
{
	return st->ops->invite_use(st, code_hash, user_id, now);
}

int store_reset_create(struct store *st, const char *hash, long long user_id, long long now, long long expires)
{
	return st->ops->reset_create(st, hash, user_id, now, expires);
}

int store_reset_take(struct store *st, const char *hash, long long now, long long *user_id)
{
	return st->ops->reset_take(st, hash, now, user_id);
}

int store_usage_add(struct store *st, long long user_id, long long now, long long tokens, int estimated)
{
	return st->ops->usage_add(st, user_id, now, tokens, estimated);
}

int store_usage_sum(struct store *st, long long user_id, long long day_start, long long month_start,
		    long long *prompts_day, long long *tokens_month, int *estimated)
{
	return st->ops->usage_sum(st, user_id, day_start, month_start, prompts_day, tokens_month, estimated);
}

int store_gateway_add(struct store *st, long long user_id, long long token_id, long long now,
		      long long tokens, const char *refused)
{
	return st->ops->gateway_add(st, user_id, token_id, now, tokens, refused);
}

int store_gateway_sum(struct store *st, long long user_id, long long since, struct gateway_use *out)
{
	return st->ops->gateway_sum(st, user_id, since, out);
}

int store_audit_add(struct store *st, long long now, const char *actor, const char *action,
		    const char *target, const char *addr, const char *detail)
{
	return st->ops->audit_add(st, now, actor, action, target, addr, detail);
}

int store_audit_list(struct store *st, long long before, int limit, struct audit_row **list, size_t *n)
{
	return st->ops->audit_list(st, before, limit, list, n);
}

int store_stats(struct store *st, struct store_stats *out)
{
	return st->ops->stats(st, out);
}

int store_backup(struct store *st, const char *path)
{
	return st->ops->backup(st, path);
}

int store_restore(struct store *st, const char *path)
{
	return st->ops->restore(st, path);
}

int store_reset(struct store *st)
{
	return st->ops->reset(st);
}

int store_read_begin(struct store *st)
{
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
