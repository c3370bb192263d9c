/* config.h: the application's settings, from the environment, then `.env`.
 *
 * Contract: config_load() reads every setting of SPEC §3 once per process.
 * For each NAME the environment wins, then NAME_FILE in the environment (a
 * Docker secret), then NAME and NAME_FILE in `.env` of the project root
 * (AIFACADE_ROOT, default "."), then the default. SECRET_KEY, when absent, is
 * generated into instance/secret_key (mode 0600) on first use. A malformed
 * value is an error naming the variable: we never guess. */
#ifndef AIF_CONFIG_H
#define AIF_CONFIG_H
#include <stddef.h>
#include <sys/types.h>

#include "password.h"

struct rate {
	long limit;   /* events allowed ... */
	long window;  /* ... per this many seconds */
};

/* The shortest SECRET_KEY accepted, in characters (SECURITY.md). */
#define CONFIG_SECRET_MIN 32

/* A file the configuration was read from, as it was then (config_changed()). */
struct config_stamp {
	char *path;
	int exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	long long mtime_ns, ctime_ns;
};
#define CONFIG_STAMPS_MAX 12

struct config {
	char *root;           /* project root */
	char *instance_dir;   /* AIFACADE_INSTANCE, default <root>/instance */
	char *database;       /* DATABASE: path or postgresql:// URL */
	char *database_shown; /* DATABASE as messages show it: no password (config_database_shown()) */
	unsigned char secret[32]; /* derived from SECRET_KEY */
	char *api_key;        /* AI_API_KEY or DEEPSEEK_API_KEY; NULL → demo provider */
	char *api_url;
	char *model;          /* default model */
	char **models;        /* AI_MODELS, NULL-terminated; at least the default */
	size_t n_models;
	char *system_prompt;  /* NULL when empty */
	long idle_timeout, timeout;
	long first_token_timeout; /* AI_FIRST_TOKEN_TIMEOUT: seconds to the first streamed token */
	long answer_store_wait;   /* ANSWER_STORE_WAIT: seconds storing an arrived answer waits for the lock */
	long max_streams_user, max_streams_total; /* MAX_STREAMS_PER_USER, MAX_STREAMS_TOTAL (inflight.h) */
	long context_chars;   /* AI_CONTEXT_CHARS: budget of earlier messages sent */
	struct rate rate_prompts, rate_login, rate_auth_ip;
	long prompt_max_chars;
	long session_idle, session_max; /* seconds */
	char **trusted_proxies;  /* TRUSTED_PROXIES, NULL-terminated addresses */
	int cookie_secure;    /* COOKIE_SECURE (default 1) */
	long import_max_bytes; /* IMPORT_MAX_BYTES: largest POST /api/import body */
	int titles;           /* AI_TITLES (default 1): ask the provider to title new conversations */
	/* The files read: .env (also when absent), each *_FILE, instance/secret_key. */
	struct config_stamp stamps[CONFIG_STAMPS_MAX];
	size_t n_stamps;
	/* Self-hosting controls (README, "Accounts and administration"). */
	enum registration { REG_OPEN, REG_APPROVAL, REG_INVITE, REG_CLOSED } registration; /* REGISTRATION */
	long quota_prompts_day;   /* QUOTA_PROMPTS_DAY: prompts per UTC day, 0 for no limit */
	long quota_tokens_month;  /* QUOTA_TOKENS_MONTH: tokens per UTC month, 0 for no limit */
	char *trusted_header;     /* AUTH_TRUSTED_HEADER: e.g. "Remote-User", NULL when unset */
	int password_cost;        /* PASSWORD_HASH_COST (password.h): PASSWORD_COST_* */
};

/* Fills cfg; returns 0, or -1 with a message for the operator in err. */
int config_load(struct config *cfg, char *err, size_t errlen);
/* database as a message may show it: a postgresql:// URL's password, in
 * its user part or as a password= parameter, becomes "***". The caller
 * frees the result. */
char *config_database_shown(const char *database);
void config_free(struct config *cfg);
/* 1 when a file cfg was read from changed, appeared or went away since
 * (a rotated API key, an edited .env): the process loads it again
 * (app.h, app_config()). A process's environment cannot change. */
int config_changed(const struct config *cfg);

/* Lower-level pieces, exposed for tests and the admin command. */
/* Looks up NAME in a .env text; returns a fresh string or NULL. */
char *config_dotenv_lookup(const char *text, size_t len, const char *name);
/* The one .env parser: calls fn for each assignment NAME=value of text, in
 * order, with the value unquoted ('...' or "...", as written inside) or, when
 * unquoted, without an inline comment (" # ...") and trailing blanks. Lines
 * that are not an assignment of a NAME of [A-Za-z_][A-Za-z0-9_]* are skipped;
 * "export NAME=value" is an assignment. */
void config_dotenv_each(const char *text, size_t len,
			void (*fn)(void *ctx, const char *name, size_t name_len, const char *value, size_t value_len),
			void *ctx);
/* Parses "30/hour" style limits; returns 0 or -1. */
int config_parse_rate(const char *s, struct rate *out);
/* Parses a whole decimal in [min,max] with an optional unit suffix s/m/h/d
 * (seconds); returns 0 or -1. */
int config_parse_seconds(const char *s, long min, long max, long *out);

#endif
