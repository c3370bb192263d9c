/* aifacadectl.c: the operator's command: create, migrate, inspect, back up, restore and clean the database. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "account.h"
#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "conversation.h"
#include "flask.h"
#include "htmlmd.h"
#include "import.h"
#include "log.h"
#include "store.h"
#include "werkzeug.h"

/* Exit statuses: what scripts may rely on. */
enum { EXIT_DONE = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct args {
	const char *pos[2]; /* positional arguments, as many as the command takes (at most 2) */
	int npos;
	int yes, force, dry_run;
};

struct command {
	const char *name;
	const char *synopsis; /* what follows the name */
	int npos;             /* positional arguments it needs */
	int destructive;      /* refused without --yes */
	int takes_force;
	const char *consequence; /* for the refusal: what --yes lets happen */
	const char *summary;
	const char *details;
	int (*run)(struct store *st, const struct config *cfg, const struct args *a);
};

static int cmd_init_db(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_migrate(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_render_html(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_stats(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_users(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_delete_user(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_clear_all(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_reset_db(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_backup(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_restore(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_import(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_import_flask(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_set_role(struct store *st, const struct config *cfg, const struct args *a);
static int cmd_audit(struct store *st, const struct config *cfg, const struct args *a);

static const struct command commands[] = {
	{"init-db", "", 0, 0, 0, NULL,
	 "create the database, its schema and the secret key if missing",
	 "Creates the database (DATABASE, default AIFACADE_INSTANCE/aifacade.db) and its\n"
	 "directory when missing, applies every schema migration, and creates\n"
	 "instance/secret_key (mode 0600) when SECRET_KEY is not set. Running it again\n"
	 "changes nothing that exists; the container runs it at every start.\n",
	 cmd_init_db},
	{"migrate", "", 0, 0, 0, NULL,
	 "apply pending schema migrations",
	 "Applies the numbered schema migrations this build knows and the database\n"
	 "lacks (PRAGMA user_version), each once, in one transaction; safe while the\n"
	 "app serves. The web programs do the same on their first request after an\n"
	 "upgrade: this command lets you choose the moment.\n",
	 cmd_migrate},
	{"render-html", "", 0, 0, 0, NULL,
	 "store the HTML of messages that have none or an older renderer's",
	 "Renders every message whose stored HTML is missing (written before schema\n"
	 "version 2, or by hand) or was made by another renderer revision (after an\n"
	 "upgrade of cmark-gfm or a bump of MARKDOWN_RENDER_VERSION), and stores it.\n"
	 "Reads render such messages on every request until then, so run it after\n"
	 "such an upgrade. It changes no content; a message written meanwhile keeps\n"
	 "its own HTML, and an empty one (an answer still on its way) is left for\n"
	 "its writer. Safe while the app serves: it writes in short transactions of\n"
	 "200 messages, and running it again does only what is left. Whoever edits\n"
	 "a message's content by hand must set its html to NULL.\n",
	 cmd_render_html},
	{"stats", "", 0, 0, 0, NULL,
	 "counts of users, sessions, conversations, messages and rate-limit events",
	 "Prints one NAME VALUE line each: database, schema_version, users, sessions,\n"
	 "conversations, messages, rate_events.\n",
	 cmd_stats},
	{"users", "", 0, 0, 0, NULL,
	 "list users: name, role, status, created, last seen, conversations, messages",
	 "Lists every user, oldest first, in tab-separated columns: name, role\n"
	 "(admin or user), status (active, pending or disabled), created and\n"
	 "last_seen (ISO 8601 UTC; last_seen is 'never' before a first login),\n"
	 "conversations, messages. The first line names the columns.\n"
	 "Control characters in a name are shown as \\xNN.\n",
	 cmd_users},
	{"set-role", "NAME admin|user", 2, 0, 0, NULL,
	 "make a user an admin, or an admin a user",
	 "Gives the user NAME the role admin (the admin page and /api/admin/) or user.\n"
	 "An admin set so is also made active (approved, or enabled again): this is\n"
	 "the way back in when no admin can log in. The last active admin cannot be\n"
	 "made a user. Recorded in the audit log.\n",
	 cmd_set_role},
	{"audit", "", 0, 0, 0, NULL,
	 "print the audit log, newest first",
	 "Prints the audit log (logins, failed logins, registrations, approvals, role\n"
	 "and status changes, password changes and resets, API tokens, deletions),\n"
	 "newest first, in tab-separated columns: time (ISO 8601 UTC), who, what,\n"
	 "whom, from where, detail; \"-\" where there is nothing. The first line names\n"
	 "the columns. Control characters are shown as \\xNN.\n",
	 cmd_audit},
	{"delete-user", "NAME --yes", 1, 1, 0,
	 "deletes the account with its sessions, conversations and messages for good",
	 "delete a user with their sessions, conversations and messages",
	 "Deletes the user NAME, matched as login matches it (surrounding spaces and\n"
	 "letter case do not matter), with every session, conversation and message\n"
	 "of theirs. It cannot be undone: take a backup first. A NAME that starts\n"
	 "with '-' goes after '--'.\n",
	 cmd_delete_user},
	{"clear-all", "--yes", 0, 1, 0,
	 "deletes every conversation and message of every user for good",
	 "delete every user's conversations and messages (accounts stay)",
	 "Deletes every conversation and message of every user, as if each had\n"
	 "pressed \"clear all history\". Accounts and sessions stay. It cannot be\n"
	 "undone: take a backup first.\n",
	 cmd_clear_all},
	{"reset-db", "--yes", 0, 1, 0,
	 "deletes every user, session, conversation and message for good",
	 "delete everything and recreate an empty schema",
	 "Drops every table (users, sessions, conversations, messages, rate-limit\n"
	 "events) and recreates the schema at the latest version. Everyone is logged\n"
	 "out. The secret key stays. It cannot be undone: take a backup first.\n",
	 cmd_reset_db},
	{"backup", "FILE [--force]", 1, 0, 1, NULL,
	 "copy the database to FILE, consistent while the app serves",
	 "Copies the database to FILE with SQLite's online backup: one consistent\n"
	 "snapshot, taken while the app goes on serving and writing. On PostgreSQL\n"
	 "FILE is the same kind of SQLite file, every row copied from one snapshot,\n"
	 "so a backup of either restores into either. The copy is\n"
	 "written beside FILE under a temporary name, checked, then renamed into\n"
	 "place, so FILE is never half written; it is private to you (mode 0600).\n"
	 "An existing FILE is refused unless --force is given. A FILE that is a\n"
	 "symbolic link, or in a directory other users may write (even a sticky\n"
	 "one such as /tmp) or own, is refused.\n",
	 cmd_backup},
	{"restore", "FILE --yes", 1, 1, 0,
	 "replaces the whole database with the backup",
	 "replace the database with a backup FILE (the old one is kept beside it)",
	 "Replaces the database's contents with FILE, a backup made by\n"
	 "'aifacadectl backup'. A file that is not a sound AIFacade database is\n"
	 "refused. Before writing, the current database is saved as\n"
	 "DATABASE.pre-restore-<time> (on PostgreSQL, as the instance directory's\n"
	 "pre-restore-<time>.db); remove it once you are satisfied. Safe while\n"
	 "the app serves: requests wait for the copy. Sessions stored in FILE come\n"
	 "back with it; schema migrations newer than FILE are applied.\n",
	 cmd_restore},
	{"copy-db", "FROM TO", 2, 0, 0, NULL,
	 "copy every row of database FROM into the empty database TO",
	 "Copies every row of the database FROM into the database TO, each a SQLite\n"
	 "file's path or a postgresql:// URL as DATABASE takes them (DATABASE itself\n"
	 "is not read): the way from SQLite to PostgreSQL and back. TO must hold no\n"
	 "user, conversation or message (a new SQLite file or an empty PostgreSQL\n"
	 "database); one that does is refused, saying what it holds, and nothing is\n"
	 "changed. TO is first brought to the latest schema. FROM is copied from one\n"
	 "consistent snapshot, as 'backup' does, into a private file under TMPDIR\n"
	 "(room for the database twice is needed there), which is restored into TO\n"
	 "in one transaction: all of it or nothing. Then TO is read back and the\n"
	 "rows of every table are counted on both sides and printed; any difference\n"
	 "fails the command. TO's id sequences go past the highest ids, so no id is\n"
	 "handed out twice. Stop the app (or keep it on FROM) while it runs: what\n"
	 "is written to FROM after the snapshot is not copied. FROM is migrated to\n"
	 "this build's schema when it is older, as every command does.\n",
	 NULL /* copy-db opens its own two databases: run() calls copy_db() */},
	{"import", "NAME FILE", 2, 0, 0, NULL,
	 "import an AIFacade export or ChatGPT's conversations.json for user NAME",
	 "Adds the conversations of FILE to the user NAME, as POST /api/import does,\n"
	 "but without IMPORT_MAX_BYTES: FILE is an AIFacade export (the account's\n"
	 "or one conversation's JSON) or ChatGPT's conversations.json. The whole\n"
	 "file is checked and written in one transaction: a malformed one is\n"
	 "refused with the reason (naming the conversation and message) and\n"
	 "nothing of it is kept. Prints the counts imported. The document is read\n"
	 "into memory, about five times its size. FILE may be - for standard input.\n",
	 cmd_import},
	{"import-flask", "PATH [--dry-run]", 1, 0, 0, NULL,
	 "move the users and chats of the Flask app's database at PATH over",
	 "Reads the Flask app's SQLite database at PATH (never writing to it). Each\n"
	 "of its users becomes an account with the same name and keeps the Werkzeug\n"
	 "password hash (pbkdf2:sha256 or scrypt), which login accepts once and\n"
	 "replaces with argon2id. A name that clashes with an existing account (or\n"
	 "an earlier one of the file, as login compares names) is reported and\n"
	 "skipped, never merged; a user whose name or hash we cannot take is\n"
	 "refused. Each user's chats become one conversation \"Imported history\",\n"
	 "oldest first, a prompt and an answer per chat; the answers' HTML is turned\n"
	 "back into Markdown. Each user is written in one transaction. --dry-run\n"
	 "prints what would happen and changes nothing. Prints a line per user and\n"
	 "the counts; exits 1 when any user was skipped or refused.\n",
	 cmd_import_flask},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static int usage(FILE *out)
{
	fprintf(out,
		"usage: aifacadectl COMMAND [ARGUMENTS]\n"
		"       aifacadectl COMMAND --help\n"
		"\n"
		"The operator's command for AIFacade's database. It reads DATABASE,\n"
		"AIFACADE_INSTANCE and the other settings as the web programs do: the\n"
		"environment first, then .env in AIFACADE_ROOT (default: the current\n"
		"directory).\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		char head[64];
		snprintf(head, sizeof head, "%s %s", commands[i].name, commands[i].synopsis);
		fprintf(out, "  %-26s %s\n", head, commands[i].summary);
	}
	fprintf(out, "  %-26s %s\n", "dotenv FILE",
		"print FILE's settings as NAME NUL VALUE NUL, as the programs read them");
	fprintf(out,
		"  %-26s %s\n"
		"\n"
		"exit status: 0 done, 1 failed (the message says why and what to do),\n"
		"2 usage error or a destructive command without --yes.\n",
		"help [COMMAND]", "this text, or one command's");
	return out == stdout ? EXIT_DONE : EXIT_USAGE;
}

static int command_help(const struct command *c, FILE *out)
{
	fprintf(out, "usage: aifacadectl %s%s%s\n\n%s", c->name, *c->synopsis ? " " : "", c->synopsis, c->details);
	return out == stdout ? EXIT_DONE : EXIT_USAGE;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Writes s with control characters (C0, DEL, C1) as \xNN: names come from
 * users and must not drive the operator's terminal. With quote, each ' is
 * written as '\'' for a shell word in single quotes. */
static void print_escaped(FILE *out, const char *s, int quote)
{
	const unsigned char *p = (const unsigned char *)s;
	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\x%02x", *p);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fprintf(out, "\\xc2\\x%02x", p[1]);
			p++;
		} else if (quote && *p == '\'') {
			fputs("'\\''", out);
		} else {
			putc(*p, out);
		}
	}
}

static void print_name(FILE *out, const char *s)
{
	print_escaped(out, s, 0);
}

/* Writes s as a single-quoted shell word, control characters escaped. */
static void print_shell_word(FILE *out, const char *s)
{
	putc('\'', out);
	print_escaped(out, s, 1);
	putc('\'', out);
}

/* Formats milliseconds since the epoch as ISO 8601 UTC into out. */
static void format_time(long long ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "%lld", ms);
}

/* Flushes file descriptor fd's data (and, for a directory, its entries). */
static int sync_path(const char *path, int directory)
{
	int fd = open(path, (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

/* The directory part of path, fresh; "." when it has none. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Copies the database to file through a temporary name beside it; returns
 * 0 or 1 (reported). With force an existing file is replaced. */
/* 0 when dir is a directory that only we (or root) may change; else 1,
 * reported. Others able to write there could swap FILE or the temporary
 * files (SQLite's FILE.tmp-PID-journal too) for symlinks between our checks
 * and our writes: even a sticky directory such as /tmp lets them create
 * those names first, so it is refused as well (README, "Backups"). */
static int dir_unsafe(const char *file)
{
	char *dir = dir_of(file);
	struct stat ds;
	int bad = 1;
	if (stat(dir, &ds) != 0)
		fprintf(stderr, "aifacadectl: cannot use %s for the backup (%s); check that its directory exists\n", dir,
			strerror(errno));
	else if (!S_ISDIR(ds.st_mode))
		fprintf(stderr, "aifacadectl: %s is not a directory; check that its directory exists\n", dir);
	else if ((ds.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		fprintf(stderr, "aifacadectl: %s may be written by other users (mode %03o), who could redirect the "
				"backup; use a directory only you may write (e.g. mkdir -m 700 ~/backups)\n",
			dir, (unsigned)(ds.st_mode & 07777));
	else if (ds.st_uid != geteuid() && ds.st_uid != 0)
		fprintf(stderr, "aifacadectl: %s belongs to another user (uid %u); use a directory of your own\n", dir,
			(unsigned)ds.st_uid);
	else
		bad = 0;
	free(dir);
	return bad;
}

static int backup_to(struct store *st, const struct config *cfg, const char *file, int force)
{
	struct stat sb;
	if (dir_unsafe(file))
		return EXIT_FAILED;
	if (lstat(file, &sb) == 0) {
		if (S_ISLNK(sb.st_mode)) {
			fprintf(stderr, "aifacadectl: %s is a symbolic link, which backup does not follow; name the file "
					"itself\n", file);
			return EXIT_FAILED;
		}
		if (S_ISDIR(sb.st_mode)) {
			fprintf(stderr, "aifacadectl: %s is a directory; name a file in it, e.g. %s/aifacade-backup.db\n",
				file, file);
			return EXIT_FAILED;
		}
		if (same_file(file, cfg->database)) {
			fprintf(stderr, "aifacadectl: %s is the database itself; name another file\n", file);
			return EXIT_FAILED;
		}
		if (!force) {
			fprintf(stderr, "aifacadectl: %s exists; choose a new name, or add --force to replace it\n", file);
			return EXIT_FAILED;
		}
	}
	char *tmp = xasprintf("%s.tmp-%ld", file, (long)getpid());
	int rc = EXIT_FAILED;
	if (unlink(tmp) != 0 && errno != ENOENT) {
		fprintf(stderr, "aifacadectl: cannot remove the stale %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	/* Made here, new and ours (never through a symlink), before SQLite
	 * opens it: an empty file is an empty database to SQLite. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "aifacadectl: cannot create %s: %s; check that its directory is writable\n", tmp,
			strerror(errno));
		goto out;
	}
	close(fd);
	/* A pinned snapshot: the copy never restarts, however busy the app is. */
	if (store_read_begin(st) != STORE_OK) {
		fprintf(stderr, "aifacadectl: cannot read %s; see the line above\n", cfg->database_shown);
		goto out;
	}
	int brc = store_backup(st, tmp);
	store_rollback(st);
	if (brc != STORE_OK) {
		fprintf(stderr, "aifacadectl: the backup to %s failed (see the line above); check that its directory "
				"exists, is writable and has room\n", file);
		goto out;
	}
	char err[512];
	int version;
	if (store_check_file(tmp, &version, err, sizeof err) != 0) {
		fprintf(stderr, "aifacadectl: the copy did not verify: %s; the database itself is untouched, try again\n",
			err);
		goto out;
	}
	char *dir = dir_of(file);
	if (sync_path(tmp, 0) != 0 || rename(tmp, file) != 0 || sync_path(dir, 1) != 0) {
		fprintf(stderr, "aifacadectl: cannot put the backup in place as %s: %s\n", file, strerror(errno));
		free(dir);
		goto out;
	}
	free(dir);
	rc = EXIT_DONE;
out:
	if (rc != EXIT_DONE && unlink(tmp) != 0 && errno != ENOENT)
		fprintf(stderr, "aifacadectl: also could not remove %s: %s\n", tmp, strerror(errno));
	free(tmp);
	return rc;
}

static int cmd_init_db(struct store *st, const struct config *cfg, const struct args *a)
{
	(void)a;
	printf("database %s is ready at schema version %d\n", cfg->database_shown, store_schema_version(st));
	/* serve.sh and the container run this at every start: the place to say so. */
	if (cfg->password_cost == PASSWORD_COST_MINIMUM)
		fprintf(stderr, "aifacadectl: warning: PASSWORD_HASH_COST=minimum hashes passwords for test suites, "
				"not for users: remove it (interactive is the default)\n");
	return EXIT_DONE;
}

static int cmd_migrate(struct store *st, const struct config *cfg, const struct args *a)
{
	(void)a;
	int v = store_schema_version(st), latest = store_schema_latest();
	if (v < 0) {
		fprintf(stderr, "aifacadectl: cannot read the schema version of %s\n", cfg->database_shown);
		return EXIT_FAILED;
	}
	if (v > latest)
		printf("database %s is at schema version %d, newer than this build's %d: a newer build migrated it;"
		       " this one reads on (migrations only add)\n", cfg->database_shown, v, latest);
	else
		printf("database %s is at schema version %d, the latest this build knows\n", cfg->database_shown, v);
	return EXIT_DONE;
}

/* Messages rendered per write transaction: short enough that the app's
 * writers hardly wait. */
#define RENDER_BATCH 200

/* Renders and stores one batch; adds to *stored and *skipped what it
 * committed. Returns a store_rc. */
static int render_batch(struct store *st, const struct message *list, size_t n, long long version,
			long long *stored, long long *skipped)
{
	/* Rendered before the write lock is taken. */
	char **html = xcalloc(n, sizeof *html);
	for (size_t i = 0; i < n; i++)
		html[i] = message_html(list[i].role, list[i].content);
	long long done_here = 0, skipped_here = 0;
	int rc = store_begin(st);
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		int one = store_msg_set_html(st, list[i].id, list[i].content, html[i], version);
		if (one == STORE_OK)
			done_here++;
		else if (one == STORE_NOTFOUND)
			skipped_here++; /* its content changed or it was deleted meanwhile */
		else
			rc = one;
	}
	if (rc == STORE_OK)
		rc = store_commit(st);
	else
		store_rollback(st);
	if (rc == STORE_OK) {
		*stored += done_here;
		*skipped += skipped_here;
	}
	for (size_t i = 0; i < n; i++)
		free(html[i]);
	free(html);
	return rc;
}

static int cmd_render_html(struct store *st, const struct config *cfg, const struct args *a)
{
	(void)a;
	const long long version = message_html_version();
	long long after = 0, stored = 0, skipped = 0;
	for (;;) {
		struct message *list;
		size_t n;
		int rc = store_msg_unrendered(st, version, after, RENDER_BATCH, &list, &n);
		if (rc == STORE_OK && n > 0) {
			rc = render_batch(st, list, n, version, &stored, &skipped);
			after = list[n - 1].id;
		}
		store_msg_list_free(list, n);
		if (rc != STORE_OK) {
			fprintf(stderr, "aifacadectl: rendering stopped after %lld messages (see the line above); what was "
					"stored stays, run it again to finish\n", stored);
			return EXIT_FAILED;
		}
		if (n == 0)
			break;
	}
	printf("stored the HTML of %lld messages in %s (renderer revision %lld)", stored, cfg->database_shown, version);
	if (skipped)
		printf("; %lld changed meanwhile and were left as they are", skipped);
	printf("\n");
	return EXIT_DONE;
}

static int cmd_stats(struct store *st, const struct config *cfg, const struct args *a)
{
	(void)a;
	struct store_stats s;
	if (store_stats(st, &s) != STORE_OK) {
		fprintf(stderr, "aifacadectl: cannot count the rows of %s; see the line above\n", cfg->database_shown);
		return EXIT_FAILED;
	}
	printf("database %s\nschema_version %d\nusers %lld\nsessions %lld\nconversations %lld\nmessages %lld\n"
	       "rate_events %lld\n",
	       cfg->database_shown, s.schema_version, s.users, s.sessions, s.conversations, s.messages, s.rate_events);
	return EXIT_DONE;
}

static void print_user(void *ctx, const struct user *u, long long conversations, long long messages)
{
	(void)ctx;
	char created[32], seen[32] = "never";
	format_time(u->created_at, created, sizeof created);
	if (u->last_seen > 0)
		format_time(u->last_seen, seen, sizeof seen);
	print_name(stdout, u->username ? u->username : "");
	/* role and status are the schema's fixed words (README, "Accounts and
	 * administration"); NOT NULL there, so "?" is only a damaged row */
	printf("\t%s\t%s\t%s\t%s\t%lld\t%lld\n", u->role ? u->role : "?", u->status ? u->status : "?", created, seen,
	       conversations, messages);
}

static int cmd_users(struct store *st, const struct config *cfg, const struct args *a)
{
	(void)a;
	printf("name\trole\tstatus\tcreated\tlast_seen\tconversations\tmessages\n");
	if (store_users_each(st, print_user, NULL) != STORE_OK) {
		fprintf(stderr, "aifacadectl: cannot list the users of %s; see the line above\n", cfg->database_shown);
		return EXIT_FAILED;
	}
	return EXIT_DONE;
}

struct user_counts {
	long long id, conversations, messages;
};

static void find_counts(void *ctx, const struct user *u, long long conversations, long long messages)
{
	struct user_counts *c = ctx;
	if (u->id == c->id) {
		c->conversations = conversations;
		c->messages = messages;
	}
}

static int cmd_delete_user(struct store *st, const struct config *cfg, const struct args *a)
{
	char *display = NULL, *key = NULL;
	const char *why = account_check_username(a->pos[0], strlen(a->pos[0]), &display, &key);
	if (why) {
		fprintf(stderr, "aifacadectl: no user can have that name: %s\n", why);
		return EXIT_USAGE;
	}
	int rc = EXIT_FAILED;
	struct user u;
	int found = store_user_find(st, key, &u);
	if (found == STORE_NOTFOUND) {
		fprintf(stderr, "aifacadectl: there is no user ");
		print_shell_word(stderr, display);
		fprintf(stderr, " in %s; 'aifacadectl users' lists them\n", cfg->database_shown);
		goto out;
	}
	if (found != STORE_OK) {
		fprintf(stderr, "aifacadectl: cannot look up the user; see the line above\n");
		goto out;
	}
	struct user_counts counts = {u.id, 0, 0};
	if (store_users_each(st, find_counts, &counts) != STORE_OK || store_user_delete(st, key) != STORE_OK) {
		fprintf(stderr, "aifacadectl: the user was not deleted; see the line above\n");
		store_user_free(&u);
		goto out;
	}
	printf("deleted user ");
	print_shell_word(stdout, u.username);
	printf(" with %lld conversations and %lld messages; their sessions ended\n", counts.conversations,
	       counts.messages);
	store_user_free(&u);
	rc = EXIT_DONE;
out:
	free(display);
	free(key);
	return rc;
}

static int cmd_set_role(struct store *st, const struct config *cfg, const struct args *a)
{
	const char *role = a->pos[1];
	if (strcmp(role, "admin") != 0 && strcmp(role, "user") != 0) {
		fprintf(stderr, "aifacadectl: the role must be admin or user\n");
		return EXIT_USAGE;
	}
	char *display = NULL, *key = NULL;
	const char *why = account_check_username(a->pos[0], strlen(a->pos[0]), &display, &key);
	if (why) {
		fprintf(stderr, "aifacadectl: no user can have that name: %s\n", why);
		return EXIT_USAGE;
	}
	int rc = EXIT_FAILED;
	struct user u;
	int found = store_user_find(st, key, &u);
	if (found != STORE_OK) {
		if (found == STORE_NOTFOUND) {
			fprintf(stderr, "aifacadectl: there is no user ");
			print_shell_word(stderr, display);
			fprintf(stderr, " in %s; 'aifacadectl users' lists them\n", cfg->database_shown);
		}
		goto out;
	}
	int admin = strcmp(role, "admin") == 0;
	int st_rc = store_begin(st);
	if (st_rc == STORE_OK)
		st_rc = store_user_set_role(st, u.id, role);
	if (st_rc == STORE_OK && admin)
		st_rc = store_user_set_status(st, u.id, "active");
	if (st_rc == STORE_OK && store_audit_add(st, (long long)time(NULL) * 1000, "aifacadectl", "role", u.username, "command line",
						 role) != STORE_OK)
		st_rc = STORE_ERROR;
	if (st_rc == STORE_OK)
		st_rc = store_commit(st);
	if (st_rc != STORE_OK) {
		store_rollback(st);
		if (st_rc == STORE_CONFLICT)
			fprintf(stderr, "aifacadectl: that would leave no active admin; make another user an admin first\n");
		else
			fprintf(stderr, "aifacadectl: the role was not changed; see the line above\n");
		store_user_free(&u);
		goto out;
	}
	printf("user ");
	print_shell_word(stdout, u.username);
	printf(" is now %s%s\n", admin ? "an admin" : "a user", admin ? " (and active)" : "");
	store_user_free(&u);
	rc = EXIT_DONE;
out:
	free(display);
	free(key);
	return rc;
}

static void print_field(const char *s)
{
	print_escaped(stdout, s ? s : "-", 0);
}

static int cmd_audit(struct store *st, const struct config *cfg, const struct args *a)
{
	(void)a;
	printf("time\twho\twhat\twhom\tfrom\tdetail\n");
	long long before = 0;
	for (;;) {
		struct audit_row *list;
		size_t n;
		if (store_audit_list(st, before, 500, &list, &n) != STORE_OK) {
			fprintf(stderr, "aifacadectl: cannot read the audit log of %s; see the line above\n", cfg->database_shown);
			return EXIT_FAILED;
		}
		for (size_t i = 0; i < n; i++) {
			char at[32];
			format_time(list[i].at, at, sizeof at);
			printf("%s\t", at);
			print_field(list[i].actor);
			putchar('\t');
			print_field(list[i].action);
			putchar('\t');
			print_field(list[i].target);
			putchar('\t');
			print_field(list[i].addr);
			putchar('\t');
			print_field(list[i].detail);
			putchar('\n');
			before = list[i].id;
		}
		store_audit_list_free(list, n);
		if (n < 500)
			return EXIT_DONE;
	}
}

static int cmd_clear_all(struct store *st, const struct config *cfg, const struct args *a)
{
	(void)a;
	long long n = 0;
	if (store_conv_clear_all(st, &n) != STORE_OK) {
		fprintf(stderr, "aifacadectl: nothing was cleared in %s; see the line above\n", cfg->database_shown);
		return EXIT_FAILED;
	}
	printf("deleted %lld conversations with their messages; accounts and sessions stay\n", n);
	return EXIT_DONE;
}

static int cmd_reset_db(struct store *st, const struct config *cfg, const struct args *a)
{
	(void)a;
	if (store_reset(st) != STORE_OK) {
		fprintf(stderr, "aifacadectl: the reset of %s failed (see the line above); the database is as it was "
				"or empty: run 'aifacadectl init-db', or restore a backup\n", cfg->database_shown);
		return EXIT_FAILED;
	}
	printf("database %s is empty at schema version %d; everyone is logged out\n", cfg->database_shown,
	       store_schema_version(st));
	return EXIT_DONE;
}

static int cmd_backup(struct store *st, const struct config *cfg, const struct args *a)
{
	int rc = backup_to(st, cfg, a->pos[0], a->force);
	if (rc != EXIT_DONE)
		return rc;
	struct store_stats s;
	if (store_stats(st, &s) == STORE_OK)
		printf("backed up %s to %s (schema version %d; about %lld users, %lld messages)\n", cfg->database_shown,
		       a->pos[0], s.schema_version, s.users, s.messages);
	else
		printf("backed up %s to %s\n", cfg->database_shown, a->pos[0]);
	return EXIT_DONE;
}

static int cmd_restore(struct store *st, const struct config *cfg, const struct args *a)
{
	const char *file = a->pos[0];
	/* The file was checked before the store opened; it must not be the store. */
	if (same_file(file, cfg->database)) {
		fprintf(stderr, "aifacadectl: %s is the database itself; name a backup file\n", file);
		return EXIT_FAILED;
	}
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0)
		snprintf(stamp, sizeof stamp, "%lld", (long long)now);
	/* A database that is no file (a postgresql:// URL) is saved in the
	 * instance directory, the home of the app's other files. */
	char *keep = strstr(cfg->database, "://") ? xasprintf("%s/pre-restore-%s.db", cfg->instance_dir, stamp)
						  : xasprintf("%s.pre-restore-%s", cfg->database, stamp);
	int rc = backup_to(st, cfg, keep, 0);
	if (rc != EXIT_DONE) {
		fprintf(stderr, "aifacadectl: nothing was restored: the current database could not be saved first\n");
		free(keep);
		return rc;
	}
	printf("saved the current database as %s\n", keep);
	free(keep);
	if (store_restore(st, file) != STORE_OK) {
		fprintf(stderr, "aifacadectl: the restore from %s failed (see the line above); the saved copy named "
				"above holds the data from before: restore that\n", file);
		return EXIT_FAILED;
	}
	struct store_stats s;
	if (store_stats(st, &s) != STORE_OK) {
		fprintf(stderr, "aifacadectl: restored, but the result cannot be read; see the line above\n");
		return EXIT_FAILED;
	}
	printf("restored %s from %s: schema version %d, %lld users, %lld conversations, %lld messages\n",
	       cfg->database_shown, file, s.schema_version, s.users, s.conversations, s.messages);
	return EXIT_DONE;
}

static int is_url(const char *database)
{
	return strstr(database, "://") != NULL;
}

/* A SQLite file named as FROM (which must exist) or TO (which may be
 * missing or empty, to be created) must be an AIFacade database:
 * store_open() would otherwise add our tables to someone else's file.
 * Returns 0, or -1 reported. */
static int copy_file_ours(const char *path, int is_source)
{
	struct stat sb;
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT && !is_source)
			return 0;
		fprintf(stderr, "aifacadectl: cannot read %s: %s; check the path%s\n", path, strerror(errno),
			is_source ? " of the database to copy" : "");
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		fprintf(stderr, "aifacadectl: %s is not a file; name a SQLite database file or a postgresql:// URL\n",
			path);
		return -1;
	}
	if (sb.st_size == 0 && !is_source)
		return 0;
	char err[512];
	int version;
	if (store_check_file(path, &version, err, sizeof err) != 0) {
		fprintf(stderr, "aifacadectl: refusing to copy: %s; nothing was changed\n", err);
		return -1;
	}
	if (version > store_schema_latest()) {
		fprintf(stderr, "aifacadectl: refusing to copy: %s has schema version %d, newer than this build's %d; "
				"use the aifacadectl of the release that wrote it\n", path, version, store_schema_latest());
		return -1;
	}
	return 0;
}

/* 0 when TO holds no user, conversation or message; else -1, reported
 * with what it holds and the ways on. */
static int copy_target_empty(struct store *to, const char *shown)
{
	struct store_stats s;
	if (store_stats(to, &s) != STORE_OK) {
		fprintf(stderr, "aifacadectl: cannot count the rows of %s; see the line above. Nothing was copied\n",
			shown);
		return -1;
	}
	if (s.users == 0 && s.conversations == 0 && s.messages == 0)
		return 0;
	fprintf(stderr,
		"aifacadectl: refusing to copy into %s: it holds %lld users, %lld conversations and %lld messages, and "
		"copy-db only fills an empty database. Nothing was changed.\n"
		"Name a new SQLite file or an empty PostgreSQL database (createdb) as TO; or, if what it holds may go,\n"
		"back it up ('aifacadectl backup FILE') and empty it ('aifacadectl reset-db --yes'), each with\n"
		"DATABASE set to it, then run copy-db again.\n",
		shown, s.users, s.conversations, s.messages);
	return -1;
}

/* Copies st's database, from one read snapshot, to the new SQLite file
 * path (mode 0600) and checks the file; 0, or -1 reported. */
static int copy_snapshot(struct store *st, const char *shown, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "aifacadectl: cannot create %s: %s; check TMPDIR\n", path, strerror(errno));
		return -1;
	}
	if (close(fd) != 0) {
		fprintf(stderr, "aifacadectl: cannot create %s: %s; check TMPDIR\n", path, strerror(errno));
		return -1;
	}
	if (store_read_begin(st) != STORE_OK) {
		fprintf(stderr, "aifacadectl: cannot read %s; see the line above\n", shown);
		return -1;
	}
	int rc = store_backup(st, path);
	store_rollback(st);
	if (rc != STORE_OK) {
		fprintf(stderr, "aifacadectl: cannot copy %s to %s (see the line above); check that TMPDIR has room "
				"for the database\n", shown, path);
		return -1;
	}
	char err[512];
	int version;
	if (store_check_file(path, &version, err, sizeof err) != 0) {
		fprintf(stderr, "aifacadectl: the copy of %s did not verify: %s\n", shown, err);
		return -1;
	}
	return 0;
}

static void copy_remove(const char *path)
{
	if (unlink(path) != 0 && errno != ENOENT)
		fprintf(stderr, "aifacadectl: cannot remove %s: %s; remove it by hand\n", path, strerror(errno));
}

/* aifacadectl copy-db FROM TO. Not a third copier: FROM is backed up
 * (store_backup, either backend) into a private SQLite file, and that
 * file restored into TO (store_restore, either backend, one transaction,
 * id sequences past the highest ids); then TO is backed up in turn and
 * the two files' tables counted alike (docs/issue14-plan.md, item 7). */
static int copy_db(const struct args *a)
{
	const char *from = a->pos[0], *to = a->pos[1];
	if (strcmp(from, to) == 0 || (!is_url(from) && !is_url(to) && same_file(from, to))) {
		fprintf(stderr, "aifacadectl: FROM and TO are the same database; name an empty one as TO\n");
		return EXIT_USAGE;
	}
	if ((!is_url(from) && copy_file_ours(from, 1) != 0) || (!is_url(to) && copy_file_ours(to, 0) != 0))
		return EXIT_FAILED;
	char *from_shown = config_database_shown(from), *to_shown = config_database_shown(to);
	const char *base = getenv("TMPDIR");
	char *dir = xasprintf("%s/aifacade-copy-XXXXXX", base && *base ? base : "/tmp");
	char *src = NULL, *check = NULL;
	struct store *sf = NULL, *st = NULL;
	int rc = EXIT_FAILED;
	long long nf[STORE_N_TABLES], nt[STORE_N_TABLES];
	char err[512];
	if (!mkdtemp(dir)) {
		fprintf(stderr, "aifacadectl: cannot create a private directory %s: %s; set TMPDIR to a directory of "
				"yours with room for the database twice\n", dir, strerror(errno));
		free(dir);
		dir = NULL;
		goto out;
	}
	src = xasprintf("%s/from.db", dir);
	check = xasprintf("%s/to.db", dir);
	/* FROM first, so that one that cannot be opened leaves no new TO
	 * behind; then TO, brought to the latest schema by its opening (a new
	 * SQLite file is created) and refused before any copying if it holds
	 * anything. */
	if (store_open(from, &sf, err, sizeof err) < 0) {
		fprintf(stderr, "aifacadectl: %s\n", err);
		goto out;
	}
	if (store_open(to, &st, err, sizeof err) < 0) {
		fprintf(stderr, "aifacadectl: %s\n", err);
		goto out;
	}
	if (copy_target_empty(st, to_shown) != 0)
		goto out;
	if (copy_snapshot(sf, from_shown, src) != 0)
		goto out;
	store_close(sf);
	sf = NULL;
	if (store_file_counts(src, nf, err, sizeof err) != 0) {
		fprintf(stderr, "aifacadectl: %s\n", err);
		goto out;
	}
	/* Again, as late as can be: a row written to TO since would be replaced. */
	if (copy_target_empty(st, to_shown) != 0)
		goto out;
	if (store_restore(st, src) != STORE_OK) {
		fprintf(stderr, "aifacadectl: the copy into %s failed (see the line above); it ran in one transaction, "
				"so %s holds nothing of FROM ('aifacadectl stats' with DATABASE set to it shows it)\n",
			to_shown, to_shown);
		goto out;
	}
	err[0] = '\0';
	if (copy_snapshot(st, to_shown, check) != 0 || store_file_counts(check, nt, err, sizeof err) != 0) {
		if (err[0])
			fprintf(stderr, "aifacadectl: %s\n", err);
		fprintf(stderr, "aifacadectl: copied, but %s cannot be read back to check the counts\n", to_shown);
		goto out;
	}
	int differ = 0;
	printf("%-16s %12s %12s\n", "table", "from", "to");
	for (int i = 0; i < STORE_N_TABLES; i++) {
		printf("%-16s %12lld %12lld%s\n", store_table_names[i], nf[i], nt[i], nf[i] == nt[i] ? "" : "  DIFFERS");
		differ |= nf[i] != nt[i];
	}
	if (differ) {
		fflush(stdout);
		fprintf(stderr, "aifacadectl: the counts differ (marked above): the copy in %s is not whole; empty it "
				"('aifacadectl reset-db --yes') and run copy-db again\n", to_shown);
		goto out;
	}
	printf("copied %s to %s: schema version %d, every table's count the same; point DATABASE at %s to use it\n",
	       from_shown, to_shown, store_schema_version(st), to_shown);
	rc = EXIT_DONE;
out:
	store_close(sf);
	store_close(st);
	if (src)
		copy_remove(src);
	if (check)
		copy_remove(check);
	if (dir && rmdir(dir) != 0)
		fprintf(stderr, "aifacadectl: cannot remove %s: %s; remove it by hand\n", dir, strerror(errno));
	free(src);
	free(check);
	free(dir);
	free(from_shown);
	free(to_shown);
	return rc;
}

/* Creates dir and its missing parents (mode 0700, as mkdir -p); returns 0
 * or -1 with errno set. */
static int cmd_import(struct store *st, const struct config *cfg, const struct args *a)
{
	char *display = NULL, *key = NULL;
	const char *why = account_check_username(a->pos[0], strlen(a->pos[0]), &display, &key);
	if (why) {
		fprintf(stderr, "aifacadectl: no user can have that name: %s\n", why);
		return EXIT_USAGE;
	}
	int rc = EXIT_FAILED, fd = -1;
	struct user u = {0};
	int found = store_user_find(st, key, &u);
	if (found == STORE_NOTFOUND) {
		fprintf(stderr, "aifacadectl: there is no user ");
		print_shell_word(stderr, display);
		fprintf(stderr, " in %s; 'aifacadectl users' lists them\n", cfg->database_shown);
		goto out;
	}
	if (found != STORE_OK) {
		fprintf(stderr, "aifacadectl: cannot look up the user; see the line above\n");
		goto out;
	}
	fd = strcmp(a->pos[1], "-") == 0 ? 0 : open(a->pos[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "aifacadectl: cannot read %s: %s\n", a->pos[1], strerror(errno));
		goto out;
	}
	struct import_counts counts;
	char err[512];
	int store_rc;
	int r = import_fd(st, u.id, fd, &counts, err, sizeof err, &store_rc);
	if (r == IMPORT_REFUSED) {
		fprintf(stderr, "aifacadectl: refusing to import %s: %s Nothing was imported.\n", a->pos[1], err);
	} else if (r != IMPORT_OK) {
		fprintf(stderr, "aifacadectl: the import failed; see the line above. Nothing was imported.\n");
	} else {
		printf("imported %lld conversations with %lld messages for ", counts.conversations, counts.messages);
		print_shell_word(stdout, u.username);
		printf("\n");
		rc = EXIT_DONE;
	}
out:
	if (fd > 0)
		close(fd);
	store_user_free(&u);
	free(display);
	free(key);
	return rc;
}

/* ---- import-flask (README, "Moving over from the Flask app") ---- */

#define FLASK_TITLE "Imported history"

struct flask_run {
	struct store *st;
	struct flask_db *fdb;
	int dry_run;
	long long now;
	long long imported, chats, skipped, refused;
	char **keys; /* folded names taken in this run */
	size_t nkeys;
	int failed;  /* a store or read error: stop */
};

/* One user's chats: a first pass measures, a second writes. */
struct flask_chats {
	struct flask_run *fr;
	long long user_id, conv_id;
	long long count, first, last, at;
	int rc;
};

static int chat_measure(void *ctx, const struct flask_chat *c)
{
	struct flask_chats *k = ctx;
	if (c->at >= 0) {
		if (k->count == 0 || c->at < k->first)
			k->first = c->at;
		if (c->at > k->last)
			k->last = c->at;
	}
	k->count++;
	return 0;
}

static int chat_write(void *ctx, const struct flask_chat *c)
{
	struct flask_chats *k = ctx;
	if (c->at >= 0)
		k->at = c->at; /* an unreadable time takes the one before it */
	struct message_in m = {0};
	m.status = "ok";
	m.created_at = k->at;
	if (c->prompt && *c->prompt) {
		char *html = message_html("user", c->prompt);
		m.role = "user";
		m.content = c->prompt;
		m.html = html;
		m.html_version = message_html_version();
		k->rc = store_import_msg(k->fr->st, k->user_id, k->conv_id, &m);
		free(html);
		if (k->rc != STORE_OK)
			return 1;
	}
	if (c->response && *c->response) {
		char *text = htmlmd_convert(c->response, strlen(c->response));
		char *html = message_html("assistant", text);
		m.role = "assistant";
		m.content = text;
		m.html = html;
		m.html_version = message_html_version();
		k->rc = *text ? store_import_msg(k->fr->st, k->user_id, k->conv_id, &m) : STORE_OK;
		free(html);
		free(text);
		if (k->rc != STORE_OK)
			return 1;
	}
	return 0;
}

static void flask_report(const char *what, const char *name, const char *why)
{
	printf("%s ", what);
	print_shell_word(stdout, name);
	printf(": %s\n", why);
}

static int flask_user(void *ctx, const struct flask_user *u)
{
	struct flask_run *fr = ctx;
	char *display = NULL, *key = NULL;
	char err[512];
	const char *name = u->username ? u->username : "";
	const char *why = account_check_username(name, strlen(name), &display, &key);
	if (why) {
		char msg[300];
		snprintf(msg, sizeof msg, "refused: the name cannot be an account here (%s)", why);
		flask_report("user", name, msg);
		fr->refused++;
		return 0;
	}
	int rc = 0;
	if (!u->hash || !werkzeug_hash_valid(u->hash)) {
		flask_report("user", display, "refused: the password hash is neither pbkdf2:sha256 nor scrypt; "
					      "they can register anew");
		fr->refused++;
		goto out;
	}
	int clash = 0;
	for (size_t i = 0; i < fr->nkeys; i++)
		clash |= strcmp(fr->keys[i], key) == 0;
	struct user existing;
	int found = store_user_find(fr->st, key, &existing);
	if (found == STORE_OK)
		store_user_free(&existing);
	else if (found != STORE_NOTFOUND) {
		fr->failed = 1;
		rc = 1;
		goto out;
	}
	if (clash || found == STORE_OK) {
		flask_report("user", display, "skipped: an account with that name already exists; nothing was merged");
		fr->skipped++;
		goto out;
	}
	fr->keys = xrealloc(fr->keys, (fr->nkeys + 1) * sizeof *fr->keys);
	fr->keys[fr->nkeys++] = xstrdup(key);
	struct flask_chats k = {fr, 0, 0, 0, 0, 0, 0, STORE_OK};
	if (flask_chats_each(fr->fdb, u->id, chat_measure, &k, err, sizeof err) != 0) {
		fprintf(stderr, "aifacadectl: %s\n", err);
		fr->failed = 1;
		rc = 1;
		goto out;
	}
	if (k.count > 0 && k.first == 0 && k.last == 0)
		k.first = k.last = fr->now;
	char msg[200];
	snprintf(msg, sizeof msg, "%s with %lld chats", fr->dry_run ? "would be imported" : "imported", k.count);
	if (!fr->dry_run) {
		int src = store_begin(fr->st);
		if (src == STORE_OK)
			src = store_user_create(fr->st, display, key, u->hash, fr->now, &k.user_id);
		if (src == STORE_OK && k.count > 0)
			src = store_import_conv(fr->st, k.user_id, FLASK_TITLE, k.first, k.last, &k.conv_id);
		k.at = k.first;
		if (src == STORE_OK && k.count > 0) {
			if (flask_chats_each(fr->fdb, u->id, chat_write, &k, err, sizeof err) < 0) {
				fprintf(stderr, "aifacadectl: %s\n", err);
				src = STORE_ERROR;
			} else {
				src = k.rc;
			}
		}
		if (src == STORE_OK)
			src = store_commit(fr->st);
		else
			store_rollback(fr->st);
		if (src != STORE_OK) {
			fprintf(stderr, "aifacadectl: user %s was not imported; see the line above\n", display);
			fr->failed = 1;
			rc = 1;
			goto out;
		}
	}
	flask_report("user", display, msg);
	fr->imported++;
	fr->chats += k.count;
out:
	free(display);
	free(key);
	return rc;
}

static int cmd_import_flask(struct store *st, const struct config *cfg, const struct args *a)
{
	(void)cfg;
	char err[512];
	struct flask_db *fdb;
	if (flask_open(a->pos[0], &fdb, err, sizeof err) < 0) {
		fprintf(stderr, "aifacadectl: %s; nothing was imported\n", err);
		return EXIT_FAILED;
	}
	struct flask_run fr = {st, fdb, a->dry_run, (long long)time(NULL) * 1000, 0, 0, 0, 0, NULL, 0, 0};
	if (flask_users_each(fdb, flask_user, &fr, err, sizeof err) < 0 && !fr.failed) {
		fprintf(stderr, "aifacadectl: %s\n", err);
		fr.failed = 1;
	}
	flask_close(fdb);
	for (size_t i = 0; i < fr.nkeys; i++)
		free(fr.keys[i]);
	free(fr.keys);
	printf("%s%lld users %s with %lld chats; %lld skipped (name taken), %lld refused\n",
	       fr.dry_run ? "dry run: " : "", fr.imported, fr.dry_run ? "would be imported" : "imported", fr.chats,
	       fr.skipped, fr.refused);
	if (fr.failed) {
		fprintf(stderr, "aifacadectl: the import stopped early; the users reported as imported are in, the rest are "
				"not: fix the cause and run it again (names already in are skipped)\n");
		return EXIT_FAILED;
	}
	return fr.skipped || fr.refused ? EXIT_FAILED : EXIT_DONE;
}

static int make_dirs(const char *dir)
{
	char *p = xstrdup(dir);
	int rc = 0;
	for (char *s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			rc = -1;
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

/* Creates the database's directory when it is missing. */
static int ensure_parent(const char *database)
{
	char *dir = dir_of(database);
	int rc = 0;
	if (make_dirs(dir) != 0) {
		fprintf(stderr, "aifacadectl: cannot create the directory %s: %s; create it, writable by this user\n",
			dir, strerror(errno));
		rc = -1;
	}
	free(dir);
	return rc;
}

/* Parses the arguments after the command name; returns 0, or prints why and
 * returns EXIT_USAGE. *help is set by --help. */
static int parse_args(const struct command *c, int argc, char **argv, struct args *a, int *help)
{
	memset(a, 0, sizeof *a);
	*help = 0;
	int options = 1;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (options && strcmp(s, "--") == 0) {
			options = 0;
		} else if (options && (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)) {
			*help = 1;
		} else if (options && strcmp(s, "--yes") == 0 && c->destructive) {
			a->yes = 1;
		} else if (options && strcmp(s, "--force") == 0 && c->takes_force) {
			a->force = 1;
		} else if (options && strcmp(s, "--dry-run") == 0 && strcmp(c->name, "import-flask") == 0) {
			a->dry_run = 1;
		} else if (options && s[0] == '-' && s[1] != '\0') {
			fprintf(stderr, "aifacadectl %s: unknown option '%s'\n", c->name, s);
			return EXIT_USAGE;
		} else if (a->npos < c->npos) {
			a->pos[a->npos++] = s;
		} else {
			fprintf(stderr, "aifacadectl %s: unexpected argument '%s'\n", c->name, s);
			return EXIT_USAGE;
		}
	}
	if (*help)
		return 0;
	if (a->npos < c->npos) {
		fprintf(stderr, "aifacadectl %s: missing %s\n", c->name,
			c->npos == 2 && strncmp(c->synopsis, "FROM", 4) == 0 ? "FROM and TO, the databases"
			: c->npos == 1 && strncmp(c->synopsis, "NAME", 4) == 0 ? "the user's NAME" : "the FILE");
		return EXIT_USAGE;
	}
	if (a->npos > 0 && a->pos[0][0] == '\0') {
		fprintf(stderr, "aifacadectl %s: the argument is empty\n", c->name);
		return EXIT_USAGE;
	}
	return 0;
}

static int run(const struct command *c, const struct args *a)
{
	if (strcmp(c->name, "copy-db") == 0)
		return copy_db(a);
	/* Checks that need no database come first: a refusal changes nothing. */
	if (strcmp(c->name, "restore") == 0) {
		char err[512];
		int version;
		if (access(a->pos[0], R_OK) != 0) {
			fprintf(stderr, "aifacadectl: cannot read %s: %s\n", a->pos[0], strerror(errno));
			return EXIT_FAILED;
		}
		if (store_check_file(a->pos[0], &version, err, sizeof err) != 0) {
			fprintf(stderr, "aifacadectl: refusing to restore: %s; nothing was changed\n", err);
			return EXIT_FAILED;
		}
		if (version > store_schema_latest())
			fprintf(stderr, "aifacadectl: note: %s has schema version %d, newer than this build's %d\n",
				a->pos[0], version, store_schema_latest());
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "aifacadectl: libsodium failed to initialise\n");
		return EXIT_FAILED;
	}
	int creates = strcmp(c->name, "init-db") == 0 || strcmp(c->name, "restore") == 0;
	struct config cfg;
	char err[512];
	int loaded = config_load(&cfg, err, sizeof err);
	/* On first start the instance directory, home of the secret key, may be missing. */
	if (loaded < 0 && creates && cfg.instance_dir && access(cfg.instance_dir, F_OK) != 0 && errno == ENOENT) {
		char *dir = xstrdup(cfg.instance_dir);
		config_free(&cfg);
		if (make_dirs(dir) != 0) {
			fprintf(stderr, "aifacadectl: cannot create the instance directory %s: %s; create it, writable by "
					"this user\n", dir, strerror(errno));
			free(dir);
			return EXIT_FAILED;
		}
		free(dir);
		loaded = config_load(&cfg, err, sizeof err);
	}
	if (loaded < 0 && !creates && cfg.instance_dir && access(cfg.instance_dir, F_OK) != 0) {
		fprintf(stderr, "aifacadectl: there is no instance directory %s (%s); check AIFACADE_INSTANCE, or create "
				"the database with 'aifacadectl init-db'\n", cfg.instance_dir, strerror(errno));
		config_free(&cfg);
		return EXIT_FAILED;
	}
	if (loaded < 0) {
		fprintf(stderr, "aifacadectl: configuration: %s; fix it in the environment or in %s/.env\n", err,
			cfg.root ? cfg.root : ".");
		config_free(&cfg);
		return EXIT_FAILED;
	}
	password_set_cost(cfg.password_cost);
	/* Only init-db and restore may bring a database into being: elsewhere a
	 * missing file means DATABASE or AIFACADE_INSTANCE points astray. */
	int is_file = strstr(cfg.database, "://") == NULL;
	if (is_file && !creates && access(cfg.database, F_OK) != 0) {
		fprintf(stderr, "aifacadectl: there is no database at %s (%s); check DATABASE and AIFACADE_INSTANCE, "
				"or create it with 'aifacadectl init-db'\n", cfg.database, strerror(errno));
		config_free(&cfg);
		return EXIT_FAILED;
	}
	if (is_file && creates && ensure_parent(cfg.database) != 0) {
		config_free(&cfg);
		return EXIT_FAILED;
	}
	struct store *st;
	if (store_open(cfg.database, &st, err, sizeof err) < 0) {
		fprintf(stderr, "aifacadectl: %s\n", err);
		config_free(&cfg);
		return EXIT_FAILED;
	}
	int rc = c->run(st, &cfg, a);
	store_close(st);
	config_free(&cfg);
	return rc;
}

static void print_assignment(void *ctx, const char *name, size_t name_len, const char *value, size_t value_len)
{
	(void)ctx;
	/* check-output: NUL-separated settings for tools/serve.sh, not a web response */
	fwrite(name, 1, name_len, stdout);
	fputc('\0', stdout);
	fwrite(value, 1, value_len, stdout);
	fputc('\0', stdout);
}

/* aifacadectl dotenv FILE: the one .env parser (config.h) for the shell
 * scripts that start the stack, so that they read a .env as the programs do
 * (quotes, "export ", inline comments). No database is opened. */
static int cmd_dotenv(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: aifacadectl dotenv FILE\n");
		return EXIT_USAGE;
	}
	FILE *f = fopen(argv[2], "r");
	if (!f) {
		fprintf(stderr, "aifacadectl: cannot read %s: %s\n", argv[2], strerror(errno));
		return EXIT_FAILED;
	}
	struct buf text = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&text, chunk, n);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		buf_free(&text);
		fprintf(stderr, "aifacadectl: cannot read %s\n", argv[2]);
		return EXIT_FAILED;
	}
	config_dotenv_each(buf_str(&text), text.len, print_assignment, NULL);
	buf_free(&text);
	return fflush(stdout) == 0 ? EXIT_DONE : EXIT_FAILED;
}

int main(int argc, char **argv)
{
	log_set_program("aifacadectl");
	/* Databases, backups and the secret key hold users' data: ours alone. */
	umask(077);
	if (argc < 2)
		return usage(stderr);
	const char *name = argv[1];
	if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		if (argc < 3)
			return usage(stdout);
		const struct command *c = find_command(argv[2]);
		if (!c) {
			fprintf(stderr, "aifacadectl: unknown command '%s'; 'aifacadectl --help' lists them\n", argv[2]);
			return EXIT_USAGE;
		}
		return command_help(c, stdout);
	}
	if (strcmp(name, "dotenv") == 0)
		return cmd_dotenv(argc, argv);
	const struct command *c = find_command(name);
	if (!c) {
		fprintf(stderr, "aifacadectl: unknown command '%s'; 'aifacadectl --help' lists them\n", name);
		return EXIT_USAGE;
	}
	struct args a;
	int help;
	if (parse_args(c, argc - 2, argv + 2, &a, &help) != 0) {
		fprintf(stderr, "usage: aifacadectl %s%s%s ('aifacadectl %s --help' says more)\n", c->name,
			*c->synopsis ? " " : "", c->synopsis, c->name);
		return EXIT_USAGE;
	}
	if (help)
		return command_help(c, stdout);
	if (c->destructive && !a.yes) {
		fprintf(stderr,
			"aifacadectl: refusing to run %s without --yes: it %s.\n"
			"%s, then run: aifacadectl %s ",
			c->name, c->consequence,
			strcmp(c->name, "restore") == 0 ? "Check that this is the backup you mean"
							 : "Take a backup first (aifacadectl backup FILE)",
			c->name);
		if (a.npos)
			print_shell_word(stderr, a.pos[0]);
		fprintf(stderr, "%s--yes\n", a.npos ? " " : "");
		return EXIT_USAGE;
	}
	int rc = run(c, &a);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "aifacadectl: cannot write the output: %s\n", strerror(errno));
		return EXIT_FAILED;
	}
	return rc;
}
