/* store_sqlite.c: the storage interface (store.h) on SQLite in WAL mode.
 *
 * The SQLite backend: store_sqlite_open() hands out a struct sqlite_store
 * whose first member points at store_sqlite_ops, the table store.c calls
 * through (store_backend.h). Every statement is fixed text in the table
 * below, prepared once per process on first use and run with bound
 * parameters. Migrations are numbered and append-only; PRAGMA user_version
 * records how far a file is. */
#define _GNU_SOURCE /* F_OFD_SETLK: the writers' queue */
#include "store_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "alloc.h"
#include "branch.h"
#include "buf.h"
#include "log.h"
#include "search.h"
#include "timefmt.h"

/* Append-only: never edit a shipped step, add a new one. */
static const char *const migrations[] = {
	/* 1: accounts, sessions, rate limits, conversations, messages */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  username TEXT NOT NULL,"
	"  username_key TEXT NOT NULL UNIQUE,"
	"  password_hash TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE sessions ("
	"  token_hash TEXT PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  ua_hash TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX sessions_user ON sessions(user_id);"
	"CREATE TABLE rate_events ("
	"  bucket TEXT NOT NULL,"
	"  at INTEGER NOT NULL);"
	"CREATE INDEX rate_events_bucket ON rate_events(bucket, at);"
	"CREATE TABLE conversations ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  title TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX conversations_user ON conversations(user_id, updated_at DESC, id DESC);"
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
	"  role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),"
	"  content TEXT NOT NULL,"
	"  reasoning TEXT,"
	"  status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'interrupted')),"
	"  model TEXT,"
	"  error TEXT,"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX messages_conversation ON messages(conversation_id, id);",
	/* 2: each message keeps its rendered HTML and the renderer revision that
	 * made it (markdown.h), so reads need not render again. Rows from before
	 * have neither and are rendered on read. Every statement that writes
	 * content writes html with it (or only html, for that very content), so
	 * the two cannot disagree. Not a trigger to enforce it: its parse cost
	 * 42k instructions on every connection of every request, to guard only
	 * against a hand-made UPDATE of content, which must set html = NULL. An
	 * older program after a rollback inserts without html and finishes only
	 * its own rows, which render-html leaves alone while their content is
	 * still the empty placeholder. */
	"ALTER TABLE messages ADD COLUMN html TEXT;"
	"ALTER TABLE messages ADD COLUMN html_version INTEGER;",
	/* 3: ids are never reused (SECURITY.md). Without AUTOINCREMENT SQLite
	 * hands the highest id out again once its row is deleted, and a turn
	 * still running for a deleted conversation could then finish another
	 * user's new message. users, conversations and messages are rebuilt by
	 * SQLite's twelve-step procedure (its ALTER TABLE page): migrate() runs
	 * this with foreign keys off, so dropping the old tables deletes no
	 * rows through ON DELETE CASCADE, and checks them before committing.
	 * Every row keeps its id; sqlite_sequence starts at the highest id
	 * there is. turns holds the turns in flight, one row per answer being
	 * written, for the concurrency limits (inflight.h); its rows carry the
	 * host and pid that wrote them and a heartbeat, so a killed process
	 * holds no slot for long. It names the answer's message without a
	 * foreign key: deleting the conversation must not free the slot while
	 * the process still runs. */
	"CREATE TABLE users_v3 ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  username TEXT NOT NULL,"
	"  username_key TEXT NOT NULL UNIQUE,"
	"  password_hash TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"INSERT INTO users_v3 (id, username, username_key, password_hash, created_at)"
	"  SELECT id, username, username_key, password_hash, created_at FROM users;"
	"CREATE TABLE conversations_v3 ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  title TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"INSERT INTO conversations_v3 (id, user_id, title, created_at, updated_at)"
	"  SELECT id, user_id, title, created_at, updated_at FROM conversations;"
	"CREATE TABLE messages_v3 ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
	"  role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),"
	"  content TEXT NOT NULL,"
	"  reasoning TEXT,"
	"  status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'interrupted')),"
	"  model TEXT,"
	"  error TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  html TEXT,"
	"  html_version INTEGER);"
	"INSERT INTO messages_v3 (id, conversation_id, role, content, reasoning, status, model, error, created_at,"
	"  html, html_version)"
	"  SELECT id, conversation_id, role, content, reasoning, status, model, error, created_at, html, html_version"
	"  FROM messages;"
	"DROP TABLE messages;"
	"DROP TABLE conversations;"
	"DROP TABLE users;"
	"ALTER TABLE users_v3 RENAME TO users;"
	"ALTER TABLE conversations_v3 RENAME TO conversations;"
	"ALTER TABLE messages_v3 RENAME TO messages;"
	"CREATE INDEX conversations_user ON conversations(user_id, updated_at DESC, id DESC);"
	"CREATE INDEX messages_conversation ON messages(conversation_id, id);"
	"DELETE FROM sqlite_sequence WHERE name IN ('users', 'conversations', 'messages');"
	"INSERT INTO sqlite_sequence (name, seq)"
	"  SELECT 'users', (SELECT max(id) FROM users) WHERE EXISTS (SELECT 1 FROM users)"
	"  UNION ALL SELECT 'conversations', (SELECT max(id) FROM conversations)"
	"   WHERE EXISTS (SELECT 1 FROM conversations)"
	"  UNION ALL SELECT 'messages', (SELECT max(id) FROM messages) WHERE EXISTS (SELECT 1 FROM messages);"
	"CREATE TABLE turns ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  message_id INTEGER NOT NULL,"
	"  host TEXT NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  started_at INTEGER NOT NULL,"
	"  heartbeat_at INTEGER NOT NULL);"
	"CREATE INDEX turns_user ON turns(user_id);"
	"CREATE INDEX turns_heartbeat ON turns(heartbeat_at);"
	"CREATE INDEX turns_host ON turns(host, pid);",
	/* 4: full-text indexes of message contents and conversation titles
	 * (README, "Search"). External-content FTS5 tables hold only the index;
	 * triggers keep it in step with every insert, content change and
	 * delete, including the deletes that cascade from a conversation or a
	 * user, and 'rebuild' indexes the rows written before this step. The
	 * unicode61 tokenizer folds case and diacritics, so "cafe" finds
	 * "Café". Self-contained: it names only columns of schema 1. */
	"CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id',"
	"  tokenize='unicode61 remove_diacritics 2');"
	"CREATE VIRTUAL TABLE conversations_fts USING fts5(title, content='conversations', content_rowid='id',"
	"  tokenize='unicode61 remove_diacritics 2');"
	"CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
	"  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);"
	"END;"
	"CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
	"  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);"
	"END;"
	"CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN"
	"  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);"
	"  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);"
	"END;"
	"CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN"
	"  INSERT INTO conversations_fts (rowid, title) VALUES (new.id, new.title);"
	"END;"
	"CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN"
	"  INSERT INTO conversations_fts (conversations_fts, rowid, title) VALUES ('delete', old.id, old.title);"
	"END;"
	"CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN"
	"  INSERT INTO conversations_fts (conversations_fts, rowid, title) VALUES ('delete', old.id, old.title);"
	"  INSERT INTO conversations_fts (rowid, title) VALUES (new.id, new.title);"
	"END;"
	"INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');"
	"INSERT INTO conversations_fts (conversations_fts) VALUES ('rebuild');",
	/* 5: self-hosting controls (README, "Accounts and administration"):
	 * roles and account status, per-user budgets, describable sessions,
	 * API tokens, invitations, one-time password resets, usage for the
	 * budgets and the audit log. On an existing install the oldest account
	 * becomes the admin and every account stays active. Sessions get a
	 * public id (random, never derived from the token), the browser's
	 * User-Agent and the address they were made from, to be listed. The
	 * audit log names people by username, not by a row of users, so it
	 * outlives the accounts it describes. */
	"ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user'));"
	"ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active'"
	"  CHECK (status IN ('active', 'pending', 'disabled'));"
	"ALTER TABLE users ADD COLUMN quota_prompts_day INTEGER;"
	"ALTER TABLE users ADD COLUMN quota_tokens_month INTEGER;"
	"ALTER TABLE users ADD COLUMN last_seen INTEGER;"
	"UPDATE users SET role = 'admin' WHERE id = (SELECT min(id) FROM users);"
	"CREATE INDEX users_role ON users(role, status);"
	"ALTER TABLE sessions ADD COLUMN sid INTEGER;"
	"ALTER TABLE sessions ADD COLUMN user_agent TEXT;"
	"ALTER TABLE sessions ADD COLUMN addr TEXT;"
	"CREATE UNIQUE INDEX sessions_sid ON sessions(sid);"
	"CREATE TABLE api_tokens ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL,"
	"  last_used INTEGER);"
	"CREATE INDEX api_tokens_user ON api_tokens(user_id);"
	"CREATE TABLE invites ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  code_hash TEXT NOT NULL UNIQUE,"
	"  created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  used_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	"  used_at INTEGER);"
	"CREATE INDEX invites_created_by ON invites(created_by);"
	"CREATE INDEX invites_used_by ON invites(used_by);"
	"CREATE TABLE password_resets ("
	"  token_hash TEXT PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX password_resets_user ON password_resets(user_id);"
	"CREATE TABLE usage ("
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  at INTEGER NOT NULL,"
	"  tokens INTEGER NOT NULL,"
	"  estimated INTEGER NOT NULL);"
	"CREATE INDEX usage_user ON usage(user_id, at);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  actor TEXT,"
	"  action TEXT NOT NULL,"
	"  target TEXT,"
	"  addr TEXT,"
	"  detail TEXT);",
	/* 6: answers the server owns (README, "Answers in flight") and the
	 * message tree. parent_id links each message to the one it answers or
	 * follows: a regenerated answer or an edited prompt is a sibling, and
	 * a conversation shows one branch, the one ending at leaf_id (NULL:
	 * the newest message). Rows from before become one branch, each under
	 * the message before it, every row kept. turns.stop_requested is how
	 * POST /api/messages/{id}/stop reaches the process generating the
	 * answer, on whichever node it runs. */
	"ALTER TABLE messages ADD COLUMN parent_id INTEGER;"
	"UPDATE messages SET parent_id = (SELECT max(p.id) FROM messages p"
	"  WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id);"
	"CREATE INDEX messages_parent ON messages(parent_id);"
	"ALTER TABLE conversations ADD COLUMN leaf_id INTEGER;"
	"ALTER TABLE turns ADD COLUMN stop_requested INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX turns_message ON turns(message_id);",
	/* 7: the OpenAI-compatible gateway (README, "The OpenAI-compatible
	 * API"). A token may ask that its calls be kept as conversations
	 * (off by default). Every gateway call of a known token is a row of
	 * gateway_calls: its tokens, or the code of the refusal it got, so
	 * the admin page shows use and refusals per user and per token. The
	 * token id is not a foreign key: a revoked token's calls stay counted
	 * for its user (token ids are never reused). */
	"ALTER TABLE api_tokens ADD COLUMN store_conversations INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE gateway_calls ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  token_id INTEGER NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  tokens INTEGER NOT NULL,"
	"  refused TEXT);"
	"CREATE INDEX gateway_calls_user ON gateway_calls(user_id, at);"
	"CREATE INDEX gateway_calls_token ON gateway_calls(token_id, at);",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

enum stmt_id {
	S_USER_CREATE, S_USER_FIND, S_USER_SET_HASH, S_USER_DELETE, S_USERS_EACH,
	S_SESSION_INSERT, S_SESSION_FIND, S_SESSION_TOUCH, S_SESSION_DELETE, S_SESSION_PURGE,
	S_RATE_COUNT, S_RATE_ADD, S_RATE_PURGE,
	S_CONV_CREATE, S_CONV_LIST, S_CONV_GET, S_CONV_RENAME, S_CONV_TOUCH, S_CONV_DELETE,
	S_CONV_CLEAR, S_CONV_CLEAR_ALL,
	S_MSG_ADD, S_MSG_FINISH, S_MSG_PAGE, S_MSG_CONTEXT, S_MSG_UNRENDERED, S_MSG_SET_HTML,
	S_TURN_REAP, S_TURN_ON_HOST, S_TURN_DROP, S_TURN_COUNT, S_TURN_ADD, S_TURN_BEAT, S_TURN_END,
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_PING,
	S_SEARCH_MSGS, S_SEARCH_TITLES, S_MSG_IN_CONV, S_MSG_NEWER_NTH,
	S_MSG_AFTER, S_IMPORT_CONV, S_IMPORT_MSG,
	S_MSG_ADD_UNDER, S_MSG_GET, S_MSG_PROGRESS, S_MSG_TREE, S_CONV_SET_LEAF,
	S_TURN_SET_PID, S_TURN_OF_MSG, S_TURN_STOP, S_TURN_STOP_FLAG,
	S_USER_REGISTER, S_USER_GET, S_USER_SET_ROLE, S_USER_SET_STATUS, S_USER_SET_QUOTA, S_USER_DELETE_ID,
	S_USER_SEEN, S_USERS_ADMIN, S_SESSION_DESCRIBE, S_SESSION_LIST, S_SESSION_DELETE_SID, S_SESSION_END_ALL,
	S_TOKEN_CREATE, S_TOKEN_LIST, S_TOKEN_DELETE, S_TOKEN_END_ALL, S_TOKEN_FIND, S_TOKEN_USED,
	S_INVITE_CREATE, S_INVITE_USE, S_RESET_CREATE, S_RESET_TAKE,
	S_USAGE_ADD, S_USAGE_SUM, S_AUDIT_ADD, S_AUDIT_LIST,
	S_GATEWAY_ADD, S_GATEWAY_SUM,
	S_COUNT
};

static const char *const sql[S_COUNT] = {
	[S_USER_CREATE] = "INSERT INTO users (username, username_key, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
	[S_USER_FIND] = "SELECT id, username, password_hash, created_at, role, status, quota_prompts_day,"
			" quota_tokens_month, last_seen FROM users WHERE username_key = ?1",
	[S_USER_SET_HASH] = "UPDATE users SET password_hash = ?2 WHERE id = ?1",
	[S_USER_DELETE] = "DELETE FROM users WHERE username_key = ?1",
	[S_USERS_EACH] = "SELECT u.id, u.username, u.created_at, u.role, u.status, u.last_seen,"
			 " (SELECT count(*) FROM conversations c WHERE c.user_id = u.id),"
			 " (SELECT count(*) FROM messages m JOIN conversations c ON m.conversation_id = c.id WHERE c.user_id = u.id)"
			 " FROM users u ORDER BY u.id",
	[S_SESSION_INSERT] = "INSERT INTO sessions (token_hash, user_id, ua_hash, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
	[S_SESSION_FIND] = "SELECT s.user_id, u.username, s.ua_hash, s.created_at, s.last_seen, u.role, u.status"
			   " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1",
	[S_SESSION_TOUCH] = "UPDATE sessions SET last_seen = ?2 WHERE token_hash = ?1",
	[S_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?1",
	[S_SESSION_PURGE] = "DELETE FROM sessions WHERE last_seen < ?1 OR created_at < ?2",
	[S_RATE_COUNT] = "SELECT count(*), min(at) FROM rate_events WHERE bucket = ?1 AND at >= ?2",
	[S_RATE_ADD] = "INSERT INTO rate_events (bucket, at) VALUES (?1, ?2)",
	[S_RATE_PURGE] = "DELETE FROM rate_events WHERE at < ?1",
	[S_CONV_CREATE] = "INSERT INTO conversations (user_id, title, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
	[S_CONV_LIST] = "SELECT id, title, created_at, updated_at FROM conversations WHERE user_id = ?1"
			" ORDER BY updated_at DESC, id DESC",
	[S_CONV_GET] = "SELECT id, title, created_at, updated_at, leaf_id FROM conversations WHERE user_id = ?1 AND id = ?2",
	[S_CONV_RENAME] = "UPDATE conversations SET title = ?3, updated_at = ?4 WHERE user_id = ?1 AND id = ?2",
	[S_CONV_TOUCH] = "UPDATE conversations SET updated_at = max(updated_at, ?2) WHERE id = ?1 AND user_id = ?3",
	[S_CONV_DELETE] = "DELETE FROM conversations WHERE user_id = ?1 AND id = ?2",
	[S_CONV_CLEAR] = "DELETE FROM conversations WHERE user_id = ?1",
	[S_CONV_CLEAR_ALL] = "DELETE FROM conversations",
	/* Every statement on messages names the conversation and its owner
	 * (SECURITY.md): a turn whose conversation was deleted meanwhile
	 * changes nothing, whatever became of the ids. */
	[S_MSG_ADD] = "INSERT INTO messages (conversation_id, role, content, status, model, created_at, html, html_version,"
		      " parent_id)"
		      " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, (SELECT max(id) FROM messages WHERE conversation_id = ?1)"
		      " WHERE EXISTS (SELECT 1 FROM conversations WHERE id = ?1 AND user_id = ?9)",
	/* The parent, when there is one, must be a message of the same
	 * conversation: a branch never crosses conversations or owners. */
	[S_MSG_ADD_UNDER] = "INSERT INTO messages (conversation_id, role, content, status, model, created_at, html,"
			    " html_version, parent_id)"
			    " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULLIF(?10, 0)"
			    " WHERE EXISTS (SELECT 1 FROM conversations WHERE id = ?1 AND user_id = ?9)"
			    " AND (?10 = 0 OR EXISTS (SELECT 1 FROM messages WHERE id = ?10 AND conversation_id = ?1))",
	[S_MSG_FINISH] = "UPDATE messages SET content = ?2, reasoning = ?3, status = ?4, error = ?5, html = ?6,"
			 " html_version = ?7 WHERE id = ?1 AND conversation_id = ?8"
			 " AND conversation_id IN (SELECT id FROM conversations WHERE id = ?8 AND user_id = ?9)",
	/* Only the page reads html: the context and the work list need not
	 * fetch its overflow pages. */
	[S_MSG_PAGE] = "SELECT id, role, content, reasoning, status, model, error, created_at, html, html_version"
		       " FROM messages WHERE conversation_id = ?1 AND id < ?2"
		       " AND conversation_id IN (SELECT id FROM conversations WHERE id = ?1 AND user_id = ?4)"
		       " ORDER BY id DESC LIMIT ?3",
	[S_MSG_CONTEXT] = "SELECT id, role, content, reasoning, status, model, error, created_at FROM messages"
			  " WHERE conversation_id = ?1 AND id < ?2 AND status = 'ok'"
			  " AND conversation_id IN (SELECT id FROM conversations WHERE id = ?1 AND user_id = ?3)"
			  " ORDER BY id DESC LIMIT 1000",
	[S_MSG_UNRENDERED] = "SELECT id, role, content, reasoning, status, model, error, created_at FROM messages"
			     " WHERE id > ?1 AND html_version IS NOT ?2 AND content <> '' ORDER BY id LIMIT ?3",
	/* render-html's write names no owner: it changes only html, and only
	 * while the content it rendered is still there. */
	[S_MSG_SET_HTML] = "UPDATE messages SET html = ?3, html_version = ?4 WHERE id = ?1 AND content = ?2",
	[S_TURN_REAP] = "DELETE FROM turns WHERE (heartbeat_at < ?1 AND host <> ?2) OR heartbeat_at < ?3",
	[S_TURN_ON_HOST] = "SELECT id, pid, heartbeat_at FROM turns WHERE host = ?1",
	[S_TURN_DROP] = "DELETE FROM turns WHERE id = ?1 AND pid = ?2",
	/* turns holds at most MAX_STREAMS_TOTAL live rows once reaped. */
	[S_TURN_COUNT] = "SELECT (SELECT count(*) FROM turns WHERE user_id = ?1), (SELECT count(*) FROM turns)",
	[S_TURN_ADD] = "INSERT INTO turns (user_id, message_id, host, pid, started_at, heartbeat_at)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
	[S_TURN_BEAT] = "UPDATE turns SET heartbeat_at = ?3 WHERE id = ?1 AND user_id = ?2",
	[S_TURN_END] = "DELETE FROM turns WHERE id = ?1 AND user_id = ?2",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_PING] = "SELECT count(*) FROM sqlite_schema",
	/* Search (README, "Search"): ?1 is a query made by
	 * store_sqlite_fts5_query() from search_parse()'s terms, never the
	 * user's text. Best rank first, newest first among equals. */
	[S_SEARCH_MSGS] = "SELECT c.id, c.title, m.id, m.role, snippet(messages_fts, 0, char(1), char(2), '" SEARCH_ELLIPSIS "', 20),"
			  " m.created_at, bm25(messages_fts) AS r"
			  " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
			  " JOIN conversations c ON c.id = m.conversation_id"
			  " WHERE messages_fts MATCH ?1 AND c.user_id = ?2 ORDER BY r, m.created_at DESC, m.id DESC LIMIT ?3",
	[S_SEARCH_TITLES] = "SELECT c.id, c.title, NULL, NULL, highlight(conversations_fts, 0, char(1), char(2)),"
			    " c.updated_at, bm25(conversations_fts) AS r"
			    " FROM conversations_fts JOIN conversations c ON c.id = conversations_fts.rowid"
			    " WHERE conversations_fts MATCH ?1 AND c.user_id = ?2 ORDER BY r, c.updated_at DESC, c.id DESC LIMIT ?3",
	[S_MSG_IN_CONV] = "SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id"
			  " WHERE m.id = ?1 AND c.id = ?2 AND c.user_id = ?3",
	[S_MSG_NEWER_NTH] = "SELECT id FROM messages WHERE conversation_id = ?1 AND id > ?2 ORDER BY id LIMIT 1 OFFSET ?3",
	/* Export and import (README, "Export and import"). */
	[S_MSG_AFTER] = "SELECT id, role, content, reasoning, status, model, error, created_at FROM messages"
			" WHERE conversation_id = ?1 AND id > ?2"
			" AND conversation_id IN (SELECT id FROM conversations WHERE id = ?1 AND user_id = ?4)"
			" ORDER BY id LIMIT ?3",
	[S_MSG_GET] = "SELECT m.id, m.role, m.content, m.reasoning, m.status, m.model, m.error, m.created_at, m.html,"
		      " m.html_version, m.conversation_id, m.parent_id"
		      " FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?1 AND c.user_id = ?2",
	/* An answer's text as it arrives: only while it is still being
	 * written (status interrupted), so a late save never undoes the end. */
	[S_MSG_PROGRESS] = "UPDATE messages SET content = ?2, reasoning = ?3, html = NULL, html_version = NULL"
			   " WHERE id = ?1 AND conversation_id = ?4 AND status = 'interrupted'"
			   " AND conversation_id IN (SELECT id FROM conversations WHERE id = ?4 AND user_id = ?5)",
	[S_MSG_TREE] = "SELECT m.id, m.parent_id, m.role FROM messages m WHERE m.conversation_id = ?1"
		       " AND m.conversation_id IN (SELECT id FROM conversations WHERE id = ?1 AND user_id = ?2)"
		       " ORDER BY m.id",
	[S_CONV_SET_LEAF] = "UPDATE conversations SET leaf_id = ?3 WHERE id = ?2 AND user_id = ?1",
	[S_TURN_SET_PID] = "UPDATE turns SET host = ?3, pid = ?4, heartbeat_at = ?5 WHERE id = ?1 AND user_id = ?2",
	[S_TURN_OF_MSG] = "SELECT id, host, pid, heartbeat_at, stop_requested FROM turns"
			  " WHERE message_id = ?1 AND user_id = ?2 ORDER BY id DESC LIMIT 1",
	[S_TURN_STOP] = "UPDATE turns SET stop_requested = 1 WHERE message_id = ?1 AND user_id = ?2",
	[S_TURN_STOP_FLAG] = "SELECT stop_requested FROM turns WHERE id = ?1 AND user_id = ?2",
	[S_IMPORT_CONV] = "INSERT INTO conversations (user_id, title, created_at, updated_at) VALUES (?1, ?2, ?3, ?4)",
	[S_IMPORT_MSG] = "INSERT INTO messages (conversation_id, role, content, reasoning, status, model, error, created_at,"
			 " html, html_version, parent_id) SELECT ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
			 " (SELECT max(id) FROM messages WHERE conversation_id = ?2)"
			 " WHERE EXISTS (SELECT 1 FROM conversations WHERE id = ?2 AND user_id = ?1)",
	/* Accounts and administration (README, "Accounts and administration").
	 * A change of role or status, and a deletion, leaves at least one
	 * active admin: the statement itself checks, so two admins demoting
	 * each other at once cannot both succeed. */
	[S_USER_REGISTER] = "INSERT INTO users (username, username_key, password_hash, created_at, role, status)"
			    " VALUES (?1, ?2, ?3, ?4,"
			    " CASE WHEN EXISTS (SELECT 1 FROM users WHERE role = 'admin') THEN 'user' ELSE 'admin' END,"
			    " CASE WHEN EXISTS (SELECT 1 FROM users WHERE role = 'admin') THEN ?5 ELSE 'active' END)"
			    " RETURNING id, role",
	[S_USER_GET] = "SELECT id, username, password_hash, created_at, role, status, quota_prompts_day,"
		       " quota_tokens_month, last_seen FROM users WHERE id = ?1",
	[S_USER_SET_ROLE] = "UPDATE users SET role = ?2 WHERE id = ?1 AND (?2 = 'admin' OR EXISTS"
			    " (SELECT 1 FROM users WHERE role = 'admin' AND status = 'active' AND id <> ?1))",
	[S_USER_SET_STATUS] = "UPDATE users SET status = ?2 WHERE id = ?1 AND (?2 = 'active' OR role <> 'admin' OR EXISTS"
			      " (SELECT 1 FROM users WHERE role = 'admin' AND status = 'active' AND id <> ?1))",
	[S_USER_SET_QUOTA] = "UPDATE users SET quota_prompts_day = ?2, quota_tokens_month = ?3 WHERE id = ?1",
	[S_USER_DELETE_ID] = "DELETE FROM users WHERE id = ?1 AND (role <> 'admin' OR EXISTS"
			     " (SELECT 1 FROM users WHERE role = 'admin' AND status = 'active' AND id <> ?1))",
	[S_USER_SEEN] = "UPDATE users SET last_seen = ?2 WHERE id = ?1",
	[S_USERS_ADMIN] = "SELECT u.id, u.username, u.created_at, u.role, u.status, u.quota_prompts_day,"
			  " u.quota_tokens_month, u.last_seen,"
			  " (SELECT count(*) FROM conversations c WHERE c.user_id = u.id),"
			  " (SELECT count(*) FROM messages m JOIN conversations c ON m.conversation_id = c.id"
			  "  WHERE c.user_id = u.id),"
			  " (SELECT count(*) FROM usage g WHERE g.user_id = u.id AND g.at >= ?1),"
			  " (SELECT coalesce(sum(tokens), 0) FROM usage g WHERE g.user_id = u.id AND g.at >= ?2)"
			  " FROM users u ORDER BY u.id",
	[S_SESSION_DESCRIBE] = "UPDATE sessions SET sid = ?2, user_agent = ?3, addr = ?4 WHERE token_hash = ?1",
	[S_SESSION_LIST] = "SELECT sid, created_at, last_seen, user_agent, addr, token_hash = ?2 FROM sessions"
			   " WHERE user_id = ?1 AND sid IS NOT NULL",
	[S_SESSION_DELETE_SID] = "DELETE FROM sessions WHERE sid = ?2 AND user_id = ?1",
	[S_SESSION_END_ALL] = "DELETE FROM sessions WHERE user_id = ?1 AND token_hash IS NOT ?2",
	[S_TOKEN_CREATE] = "INSERT INTO api_tokens (user_id, name, token_hash, created_at, store_conversations)"
			   " VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_TOKEN_LIST] = "SELECT t.id, t.name, t.created_at, t.last_used, t.store_conversations,"
			 " (SELECT count(*) FROM gateway_calls g WHERE g.token_id = t.id AND g.at >= ?2),"
			 " (SELECT coalesce(sum(tokens), 0) FROM gateway_calls g WHERE g.token_id = t.id AND g.at >= ?2),"
			 " (SELECT count(*) FROM gateway_calls g WHERE g.token_id = t.id AND g.at >= ?2"
			 " AND g.refused IS NOT NULL)"
			 " FROM api_tokens t WHERE t.user_id = ?1 ORDER BY t.id",
	[S_TOKEN_DELETE] = "DELETE FROM api_tokens WHERE id = ?2 AND user_id = ?1",
	[S_TOKEN_END_ALL] = "DELETE FROM api_tokens WHERE user_id = ?1",
	[S_TOKEN_FIND] = "SELECT t.user_id, u.username, u.role, u.status, t.created_at, coalesce(t.last_used, 0),"
			 " t.id, t.name, t.store_conversations"
			 " FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1",
	[S_TOKEN_USED] = "UPDATE api_tokens SET last_used = ?2 WHERE token_hash = ?1",
	[S_INVITE_CREATE] = "INSERT INTO invites (code_hash, created_by, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
	[S_INVITE_USE] = "UPDATE invites SET used_by = ?2, used_at = ?3"
			 " WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?3",
	[S_RESET_CREATE] = "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
	[S_RESET_TAKE] = "DELETE FROM password_resets WHERE token_hash = ?1 RETURNING user_id, expires_at > ?2",
	[S_USAGE_ADD] = "INSERT INTO usage (user_id, at, tokens, estimated) VALUES (?1, ?2, ?3, ?4)",
	[S_USAGE_SUM] = "SELECT (SELECT count(*) FROM usage WHERE user_id = ?1 AND at >= ?2),"
			" (SELECT coalesce(sum(tokens), 0) FROM usage WHERE user_id = ?1 AND at >= ?3),"
			" EXISTS (SELECT 1 FROM usage WHERE user_id = ?1 AND at >= ?3 AND estimated = 1)",
	[S_GATEWAY_ADD] = "INSERT INTO gateway_calls (user_id, token_id, at, tokens, refused) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_GATEWAY_SUM] = "SELECT count(*), coalesce(sum(tokens), 0), count(refused) FROM gateway_calls"
			  " WHERE user_id = ?1 AND at >= ?2",
	[S_AUDIT_ADD] = "INSERT INTO audit (at, actor, action, target, addr, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_AUDIT_LIST] = "SELECT id, at, actor, action, target, addr, detail FROM audit"
			 " WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
};

struct sqlite_store {
	struct store pub;       /* first: the handle store.c hands out (sq()) */
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[S_COUNT];
	int busy_ms;            /* store_patience() */
	long long busy_since;   /* when the current wait began, monotonic ms */
	unsigned busy_seed;
	int queue_fd;           /* the writers' queue (queue_wait), or -1 */
	pid_t queue_pid;        /* the process that opened queue_fd */
	long long queued_at;    /* when the write waiting now began to queue, or 0 */
	long long moved_at;     /* when a writer last gave its turn back after writing (queue_moved()) */
	int stalled;            /* the write of its turn ran out of time (STORE_BUSY) */
	int checkpoint_due;     /* the WAL has grown past WAL_CHECKPOINT_PAGES (wal_grew()) */
	uint64_t ticket;        /* its place in the queue while queue_head (queue_wait()) */
};

static struct sqlite_store *sq(struct store *pub)
{
	return (struct sqlite_store *)pub;
}

static void sqlite_close(struct store *pub);
static int sqlite_schema_version(struct store *pub);
static int sqlite_ping(struct store *pub);
static int sqlite_begin(struct store *pub);
static void sqlite_patience(struct store *pub, int ms);
static int sqlite_commit(struct store *pub);
static void sqlite_rollback(struct store *pub);
static int sqlite_end_request(struct store *pub);
static int sqlite_in_transaction(struct store *pub);
static int sqlite_user_create(struct store *pub, const char *username, const char *key,
			      const char *password_hash, long long now, long long *id);
static int sqlite_user_find(struct store *pub, const char *key, struct user *out);
static int sqlite_user_set_hash(struct store *pub, long long id, const char *password_hash);
static int sqlite_user_delete(struct store *pub, const char *key);
static int sqlite_users_each(struct store *pub,
			     void (*fn)(void *ctx, const struct user *u, long long conversations, long long messages),
			     void *ctx);
static int sqlite_session_insert(struct store *pub, const char *token_hash, long long user_id,
				 const char *ua_hash, long long now);
static int sqlite_session_find(struct store *pub, const char *token_hash, struct session *out);
static int sqlite_session_touch(struct store *pub, const char *token_hash, long long now);
static int sqlite_session_delete(struct store *pub, const char *token_hash);
static int sqlite_session_purge(struct store *pub, long long idle_before, long long created_before);
static int sqlite_rate_take(struct store *pub, const char *bucket, long long limit, long long window_ms,
			    long long now, int record, int *allowed, long long *wait_ms);
static int sqlite_rate_count(struct store *pub, const char *bucket, long long since, long long *count,
			     long long *oldest);
static int sqlite_rate_add(struct store *pub, const char *bucket, long long now);
static int sqlite_rate_purge(struct store *pub, long long before);
static int sqlite_conv_create(struct store *pub, long long user_id, const char *title, long long now,
			      struct conversation *out);
static int sqlite_conv_list(struct store *pub, long long user_id, struct conversation **list, size_t *n);
static int sqlite_conv_get(struct store *pub, long long user_id, long long id, struct conversation *out);
static int sqlite_conv_rename(struct store *pub, long long user_id, long long id, const char *title,
			      long long now);
static int sqlite_conv_touch(struct store *pub, long long user_id, long long id, long long now);
static int sqlite_conv_delete(struct store *pub, long long user_id, long long id);
static int sqlite_conv_clear(struct store *pub, long long user_id, long long *n);
static int sqlite_conv_clear_all(struct store *pub, long long *n);
static int sqlite_msg_add(struct store *pub, long long user_id, long long conv_id, const char *role,
			  const char *content, const char *status, const char *model, const char *html,
			  long long html_version, long long now, long long *id);
static int sqlite_msg_finish(struct store *pub, long long user_id, long long conv_id, long long id,
			     const char *content, const char *reasoning, const char *status,
			     const char *error, const char *html, long long html_version);
static int sqlite_msg_page(struct store *pub, long long user_id, long long conv_id, long long before,
			   int limit, struct message **list, size_t *n, int *has_more);
static int sqlite_msg_context(struct store *pub, long long user_id, long long conv_id, long long before,
			      long long budget, struct message **list, size_t *n);
static int sqlite_msg_unrendered(struct store *pub, long long html_version, long long after, int limit,
				 struct message **list, size_t *n);
static int sqlite_msg_set_html(struct store *pub, long long id, const char *content, const char *html,
			       long long html_version);
static int sqlite_turn_reap(struct store *pub, long long stale_before, const char *host,
			    long long local_stale_before);
static int sqlite_turn_on_host(struct store *pub, const char *host, struct turn_row **list, size_t *n);
static int sqlite_turn_drop(struct store *pub, long long id, long long pid);
static int sqlite_turn_count(struct store *pub, long long user_id, long long *mine, long long *all);
static int sqlite_turn_take(struct store *pub, long long user_id, long long message_id, const char *host,
			    long long pid, long long now, long long per_user, long long total, long long *mine,
			    long long *all, long long *id);
static int sqlite_turn_add(struct store *pub, long long user_id, long long message_id, const char *host,
			   long long pid, long long now, long long *id);
static int sqlite_turn_beat(struct store *pub, long long user_id, long long id, long long now);
static int sqlite_turn_end(struct store *pub, long long user_id, long long id);
static int sqlite_turn_set_pid(struct store *pub, long long user_id, long long id, const char *host,
			       long long pid, long long now);
static int sqlite_turn_of_msg(struct store *pub, long long user_id, long long message_id,
			      struct turn_state *out);
static int sqlite_turn_stop(struct store *pub, long long user_id, long long message_id);
static int sqlite_turn_stop_flag(struct store *pub, long long user_id, long long id, int *stop);
static int sqlite_msg_add_under(struct store *pub, long long user_id, long long conv_id, long long parent_id,
				const char *role, const char *content, const char *status, const char *model,
				const char *html, long long html_version, long long now, long long *id);
static int sqlite_msg_get(struct store *pub, long long user_id, long long id, struct message *out,
			  long long *conv_id);
static int sqlite_msg_progress(struct store *pub, long long user_id, long long conv_id, long long id,
			       const char *content, const char *reasoning);
static int sqlite_msg_tree(struct store *pub, long long user_id, long long conv_id, struct msg_node **list,
			   size_t *n);
static int sqlite_msg_branch_context(struct store *pub, long long user_id, long long conv_id, long long from,
				     long long budget, struct message **list, size_t *n);
static int sqlite_conv_set_leaf(struct store *pub, long long user_id, long long conv_id, long long leaf_id);
static int sqlite_search(struct store *pub, long long user_id, const struct search_query *q, int limit,
			 struct search_hit **list, size_t *n);
static int sqlite_msg_page_around(struct store *pub, long long user_id, long long conv_id, long long msg_id,
				  int limit, struct message **list, size_t *n, int *has_more, int *has_newer);
static int sqlite_msg_after(struct store *pub, long long user_id, long long conv_id, long long after,
			    int limit, struct message **list, size_t *n);
static int sqlite_import_conv(struct store *pub, long long user_id, const char *title, long long created_at,
			      long long updated_at, long long *id);
static int sqlite_import_msg(struct store *pub, long long user_id, long long conv_id,
			     const struct message_in *m);
static int sqlite_user_register(struct store *pub, const char *username, const char *key,
				const char *password_hash, const char *status, long long now, long long *id,
				const char **role);
static int sqlite_user_get(struct store *pub, long long id, struct user *out);
static int sqlite_user_set_role(struct store *pub, long long id, const char *role);
static int sqlite_user_set_status(struct store *pub, long long id, const char *status);
static int sqlite_user_set_quota(struct store *pub, long long id, long long prompts_day,
				 long long tokens_month);
static int sqlite_user_delete_id(struct store *pub, long long id);
static int sqlite_user_seen(struct store *pub, long long id, long long now);
static int sqlite_users_admin(struct store *pub, long long day_start, long long month_start,
			      void (*fn)(void *ctx, const struct user *u, const struct user_stats *s),
			      void *ctx);
static int sqlite_session_describe(struct store *pub, const char *token_hash, long long sid,
				   const char *user_agent, const char *addr);
static int sqlite_session_list(struct store *pub, long long user_id, const char *current_hash,
			       struct session_row **list, size_t *n);
static int sqlite_session_delete_sid(struct store *pub, long long user_id, long long sid);
static int sqlite_session_end_all(struct store *pub, long long user_id, const char *keep_hash, long long *n);
static int sqlite_token_create(struct store *pub, long long user_id, const char *name, const char *hash,
			       long long now, int store_conversations, long long *id);
static int sqlite_token_list(struct store *pub, long long user_id, long long since, struct token_row **list,
			     size_t *n);
static int sqlite_token_delete(struct store *pub, long long user_id, long long id);
static int sqlite_token_end_all(struct store *pub, long long user_id);
static int sqlite_token_find(struct store *pub, const char *hash, long long now, struct session *out);
static int sqlite_invite_create(struct store *pub, const char *code_hash, long long by, long long now,
				long long expires);
static int sqlite_invite_use(struct store *pub, const char *code_hash, long long user_id, long long now);
static int sqlite_reset_create(struct store *pub, const char *hash, long long user_id, long long now,
			       long long expires);
static int sqlite_reset_take(struct store *pub, const char *hash, long long now, long long *user_id);
static int sqlite_usage_add(struct store *pub, long long user_id, long long now, long long tokens,
			    int estimated);
static int sqlite_usage_sum(struct store *pub, long long user_id, long long day_start, long long month_start,
			    long long *prompts_day, long long *tokens_month, int *estimated);
static int sqlite_gateway_add(struct store *pub, long long user_id, long long token_id, long long now,
			      long long tokens, const char *refused);
static int sqlite_gateway_sum(struct store *pub, long long user_id, long long since, struct gateway_use *out);
static int sqlite_audit_add(struct store *pub, long long now, const char *actor, const char *action,
			    const char *target, const char *addr, const char *detail);
static int sqlite_audit_list(struct store *pub, long long before, int limit, struct audit_row **list,
			     size_t *n);
static int sqlite_stats(struct store *pub, struct store_stats *out);
static int sqlite_backup(struct store *pub, const char *path);
static int sqlite_restore(struct store *pub, const char *path);
static int sqlite_reset(struct store *pub);
static int sqlite_read_begin(struct store *pub);

/* Writers take turns through a queue in the kernel.
 *
 * SQLite's busy handler only sleeps and tries again. Under a burst (a
 * hundred answers being written at once on two cores) a hundred waiters
 * then wake hundreds of times a second each: they take the CPU from the one
 * process that holds the lock, and one that keeps waking at the wrong
 * moment loses every free moment of the lock until its timeout. So before
 * it writes (a write statement outside a transaction, or BEGIN IMMEDIATE),
 * a store takes a ticket and waits its turn on a side file,
 * <database>-queue, with open file description locks (below), which the
 * kernel drops when their holder exits. Waiters sleep in the kernel
 * meanwhile, and turns come in the order of the tickets. A writer gives
 * its turn back as soon as it has no transaction open (done()).
 * The queue only orders writers; SQLite's lock still decides, so a writer
 * that does not queue (the sqlite3 shell, a store whose side file cannot
 * be opened, a wait that ran out) is correct, only less fair. Waiting for
 * a turn counts against the same deadline (busy_ms) as SQLite's lock. */
/* After its first expiry at the deadline, the timer that bounds a wait
 * repeats this often (queue_wait()). */
#define QUEUE_RETICK_MS 50
/* A queue that moves is a burst being worked through, not a stuck
 * database: a writer with the full patience (STORE_BUSY_MS or more) waits
 * for its turn while the writers ahead of it take theirs, and is busy once
 * none has for its patience, or after this long in all (README, "How it
 * is built"). One that tries again shortly anyway (less patience:
 * saves of an answer as it arrives) keeps a plain deadline. */
#define QUEUE_MOVING_MAX_MS 30000
/* A wait for a turn longer than this is logged: the cause of a burst's
 * 503 is then in the log. (Not a long turn: an import or a restore holds
 * one on purpose, and its waiters say so.) */
#define QUEUE_SLOW_MS 1000

static struct sqlite_store *queue_head;    /* this process's store whose turn it is, if any */
static struct sqlite_store *queue_current; /* the store whose write queued last, until it ends */

static void queue_tick(int sig)
{
	(void)sig; /* only interrupts a waiting fcntl() */
}

static int queue_open(struct sqlite_store *st)
{
	if (st->queue_fd >= 0 && st->queue_pid == getpid())
		return st->queue_fd;
	if (st->queue_fd >= 0)
		close(st->queue_fd); /* the parent's: its lock is not ours to share (the parent keeps its own) */
	st->queue_fd = -1;
	size_t n = strlen(st->path);
	if (n == 0 || strcmp(st->path, ":memory:") == 0)
		return -1;
	char *qpath = xmalloc(n + sizeof "-queue");
	memcpy(qpath, st->path, n);
	memcpy(qpath + n, "-queue", sizeof "-queue");
	st->queue_fd = open(qpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(qpath);
	st->queue_pid = getpid();
	if (st->queue_fd >= 0) {
		/* SIGALRM only ends a wait (no SA_RESTART); nothing else in
		 * these programs uses it. Without the handler its default
		 * would end the process: no queue then. */
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = queue_tick;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGALRM, &sa, NULL) != 0) {
			close(st->queue_fd);
			st->queue_fd = -1;
		}
	}
	return st->queue_fd;
}

/* The side file's layout: byte 0 guards the ticket counter, an 8-byte
 * number at QUEUE_COUNTER; a writer holding ticket t holds the byte at
 * QUEUE_SLOTS + t % QUEUE_SLOT_COUNT while it waits and while it writes.
 * Waiting for the slot of ticket t - 1 is waiting for the writer before:
 * one release wakes one waiter, in the order the tickets were taken.
 * (One lock for all would wake every waiter at each release, to find one
 * winner among them by chance: a herd that costs the CPU the holder needs,
 * and a queue with no order, in which one writer can wait out its deadline.) */
#define QUEUE_COUNTER 8
/* When a writer last gave its turn back after a write that did not run
 * out of time: CLOCK_MONOTONIC in ms, 8 bytes, read by waiters when their
 * deadline comes. (A turn that ended busy is no progress: behind a stuck
 * lock every waiter is busy after its patience, not one after another.)
 * The clock is the machine's, as is the database (SQLite is local only). */
#define QUEUE_MOVED 16
#define QUEUE_SLOTS 64
#define QUEUE_SLOT_COUNT 65536

static int queue_lock(int fd, short type, off_t at, int wait)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = at, .l_len = 1};
	return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
}

static off_t queue_slot(uint64_t ticket)
{
	return QUEUE_SLOTS + (off_t)(ticket % QUEUE_SLOT_COUNT);
}

static int queue_patient(const struct sqlite_store *st)
{
	return st->busy_ms >= STORE_BUSY_MS;
}

static uint64_t queue_get(int fd, off_t at)
{
	unsigned char b[8];
	uint64_t v = 0;
	if (pread(fd, b, sizeof b, at) == (ssize_t)sizeof b)
		for (int i = 7; i >= 0; i--)
			v = v << 8 | b[i];
	return v;
}

static int queue_put(int fd, off_t at, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	/* check-output: the queue's side file, not the client */
	return pwrite(fd, b, sizeof b, at) == (ssize_t)sizeof b ? 0 : -1;
}

/* Notes when a writer last ended a turn with a write. A value from the future
 * (a read that met a write half done) is ignored: it only delays. */
static void queue_moved(struct sqlite_store *st, long long now)
{
	long long at = (long long)queue_get(st->queue_fd, QUEUE_MOVED);
	if (at > st->moved_at && at <= now)
		st->moved_at = at;
}

/* How long st's wait may still go on (QUEUE_MOVING_MAX_MS). */
static long queue_left(const struct sqlite_store *st, long long now)
{
	if (!queue_patient(st))
		return (long)(st->busy_ms - (now - st->queued_at));
	long long left = st->busy_ms - (now - st->moved_at);
	long long all = (st->busy_ms > QUEUE_MOVING_MAX_MS ? st->busy_ms : QUEUE_MOVING_MAX_MS) - (now - st->queued_at);
	return (long)(left < all ? left : all);
}

/* Takes the byte at `at`, waiting until st's deadline (queue_left(), kept
 * by an interval timer, SIGALRM ending the wait). */
static int queue_lock_until(struct sqlite_store *st, off_t at)
{
	if (queue_lock(st->queue_fd, F_WRLCK, at, 0) == 0)
		return 0;
	if (errno != EAGAIN && errno != EACCES)
		return -1;
	struct itimerval off;
	memset(&off, 0, sizeof off);
	int rc = -1;
	for (;;) {
		long long now = monotonic_ms();
		if (queue_patient(st))
			queue_moved(st, now);
		long ms = queue_left(st, now);
		if (ms < 1)
			break;
		/* A repeating timer: one that fires just before fcntl() begins
		 * to wait is followed by another, which ends the wait. */
		struct itimerval it = {{0, QUEUE_RETICK_MS * 1000L}, {ms / 1000, (ms % 1000) * 1000L}};
		if (setitimer(ITIMER_REAL, &it, NULL) != 0)
			break; /* an unbounded wait is worse than none: SQLite's lock alone */
		rc = queue_lock(st->queue_fd, F_WRLCK, at, 1);
		if (rc == 0 || errno != EINTR)
			break;
	}
	(void)setitimer(ITIMER_REAL, &off, NULL); /* cannot fail once the same call worked */
	return rc;
}

/* Takes a ticket and its slot; -1 when there is no queue to join. */
static int queue_ticket(struct sqlite_store *st, uint64_t *ticket)
{
	if (queue_lock_until(st, 0) != 0)
		return -1;
	uint64_t t = queue_get(st->queue_fd, QUEUE_COUNTER); /* 0 in a new file */
	int rc = queue_put(st->queue_fd, QUEUE_COUNTER, t + 1);
	/* The slot is free but for a writer QUEUE_SLOT_COUNT tickets back. */
	if (rc == 0)
		rc = queue_lock(st->queue_fd, F_WRLCK, queue_slot(t), 0);
	(void)queue_lock(st->queue_fd, F_UNLCK, 0, 0); /* a lock this description holds: nothing to fail */
	*ticket = t;
	return rc;
}

/* Waits for this store's turn, up to its busy_ms. */
static void queue_wait(struct sqlite_store *st)
{
	if (queue_head && queue_head->queue_pid != getpid())
		queue_head = queue_current = NULL; /* a parent's turn, which its child does not hold */
	if (queue_head || queue_open(st) < 0)
		return;
	queue_current = st;
	st->queued_at = st->moved_at = monotonic_ms();
	uint64_t t;
	if (queue_ticket(st, &t) != 0)
		return;
	/* The writer before has its turn, or is waiting for one, while it
	 * holds its slot; once it is free, this store's turn has come. A
	 * wait that runs out still holds this store's own slot: the writer
	 * after waits for this one, which goes on to SQLite's lock. */
	int rc = queue_lock_until(st, queue_slot(t - 1));
	if (rc == 0)
		(void)queue_lock(st->queue_fd, F_UNLCK, queue_slot(t - 1), 0); /* held just above */
	long long now = monotonic_ms();
	queue_moved(st, now); /* SQLite's lock waits from there (busy_wait()) */
	if (now - st->queued_at >= QUEUE_SLOW_MS)
		log_info("database %s: a writer waited %lld ms for its turn%s", st->path, now - st->queued_at,
			 rc == 0 ? "" : ", and goes on to SQLite's lock without one");
	queue_head = st;
	st->ticket = t;
	st->stalled = 0;
}

static void queue_leave(struct sqlite_store *st)
{
	st->queued_at = 0;
	if (queue_head != st)
		return;
	if (!st->stalled) /* one waiter's hint, no more: its failure is not worth a log line */
		(void)queue_put(st->queue_fd, QUEUE_MOVED, (uint64_t)monotonic_ms());
	if (queue_lock(st->queue_fd, F_UNLCK, queue_slot(st->ticket), 0) != 0)
		log_warn("database %s: could not leave the writers' queue: %s", st->path, strerror(errno));
	queue_head = NULL;
}

/* After a statement: a writer gives its turn back once no transaction is
 * open, and its next wait has a deadline of its own. */
static void queue_after(sqlite3 *db)
{
	if (queue_current && queue_current->db == db && sqlite3_get_autocommit(db)) {
		struct sqlite_store *st = queue_current;
		queue_current = NULL;
		queue_leave(st);
	}
}

/* SQLite's lock, once it is this store's turn (or with no queue): short
 * sleeps with jitter, until the queue's deadline (queue_left(): the lock
 * has not moved for the store's patience), or busy_ms without a queue. */
static int busy_wait(void *ctx, int tries)
{
	struct sqlite_store *st = ctx;
	long long now = monotonic_ms();
	if (tries == 0)
		st->busy_since = now;
	if (st->queued_at ? queue_left(st, now) < 1 : now - st->busy_since >= st->busy_ms)
		return 0;
	int ms = 1 + (int)(rand_r(&st->busy_seed) % (tries < 20 ? 4u : 12u));
	struct timespec ts = {0, (long)ms * 1000000L};
	nanosleep(&ts, NULL);
	return 1;
}

static void sqlite_patience(struct store *pub, int ms)
{
	struct sqlite_store *st = sq(pub);
	st->busy_ms = ms;
}

static int rc_of(struct sqlite_store *st, int rc, const char *what)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		st->stalled = 1;
		if (st->busy_ms >= STORE_BUSY_MS) /* a shorter wait is a caller that tries again (store.h) */
			log_error("database %s: busy past the busy timeout of %d ms (%s)", st->path, st->busy_ms, what);
		return STORE_BUSY;
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		log_error("database %s: %s failed: %s; check free disk space and that the file and its directory are writable",
			  st->path, what, sqlite3_errmsg(st->db));
		return STORE_READONLY;
	default:
		log_error("database %s: %s failed: %s", st->path, what, sqlite3_errmsg(st->db));
		return STORE_ERROR;
	}
}

/* Returns the statement, reset and with bindings cleared, or NULL (logged). */
static sqlite3_stmt *stmt(struct sqlite_store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];
	if (s == NULL) {
		int rc = sqlite3_prepare_v3(st->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
		if (rc != SQLITE_OK) {
			rc_of(st, rc, "prepare");
			return NULL;
		}
		st->stmt[id] = s;
	}
	if (!sqlite3_stmt_readonly(s) && sqlite3_get_autocommit(st->db))
		queue_wait(st); /* a write, or BEGIN IMMEDIATE: take a turn first */
	return s;
}

/* Checkpoints, once the writer that grew the WAL has left the queue.
 *
 * SQLite's own automatic checkpoint runs inside the COMMIT that grows the
 * WAL past its limit: after SQLite's write lock is free, but before
 * done() gives the writer's turn back. Its two fsyncs and the copying of
 * a thousand pages would then stop every queued writer, where SQLite alone
 * lets them go on writing to the WAL meanwhile; on a slow disk that is
 * seconds of a burst's five. So a store's WAL hook only notes that a
 * checkpoint is due (it replaces the automatic one), and the writer runs
 * it, passive, after leaving the queue: it copies what no reader still
 * needs and waits for nobody. */
#define WAL_CHECKPOINT_PAGES 1000 /* SQLite's default for its automatic one */

static int wal_grew(void *ctx, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	if (pages >= WAL_CHECKPOINT_PAGES)
		((struct sqlite_store *)ctx)->checkpoint_due = 1;
	return SQLITE_OK;
}

static void checkpoint_if_due(struct sqlite_store *st)
{
	if (!st->checkpoint_due || !sqlite3_get_autocommit(st->db) || queue_head == st)
		return;
	st->checkpoint_due = 0;
	long long t0 = monotonic_ms();
	int wal = 0, copied = 0;
	int rc = sqlite3_wal_checkpoint_v2(st->db, "main", SQLITE_CHECKPOINT_PASSIVE, &wal, &copied);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY) /* busy: another checkpoint runs; the next commit asks again */
		log_warn("database %s: checkpoint failed: %s", st->path, sqlite3_errmsg(st->db));
	long long ms = monotonic_ms() - t0;
	/* A slow disk shows here first (its fsyncs), before writers queue. */
	if (ms >= QUEUE_SLOW_MS)
		log_info("database %s: a checkpoint took %lld ms (%d of %d pages copied)", st->path, ms, copied, wal);
}

static void done(struct sqlite_store *st, sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	queue_after(st->db);
	checkpoint_if_due(st);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static char *col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? xstrdup((const char *)t) : NULL;
}

/* Runs a statement that returns no rows; returns a store_rc. */
static int exec_stmt(struct sqlite_store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	int out = rc == SQLITE_DONE ? STORE_OK : rc == SQLITE_CONSTRAINT ? STORE_CONFLICT : rc_of(st, rc, what);
	done(st, s);
	return out;
}

/* Counts the rows PRAGMA foreign_key_check reports (-1 when it cannot run). */
static int foreign_key_violations(sqlite3 *db)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &s, NULL) != SQLITE_OK)
		return -1;
	int n = 0, rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		n++;
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? n : -1;
}

/* Runs the missing migrations in one transaction. Foreign keys are off
 * around it (PRAGMA foreign_keys cannot change inside a transaction), as
 * SQLite's procedure for rebuilding a table asks: dropping a parent table
 * would otherwise cascade. They are checked before the commit instead, and
 * switched back on whatever happens. */
static int migrate_locked(struct sqlite_store *st, char *err, size_t errlen)
{
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot lock %s to migrate it: %s", st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	/* Another process may have migrated while we waited for the lock. */
	int version = sqlite_schema_version(&st->pub);
	for (int v = version; v < N_MIGRATIONS && v >= 0; v++) {
		char *msg = NULL;
		if (sqlite3_exec(st->db, migrations[v], NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "migration %d of %s failed: %s", v + 1, st->path, msg ? msg : "?");
			sqlite3_free(msg);
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		char pragma[64];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(st->db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "cannot record migration %d of %s", v + 1, st->path);
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	int bad = foreign_key_violations(st->db);
	if (bad != 0) {
		if (bad < 0)
			snprintf(err, errlen, "cannot check the foreign keys of %s after migrating: %s", st->path,
				 sqlite3_errmsg(st->db));
		else
			snprintf(err, errlen, "migrating %s would leave %d rows pointing at rows that do not exist;"
				 " nothing was changed: restore a sound backup or repair them first", st->path, bad);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot commit the migration of %s: %s", st->path, sqlite3_errmsg(st->db));
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int migrate(struct sqlite_store *st, char *err, size_t errlen)
{
	int version = sqlite_schema_version(&st->pub);
	if (version < 0) {
		snprintf(err, errlen, "cannot read the schema version of %s: %s", st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	if (version == N_MIGRATIONS)
		return 0;
	if (version > N_MIGRATIONS) {
		/* An older binary beside a newer schema: migrations only add, so read on. */
		return 0;
	}
	/* Prepared statements name tables a migration may rebuild. */
	for (int i = 0; i < S_COUNT; i++) {
		sqlite3_finalize(st->stmt[i]);
		st->stmt[i] = NULL;
	}
	if (sqlite3_exec(st->db, "PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = OFF", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "cannot prepare %s for migration: %s", st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	int rc = migrate_locked(st, err, errlen);
	if (sqlite3_exec(st->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK && rc == 0) {
		snprintf(err, errlen, "cannot turn foreign keys back on for %s: %s", st->path, sqlite3_errmsg(st->db));
		rc = -1;
	}
	return rc;
}

int store_schema_latest(void)
{
	return N_MIGRATIONS;
}

static int sqlite_schema_version(struct store *pub)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	int v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	return v;
}

int store_sqlite_open(const char *database, struct store **out, char *err, size_t errlen)
{
	*out = NULL;
	struct sqlite_store *st = xcalloc(1, sizeof *st);
	st->pub.ops = &store_sqlite_ops;
	st->path = xstrdup(database);
	st->queue_fd = -1;
	/* Nothing reads SQLite's memory statistics; keeping them costs a mutex
	 * and bookkeeping on every allocation (bench/README.md has the measure).
	 * It only takes effect before SQLite's first use in a process; later
	 * calls answer SQLITE_MISUSE and change nothing. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	int rc = sqlite3_open_v2(database, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s; check that its directory exists and is writable",
			 database, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		sqlite_close(&st->pub);
		return -1;
	}
	sqlite3_extended_result_codes(st->db, 0);
	st->busy_ms = STORE_BUSY_MS;
	st->busy_seed = (unsigned)getpid() ^ (unsigned)monotonic_ms();
	sqlite3_busy_handler(st->db, busy_wait, st);
	sqlite3_wal_hook(st->db, wal_grew, st);
	/* Every CGI run is a new connection and often the last one to close.
	 * The last close still checkpoints, and journal_size_limit then empties
	 * the WAL, so the database file is whole at rest as before; but the
	 * -wal and -shm files stay instead of being deleted by one run and
	 * created by the next, which cost every run file-system work
	 * (bench/README.md has the measure). */
	int persist_wal = 1;
	sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist_wal);
	/* WAL is persistent in the file; the others are per connection. */
	static const char pragmas[] =
	    "PRAGMA journal_mode = WAL;"
	    "PRAGMA journal_size_limit = 4194304;"
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA temp_store = MEMORY;";
	char *msg = NULL;
	rc = sqlite3_exec(st->db, pragmas, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		/* A full disk or a read-only directory shows up here first, as an
		 * I/O or open error on the -wal and -shm files: say what to check. */
		int disk = rc == SQLITE_FULL || rc == SQLITE_IOERR || rc == SQLITE_READONLY || rc == SQLITE_CANTOPEN;
		snprintf(err, errlen, "cannot configure database %s: %s%s", database, msg ? msg : "?",
			 disk ? "; check free disk space and that the file and its directory are writable" : "");
		sqlite3_free(msg);
		sqlite_close(&st->pub);
		return -1;
	}
	if (migrate(st, err, errlen) < 0) {
		sqlite_close(&st->pub);
		return -1;
	}
	*out = &st->pub;
	return 0;
}

static void sqlite_close(struct store *pub)
{
	struct sqlite_store *st = sq(pub);
	if (!st)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	/* The last connection to close checkpoints: not while others queue. */
	queue_leave(st);
	if (queue_current == st)
		queue_current = NULL;
	if (st->db && sqlite3_close(st->db) != SQLITE_OK)
		log_warn("database %s did not close cleanly", st->path);
	if (st->queue_fd >= 0 && st->queue_pid == getpid())
		close(st->queue_fd);
	free(st->path);
	free(st);
}

static int sqlite_ping(struct store *pub)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_PING);
	if (!s)
		return STORE_ERROR;
	int rc = sqlite3_step(s);
	int out = rc == SQLITE_ROW ? STORE_OK : rc_of(st, rc, "health check");
	done(st, s);
	return out;
}

static int sqlite_begin(struct store *pub)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_BEGIN);
	return s ? exec_stmt(st, s, "begin") : STORE_ERROR;
}

static int sqlite_commit(struct store *pub)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_COMMIT);
	int rc = s ? exec_stmt(st, s, "commit") : STORE_ERROR;
	if (rc != STORE_OK)
		sqlite_rollback(&st->pub);
	return rc;
}

static int sqlite_end_request(struct store *pub)
{
	struct sqlite_store *st = sq(pub);
	int reset = 0;
	if (!st || !st->db)
		return 0;
	for (sqlite3_stmt *s = sqlite3_next_stmt(st->db, NULL); s; s = sqlite3_next_stmt(st->db, s)) {
		if (!sqlite3_stmt_busy(s))
			continue;
		/* A statement left stepping holds a read snapshot that would
		 * make this connection's next write fail as busy. */
		log_warn("a statement was left unfinished by the request; reset it: %.80s", sqlite3_sql(s));
		sqlite3_reset(s);
		reset++;
	}
	return reset;
}

static int sqlite_in_transaction(struct store *pub)
{
	struct sqlite_store *st = sq(pub);
	if (!st || !st->db || sqlite3_get_autocommit(st->db))
		return 0;
	return sqlite3_txn_state(st->db, NULL) == SQLITE_TXN_WRITE ? 2 : 1;
}

static void sqlite_rollback(struct store *pub)
{
	struct sqlite_store *st = sq(pub);
	if (sqlite3_get_autocommit(st->db))
		return;
	sqlite3_stmt *s = stmt(st, S_ROLLBACK);
	if (s && exec_stmt(st, s, "rollback") != STORE_OK)
		log_error("rollback of %s failed", st->path);
}

/* ---- users ---- */

/* Reads role, status, the two budgets and last_seen from column i on. */
static void user_extra(sqlite3_stmt *s, int i, struct user *u)
{
	u->role = col_text(s, i);
	u->status = col_text(s, i + 1);
	u->quota_prompts_day = sqlite3_column_type(s, i + 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, i + 2);
	u->quota_tokens_month = sqlite3_column_type(s, i + 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, i + 3);
	u->last_seen = sqlite3_column_int64(s, i + 4);
}

static int sqlite_user_create(struct store *pub, const char *username, const char *key,
			      const char *password_hash, long long now, long long *id)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_USER_CREATE);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, username);
	bind_text(s, 2, key);
	bind_text(s, 3, password_hash);
	sqlite3_bind_int64(s, 4, now);
	int rc = exec_stmt(st, s, "create user");
	if (rc == STORE_OK && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

static int sqlite_user_find(struct store *pub, const char *key, struct user *out)
{
	struct sqlite_store *st = sq(pub);
	memset(out, 0, sizeof *out);
	sqlite3_stmt *s = stmt(st, S_USER_FIND);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, key);
	int rc = sqlite3_step(s), out_rc;
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(s, 0);
		out->username = col_text(s, 1);
		out->password_hash = col_text(s, 2);
		out->created_at = sqlite3_column_int64(s, 3);
		user_extra(s, 4, out);
		out_rc = STORE_OK;
	} else {
		out_rc = rc == SQLITE_DONE ? STORE_NOTFOUND : rc_of(st, rc, "find user");
	}
	done(st, s);
	return out_rc;
}

static int sqlite_user_set_hash(struct store *pub, long long id, const char *password_hash)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_USER_SET_HASH);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, password_hash);
	return exec_stmt(st, s, "update password hash");
}

static int sqlite_user_delete(struct store *pub, const char *key)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_USER_DELETE);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, key);
	int rc = exec_stmt(st, s, "delete user");
	if (rc == STORE_OK && sqlite3_changes(st->db) == 0)
		rc = STORE_NOTFOUND;
	return rc;
}

static int sqlite_users_each(struct store *pub, void (*fn)(void *ctx, const struct user *u,
							  long long conversations, long long messages), void *ctx)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_USERS_EACH);
	if (!s)
		return STORE_ERROR;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct user u = {.id = sqlite3_column_int64(s, 0),
				 .username = col_text(s, 1),
				 .created_at = sqlite3_column_int64(s, 2),
				 .role = col_text(s, 3),
				 .status = col_text(s, 4),
				 .last_seen = sqlite3_column_int64(s, 5)};
		fn(ctx, &u, sqlite3_column_int64(s, 6), sqlite3_column_int64(s, 7));
		store_user_free(&u);
	}
	int out = rc == SQLITE_DONE ? STORE_OK : rc_of(st, rc, "list users");
	done(st, s);
	return out;
}

/* ---- sessions ---- */

static int sqlite_session_insert(struct store *pub, const char *token_hash, long long user_id,
				 const char *ua_hash, long long now)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_SESSION_INSERT);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, token_hash);
	sqlite3_bind_int64(s, 2, user_id);
	bind_text(s, 3, ua_hash);
	sqlite3_bind_int64(s, 4, now);
	return exec_stmt(st, s, "create session");
}

static int sqlite_session_find(struct store *pub, const char *token_hash, struct session *out)
{
	struct sqlite_store *st = sq(pub);
	memset(out, 0, sizeof *out);
	sqlite3_stmt *s = stmt(st, S_SESSION_FIND);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, token_hash);
	int rc = sqlite3_step(s), out_rc;
	if (rc == SQLITE_ROW) {
		out->user_id = sqlite3_column_int64(s, 0);
		out->username = col_text(s, 1);
		out->ua_hash = col_text(s, 2);
		out->created_at = sqlite3_column_int64(s, 3);
		out->last_seen = sqlite3_column_int64(s, 4);
		out->role = col_text(s, 5);
		out->status = col_text(s, 6);
		out_rc = STORE_OK;
	} else {
		out_rc = rc == SQLITE_DONE ? STORE_NOTFOUND : rc_of(st, rc, "find session");
	}
	done(st, s);
	return out_rc;
}

static int sqlite_session_touch(struct store *pub, const char *token_hash, long long now)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_SESSION_TOUCH);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, token_hash);
	sqlite3_bind_int64(s, 2, now);
	return exec_stmt(st, s, "touch session");
}

static int sqlite_session_delete(struct store *pub, const char *token_hash)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_SESSION_DELETE);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, token_hash);
	return exec_stmt(st, s, "delete session");
}

static int sqlite_session_purge(struct store *pub, long long idle_before, long long created_before)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_SESSION_PURGE);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, idle_before);
	sqlite3_bind_int64(s, 2, created_before);
	return exec_stmt(st, s, "purge sessions");
}

/* ---- rate limits ---- */

static int sqlite_rate_count(struct store *pub, const char *bucket, long long since,
			     long long *count, long long *oldest)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_RATE_COUNT);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, bucket);
	sqlite3_bind_int64(s, 2, since);
	int rc = sqlite3_step(s), out;
	if (rc == SQLITE_ROW) {
		*count = sqlite3_column_int64(s, 0);
		*oldest = sqlite3_column_int64(s, 1);
		out = STORE_OK;
	} else {
		out = rc_of(st, rc, "count rate events");
	}
	done(st, s);
	return out;
}

static int sqlite_rate_add(struct store *pub, const char *bucket, long long now)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_RATE_ADD);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, bucket);
	sqlite3_bind_int64(s, 2, now);
	return exec_stmt(st, s, "record rate event");
}

static int sqlite_rate_purge(struct store *pub, long long before)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_RATE_PURGE);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, before);
	return exec_stmt(st, s, "purge rate events");
}

/* SQLite: BEGIN IMMEDIATE takes the database's one write lock before the
 * count, so no other writer counts between this count and its insert. */
static int sqlite_rate_take(struct store *pub, const char *bucket, long long limit, long long window_ms,
				    long long now, int record, int *allowed, long long *wait_ms)
{
	long long events = 0, oldest = 0;
	*allowed = 0;
	*wait_ms = 0;
	int rc = sqlite_begin(pub);
	if (rc != STORE_OK)
		return rc;
	rc = sqlite_rate_count(pub, bucket, now - window_ms + 1, &events, &oldest);
	if (rc == STORE_OK && events >= limit) {
		sqlite_rollback(pub);
		*wait_ms = oldest + window_ms - now;
		return STORE_OK;
	}
	if (rc == STORE_OK && record)
		rc = sqlite_rate_add(pub, bucket, now);
	if (rc != STORE_OK) {
		sqlite_rollback(pub);
		return rc;
	}
	rc = sqlite_commit(pub);
	if (rc == STORE_OK)
		*allowed = 1;
	return rc;
}

/* ---- conversations ---- */

static void conv_from_row(sqlite3_stmt *s, struct conversation *c)
{
	c->id = sqlite3_column_int64(s, 0);
	c->title = col_text(s, 1);
	c->created_at = sqlite3_column_int64(s, 2);
	c->updated_at = sqlite3_column_int64(s, 3);
	c->leaf_id = sqlite3_column_count(s) > 4 ? sqlite3_column_int64(s, 4) : 0;
}

static int sqlite_conv_create(struct store *pub, long long user_id, const char *title, long long now,
			      struct conversation *out)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_CONV_CREATE);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	bind_text(s, 2, title);
	sqlite3_bind_int64(s, 3, now);
	int rc = exec_stmt(st, s, "create conversation");
	if (rc == STORE_OK) {
		out->id = sqlite3_last_insert_rowid(st->db);
		out->title = xstrdup(title);
		out->created_at = out->updated_at = now;
	}
	return rc;
}

static int sqlite_conv_list(struct store *pub, long long user_id, struct conversation **list, size_t *n)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	sqlite3_stmt *s = stmt(st, S_CONV_LIST);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*list = xrealloc(*list, cap * sizeof **list);
		}
		conv_from_row(s, &(*list)[(*n)++]);
	}
	int out = rc == SQLITE_DONE ? STORE_OK : rc_of(st, rc, "list conversations");
	done(st, s);
	return out;
}

static int sqlite_conv_get(struct store *pub, long long user_id, long long id, struct conversation *out)
{
	struct sqlite_store *st = sq(pub);
	memset(out, 0, sizeof *out);
	sqlite3_stmt *s = stmt(st, S_CONV_GET);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, id);
	int rc = sqlite3_step(s), out_rc;
	if (rc == SQLITE_ROW) {
		conv_from_row(s, out);
		out_rc = STORE_OK;
	} else {
		out_rc = rc == SQLITE_DONE ? STORE_NOTFOUND : rc_of(st, rc, "read conversation");
	}
	done(st, s);
	return out_rc;
}

/* Runs an update of one owned row; no row changed means not found. */
static int exec_owned(struct sqlite_store *st, sqlite3_stmt *s, const char *what)
{
	int rc = exec_stmt(st, s, what);
	if (rc == STORE_OK && sqlite3_changes(st->db) == 0)
		rc = STORE_NOTFOUND;
	return rc;
}

static int sqlite_conv_rename(struct store *pub, long long user_id, long long id, const char *title,
			      long long now)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_CONV_RENAME);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, id);
	bind_text(s, 3, title);
	sqlite3_bind_int64(s, 4, now);
	return exec_owned(st, s, "rename conversation");
}

static int sqlite_conv_touch(struct store *pub, long long user_id, long long id, long long now)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_CONV_TOUCH);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int64(s, 3, user_id);
	return exec_owned(st, s, "touch conversation");
}

static int sqlite_conv_delete(struct store *pub, long long user_id, long long id)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_CONV_DELETE);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, id);
	return exec_owned(st, s, "delete conversation");
}

static int sqlite_conv_clear(struct store *pub, long long user_id, long long *n)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_CONV_CLEAR);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	int rc = exec_stmt(st, s, "clear conversations");
	if (n)
		*n = rc == STORE_OK ? sqlite3_changes(st->db) : 0;
	return rc;
}

static int sqlite_conv_clear_all(struct store *pub, long long *n)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_CONV_CLEAR_ALL);
	if (!s)
		return STORE_ERROR;
	int rc = exec_stmt(st, s, "clear all conversations");
	if (n)
		*n = rc == STORE_OK ? sqlite3_changes(st->db) : 0;
	return rc;
}

/* ---- messages ---- */

/* Binds html and its revision at i and i + 1: both NULL without html. */
static void bind_html(sqlite3_stmt *s, int i, const char *html, long long html_version)
{
	bind_text(s, i, html);
	if (html)
		sqlite3_bind_int64(s, i + 1, html_version);
	else
		sqlite3_bind_null(s, i + 1);
}

static int sqlite_msg_add(struct store *pub, long long user_id, long long conv_id, const char *role, const char *content,
			  const char *status, const char *model, const char *html, long long html_version,
			  long long now, long long *id)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_MSG_ADD);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, conv_id);
	bind_text(s, 2, role);
	bind_text(s, 3, content);
	bind_text(s, 4, status);
	bind_text(s, 5, model);
	sqlite3_bind_int64(s, 6, now);
	bind_html(s, 7, html, html_version);
	sqlite3_bind_int64(s, 9, user_id);
	int rc = exec_owned(st, s, "store message");
	if (rc == STORE_OK && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

static int sqlite_msg_finish(struct store *pub, long long user_id, long long conv_id, long long id, const char *content,
			     const char *reasoning, const char *status, const char *error, const char *html,
			     long long html_version)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_MSG_FINISH);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, content);
	bind_text(s, 3, reasoning && *reasoning ? reasoning : NULL);
	bind_text(s, 4, status);
	bind_text(s, 5, error);
	bind_html(s, 6, html, html_version);
	sqlite3_bind_int64(s, 8, conv_id);
	sqlite3_bind_int64(s, 9, user_id);
	return exec_owned(st, s, "finish message");
}

/* Columns 0-7 of every message query; 8 and 9 (html, html_version) only
 * where the statement selects them. */
static void msg_from_row(sqlite3_stmt *s, struct message *m)
{
	m->id = sqlite3_column_int64(s, 0);
	m->role = col_text(s, 1);
	m->content = col_text(s, 2);
	m->reasoning = col_text(s, 3);
	m->status = col_text(s, 4);
	m->model = col_text(s, 5);
	m->error = col_text(s, 6);
	m->created_at = sqlite3_column_int64(s, 7);
	m->html = NULL;
	m->html_version = 0;
	if (sqlite3_column_count(s) > 9) {
		m->html = col_text(s, 8);
		m->html_version = m->html ? sqlite3_column_int64(s, 9) : 0;
	}
}

static void reverse(struct message *list, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		struct message t = list[i];
		list[i] = list[n - 1 - i];
		list[n - 1 - i] = t;
	}
}

static int sqlite_msg_page(struct store *pub, long long user_id, long long conv_id, long long before, int limit,
			   struct message **list, size_t *n, int *has_more)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	*has_more = 0;
	sqlite3_stmt *s = stmt(st, S_MSG_PAGE);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, conv_id);
	sqlite3_bind_int64(s, 2, before > 0 ? before : (long long)9223372036854775807LL);
	sqlite3_bind_int(s, 3, limit + 1); /* one more tells whether older ones exist */
	sqlite3_bind_int64(s, 4, user_id);
	*list = xcalloc((size_t)limit + 1, sizeof **list);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == (size_t)limit) {
			*has_more = 1;
			continue;
		}
		msg_from_row(s, &(*list)[(*n)++]);
	}
	int out = rc == SQLITE_DONE ? STORE_OK : rc_of(st, rc, "read messages");
	done(st, s);
	reverse(*list, *n);
	return out;
}

static int sqlite_msg_context(struct store *pub, long long user_id, long long conv_id, long long before,
			      long long budget, struct message **list, size_t *n)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	sqlite3_stmt *s = stmt(st, S_MSG_CONTEXT);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, conv_id);
	sqlite3_bind_int64(s, 2, before > 0 ? before : (long long)9223372036854775807LL);
	sqlite3_bind_int64(s, 3, user_id);
	size_t cap = 0;
	long long used = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		long long len = sqlite3_column_bytes(s, 2);
		if (used + len > budget)
			break;
		used += len;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*list = xrealloc(*list, cap * sizeof **list);
		}
		msg_from_row(s, &(*list)[(*n)++]);
	}
	int out = rc == SQLITE_DONE || rc == SQLITE_ROW ? STORE_OK : rc_of(st, rc, "read context");
	done(st, s);
	reverse(*list, *n);
	return out;
}

static int sqlite_msg_unrendered(struct store *pub, long long html_version, long long after, int limit,
				 struct message **list, size_t *n)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	sqlite3_stmt *s = stmt(st, S_MSG_UNRENDERED);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, html_version);
	sqlite3_bind_int(s, 3, limit);
	*list = xcalloc(limit > 0 ? (size_t)limit : 1, sizeof **list);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < (size_t)limit)
		msg_from_row(s, &(*list)[(*n)++]);
	int out = rc == SQLITE_DONE || rc == SQLITE_ROW ? STORE_OK : rc_of(st, rc, "list messages to render");
	done(st, s);
	return out;
}

static int sqlite_msg_set_html(struct store *pub, long long id, const char *content, const char *html,
			       long long html_version)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_MSG_SET_HTML);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, content);
	bind_html(s, 3, html, html_version);
	return exec_owned(st, s, "store rendered message");
}

/* ---- turns in flight ---- */

static int sqlite_turn_reap(struct store *pub, long long stale_before, const char *host, long long local_stale_before)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_TURN_REAP);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, stale_before);
	sqlite3_bind_text(s, 2, host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, local_stale_before);
	return exec_stmt(st, s, "reap stale turns");
}

static int sqlite_turn_on_host(struct store *pub, const char *host, struct turn_row **list, size_t *n)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	sqlite3_stmt *s = stmt(st, S_TURN_ON_HOST);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, host);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*list = xrealloc(*list, cap * sizeof **list);
		}
		(*list)[*n].id = sqlite3_column_int64(s, 0);
		(*list)[*n].pid = sqlite3_column_int64(s, 1);
		(*list)[*n].heartbeat_at = sqlite3_column_int64(s, 2);
		(*n)++;
	}
	int out = rc == SQLITE_DONE ? STORE_OK : rc_of(st, rc, "list turns");
	done(st, s);
	return out;
}

static int sqlite_turn_drop(struct store *pub, long long id, long long pid)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_TURN_DROP);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, pid);
	return exec_stmt(st, s, "drop a dead turn");
}

static int sqlite_turn_count(struct store *pub, long long user_id, long long *mine, long long *all)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_TURN_COUNT);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	int rc = sqlite3_step(s), out;
	if (rc == SQLITE_ROW) {
		*mine = sqlite3_column_int64(s, 0);
		*all = sqlite3_column_int64(s, 1);
		out = STORE_OK;
	} else {
		out = rc_of(st, rc, "count turns");
	}
	done(st, s);
	return out;
}

static int sqlite_turn_add(struct store *pub, long long user_id, long long message_id, const char *host, long long pid,
			   long long now, long long *id)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_TURN_ADD);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, message_id);
	bind_text(s, 3, host);
	sqlite3_bind_int64(s, 4, pid);
	sqlite3_bind_int64(s, 5, now);
	int rc = exec_stmt(st, s, "record turn");
	if (rc == STORE_OK)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

/* SQLite: the count and the insert under the database's one write lock,
 * the caller's (chat.c holds BEGIN IMMEDIATE) or one of its own. */
static int sqlite_turn_take(struct store *pub, long long user_id, long long message_id, const char *host,
			    long long pid, long long now, long long per_user, long long total, long long *mine,
			    long long *all, long long *id)
{
	*id = 0;
	int own = sqlite_in_transaction(pub) == 0;
	int rc = own ? sqlite_begin(pub) : STORE_OK;
	if (rc != STORE_OK)
		return rc;
	rc = sqlite_turn_count(pub, user_id, mine, all);
	if (rc == STORE_OK && *mine < per_user && *all < total)
		rc = sqlite_turn_add(pub, user_id, message_id, host, pid, now, id);
	if (own && rc == STORE_OK)
		rc = sqlite_commit(pub);
	else if (own)
		sqlite_rollback(pub);
	if (rc != STORE_OK)
		*id = 0;
	return rc;
}

static int sqlite_turn_beat(struct store *pub, long long user_id, long long id, long long now)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_TURN_BEAT);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, user_id);
	sqlite3_bind_int64(s, 3, now);
	return exec_owned(st, s, "turn heartbeat");
}

static int sqlite_turn_end(struct store *pub, long long user_id, long long id)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_TURN_END);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, user_id);
	return exec_owned(st, s, "end turn");
}

static int sqlite_turn_set_pid(struct store *pub, long long user_id, long long id, const char *host, long long pid,
			       long long now)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_TURN_SET_PID);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, user_id);
	bind_text(s, 3, host);
	sqlite3_bind_int64(s, 4, pid);
	sqlite3_bind_int64(s, 5, now);
	return exec_owned(st, s, "turn process");
}

static int sqlite_turn_of_msg(struct store *pub, long long user_id, long long message_id, struct turn_state *out)
{
	struct sqlite_store *st = sq(pub);
	memset(out, 0, sizeof *out);
	sqlite3_stmt *s = stmt(st, S_TURN_OF_MSG);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, message_id);
	sqlite3_bind_int64(s, 2, user_id);
	int rc = sqlite3_step(s), out_rc;
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(s, 0);
		const unsigned char *h = sqlite3_column_text(s, 1);
		snprintf(out->host, sizeof out->host, "%s", h ? (const char *)h : "");
		out->pid = sqlite3_column_int64(s, 2);
		out->heartbeat_at = sqlite3_column_int64(s, 3);
		out->stop_requested = sqlite3_column_int(s, 4);
		out_rc = STORE_OK;
	} else {
		out_rc = rc == SQLITE_DONE ? STORE_NOTFOUND : rc_of(st, rc, "read turn");
	}
	done(st, s);
	return out_rc;
}

static int sqlite_turn_stop(struct store *pub, long long user_id, long long message_id)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_TURN_STOP);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, message_id);
	sqlite3_bind_int64(s, 2, user_id);
	return exec_owned(st, s, "stop turn");
}

static int sqlite_turn_stop_flag(struct store *pub, long long user_id, long long id, int *stop)
{
	struct sqlite_store *st = sq(pub);
	*stop = 0;
	sqlite3_stmt *s = stmt(st, S_TURN_STOP_FLAG);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, user_id);
	int rc = sqlite3_step(s), out_rc = STORE_OK;
	if (rc == SQLITE_ROW)
		*stop = sqlite3_column_int(s, 0);
	else if (rc != SQLITE_DONE)
		out_rc = rc_of(st, rc, "read stop flag");
	done(st, s);
	return out_rc;
}

static int sqlite_msg_add_under(struct store *pub, long long user_id, long long conv_id, long long parent_id,
				const char *role, const char *content, const char *status, const char *model,
				const char *html, long long html_version, long long now, long long *id)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_MSG_ADD_UNDER);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, conv_id);
	bind_text(s, 2, role);
	bind_text(s, 3, content);
	bind_text(s, 4, status);
	bind_text(s, 5, model);
	sqlite3_bind_int64(s, 6, now);
	bind_html(s, 7, html, html_version);
	sqlite3_bind_int64(s, 9, user_id);
	sqlite3_bind_int64(s, 10, parent_id);
	int rc = exec_owned(st, s, "store message");
	if (rc == STORE_OK && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

static int sqlite_msg_get(struct store *pub, long long user_id, long long id, struct message *out, long long *conv_id)
{
	struct sqlite_store *st = sq(pub);
	memset(out, 0, sizeof *out);
	*conv_id = 0;
	sqlite3_stmt *s = stmt(st, S_MSG_GET);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, user_id);
	int rc = sqlite3_step(s), out_rc;
	if (rc == SQLITE_ROW) {
		msg_from_row(s, out);
		*conv_id = sqlite3_column_int64(s, 10);
		out->parent_id = sqlite3_column_int64(s, 11);
		out_rc = STORE_OK;
	} else {
		out_rc = rc == SQLITE_DONE ? STORE_NOTFOUND : rc_of(st, rc, "read message");
	}
	done(st, s);
	return out_rc;
}

static int sqlite_msg_progress(struct store *pub, long long user_id, long long conv_id, long long id, const char *content,
			       const char *reasoning)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_MSG_PROGRESS);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, content);
	bind_text(s, 3, reasoning && *reasoning ? reasoning : NULL);
	sqlite3_bind_int64(s, 4, conv_id);
	sqlite3_bind_int64(s, 5, user_id);
	return exec_owned(st, s, "save answer so far");
}

static int sqlite_msg_tree(struct store *pub, long long user_id, long long conv_id, struct msg_node **list, size_t *n)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	sqlite3_stmt *s = stmt(st, S_MSG_TREE);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, conv_id);
	sqlite3_bind_int64(s, 2, user_id);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*list = xrealloc(*list, cap * sizeof **list);
		}
		struct msg_node *m = &(*list)[(*n)++];
		m->id = sqlite3_column_int64(s, 0);
		m->parent_id = sqlite3_column_int64(s, 1);
		const unsigned char *role = sqlite3_column_text(s, 2);
		m->is_user = role && strcmp((const char *)role, "user") == 0;
	}
	int out = rc == SQLITE_DONE ? STORE_OK : rc_of(st, rc, "read message tree");
	done(st, s);
	return out;
}

/* Walks up the branch by the tree's ids (one indexed read), then reads the
 * ok messages by id, newest first, until the budget is spent: no query
 * walks the table or sorts. */
static int sqlite_msg_branch_context(struct store *pub, long long user_id, long long conv_id, long long from,
				     long long budget, struct message **list, size_t *n)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	struct msg_node *tree;
	size_t nt;
	int rc = sqlite_msg_tree(&st->pub, user_id, conv_id, &tree, &nt);
	const struct msg_node *at = rc == STORE_OK ? branch_node(tree, nt, from) : NULL;
	size_t cap = 0, steps = 0;
	long long used = 0;
	while (rc == STORE_OK && at && at->parent_id && at->parent_id < at->id && steps++ < 1000) {
		at = branch_node(tree, nt, at->parent_id);
		if (!at)
			break;
		struct message m;
		long long in_conv;
		rc = sqlite_msg_get(&st->pub, user_id, at->id, &m, &in_conv);
		if (rc != STORE_OK)
			break;
		long long len = (long long)strlen(m.content);
		if (strcmp(m.status, "ok") != 0 || in_conv != conv_id) {
			store_msg_free(&m);
			continue;
		}
		if (used + len > budget) {
			store_msg_free(&m);
			break;
		}
		used += len;
		free(m.html);
		m.html = NULL;
		m.html_version = 0;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*list = xrealloc(*list, cap * sizeof **list);
		}
		(*list)[(*n)++] = m;
	}
	free(tree);
	reverse(*list, *n);
	return rc;
}

static int sqlite_conv_set_leaf(struct store *pub, long long user_id, long long conv_id, long long leaf_id)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_CONV_SET_LEAF);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, conv_id);
	sqlite3_bind_int64(s, 3, leaf_id);
	return exec_owned(st, s, "remember the branch shown");
}

/* ---- search (README, "Search") ---- */

static int search_run(struct sqlite_store *st, enum stmt_id id, long long user_id, const char *fts, int limit,
		      struct search_hit **list, size_t *n, size_t *cap)
{
	sqlite3_stmt *s = stmt(st, id);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, fts);
	sqlite3_bind_int64(s, 2, user_id);
	sqlite3_bind_int(s, 3, limit);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*list = xrealloc(*list, *cap * sizeof **list);
		}
		struct search_hit *h = &(*list)[(*n)++];
		h->conversation_id = sqlite3_column_int64(s, 0);
		h->conversation_title = col_text(s, 1);
		h->message_id = sqlite3_column_int64(s, 2);
		h->role = col_text(s, 3);
		h->snippet = col_text(s, 4);
		h->created_at = sqlite3_column_int64(s, 5);
		h->rank = sqlite3_column_double(s, 6);
	}
	int out = rc == SQLITE_DONE ? STORE_OK : rc_of(st, rc, "search");
	done(st, s);
	return out;
}

/* Best rank first (bm25 is lower for better), then newest; ties end on
 * the message id, then the conversation's (title hits have no message),
 * as on PostgreSQL: qsort is not stable. */
static int hit_cmp(const void *a, const void *b)
{
	const struct search_hit *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->created_at != y->created_at)
		return x->created_at > y->created_at ? -1 : 1;
	if (x->message_id != y->message_id)
		return x->message_id > y->message_id ? -1 : 1;
	return x->conversation_id > y->conversation_id ? -1 : x->conversation_id < y->conversation_id;
}

char *store_sqlite_fts5_query(const struct search_query *q)
{
	struct buf out = BUF_INIT;
	for (size_t t = 0; t < q->n; t++) {
		if (out.len)
			buf_append_char(&out, ' ');
		buf_append_char(&out, '"');
		for (const char *c = q->terms[t].text; *c; c++) {
			if (*c == '"')
				buf_append_str(&out, "\"\"");
			else
				buf_append_char(&out, *c);
		}
		buf_append_char(&out, '"');
		if (q->terms[t].prefix)
			buf_append_char(&out, '*');
	}
	return buf_detach(&out);
}

static int sqlite_search(struct store *pub, long long user_id, const struct search_query *q, int limit,
			 struct search_hit **list, size_t *n)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	size_t cap = 0;
	char *fts_query = store_sqlite_fts5_query(q);
	int rc = search_run(st, S_SEARCH_TITLES, user_id, fts_query, limit, list, n, &cap);
	if (rc == STORE_OK)
		rc = search_run(st, S_SEARCH_MSGS, user_id, fts_query, limit, list, n, &cap);
	free(fts_query);
	if (rc != STORE_OK) {
		store_search_free(*list, *n);
		*list = NULL;
		*n = 0;
		return rc;
	}
	if (*n > 1)
		qsort(*list, *n, sizeof **list, hit_cmp);
	while (*n > (size_t)limit) {
		struct search_hit *h = &(*list)[--*n];
		free(h->conversation_title);
		free(h->role);
		free(h->snippet);
	}
	return STORE_OK;
}

static int sqlite_msg_page_around(struct store *pub, long long user_id, long long conv_id, long long msg_id,
				  int limit, struct message **list, size_t *n, int *has_more, int *has_newer)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	*has_more = *has_newer = 0;
	sqlite3_stmt *s = stmt(st, S_MSG_IN_CONV);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, msg_id);
	sqlite3_bind_int64(s, 2, conv_id);
	sqlite3_bind_int64(s, 3, user_id);
	int rc = sqlite3_step(s);
	int out = rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : rc_of(st, rc, "find message");
	done(st, s);
	if (out != STORE_OK)
		return out;
	/* The page ends just before the message half a page newer than the
	 * target, so the target sits in its middle; near the end it is the
	 * newest page. */
	s = stmt(st, S_MSG_NEWER_NTH);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, conv_id);
	sqlite3_bind_int64(s, 2, msg_id);
	sqlite3_bind_int(s, 3, limit / 2);
	long long before = 0;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		before = sqlite3_column_int64(s, 0);
	out = rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : rc_of(st, rc, "find the page of a message");
	done(st, s);
	if (out != STORE_OK)
		return out;
	*has_newer = before > 0;
	return sqlite_msg_page(&st->pub, user_id, conv_id, before, limit, list, n, has_more);
}

/* ---- export and import (README, "Export and import") ---- */

static int sqlite_msg_after(struct store *pub, long long user_id, long long conv_id, long long after, int limit,
			    struct message **list, size_t *n)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	sqlite3_stmt *s = stmt(st, S_MSG_AFTER);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, conv_id);
	sqlite3_bind_int64(s, 2, after);
	sqlite3_bind_int(s, 3, limit);
	sqlite3_bind_int64(s, 4, user_id);
	*list = xcalloc(limit > 0 ? (size_t)limit : 1, sizeof **list);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < (size_t)limit)
		msg_from_row(s, &(*list)[(*n)++]);
	int out = rc == SQLITE_DONE || rc == SQLITE_ROW ? STORE_OK : rc_of(st, rc, "read messages in order");
	done(st, s);
	return out;
}

static int sqlite_import_conv(struct store *pub, long long user_id, const char *title, long long created_at,
			      long long updated_at, long long *id)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_IMPORT_CONV);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	bind_text(s, 2, title);
	sqlite3_bind_int64(s, 3, created_at);
	sqlite3_bind_int64(s, 4, updated_at);
	int rc = exec_stmt(st, s, "import conversation");
	if (rc == STORE_OK)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

static int sqlite_import_msg(struct store *pub, long long user_id, long long conv_id, const struct message_in *m)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_IMPORT_MSG);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, conv_id);
	bind_text(s, 3, m->role);
	bind_text(s, 4, m->content);
	bind_text(s, 5, m->reasoning && *m->reasoning ? m->reasoning : NULL);
	bind_text(s, 6, m->status);
	bind_text(s, 7, m->model);
	bind_text(s, 8, m->error);
	sqlite3_bind_int64(s, 9, m->created_at);
	bind_html(s, 10, m->html, m->html_version);
	return exec_owned(st, s, "import message");
}

/* ---- operations ---- */

static long long count_of(struct sqlite_store *st, const char *q)
{
	sqlite3_stmt *s;
	long long v = -1;
	if (sqlite3_prepare_v2(st->db, q, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int sqlite_stats(struct store *pub, struct store_stats *out)
{
	struct sqlite_store *st = sq(pub);
	out->users = count_of(st, "SELECT count(*) FROM users");
	out->sessions = count_of(st, "SELECT count(*) FROM sessions");
	out->conversations = count_of(st, "SELECT count(*) FROM conversations");
	out->messages = count_of(st, "SELECT count(*) FROM messages");
	out->rate_events = count_of(st, "SELECT count(*) FROM rate_events");
	out->schema_version = sqlite_schema_version(&st->pub);
	return out->users < 0 || out->messages < 0 ? STORE_ERROR : STORE_OK;
}

/* Copies every page of from into to with the online backup API. */
static int copy_db(struct sqlite_store *st, sqlite3 *to, sqlite3 *from)
{
	sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
	if (!b) {
		log_error("backup of %s: %s", st->path, sqlite3_errmsg(to));
		return STORE_ERROR;
	}
	int rc;
	do {
		rc = sqlite3_backup_step(b, 256);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(20);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	int fin = sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE || fin != SQLITE_OK) {
		log_error("backup of %s failed: %s", st->path, sqlite3_errstr(rc != SQLITE_DONE ? rc : fin));
		return STORE_ERROR;
	}
	return STORE_OK;
}

static int sqlite_backup(struct store *pub, const char *path)
{
	struct sqlite_store *st = sq(pub);
	sqlite3 *dst;
	if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		log_error("cannot create backup file %s: %s", path, sqlite3_errmsg(dst));
		sqlite3_close(dst);
		return STORE_ERROR;
	}
	int rc = copy_db(st, dst, st->db);
	if (rc == STORE_OK && sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK)
		rc = STORE_ERROR;
	sqlite3_close(dst);
	return rc;
}

/* The tables whose ids are never reused, and how to read their highest. */
static const char *const id_tables[][2] = {
	{"users", "SELECT max(id) FROM users"},
	{"conversations", "SELECT max(id) FROM conversations"},
	{"messages", "SELECT max(id) FROM messages"},
	{"api_tokens", "SELECT max(id) FROM api_tokens"},
	{"audit", "SELECT max(id) FROM audit"},
	{"gateway_calls", "SELECT max(id) FROM gateway_calls"},
};
#define N_ID_TABLES (sizeof id_tables / sizeof id_tables[0])

/* One integer from a query with an optional text parameter: 0 when it
 * returns NULL or nothing, or cannot run (a table not there yet). */
static long long value_of(sqlite3 *db, const char *q, const char *param)
{
	sqlite3_stmt *s;
	long long v = 0;
	if (sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK)
		return 0;
	if (param)
		bind_text(s, 1, param);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* The highest id each table has given out, rows deleted or not. */
static void high_water_read(struct sqlite_store *st, long long hw[N_ID_TABLES])
{
	for (size_t i = 0; i < N_ID_TABLES; i++) {
		long long used = value_of(st->db, id_tables[i][1], NULL);
		long long seq = value_of(st->db, "SELECT seq FROM sqlite_sequence WHERE name = ?1", id_tables[i][0]);
		hw[i] = used > seq ? used : seq;
	}
}

/* Raises sqlite_sequence to hw, so that ids handed out before a restore
 * or a reset are not handed out again: a turn still running from before
 * must find nothing of someone else's under its ids. */
static int high_water_keep(struct sqlite_store *st, const long long hw[N_ID_TABLES])
{
	int rc = sqlite_begin(&st->pub);
	for (size_t i = 0; i < N_ID_TABLES && rc == STORE_OK; i++) {
		if (hw[i] <= 0)
			continue;
		sqlite3_stmt *s;
		const char *q = value_of(st->db, "SELECT count(*) FROM sqlite_sequence WHERE name = ?1", id_tables[i][0])
				    ? "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1"
				    : "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)";
		if (sqlite3_prepare_v2(st->db, q, -1, &s, NULL) != SQLITE_OK) {
			rc = rc_of(st, sqlite3_errcode(st->db), "keep the id sequence");
			break;
		}
		bind_text(s, 1, id_tables[i][0]);
		sqlite3_bind_int64(s, 2, hw[i]);
		int step = sqlite3_step(s);
		if (step != SQLITE_DONE)
			rc = rc_of(st, step, "keep the id sequence");
		sqlite3_finalize(s);
	}
	if (rc == STORE_OK)
		return sqlite_commit(&st->pub);
	sqlite_rollback(&st->pub);
	return rc;
}

static int sqlite_restore(struct store *pub, const char *path)
{
	struct sqlite_store *st = sq(pub);
	sqlite3 *src;
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		log_error("cannot open backup file %s: %s", path, sqlite3_errmsg(src));
		sqlite3_close(src);
		return STORE_ERROR;
	}
	int rc = STORE_ERROR;
	sqlite3_stmt *chk;
	if (sqlite3_prepare_v2(src, "PRAGMA quick_check", -1, &chk, NULL) == SQLITE_OK) {
		if (sqlite3_step(chk) == SQLITE_ROW &&
		    strcmp((const char *)sqlite3_column_text(chk, 0), "ok") == 0)
			rc = STORE_OK;
		sqlite3_finalize(chk);
	}
	if (rc != STORE_OK) {
		log_error("backup file %s is not a sound SQLite database", path);
		sqlite3_close(src);
		return STORE_ERROR;
	}
	for (int i = 0; i < S_COUNT; i++) {
		sqlite3_finalize(st->stmt[i]);
		st->stmt[i] = NULL;
	}
	long long hw[N_ID_TABLES];
	high_water_read(st, hw);
	rc = copy_db(st, st->db, src);
	sqlite3_close(src);
	char err[256];
	if (rc == STORE_OK && migrate(st, err, sizeof err) < 0) {
		log_error("%s", err);
		rc = STORE_ERROR;
	}
	if (rc == STORE_OK)
		rc = high_water_keep(st, hw);
	return rc;
}

static int sqlite_reset(struct store *pub)
{
	struct sqlite_store *st = sq(pub);
	for (int i = 0; i < S_COUNT; i++) {
		sqlite3_finalize(st->stmt[i]);
		st->stmt[i] = NULL;
	}
	long long hw[N_ID_TABLES];
	high_water_read(st, hw);
	static const char drop[] =
	    "PRAGMA foreign_keys = OFF;"
	    "BEGIN IMMEDIATE;"
	    "DROP TABLE IF EXISTS turns;"
	    "DROP TABLE IF EXISTS api_tokens; DROP TABLE IF EXISTS invites; DROP TABLE IF EXISTS password_resets;"
	    "DROP TABLE IF EXISTS usage; DROP TABLE IF EXISTS audit; DROP TABLE IF EXISTS gateway_calls;"
	    "DROP TABLE IF EXISTS messages_fts; DROP TABLE IF EXISTS conversations_fts;"
	    "DROP TABLE IF EXISTS messages; DROP TABLE IF EXISTS conversations;"
	    "DROP TABLE IF EXISTS rate_events; DROP TABLE IF EXISTS sessions;"
	    "DROP TABLE IF EXISTS users; PRAGMA user_version = 0;"
	    "COMMIT; PRAGMA foreign_keys = ON;";
	char *msg = NULL;
	if (sqlite3_exec(st->db, drop, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("reset of %s failed: %s", st->path, msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return STORE_ERROR;
	}
	char err[256];
	if (migrate(st, err, sizeof err) < 0) {
		log_error("%s", err);
		return STORE_ERROR;
	}
	return high_water_keep(st, hw);
}

static int sqlite_read_begin(struct store *pub)
{
	struct sqlite_store *st = sq(pub);
	char *msg = NULL;
	if (sqlite3_exec(st->db, "BEGIN DEFERRED; SELECT count(*) FROM sqlite_schema;", NULL, NULL, &msg) != SQLITE_OK) {
		log_error("database %s: cannot begin a read snapshot: %s", st->path, msg ? msg : "?");
		sqlite3_free(msg);
		sqlite_rollback(&st->pub);
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* The tables and columns of schema 1: what a file needs to be ours. */
static const char *const required_columns[][2] = {
	{"users", "id"}, {"users", "username"}, {"users", "username_key"},
	{"users", "password_hash"}, {"users", "created_at"},
	{"sessions", "token_hash"}, {"sessions", "user_id"}, {"sessions", "ua_hash"},
	{"sessions", "created_at"}, {"sessions", "last_seen"},
	{"rate_events", "bucket"}, {"rate_events", "at"},
	{"conversations", "id"}, {"conversations", "user_id"}, {"conversations", "title"},
	{"conversations", "created_at"}, {"conversations", "updated_at"},
	{"messages", "id"}, {"messages", "conversation_id"}, {"messages", "role"},
	{"messages", "content"}, {"messages", "reasoning"}, {"messages", "status"},
	{"messages", "model"}, {"messages", "error"}, {"messages", "created_at"},
};

int store_check_file(const char *path, int *version, char *err, size_t errlen)
{
	*version = -1;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int ok = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL);
	if (rc == SQLITE_NOTADB || (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_NOTADB)) {
		snprintf(err, errlen, "%s is not a SQLite database", path);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		snprintf(err, errlen, "cannot check %s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	const unsigned char *verdict = sqlite3_column_text(s, 0);
	if (!verdict || strcmp((const char *)verdict, "ok") != 0) {
		snprintf(err, errlen, "%s is damaged (integrity check: %s)", path,
			 verdict ? (const char *)verdict : "no answer");
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		snprintf(err, errlen, "cannot read the schema version of %s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	int v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (v < 1) {
		snprintf(err, errlen, "%s has no AIFacade schema (schema version %d)", path, v);
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read the tables of %s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	for (size_t i = 0; i < sizeof required_columns / sizeof required_columns[0]; i++) {
		bind_text(s, 1, required_columns[i][0]);
		bind_text(s, 2, required_columns[i][1]);
		if (sqlite3_step(s) != SQLITE_ROW) {
			snprintf(err, errlen, "cannot read the tables of %s: %s", path, sqlite3_errmsg(db));
			goto out;
		}
		int n = sqlite3_column_int(s, 0);
		sqlite3_reset(s); /* a connection of its own, not a store: no queue */
		sqlite3_clear_bindings(s);
		if (n != 1) {
			snprintf(err, errlen, "%s is not an AIFacade database: it has no column %s.%s", path,
				 required_columns[i][0], required_columns[i][1]);
			goto out;
		}
	}
	*version = v;
	ok = 0;
out:
	sqlite3_finalize(s);
	if (db && sqlite3_close(db) != SQLITE_OK)
		log_warn("%s did not close cleanly", path);
	return ok;
}

const char *const store_table_names[STORE_N_TABLES] = {
	"users", "sessions", "rate_events", "conversations", "messages", "turns",
	"api_tokens", "invites", "password_resets", "usage", "audit", "gateway_calls",
};

/* Fixed text per table, in store_table_names' order. */
static const char *const table_counts[STORE_N_TABLES] = {
	"SELECT count(*) FROM users", "SELECT count(*) FROM sessions", "SELECT count(*) FROM rate_events",
	"SELECT count(*) FROM conversations", "SELECT count(*) FROM messages", "SELECT count(*) FROM turns",
	"SELECT count(*) FROM api_tokens", "SELECT count(*) FROM invites", "SELECT count(*) FROM password_resets",
	"SELECT count(*) FROM usage", "SELECT count(*) FROM audit", "SELECT count(*) FROM gateway_calls",
};

int store_file_counts(const char *path, long long counts[STORE_N_TABLES], char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int ok = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	/* One read transaction: every count from the same state of the file. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	for (int i = 0; i < STORE_N_TABLES && ok == 0; i++) {
		sqlite3_stmt *s;
		counts[i] = -1;
		if (sqlite3_prepare_v2(db, table_counts[i], -1, &s, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "cannot count the table %s of %s: %s", store_table_names[i], path,
				 sqlite3_errmsg(db));
			ok = -1;
			break;
		}
		if (sqlite3_step(s) == SQLITE_ROW)
			counts[i] = sqlite3_column_int64(s, 0);
		else {
			snprintf(err, errlen, "cannot count the table %s of %s: %s", store_table_names[i], path,
				 sqlite3_errmsg(db));
			ok = -1;
		}
		sqlite3_finalize(s);
	}
	/* It only read: closing ends the transaction if ROLLBACK could not. */
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (sqlite3_close(db) != SQLITE_OK)
		log_warn("%s did not close cleanly", path);
	return ok;
}

/* ---- accounts and administration ---- */

/* Binds args by types ('t' text, 'i' integer, 'n' integer or NULL when
 * negative) and returns the statement, or NULL (logged). */
static sqlite3_stmt *stmt_bound(struct sqlite_store *st, enum stmt_id id, const char *types, va_list ap)
{
	sqlite3_stmt *s = stmt(st, id);
	if (!s)
		return NULL;
	for (int i = 0; types[i]; i++) {
		if (types[i] == 't') {
			bind_text(s, i + 1, va_arg(ap, const char *));
		} else {
			long long v = va_arg(ap, long long);
			if (types[i] == 'n' && v < 0)
				sqlite3_bind_null(s, i + 1);
			else
				sqlite3_bind_int64(s, i + 1, v);
		}
	}
	return s;
}

/* Runs a statement without rows; STORE_NOTFOUND when must_change and no
 * row changed. */
static int exec_args(struct sqlite_store *st, enum stmt_id id, const char *what, int must_change, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	sqlite3_stmt *s = stmt_bound(st, id, types, ap);
	va_end(ap);
	if (!s)
		return STORE_ERROR;
	int rc = exec_stmt(st, s, what);
	if (rc == STORE_OK && must_change && sqlite3_changes(st->db) == 0)
		rc = STORE_NOTFOUND;
	return rc;
}

static int sqlite_user_register(struct store *pub, const char *username, const char *key, const char *password_hash,
				const char *status, long long now, long long *id, const char **role)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_USER_REGISTER);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, username);
	bind_text(s, 2, key);
	bind_text(s, 3, password_hash);
	sqlite3_bind_int64(s, 4, now);
	bind_text(s, 5, status);
	int rc = sqlite3_step(s), out;
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		const unsigned char *r = sqlite3_column_text(s, 1);
		*role = r && strcmp((const char *)r, "admin") == 0 ? "admin" : "user";
		rc = sqlite3_step(s);
	}
	out = rc == SQLITE_DONE ? STORE_OK : rc == SQLITE_CONSTRAINT ? STORE_CONFLICT : rc_of(st, rc, "register user");
	done(st, s);
	return out;
}

static int sqlite_user_get(struct store *pub, long long id, struct user *out)
{
	struct sqlite_store *st = sq(pub);
	memset(out, 0, sizeof *out);
	sqlite3_stmt *s = stmt(st, S_USER_GET);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s), out_rc;
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(s, 0);
		out->username = col_text(s, 1);
		out->password_hash = col_text(s, 2);
		out->created_at = sqlite3_column_int64(s, 3);
		user_extra(s, 4, out);
		out_rc = STORE_OK;
	} else {
		out_rc = rc == SQLITE_DONE ? STORE_NOTFOUND : rc_of(st, rc, "get user");
	}
	done(st, s);
	return out_rc;
}

/* A guarded change of user id: STORE_NOTFOUND when there is no such user,
 * STORE_CONFLICT when the guard (the last active admin) refused it. */
static int guarded(struct sqlite_store *st, long long id, int rc)
{
	if (rc != STORE_NOTFOUND)
		return rc;
	struct user u;
	int found = sqlite_user_get(&st->pub, id, &u);
	store_user_free(&u);
	return found == STORE_OK ? STORE_CONFLICT : found;
}

static int sqlite_user_set_role(struct store *pub, long long id, const char *role)
{
	struct sqlite_store *st = sq(pub);
	return guarded(st, id, exec_args(st, S_USER_SET_ROLE, "set role", 1, "it", id, role));
}

static int sqlite_user_set_status(struct store *pub, long long id, const char *status)
{
	struct sqlite_store *st = sq(pub);
	return guarded(st, id, exec_args(st, S_USER_SET_STATUS, "set status", 1, "it", id, status));
}

static int sqlite_user_set_quota(struct store *pub, long long id, long long prompts_day, long long tokens_month)
{
	struct sqlite_store *st = sq(pub);
	return exec_args(st, S_USER_SET_QUOTA, "set budgets", 1, "inn", id, prompts_day, tokens_month);
}

static int sqlite_user_delete_id(struct store *pub, long long id)
{
	struct sqlite_store *st = sq(pub);
	return guarded(st, id, exec_args(st, S_USER_DELETE_ID, "delete user", 1, "i", id));
}

static int sqlite_user_seen(struct store *pub, long long id, long long now)
{
	struct sqlite_store *st = sq(pub);
	return exec_args(st, S_USER_SEEN, "mark user seen", 0, "ii", id, now);
}

static int sqlite_users_admin(struct store *pub, long long day_start, long long month_start,
			      void (*fn)(void *ctx, const struct user *u, const struct user_stats *us), void *ctx)
{
	struct sqlite_store *st = sq(pub);
	sqlite3_stmt *s = stmt(st, S_USERS_ADMIN);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, day_start);
	sqlite3_bind_int64(s, 2, month_start);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct user u = {0};
		u.id = sqlite3_column_int64(s, 0);
		u.username = col_text(s, 1);
		u.created_at = sqlite3_column_int64(s, 2);
		user_extra(s, 3, &u);
		struct user_stats us = {sqlite3_column_int64(s, 8), sqlite3_column_int64(s, 9),
					sqlite3_column_int64(s, 10), sqlite3_column_int64(s, 11)};
		fn(ctx, &u, &us);
		store_user_free(&u);
	}
	int out = rc == SQLITE_DONE ? STORE_OK : rc_of(st, rc, "list users");
	done(st, s);
	return out;
}

static int sqlite_session_describe(struct store *pub, const char *token_hash, long long sid, const char *user_agent,
				   const char *addr)
{
	struct sqlite_store *st = sq(pub);
	return exec_args(st, S_SESSION_DESCRIBE, "describe session", 0, "titt", token_hash, sid, user_agent, addr);
}

/* Most recently used first: sorted here, as a user has a handful of sessions. */
static int session_row_cmp(const void *a, const void *b)
{
	const struct session_row *x = a, *y = b;
	return x->last_seen != y->last_seen ? (x->last_seen < y->last_seen ? 1 : -1)
					    : (x->sid > y->sid) - (x->sid < y->sid);
}

static int sqlite_session_list(struct store *pub, long long user_id, const char *current_hash, struct session_row **list,
			       size_t *n)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	sqlite3_stmt *s = stmt(st, S_SESSION_LIST);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	bind_text(s, 2, current_hash);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*list = xrealloc(*list, cap * sizeof **list);
		}
		struct session_row *r = &(*list)[(*n)++];
		r->sid = sqlite3_column_int64(s, 0);
		r->created_at = sqlite3_column_int64(s, 1);
		r->last_seen = sqlite3_column_int64(s, 2);
		r->user_agent = col_text(s, 3);
		r->addr = col_text(s, 4);
		r->current = sqlite3_column_int(s, 5) == 1;
	}
	int out = rc == SQLITE_DONE ? STORE_OK : rc_of(st, rc, "list sessions");
	done(st, s);
	if (*n > 1)
		qsort(*list, *n, sizeof **list, session_row_cmp);
	return out;
}

static int sqlite_session_delete_sid(struct store *pub, long long user_id, long long sid)
{
	struct sqlite_store *st = sq(pub);
	return exec_args(st, S_SESSION_DELETE_SID, "end session", 1, "ii", user_id, sid);
}

static int sqlite_session_end_all(struct store *pub, long long user_id, const char *keep_hash, long long *n)
{
	struct sqlite_store *st = sq(pub);
	int rc = exec_args(st, S_SESSION_END_ALL, "end sessions", 0, "it", user_id, keep_hash);
	if (n)
		*n = rc == STORE_OK ? sqlite3_changes(st->db) : 0;
	return rc;
}

static int sqlite_token_create(struct store *pub, long long user_id, const char *name, const char *hash, long long now,
			       int store_conversations, long long *id)
{
	struct sqlite_store *st = sq(pub);
	int rc = exec_args(st, S_TOKEN_CREATE, "create token", 0, "ittii", user_id, name, hash, now,
			   (long long)(store_conversations != 0));
	if (rc == STORE_OK && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

static int sqlite_token_list(struct store *pub, long long user_id, long long since, struct token_row **list, size_t *n)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	sqlite3_stmt *s = stmt(st, S_TOKEN_LIST);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, since);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*list = xrealloc(*list, cap * sizeof **list);
		}
		struct token_row *r = &(*list)[(*n)++];
		r->id = sqlite3_column_int64(s, 0);
		r->name = col_text(s, 1);
		r->created_at = sqlite3_column_int64(s, 2);
		r->last_used = sqlite3_column_int64(s, 3);
		r->store_conversations = sqlite3_column_int(s, 4);
		r->calls = sqlite3_column_int64(s, 5);
		r->tokens = sqlite3_column_int64(s, 6);
		r->refusals = sqlite3_column_int64(s, 7);
	}
	int out = rc == SQLITE_DONE ? STORE_OK : rc_of(st, rc, "list tokens");
	done(st, s);
	return out;
}

static int sqlite_token_delete(struct store *pub, long long user_id, long long id)
{
	struct sqlite_store *st = sq(pub);
	return exec_args(st, S_TOKEN_DELETE, "revoke token", 1, "ii", user_id, id);
}

static int sqlite_token_end_all(struct store *pub, long long user_id)
{
	struct sqlite_store *st = sq(pub);
	return exec_args(st, S_TOKEN_END_ALL, "revoke tokens", 0, "i", user_id);
}

static int sqlite_token_find(struct store *pub, const char *hash, long long now, struct session *out)
{
	struct sqlite_store *st = sq(pub);
	memset(out, 0, sizeof *out);
	sqlite3_stmt *s = stmt(st, S_TOKEN_FIND);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, hash);
	int rc = sqlite3_step(s), out_rc;
	if (rc == SQLITE_ROW) {
		out->user_id = sqlite3_column_int64(s, 0);
		out->username = col_text(s, 1);
		out->role = col_text(s, 2);
		out->status = col_text(s, 3);
		out->created_at = sqlite3_column_int64(s, 4);
		out->last_seen = sqlite3_column_int64(s, 5);
		out->token_id = sqlite3_column_int64(s, 6);
		out->token_name = col_text(s, 7);
		out->token_store = sqlite3_column_int(s, 8);
		out_rc = STORE_OK;
	} else {
		out_rc = rc == SQLITE_DONE ? STORE_NOTFOUND : rc_of(st, rc, "find token");
	}
	done(st, s);
	/* Marked used at most once a minute, so most reads stay reads. */
	if (out_rc == STORE_OK && now - out->last_seen >= 60000 &&
	    exec_args(st, S_TOKEN_USED, "mark token used", 0, "ti", hash, now) != STORE_OK)
		log_warn("could not record a token's last use");
	return out_rc;
}

static int sqlite_invite_create(struct store *pub, const char *code_hash, long long by, long long now, long long expires)
{
	struct sqlite_store *st = sq(pub);
	return exec_args(st, S_INVITE_CREATE, "create invitation", 0, "tiii", code_hash, by, now, expires);
}

static int sqlite_invite_use(struct store *pub, const char *code_hash, long long user_id, long long now)
{
	struct sqlite_store *st = sq(pub);
	return exec_args(st, S_INVITE_USE, "use invitation", 1, "tii", code_hash, user_id, now);
}

static int sqlite_reset_create(struct store *pub, const char *hash, long long user_id, long long now, long long expires)
{
	struct sqlite_store *st = sq(pub);
	return exec_args(st, S_RESET_CREATE, "create password reset", 0, "tiii", hash, user_id, now, expires);
}

static int sqlite_reset_take(struct store *pub, const char *hash, long long now, long long *user_id)
{
	struct sqlite_store *st = sq(pub);
	*user_id = 0;
	sqlite3_stmt *s = stmt(st, S_RESET_TAKE);
	if (!s)
		return STORE_ERROR;
	bind_text(s, 1, hash);
	sqlite3_bind_int64(s, 2, now);
	int rc = sqlite3_step(s), out = STORE_NOTFOUND;
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_int(s, 1) == 1)
			*user_id = sqlite3_column_int64(s, 0);
		rc = sqlite3_step(s);
	}
	if (rc != SQLITE_DONE)
		out = rc_of(st, rc, "use password reset");
	else if (*user_id)
		out = STORE_OK;
	done(st, s);
	return out;
}

static int sqlite_usage_add(struct store *pub, long long user_id, long long now, long long tokens, int estimated)
{
	struct sqlite_store *st = sq(pub);
	return exec_args(st, S_USAGE_ADD, "record usage", 0, "iiii", user_id, now, tokens, (long long)estimated);
}

static int sqlite_usage_sum(struct store *pub, long long user_id, long long day_start, long long month_start,
			    long long *prompts_day, long long *tokens_month, int *estimated)
{
	struct sqlite_store *st = sq(pub);
	*prompts_day = *tokens_month = 0;
	*estimated = 0;
	sqlite3_stmt *s = stmt(st, S_USAGE_SUM);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, day_start);
	sqlite3_bind_int64(s, 3, month_start);
	int rc = sqlite3_step(s), out;
	if (rc == SQLITE_ROW) {
		*prompts_day = sqlite3_column_int64(s, 0);
		*tokens_month = sqlite3_column_int64(s, 1);
		*estimated = sqlite3_column_int(s, 2);
		out = STORE_OK;
	} else {
		out = rc_of(st, rc, "sum usage");
	}
	done(st, s);
	return out;
}

static int sqlite_gateway_add(struct store *pub, long long user_id, long long token_id, long long now, long long tokens,
			      const char *refused)
{
	struct sqlite_store *st = sq(pub);
	return exec_args(st, S_GATEWAY_ADD, "record gateway call", 0, "iiiit", user_id, token_id, now, tokens, refused);
}

static int sqlite_gateway_sum(struct store *pub, long long user_id, long long since, struct gateway_use *out)
{
	struct sqlite_store *st = sq(pub);
	memset(out, 0, sizeof *out);
	sqlite3_stmt *s = stmt(st, S_GATEWAY_SUM);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, user_id);
	sqlite3_bind_int64(s, 2, since);
	int rc = sqlite3_step(s), result;
	if (rc == SQLITE_ROW) {
		out->calls = sqlite3_column_int64(s, 0);
		out->tokens = sqlite3_column_int64(s, 1);
		out->refusals = sqlite3_column_int64(s, 2);
		result = STORE_OK;
	} else {
		result = rc_of(st, rc, "sum gateway calls");
	}
	done(st, s);
	return result;
}

static int sqlite_audit_add(struct store *pub, long long now, const char *actor, const char *action, const char *target,
			    const char *addr, const char *detail)
{
	struct sqlite_store *st = sq(pub);
	return exec_args(st, S_AUDIT_ADD, "write audit log", 0, "itttt" "t", now, actor, action, target, addr, detail);
}

static int sqlite_audit_list(struct store *pub, long long before, int limit, struct audit_row **list, size_t *n)
{
	struct sqlite_store *st = sq(pub);
	*list = NULL;
	*n = 0;
	sqlite3_stmt *s = stmt(st, S_AUDIT_LIST);
	if (!s)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, before > 0 ? before : INT64_MAX);
	sqlite3_bind_int(s, 2, limit);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			*list = xrealloc(*list, cap * sizeof **list);
		}
		struct audit_row *r = &(*list)[(*n)++];
		r->id = sqlite3_column_int64(s, 0);
		r->at = sqlite3_column_int64(s, 1);
		r->actor = col_text(s, 2);
		r->action = col_text(s, 3);
		r->target = col_text(s, 4);
		r->addr = col_text(s, 5);
		r->detail = col_text(s, 6);
	}
	int out = rc == SQLITE_DONE ? STORE_OK : rc_of(st, rc, "read audit log");
	done(st, s);
	return out;
}

const struct store_ops store_sqlite_ops = {
	.name = "SQLite",
	.close = sqlite_close,
	.schema_version = sqlite_schema_version,
	.ping = sqlite_ping,
	.begin = sqlite_begin,
	.patience = sqlite_patience,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.end_request = sqlite_end_request,
	.in_transaction = sqlite_in_transaction,
	.user_create = sqlite_user_create,
	.user_find = sqlite_user_find,
	.user_set_hash = sqlite_user_set_hash,
	.user_delete = sqlite_user_delete,
	.users_each = sqlite_users_each,
	.session_insert = sqlite_session_insert,
	.session_find = sqlite_session_find,
	.session_touch = sqlite_session_touch,
	.session_delete = sqlite_session_delete,
	.session_purge = sqlite_session_purge,
	.rate_take = sqlite_rate_take,
	.rate_count = sqlite_rate_count,
	.rate_add = sqlite_rate_add,
	.rate_purge = sqlite_rate_purge,
	.conv_create = sqlite_conv_create,
	.conv_list = sqlite_conv_list,
	.conv_get = sqlite_conv_get,
	.conv_rename = sqlite_conv_rename,
	.conv_touch = sqlite_conv_touch,
	.conv_delete = sqlite_conv_delete,
	.conv_clear = sqlite_conv_clear,
	.conv_clear_all = sqlite_conv_clear_all,
	.msg_add = sqlite_msg_add,
	.msg_finish = sqlite_msg_finish,
	.msg_page = sqlite_msg_page,
	.msg_context = sqlite_msg_context,
	.msg_unrendered = sqlite_msg_unrendered,
	.msg_set_html = sqlite_msg_set_html,
	.turn_reap = sqlite_turn_reap,
	.turn_on_host = sqlite_turn_on_host,
	.turn_drop = sqlite_turn_drop,
	.turn_count = sqlite_turn_count,
	.turn_take = sqlite_turn_take,
	.turn_add = sqlite_turn_add,
	.turn_beat = sqlite_turn_beat,
	.turn_end = sqlite_turn_end,
	.turn_set_pid = sqlite_turn_set_pid,
	.turn_of_msg = sqlite_turn_of_msg,
	.turn_stop = sqlite_turn_stop,
	.turn_stop_flag = sqlite_turn_stop_flag,
	.msg_add_under = sqlite_msg_add_under,
	.msg_get = sqlite_msg_get,
	.msg_progress = sqlite_msg_progress,
	.msg_tree = sqlite_msg_tree,
	.msg_branch_context = sqlite_msg_branch_context,
	.conv_set_leaf = sqlite_conv_set_leaf,
	.search = sqlite_search,
	.msg_page_around = sqlite_msg_page_around,
	.msg_after = sqlite_msg_after,
	.import_conv = sqlite_import_conv,
	.import_msg = sqlite_import_msg,
	.user_register = sqlite_user_register,
	.user_get = sqlite_user_get,
	.user_set_role = sqlite_user_set_role,
	.user_set_status = sqlite_user_set_status,
	.user_set_quota = sqlite_user_set_quota,
	.user_delete_id = sqlite_user_delete_id,
	.user_seen = sqlite_user_seen,
	.users_admin = sqlite_users_admin,
	.session_describe = sqlite_session_describe,
	.session_list = sqlite_session_list,
	.session_delete_sid = sqlite_session_delete_sid,
	.session_end_all = sqlite_session_end_all,
	.token_create = sqlite_token_create,
	.token_list = sqlite_token_list,
	.token_delete = sqlite_token_delete,
	.token_end_all = sqlite_token_end_all,
	.token_find = sqlite_token_find,
	.invite_create = sqlite_invite_create,
	.invite_use = sqlite_invite_use,
	.reset_create = sqlite_reset_create,
	.reset_take = sqlite_reset_take,
	.usage_add = sqlite_usage_add,
	.usage_sum = sqlite_usage_sum,
	.gateway_add = sqlite_gateway_add,
	.gateway_sum = sqlite_gateway_sum,
	.audit_add = sqlite_audit_add,
	.audit_list = sqlite_audit_list,
	.stats = sqlite_stats,
	.backup = sqlite_backup,
	.restore = sqlite_restore,
	.reset = sqlite_reset,
	.read_begin = sqlite_read_begin,
};
