/* config.c: settings from the environment, `.env`, *_FILE secrets (see config.h). */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "alloc.h"
#include "buf.h"

#define DOTENV_MAX (256 * 1024)
#define SECRET_FILE_MAX 4096

/* Reads a whole small file; returns a fresh string or NULL. */
static char *read_small_file(const char *path, size_t max, size_t *len_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct buf b = BUF_INIT;
	char chunk[4096];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || b.len + (size_t)n > max) {
			close(fd);
			buf_free(&b);
			return NULL;
		}
		if (n == 0)
			break;
		buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	if (len_out)
		*len_out = b.len;
	return buf_detach(&b);
}

static void trim_newlines(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* The closing quote of a value that opens with one: the first matching quote
 * followed only by blanks or by blanks and a comment; NULL if there is none. */
static const char *closing_quote(const char *v, const char *ve)
{
	if (ve - v < 2 || (*v != '"' && *v != '\''))
		return NULL;
	for (const char *c = v + 1; c < ve; c++) {
		if (*c != *v)
			continue;
		const char *t = c + 1;
		while (t < ve && (*t == ' ' || *t == '\t'))
			t++;
		if (t == ve || (*t == '#' && t > c + 1))
			return c;
	}
	return NULL;
}

void config_dotenv_each(const char *text, size_t len,
			void (*fn)(void *ctx, const char *name, size_t name_len, const char *value, size_t value_len),
			void *ctx)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end;
		const char *q = p;
		size_t rest = (size_t)(line_end - p);
		while (rest > 0 && (*q == ' ' || *q == '\t'))
			q++, rest--;
		if (rest > 7 && memcmp(q, "export ", 7) == 0) {
			q += 7, rest -= 7;
			while (rest > 0 && (*q == ' ' || *q == '\t'))
				q++, rest--;
		}
		const char *name = q;
		if (q < line_end && (*q == '_' || (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z')))
			while (q < line_end && (*q == '_' || (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
						(*q >= '0' && *q <= '9')))
				q++;
		if (q > name && q < line_end && *q == '=') {
			const char *v = q + 1, *ve = line_end;
			if (ve > v && ve[-1] == '\r')
				ve--;
			const char *close = closing_quote(v, ve);
			if (close) {
				v++, ve = close;
			} else {
				/* unquoted: an inline comment starts at " #" */
				for (const char *c = v; c < ve; c++)
					if (*c == '#' && c > v && (c[-1] == ' ' || c[-1] == '\t')) {
						ve = c;
						break;
					}
				while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
			}
			fn(ctx, name, (size_t)(q - name), v, (size_t)(ve - v));
		}
		p = eol ? eol + 1 : end;
	}
}

struct dotenv_find {
	const char *name;
	size_t name_len;
	char *found;
};

static void dotenv_find_one(void *ctx, const char *name, size_t name_len, const char *value, size_t value_len)
{
	struct dotenv_find *f = ctx;
	if (name_len != f->name_len || memcmp(name, f->name, name_len) != 0)
		return;
	free(f->found); /* the last assignment wins, as in a shell */
	f->found = xstrndup(value, value_len);
}

char *config_dotenv_lookup(const char *text, size_t len, const char *name)
{
	struct dotenv_find f = {name, strlen(name), NULL};
	config_dotenv_each(text, len, dotenv_find_one, &f);
	return f.found;
}

static long long ts_ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static void stamp_fill(struct config_stamp *st, const char *path)
{
	struct stat sb;
	st->exists = stat(path, &sb) == 0;
	st->dev = st->exists ? sb.st_dev : 0;
	st->ino = st->exists ? sb.st_ino : 0;
	st->size = st->exists ? sb.st_size : 0;
	st->mtime_ns = st->exists ? ts_ns(&sb.st_mtim) : 0;
	st->ctime_ns = st->exists ? ts_ns(&sb.st_ctim) : 0;
}

/* Remembers path as read now; called before it is read, so that a change
 * while it is read counts as a change. */
static struct config_stamp *stamp_add(struct config *cfg, const char *path)
{
	for (size_t i = 0; i < cfg->n_stamps; i++)
		if (strcmp(cfg->stamps[i].path, path) == 0)
			return &cfg->stamps[i];
	if (cfg->n_stamps == CONFIG_STAMPS_MAX)
		return NULL;
	struct config_stamp *st = &cfg->stamps[cfg->n_stamps++];
	st->path = xstrdup(path);
	stamp_fill(st, path);
	return st;
}

int config_changed(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_stamps; i++) {
		struct config_stamp now = {0};
		stamp_fill(&now, cfg->stamps[i].path);
		const struct config_stamp *was = &cfg->stamps[i];
		if (now.exists != was->exists || now.dev != was->dev || now.ino != was->ino || now.size != was->size ||
		    now.mtime_ns != was->mtime_ns || now.ctime_ns != was->ctime_ns)
			return 1;
	}
	return 0;
}

struct source {
	char *dotenv;
	size_t dotenv_len;
	const char *root;
	struct config *cfg;   /* where the files read are stamped */
};

/* Returns a fresh string for NAME by the lookup order of config.h, or NULL.
 * An unreadable NAME_FILE is reported through *bad_file. */
static char *lookup(const struct source *src, const char *name, int *bad_file)
{
	const char *v = getenv(name);
	if (v && *v)
		return xstrdup(v);
	char *fname = xasprintf("%s_FILE", name);
	const char *f = getenv(fname);
	char *fromdot = NULL, *path = NULL;
	if (!(f && *f)) {
		fromdot = src->dotenv ? config_dotenv_lookup(src->dotenv, src->dotenv_len, name) : NULL;
		if (fromdot && *fromdot) {
			free(fname);
			return fromdot;
		}
		free(fromdot);
		path = src->dotenv ? config_dotenv_lookup(src->dotenv, src->dotenv_len, fname) : NULL;
		f = path;
	}
	free(fname);
	char *out = NULL;
	if (f && *f) {
		char *full = f[0] == '/' ? xstrdup(f) : xasprintf("%s/%s", src->root, f);
		stamp_add(src->cfg, full);
		out = read_small_file(full, SECRET_FILE_MAX, NULL);
		free(full);
		if (out == NULL)
			*bad_file = 1;
		else
			trim_newlines(out);
	}
	free(path);
	return out;
}

int config_parse_seconds(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	if (!s || *s < '0' || *s > '9') /* strtoll() would skip blanks and take a sign */
		return -1;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -1;
	long long mult = 1;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		mult = 60, end++;
	else if (*end == 'h')
		mult = 3600, end++;
	else if (*end == 'd')
		mult = 86400, end++;
	if (*end != '\0' || v > LONG_MAX / mult)
		return -1;
	v *= mult;
	if (v < min || v > max)
		return -1;
	*out = (long)v;
	return 0;
}

/* A whole decimal in [min,max] without a unit: a count, not a duration. */
static int parse_count(const char *s, long min, long max, long *out)
{
	if (s[strspn(s, "0123456789")] != '\0')
		return -1;
	return config_parse_seconds(s, min, max, out);
}

int config_parse_rate(const char *s, struct rate *out)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash == s)
		return -1;
	char *end;
	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	long long n = strtoll(s, &end, 10);
	if (errno || end != slash || n < 1 || n > 1000000000)
		return -1;
	const char *unit = slash + 1;
	long window;
	if (strcmp(unit, "second") == 0 || strcmp(unit, "s") == 0)
		window = 1;
	else if (strcmp(unit, "minute") == 0 || strcmp(unit, "m") == 0)
		window = 60;
	else if (strcmp(unit, "hour") == 0 || strcmp(unit, "h") == 0)
		window = 3600;
	else if (strcmp(unit, "day") == 0 || strcmp(unit, "d") == 0)
		window = 86400;
	else
		return -1;
	out->limit = (long)n;
	out->window = window;
	return 0;
}

/* Reads instance/secret_key, creating it (0600, 32 random bytes as hex)
 * when missing. Returns a fresh string or NULL. */
static char *secret_from_instance(struct config *cfg, const char *instance_dir, char *err, size_t errlen)
{
	char *path = xasprintf("%s/secret_key", instance_dir);
	struct config_stamp *stamp = stamp_add(cfg, path);
	char *key = read_small_file(path, SECRET_FILE_MAX, NULL);
	if (key == NULL && errno == ENOENT) {
		unsigned char raw[32];
		char hex[65];
		randombytes_buf(raw, sizeof raw);
		sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
		sodium_memzero(raw, sizeof raw);
		char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		int saved = 0;
		if (fd >= 0) {
			int written = write(fd, hex, 64) == 64 && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
			written = close(fd) == 0 && written;
			/* link() fails with EEXIST if another process won the race: use theirs. */
			saved = written && (link(tmp, path) == 0 || errno == EEXIST);
			if (unlink(tmp) != 0 && saved)
				saved = 1; /* a stray temporary file is harmless; the key is in place */
		}
		sodium_memzero(hex, sizeof hex);
		if (!saved) {
			snprintf(err, errlen, "cannot create %s (%s); set SECRET_KEY or make %s writable", path,
				 strerror(errno), instance_dir);
			free(tmp);
			free(path);
			return NULL;
		}
		free(tmp);
		/* The stamp taken before it existed would call it changed. */
		if (stamp)
			stamp_fill(stamp, path);
		key = read_small_file(path, SECRET_FILE_MAX, NULL);
	}
	if (key == NULL)
		snprintf(err, errlen, "cannot read or create %s (%s); set SECRET_KEY or make the directory writable",
			 path, strerror(errno));
	else
		trim_newlines(key);
	free(path);
	return key;
}

static char **split_list(const char *s, size_t *count)
{
	size_t n = 0, cap = 4;
	char **list = xcalloc(cap + 1, sizeof *list);
	const char *p = s;
	while (*p) {
		const char *comma = strchr(p, ',');
		const char *e = comma ? comma : p + strlen(p);
		const char *a = p;
		while (a < e && (*a == ' ' || *a == '\t'))
			a++;
		const char *b = e;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a) {
			if (n == cap) {
				cap *= 2;
				list = xrealloc(list, (cap + 1) * sizeof *list);
			}
			list[n++] = xstrndup(a, (size_t)(b - a));
			list[n] = NULL;
		}
		p = comma ? comma + 1 : e;
	}
	if (count)
		*count = n;
	return list;
}

static void free_list(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

char *config_database_shown(const char *database)
{
	struct buf out = BUF_INIT;
	const char *scheme_end = strstr(database, "://");
	if (!scheme_end || (strncmp(database, "postgresql://", 13) != 0 && strncmp(database, "postgres://", 11) != 0)) {
		buf_append_str(&out, database);
		return buf_detach(&out);
	}
	const char *auth = scheme_end + 3;
	size_t hostpart = strcspn(auth, "/?");
	const char *at = NULL; /* the last '@': a password may hold one unescaped */
	for (size_t i = 0; i < hostpart; i++)
		if (auth[i] == '@')
			at = auth + i;
	const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	const char *p = database;
	if (colon) {
		buf_append(&out, p, (size_t)(colon + 1 - p));
		buf_append_str(&out, "***");
		p = at;
	}
	/* password=... among the parameters, up to the next '&'. */
	while (*p) {
		const char *key = strstr(p, "password=");
		if (!key || key == database || (key[-1] != '?' && key[-1] != '&')) {
			if (!key) {
				buf_append_str(&out, p);
				break;
			}
			buf_append(&out, p, (size_t)(key + 9 - p));
			p = key + 9;
			continue;
		}
		buf_append(&out, p, (size_t)(key + 9 - p));
		buf_append_str(&out, "***");
		p = key + 9 + strcspn(key + 9, "&");
	}
	return buf_detach(&out);
}

int config_load(struct config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	err[0] = '\0';
	const char *root = getenv("AIFACADE_ROOT");
	cfg->root = xstrdup(root && *root ? root : ".");
	struct source src = {NULL, 0, cfg->root, cfg};
	char *dotenv_path = xasprintf("%s/.env", cfg->root);
	stamp_add(cfg, dotenv_path);
	src.dotenv = read_small_file(dotenv_path, DOTENV_MAX, &src.dotenv_len);
	free(dotenv_path);
	int bad_file = 0;
	char *v = NULL;
	int rc = -1;

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); goto out; } while (0)
#define GET(name) do { free(v); v = lookup(&src, name, &bad_file); \
	if (bad_file) FAIL("%s_FILE names a file that cannot be read; check its path and permissions", name); } while (0)

	GET("AIFACADE_INSTANCE");
	if (v == NULL)
		cfg->instance_dir = xasprintf("%s/instance", cfg->root);
	else
		cfg->instance_dir = v[0] == '/' ? xstrdup(v) : xasprintf("%s/%s", cfg->root, v);

	GET("DATABASE");
	if (v == NULL)
		cfg->database = xasprintf("%s/aifacade.db", cfg->instance_dir);
	else if (v[0] == '/' || strncmp(v, "postgresql://", 13) == 0 || strncmp(v, "postgres://", 11) == 0)
		cfg->database = xstrdup(v);
	else
		cfg->database = xasprintf("%s/%s", cfg->root, v);
	cfg->database_shown = config_database_shown(cfg->database);

	GET("AI_API_KEY");
	if (v == NULL) {
		GET("DEEPSEEK_API_KEY");
		}
	/* An empty key (an empty secret file, say) means no key: the demo. */
	cfg->api_key = v && *v ? xstrdup(v) : NULL;

	GET("AI_API_URL");
	cfg->api_url = xstrdup(v ? v : "https://api.deepseek.com/chat/completions");
	if (strncmp(cfg->api_url, "https://", 8) != 0 && strncmp(cfg->api_url, "http://", 7) != 0)
		FAIL("AI_API_URL must start with https:// or http:// (got something else)");

	GET("AI_MODEL");
	cfg->model = xstrdup(v ? v : "deepseek-v4-flash");
	GET("AI_MODELS");
	cfg->models = split_list(v ? v : cfg->model, &cfg->n_models);
	if (cfg->n_models == 0) {
		free_list(cfg->models);
		cfg->models = split_list(cfg->model, &cfg->n_models);
	}

	GET("AI_SYSTEM_PROMPT");
	cfg->system_prompt = v && *v ? xstrdup(v) : NULL;

	GET("AI_IDLE_TIMEOUT");
	cfg->idle_timeout = 60;
	if (v && config_parse_seconds(v, 1, 86400, &cfg->idle_timeout) < 0)
		FAIL("AI_IDLE_TIMEOUT must be a number of seconds from 1 to 86400, like 60 or 2m");
	GET("AI_TIMEOUT");
	cfg->timeout = 600;
	if (v && config_parse_seconds(v, 1, 86400, &cfg->timeout) < 0)
		FAIL("AI_TIMEOUT must be a number of seconds from 1 to 86400, like 600 or 10m");
	GET("AI_FIRST_TOKEN_TIMEOUT");
	cfg->first_token_timeout = 120;
	if (v && config_parse_seconds(v, 1, 86400, &cfg->first_token_timeout) < 0)
		FAIL("AI_FIRST_TOKEN_TIMEOUT must be a number of seconds from 1 to 86400, like 120 or 2m");
	GET("ANSWER_STORE_WAIT");
	cfg->answer_store_wait = 30;
	if (v && config_parse_seconds(v, 1, 600, &cfg->answer_store_wait) < 0)
		FAIL("ANSWER_STORE_WAIT must be a number of seconds from 1 to 600, like 30");
	GET("MAX_STREAMS_PER_USER");
	cfg->max_streams_user = 3;
	if (v && parse_count(v, 1, 1000, &cfg->max_streams_user) < 0)
		FAIL("MAX_STREAMS_PER_USER must be a whole number from 1 to 1000");
	GET("MAX_STREAMS_TOTAL");
	/* Below lighttpd's 256 connections (AIFACADE_MAX_CONNS): slow answers
	 * must leave room for everyone else's page loads. */
	cfg->max_streams_total = 64;
	if (v && parse_count(v, 1, 100000, &cfg->max_streams_total) < 0)
		FAIL("MAX_STREAMS_TOTAL must be a whole number from 1 to 100000");
	GET("AI_CONTEXT_CHARS");
	cfg->context_chars = 24000;
	if (v && parse_count(v, 0, 10000000, &cfg->context_chars) < 0)
		FAIL("AI_CONTEXT_CHARS must be a whole number of characters");

	struct { const char *name, *dflt; struct rate *dst; } rates[] = {
		{"RATE_LIMIT_PROMPTS", "30/hour", &cfg->rate_prompts},
		{"RATE_LIMIT_LOGIN", "10/minute", &cfg->rate_login},
		{"RATE_LIMIT_AUTH_IP", "60/minute", &cfg->rate_auth_ip},
	};
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		GET(rates[i].name);
		if (config_parse_rate(v ? v : rates[i].dflt, rates[i].dst) < 0)
			FAIL("%s must look like 30/hour (a count, '/', and second, minute, hour or day)", rates[i].name);
	}

	GET("PROMPT_MAX_CHARS");
	cfg->prompt_max_chars = 4000;
	if (v && parse_count(v, 1, 1000000, &cfg->prompt_max_chars) < 0)
		FAIL("PROMPT_MAX_CHARS must be a whole number from 1 to 1000000");
	GET("IMPORT_MAX_BYTES");
	cfg->import_max_bytes = 20 * 1000 * 1000;
	if (v && parse_count(v, 1024, 1024L * 1024 * 1024, &cfg->import_max_bytes) < 0)
		FAIL("IMPORT_MAX_BYTES must be a whole number of bytes from 1024 to 1073741824");
	GET("SESSION_IDLE_TIMEOUT");
	cfg->session_idle = 7 * 86400;
	if (v && config_parse_seconds(v, 1, 366 * 86400L, &cfg->session_idle) < 0)
		FAIL("SESSION_IDLE_TIMEOUT must be a duration like 7d, 12h or 3600");
	GET("SESSION_MAX_AGE");
	cfg->session_max = 30 * 86400;
	if (v && config_parse_seconds(v, 1, 3660 * 86400L, &cfg->session_max) < 0)
		FAIL("SESSION_MAX_AGE must be a duration like 30d, 12h or 3600");

	GET("TRUSTED_PROXIES");
	cfg->trusted_proxies = split_list(v ? v : "127.0.0.1,::1", NULL);
	GET("COOKIE_SECURE");
	cfg->cookie_secure = 1;
	if (v && strcmp(v, "0") == 0)
		cfg->cookie_secure = 0;
	else if (v && strcmp(v, "1") != 0)
		FAIL("COOKIE_SECURE must be 1 (cookies only over HTTPS) or 0 (plain HTTP)");

	GET("AI_TITLES");
	cfg->titles = 1;
	if (v && strcmp(v, "0") == 0)
		cfg->titles = 0;
	else if (v && strcmp(v, "1") != 0)
		FAIL("AI_TITLES must be 1 (ask the provider for a title) or 0 (title from the first prompt)");

	GET("REGISTRATION");
	cfg->registration = REG_APPROVAL;
	if (v && strcmp(v, "open") == 0)
		cfg->registration = REG_OPEN;
	else if (v && strcmp(v, "invite") == 0)
		cfg->registration = REG_INVITE;
	else if (v && strcmp(v, "closed") == 0)
		cfg->registration = REG_CLOSED;
	else if (v && strcmp(v, "approval") != 0)
		FAIL("REGISTRATION must be open, approval, invite or closed");
	GET("PASSWORD_HASH_COST");
	cfg->password_cost = PASSWORD_COST_INTERACTIVE;
	if (v && strcmp(v, "moderate") == 0)
		cfg->password_cost = PASSWORD_COST_MODERATE;
	else if (v && strcmp(v, "minimum") == 0)
		cfg->password_cost = PASSWORD_COST_MINIMUM;
	else if (v && strcmp(v, "interactive") != 0)
		FAIL("PASSWORD_HASH_COST must be interactive, moderate or minimum (test suites only)");
	GET("QUOTA_PROMPTS_DAY");
	if (v && *v && parse_count(v, 1, 100000000, &cfg->quota_prompts_day) < 0)
		FAIL("QUOTA_PROMPTS_DAY must be a whole number of prompts per day, or empty for no limit");
	GET("QUOTA_TOKENS_MONTH");
	if (v && *v && parse_count(v, 1, 1000000000000L, &cfg->quota_tokens_month) < 0)
		FAIL("QUOTA_TOKENS_MONTH must be a whole number of tokens per month, or empty for no limit");
	GET("AUTH_TRUSTED_HEADER");
	if (v && *v) {
		if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") != strlen(v))
			FAIL("AUTH_TRUSTED_HEADER must be a header name of letters, digits and '-', like Remote-User");
		cfg->trusted_header = xstrdup(v);
	}

	GET("SECRET_KEY");
	if (v == NULL) {
		v = secret_from_instance(cfg, cfg->instance_dir, err, errlen);
		if (v == NULL)
			goto out;
	}
	/* SECURITY.md: a key shorter than 32 characters is refused. */
	if (strlen(v) < CONFIG_SECRET_MIN)
		FAIL("SECRET_KEY is too short: use at least 32 random characters (e.g. openssl rand -hex 32)");
	/* Keyed hash so any string becomes a uniform 32-byte key. */
	crypto_generichash(cfg->secret, sizeof cfg->secret, (const unsigned char *)v, strlen(v),
			   (const unsigned char *)"aifacade-secret-key-v1", 22);
	sodium_memzero(v, strlen(v));
	rc = 0;
out:
#undef GET
#undef FAIL
	free(v);
	free(src.dotenv);
	return rc;
}

void config_free(struct config *cfg)
{
	free(cfg->root);
	free(cfg->instance_dir);
	free(cfg->database);
	free(cfg->database_shown);
	if (cfg->api_key) {
		sodium_memzero(cfg->api_key, strlen(cfg->api_key));
		free(cfg->api_key);
	}
	free(cfg->api_url);
	free(cfg->model);
	free_list(cfg->models);
	free(cfg->system_prompt);
	free_list(cfg->trusted_proxies);
	for (size_t i = 0; i < cfg->n_stamps; i++)
		free(cfg->stamps[i].path);
	free(cfg->trusted_header);
	sodium_memzero(cfg->secret, sizeof cfg->secret);
	memset(cfg, 0, sizeof *cfg);
}
