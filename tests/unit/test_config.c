/* test_config.c: unit tests for config.c: .env reading, value parsers, config_load(). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "config.h"

/* ---- config_dotenv_lookup ---- */

/* Looks name up in an exact-size copy of text; returns a fresh string or NULL. */
static char *dotenv(const char *text, size_t len, const char *name)
{
	char *p = check_exact(text, len);
	char *v = config_dotenv_lookup(p, len, name);
	free(p);
	return v;
}

#define CHECK_DOTENV(lit, name, want, label) do { \
	char *got_ = dotenv((lit), sizeof(lit) - 1, (name)); \
	CHECK_STR(got_, (want), (label)); \
	free(got_); \
} while (0)

static void test_dotenv(void)
{
	CHECK_DOTENV("XAI_MODEL=evil\n", "AI_MODEL", NULL, "dotenv: name as a suffix of another name");
	CHECK_DOTENV("AI_MODEL_X=evil\n", "AI_MODEL", NULL, "dotenv: name as a prefix of another name");
	CHECK_DOTENV("AI_MODELS=evil\n", "AI_MODEL", NULL, "dotenv: AI_MODELS is not AI_MODEL");
	CHECK_DOTENV("# AI_MODEL=evil\n", "AI_MODEL", NULL, "dotenv: commented out");
	CHECK_DOTENV("#AI_MODEL=evil", "AI_MODEL", NULL, "dotenv: commented out without a space");
	CHECK_DOTENV("OTHER=x AI_MODEL=evil\n", "AI_MODEL", NULL, "dotenv: name inside another line");
	CHECK_DOTENV("OTHER=\"\nAI_MODEL=x\"\n", "AI_MODEL", "x\"", "dotenv: no multi-line values");
	CHECK_DOTENV("AI_MODEL\n", "AI_MODEL", NULL, "dotenv: name without =");
	CHECK_DOTENV("AI_MODEL =x\n", "AI_MODEL", NULL, "dotenv: space before = is not an assignment");
	CHECK_DOTENV("", "AI_MODEL", NULL, "dotenv: empty file");
	CHECK_DOTENV("\n\n\n", "AI_MODEL", NULL, "dotenv: blank lines");
	CHECK_DOTENV("AI_MODEL=", "AI_MODEL", "", "dotenv: empty value at the end of the file");
	CHECK_DOTENV("AI_MODEL=m", "AI_MODEL", "m", "dotenv: no newline at the end of the file");

	CHECK_DOTENV("A=1\nAI_MODEL=m\nB=2\n", "AI_MODEL", "m", "dotenv: plain assignment");
	CHECK_DOTENV("AI_MODEL=m\r\n", "AI_MODEL", "m", "dotenv: CRLF line end");
	CHECK_DOTENV("  \tAI_MODEL=m\n", "AI_MODEL", "m", "dotenv: indented");
	CHECK_DOTENV("export AI_MODEL=m\n", "AI_MODEL", "m", "dotenv: export prefix");
	CHECK_DOTENV("AI_MODEL=a\nAI_MODEL=b\n", "AI_MODEL", "b", "dotenv: the last assignment wins");
	CHECK_DOTENV("AI_MODEL=m   \n", "AI_MODEL", "m", "dotenv: trailing blanks dropped");
	CHECK_DOTENV("AI_MODEL=m # the model\n", "AI_MODEL", "m", "dotenv: inline comment");
	CHECK_DOTENV("AI_MODEL=a#b\n", "AI_MODEL", "a#b", "dotenv: # inside a word is not a comment");
	CHECK_DOTENV("AI_MODEL=a=b\n", "AI_MODEL", "a=b", "dotenv: = inside the value");
	CHECK_DOTENV("AI_MODEL=\"a b\"\n", "AI_MODEL", "a b", "dotenv: double quotes");
	CHECK_DOTENV("AI_MODEL='a b'\n", "AI_MODEL", "a b", "dotenv: single quotes");
	CHECK_DOTENV("AI_MODEL=\"a # b\"\n", "AI_MODEL", "a # b", "dotenv: # inside quotes is kept");
	CHECK_DOTENV("AI_MODEL=\"\"\n", "AI_MODEL", "", "dotenv: empty quotes");
	CHECK_DOTENV("AI_MODEL=\"a b\" # comment\n", "AI_MODEL", "a b", "dotenv: quoted value then a comment");
	CHECK_DOTENV("AI_MODEL=\"a b\"  \n", "AI_MODEL", "a b", "dotenv: quoted value then blanks");
	CHECK_DOTENV("AI_MODEL='x' # it's\n", "AI_MODEL", "x", "dotenv: quoted value, comment with a quote");
	CHECK_DOTENV("AI_MODEL=\"a\"b\"\n", "AI_MODEL", "a\"b", "dotenv: inner quote kept when the line ends quoted");
	CHECK_DOTENV("OTHER=1\0\nAI_MODEL=m\n", "AI_MODEL", "m", "dotenv: a NUL byte does not hide later lines");
}

/* ---- config_parse_rate and config_parse_seconds ---- */

static int rate_is(const char *s, long limit, long window)
{
	struct rate r = {-1, -1};
	return config_parse_rate(s, &r) == 0 && r.limit == limit && r.window == window;
}

static int rate_refused(const char *s)
{
	struct rate r = {-7, -7};
	return config_parse_rate(s, &r) == -1 && r.limit == -7 && r.window == -7;
}

static void test_rate(void)
{
	CHECK(rate_refused(""), "rate: empty");
	CHECK(rate_refused("30"), "rate: no unit");
	CHECK(rate_refused("30/"), "rate: empty unit");
	CHECK(rate_refused("/hour"), "rate: no count");
	CHECK(rate_refused("0/hour"), "rate: zero");
	CHECK(rate_refused("-1/hour"), "rate: negative");
	CHECK(rate_refused("+1/hour"), "rate: plus sign");
	CHECK(rate_refused(" 30/hour"), "rate: leading space");
	CHECK(rate_refused("30 /hour"), "rate: space before /");
	CHECK(rate_refused("30/ hour"), "rate: space after /");
	CHECK(rate_refused("30/hour "), "rate: trailing space");
	CHECK(rate_refused("30/Hour"), "rate: unit is case-sensitive");
	CHECK(rate_refused("30/hours"), "rate: plural unit");
	CHECK(rate_refused("30/fortnight"), "rate: unknown unit");
	CHECK(rate_refused("30/hour/x"), "rate: two slashes");
	CHECK(rate_refused("1e3/hour"), "rate: exponent");
	CHECK(rate_refused("3.5/hour"), "rate: fraction");
	CHECK(rate_refused("0x10/hour"), "rate: hexadecimal");
	CHECK(rate_refused("99999999999999999999/hour"), "rate: huge count");
	CHECK(rate_refused("1000000001/hour"), "rate: count above a billion");
	CHECK(rate_refused("30 per hour"), "rate: words");

	CHECK(rate_is("30/hour", 30, 3600), "rate: 30/hour");
	CHECK(rate_is("10/minute", 10, 60), "rate: 10/minute");
	CHECK(rate_is("5/second", 5, 1), "rate: 5/second");
	CHECK(rate_is("100/day", 100, 86400), "rate: 100/day");
	CHECK(rate_is("1/s", 1, 1) && rate_is("1/m", 1, 60) && rate_is("1/h", 1, 3600) && rate_is("1/d", 1, 86400),
	      "rate: one-letter units");
	CHECK(rate_is("1000000000/hour", 1000000000, 3600), "rate: a billion");
	CHECK(rate_is("007/minute", 7, 60), "rate: leading zeros are decimal");
}

static int secs_is(const char *s, long min, long max, long want)
{
	long v = -1;
	return config_parse_seconds(s, min, max, &v) == 0 && v == want;
}

static int secs_refused(const char *s, long min, long max)
{
	long v = -7;
	return config_parse_seconds(s, min, max, &v) == -1 && v == -7;
}

static void test_seconds(void)
{
	CHECK(secs_refused(NULL, 0, 100), "seconds: NULL");
	CHECK(secs_refused("", 0, 100), "seconds: empty");
	CHECK(secs_refused("-1", -10, 100), "seconds: negative");
	CHECK(secs_refused("+1", 0, 100), "seconds: plus sign");
	CHECK(secs_refused(" 1", 0, 100), "seconds: leading space");
	CHECK(secs_refused("\t1", 0, 100), "seconds: leading tab");
	CHECK(secs_refused("\n1", 0, 100), "seconds: leading newline");
	CHECK(secs_refused("1 ", 0, 100), "seconds: trailing space");
	CHECK(secs_refused("1 s", 0, 100), "seconds: space before the unit");
	CHECK(secs_refused("1x", 0, 100), "seconds: unknown unit");
	CHECK(secs_refused("1ms", 0, 100), "seconds: two-letter unit");
	CHECK(secs_refused("1ss", 0, 100), "seconds: unit twice");
	CHECK(secs_refused("1S", 0, 100), "seconds: unit is lower case");
	CHECK(secs_refused("s", 0, 100), "seconds: unit without a number");
	CHECK(secs_refused("1.5", 0, 100), "seconds: fraction");
	CHECK(secs_refused("1e2", 0, 1000), "seconds: exponent");
	CHECK(secs_refused("0x10", 0, 100), "seconds: hexadecimal");
	CHECK(secs_refused("99999999999999999999", 0, LONG_MAX), "seconds: huge number");
	CHECK(secs_refused("9223372036854775807d", 0, LONG_MAX), "seconds: unit overflow");
	CHECK(secs_refused("106751991167301d", 0, LONG_MAX), "seconds: days just past overflow");
	CHECK(secs_refused("0", 1, 100), "seconds: below the minimum");
	CHECK(secs_refused("101", 1, 100), "seconds: above the maximum");
	CHECK(secs_refused("2m", 1, 100), "seconds: above the maximum after the unit");

	CHECK(secs_is("0", 0, 100, 0), "seconds: zero when allowed");
	CHECK(secs_is("60", 1, 86400, 60), "seconds: plain number");
	CHECK(secs_is("60s", 1, 86400, 60), "seconds: s");
	CHECK(secs_is("2m", 1, 86400, 120), "seconds: m");
	CHECK(secs_is("3h", 1, 86400, 10800), "seconds: h");
	CHECK(secs_is("1d", 1, 86400, 86400), "seconds: d, exactly the maximum");
	CHECK(secs_is("100", 1, 100, 100) && secs_is("1", 1, 100, 1), "seconds: both bounds inclusive");
	CHECK(secs_is("060", 1, 100, 60), "seconds: leading zero is decimal, not octal");
}

/* ---- config_load in a temporary project root ---- */

static char root[64];

static const char *const config_vars[] = {
	"AIFACADE_INSTANCE", "DATABASE", "SECRET_KEY", "AI_API_KEY", "DEEPSEEK_API_KEY", "AI_API_URL", "AI_MODEL",
	"AI_MODELS", "AI_SYSTEM_PROMPT", "AI_IDLE_TIMEOUT", "AI_TIMEOUT", "AI_CONTEXT_CHARS", "RATE_LIMIT_PROMPTS",
	"RATE_LIMIT_LOGIN", "RATE_LIMIT_AUTH_IP", "PROMPT_MAX_CHARS", "SESSION_IDLE_TIMEOUT", "SESSION_MAX_AGE",
	"TRUSTED_PROXIES", "COOKIE_SECURE", "ANSWER_STORE_WAIT", "PASSWORD_HASH_COST", NULL,
};

static void env_clear(void)
{
	char name[64];
	for (const char *const *v = config_vars; *v; v++) {
		unsetenv(*v);
		snprintf(name, sizeof name, "%s_FILE", *v);
		unsetenv(name);
	}
	setenv("AIFACADE_ROOT", root, 1);
}

static char *path_in_root(const char *rel)
{
	size_t n = strlen(root) + strlen(rel) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", root, rel);
	return p;
}

/* Writes text to root/rel (mode 0644); returns 0 or -1. */
static int write_file(const char *rel, const char *text)
{
	char *p = path_in_root(rel);
	if (!p)
		return -1;
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	free(p);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	int ok = write(fd, text, len) == (ssize_t)len;
	return close(fd) == 0 && ok ? 0 : -1;
}

static void remove_file(const char *rel)
{
	char *p = path_in_root(rel);
	if (p && unlink(p) != 0 && errno != ENOENT)
		printf("# could not remove %s\n", p);
	free(p);
}

/* Reads root/rel into buf (NUL-terminated); returns its length or -1. */
static long read_file(const char *rel, char *buf, size_t size)
{
	char *p = path_in_root(rel);
	int fd = p ? open(p, O_RDONLY) : -1;
	free(p);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (long)n;
}

/* Removes a directory tree made by this test. */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		size_t n = strlen(dir) + strlen(e->d_name) + 2;
		char *p = malloc(n);
		if (!p)
			break;
		snprintf(p, n, "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(p);
		else if (unlink(p) != 0)
			printf("# could not remove %s\n", p);
		free(p);
	}
	closedir(d);
	if (rmdir(dir) != 0)
		printf("# could not remove %s\n", dir);
}

/* Loads the configuration; returns config_load()'s result. cfg must be freed. */
static int load(struct config *cfg, char *err, size_t errlen)
{
	return config_load(cfg, err, errlen);
}

/* Checks that loading fails with a message naming want. */
static void check_load_fails_naming(const char *want, const char *name, int line)
{
	struct config cfg;
	char err[512];
	int rc = load(&cfg, err, sizeof err);
	if (!check_report(rc == -1 && strstr(err, want) != NULL, name, __FILE__, line))
		printf("#   rc %d, err \"%s\", want it to name %s\n", rc, err, want);
	config_free(&cfg);
}

#define CHECK_LOAD_FAILS(want, name) check_load_fails_naming((want), (name), __LINE__)

/* The 32-byte key config_load() derives from SECRET_KEY=value. */
static int secret_for(const char *value, unsigned char out[32])
{
	env_clear();
	setenv("SECRET_KEY", value, 1);
	struct config cfg;
	char err[512];
	int rc = load(&cfg, err, sizeof err);
	if (rc == 0)
		memcpy(out, cfg.secret, 32);
	config_free(&cfg);
	env_clear();
	return rc;
}

static void test_load_defaults_and_secret(void)
{
	struct config cfg;
	char err[512], path[128];
	env_clear();
	snprintf(path, sizeof path, "%s/instance", root);

	/* Without an instance directory the key cannot be made: a clear error. */
	CHECK_LOAD_FAILS("secret_key", "load: missing instance directory is an error about the key");
	CHECK(mkdir(path, 0700) == 0, "load: make the instance directory");

	int rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0, "load: defaults in an empty project root");
	if (rc != 0)
		printf("#   err: %s\n", err);
	snprintf(path, sizeof path, "%s/instance/aifacade.db", root);
	CHECK_STR(cfg.database, path, "load: DATABASE defaults to instance/aifacade.db");
	CHECK(cfg.api_key == NULL, "load: no API key means the demo provider");
	CHECK_STR(cfg.api_url, "https://api.deepseek.com/chat/completions", "load: AI_API_URL default");
	CHECK_STR(cfg.model, "deepseek-v4-flash", "load: AI_MODEL default");
	CHECK(cfg.n_models == 1 && cfg.models && strcmp(cfg.models[0], cfg.model) == 0 && cfg.models[1] == NULL,
	      "load: AI_MODELS defaults to the model");
	CHECK(cfg.system_prompt == NULL, "load: no system prompt");
	CHECK(cfg.idle_timeout == 60 && cfg.timeout == 600, "load: timeouts default to 60 s and 600 s");
	CHECK(cfg.rate_prompts.limit == 30 && cfg.rate_prompts.window == 3600, "load: RATE_LIMIT_PROMPTS 30/hour");
	CHECK(cfg.rate_login.limit == 10 && cfg.rate_login.window == 60, "load: RATE_LIMIT_LOGIN 10/minute");
	CHECK(cfg.rate_auth_ip.limit == 60 && cfg.rate_auth_ip.window == 60, "load: RATE_LIMIT_AUTH_IP 60/minute");
	CHECK(cfg.prompt_max_chars == 4000, "load: PROMPT_MAX_CHARS 4000");
	CHECK(cfg.cookie_secure == 1, "load: cookies are Secure by default");
	CHECK(cfg.trusted_proxies && cfg.trusted_proxies[0] && strcmp(cfg.trusted_proxies[0], "127.0.0.1") == 0 &&
		      cfg.trusted_proxies[1] && strcmp(cfg.trusted_proxies[1], "::1") == 0 && !cfg.trusted_proxies[2],
	      "load: trusted proxies default to loopback");
	unsigned char first[32];
	memcpy(first, cfg.secret, 32);
	static const unsigned char zero[32];
	CHECK(memcmp(first, zero, 32) != 0, "load: a secret was derived");
	config_free(&cfg);

	struct stat st;
	snprintf(path, sizeof path, "%s/instance/secret_key", root);
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode), "load: instance/secret_key was created");
	CHECK((st.st_mode & 07777) == 0600, "load: instance/secret_key has mode 0600");
	char key[256];
	long n = read_file("instance/secret_key", key, sizeof key);
	CHECK(n == 65 && key[64] == '\n' && strspn(key, "0123456789abcdef") == 64,
	      "load: the key file holds 64 hex digits and a newline");

	rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0 && memcmp(cfg.secret, first, 32) == 0, "load: the secret is stable on the second load");
	config_free(&cfg);
	char again[256];
	CHECK(read_file("instance/secret_key", again, sizeof again) == n && strcmp(again, key) == 0,
	      "load: the key file is not rewritten");

	/* The generated file is used trimmed, exactly like SECRET_KEY itself. */
	key[64] = '\0';
	unsigned char via_env[32];
	CHECK(secret_for(key, via_env) == 0 && memcmp(via_env, first, 32) == 0,
	      "load: SECRET_KEY=<file contents> gives the same secret");
	unsigned char other[32];
	CHECK(secret_for("another-secret-that-is-long-enough", other) == 0 && memcmp(other, first, 32) != 0,
	      "load: SECRET_KEY from the environment wins over the file");

	env_clear();
	setenv("SECRET_KEY", "short", 1);
	CHECK_LOAD_FAILS("SECRET_KEY", "load: a short SECRET_KEY is an error naming it");
	env_clear();
	setenv("SECRET_KEY", "0123456789abcdef", 1);
	CHECK_LOAD_FAILS("SECRET_KEY", "load: a 16-character SECRET_KEY is refused");
	env_clear();
	setenv("SECRET_KEY", "0123456789abcdef0123456789abcde", 1);
	CHECK_LOAD_FAILS("SECRET_KEY", "load: a 31-character SECRET_KEY is refused");
	env_clear();
	CHECK(secret_for("0123456789abcdef0123456789abcdef", other) == 0, "load: a 32-character SECRET_KEY is taken");
	env_clear();
}

static void test_load_sources(void)
{
	struct config cfg;
	char err[512];
	unsigned char want[32];
	CHECK(secret_for("dotenv-secret-0123456789abcdef0123", want) == 0, "sources: secret for comparison");

	CHECK(write_file(".env", "# settings\n"
				 "AI_MODEL=from-dotenv\n"
				 "AI_SYSTEM_PROMPT=\"Be brief. # not a comment\"\n"
				 "SECRET_KEY=\"dotenv-secret-0123456789abcdef0123\" # from openssl rand\n"
				 "AI_API_KEY=sk-dotenv\n") == 0,
	      "sources: write .env");
	env_clear();
	int rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0, "sources: load with .env");
	if (rc != 0)
		printf("#   err: %s\n", err);
	CHECK_STR(cfg.model, "from-dotenv", "sources: .env value used when the environment has none");
	CHECK_STR(cfg.system_prompt, "Be brief. # not a comment", "sources: quoted .env value with #");
	CHECK_STR(cfg.api_key, "sk-dotenv", "sources: API key from .env");
	CHECK(memcmp(cfg.secret, want, 32) == 0, "sources: quoted SECRET_KEY with a comment loses its quotes");
	config_free(&cfg);

	setenv("AI_MODEL", "from-env", 1);
	setenv("AI_API_KEY", "sk-env", 1);
	rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0, "sources: load with environment and .env");
	CHECK_STR(cfg.model, "from-env", "sources: the environment wins over .env");
	CHECK_STR(cfg.api_key, "sk-env", "sources: API key from the environment wins");
	config_free(&cfg);

	setenv("AI_MODEL", "", 1);
	rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0, "sources: load with an empty environment value");
	CHECK_STR(cfg.model, "from-dotenv", "sources: an empty environment value falls back to .env");
	config_free(&cfg);
	env_clear();

	/* *_FILE secrets. */
	char dir[96];
	snprintf(dir, sizeof dir, "%s/secrets", root);
	CHECK(mkdir(dir, 0700) == 0, "sources: make a secrets directory");
	CHECK(write_file("secrets/api_key", "sk-from-file\n") == 0, "sources: write secrets/api_key");
	CHECK(write_file("secrets/secret_key", "dotenv-secret-0123456789abcdef0123\r\n") == 0,
	      "sources: write secrets/secret_key");

	setenv("AI_API_KEY_FILE", "secrets/api_key", 1);
	setenv("SECRET_KEY_FILE", "secrets/secret_key", 1);
	CHECK(write_file(".env", "AI_API_KEY=sk-dotenv\n") == 0, "sources: .env with an API key");
	rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0, "sources: load with *_FILE from the environment");
	CHECK_STR(cfg.api_key, "sk-from-file", "sources: AI_API_KEY_FILE (relative to the root) read, newline trimmed");
	CHECK(memcmp(cfg.secret, want, 32) == 0, "sources: SECRET_KEY_FILE read, CRLF trimmed");
	config_free(&cfg);

	char *abs = path_in_root("secrets/api_key");
	setenv("AI_API_KEY_FILE", abs ? abs : "", 1);
	free(abs);
	setenv("AI_API_KEY", "sk-env", 1);
	rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0 && cfg.api_key && strcmp(cfg.api_key, "sk-env") == 0, "sources: AI_API_KEY wins over AI_API_KEY_FILE");
	config_free(&cfg);
	unsetenv("AI_API_KEY");
	rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0 && cfg.api_key && strcmp(cfg.api_key, "sk-from-file") == 0, "sources: absolute *_FILE path");
	config_free(&cfg);
	env_clear();

	CHECK(write_file(".env", "AI_API_KEY_FILE=secrets/api_key\n") == 0, "sources: .env naming a secret file");
	rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0 && cfg.api_key && strcmp(cfg.api_key, "sk-from-file") == 0, "sources: *_FILE from .env");
	config_free(&cfg);
	remove_file(".env");

	setenv("DEEPSEEK_API_KEY", "sk-deepseek", 1);
	rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0 && cfg.api_key && strcmp(cfg.api_key, "sk-deepseek") == 0,
	      "sources: DEEPSEEK_API_KEY when AI_API_KEY is absent");
	config_free(&cfg);
	env_clear();

	/* Unreadable *_FILE: an error naming the variable, never a silent default. */
	setenv("AI_API_KEY_FILE", "/nonexistent/aifacade/key", 1);
	CHECK_LOAD_FAILS("AI_API_KEY_FILE", "sources: missing AI_API_KEY_FILE names the variable");
	setenv("AI_API_KEY_FILE", "secrets", 1);
	CHECK_LOAD_FAILS("AI_API_KEY_FILE", "sources: AI_API_KEY_FILE naming a directory names the variable");
	env_clear();
	setenv("SECRET_KEY_FILE", "secrets/missing", 1);
	CHECK_LOAD_FAILS("SECRET_KEY_FILE", "sources: missing SECRET_KEY_FILE names the variable");
	env_clear();
	setenv("DEEPSEEK_API_KEY_FILE", "secrets/missing", 1);
	CHECK_LOAD_FAILS("DEEPSEEK_API_KEY_FILE", "sources: missing DEEPSEEK_API_KEY_FILE names the variable");
	env_clear();
	CHECK(write_file(".env", "AI_API_KEY_FILE=secrets/missing\n") == 0, "sources: .env naming a missing file");
	CHECK_LOAD_FAILS("AI_API_KEY_FILE", "sources: missing *_FILE from .env names the variable");
	remove_file(".env");

	char big[5000];
	memset(big, 'k', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(write_file("secrets/big", big) == 0, "sources: write an oversized secret file");
	setenv("AI_API_KEY_FILE", "secrets/big", 1);
	CHECK_LOAD_FAILS("AI_API_KEY_FILE", "sources: oversized secret file names the variable");
	env_clear();

	if (geteuid() != 0) {
		char *p = path_in_root("secrets/api_key");
		CHECK(p && chmod(p, 0) == 0, "sources: make the secret file unreadable");
		setenv("AI_API_KEY_FILE", "secrets/api_key", 1);
		CHECK_LOAD_FAILS("AI_API_KEY_FILE", "sources: unreadable (mode 000) file names the variable");
		if (p && chmod(p, 0600) != 0)
			printf("# could not restore the mode of %s\n", p);
		free(p);
		env_clear();
	} else {
		/* A diagnostic, not a check: root reads a mode 000 file, and a
		 * check that passes without testing anything would count as one.
		 * The read-failure path itself is covered as root too, by the
		 * AI_API_KEY_FILE naming a directory above. */
		printf("# not run as root (root reads a mode 000 file): unreadable secret file\n");
	}
}

static void test_load_values(void)
{
	struct config cfg;
	char err[512];
	static const char *const bad[][2] = {
		{"AI_IDLE_TIMEOUT", "abc"}, {"AI_IDLE_TIMEOUT", "0"}, {"AI_IDLE_TIMEOUT", "-5"},
		{"AI_IDLE_TIMEOUT", "86401"}, {"AI_IDLE_TIMEOUT", "1 0"}, {"AI_IDLE_TIMEOUT", "99999999999999999999"},
		{"AI_TIMEOUT", "10x"}, {"AI_TIMEOUT", "2d"}, {"AI_CONTEXT_CHARS", "-1"}, {"AI_CONTEXT_CHARS", "1h"},
		{"AI_CONTEXT_CHARS", "lots"}, {"RATE_LIMIT_PROMPTS", "30/fortnight"}, {"RATE_LIMIT_PROMPTS", "0/hour"},
		{"RATE_LIMIT_PROMPTS", "30"}, {"RATE_LIMIT_LOGIN", "10 per minute"}, {"RATE_LIMIT_AUTH_IP", "1e3/minute"},
		{"PROMPT_MAX_CHARS", "0"}, {"PROMPT_MAX_CHARS", "10m"}, {"PROMPT_MAX_CHARS", "4000.5"},
		{"PROMPT_MAX_CHARS", "1000001"}, {"SESSION_IDLE_TIMEOUT", "forever"}, {"SESSION_IDLE_TIMEOUT", "367d"},
		{"SESSION_MAX_AGE", "-1d"}, {"SESSION_MAX_AGE", "0"}, {"AI_API_URL", "ftp://example.com/"},
		{"AI_API_URL", "javascript:alert(1)"}, {"AI_API_URL", "api.deepseek.com"}, {"COOKIE_SECURE", "false"},
		{"COOKIE_SECURE", "no"}, {"COOKIE_SECURE", "2"}, {"ANSWER_STORE_WAIT", "0"},
		{"ANSWER_STORE_WAIT", "601"}, {"ANSWER_STORE_WAIT", "soon"}, {"PASSWORD_HASH_COST", "min"},
		{"PASSWORD_HASH_COST", "Interactive"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[160];
		env_clear();
		setenv(bad[i][0], bad[i][1], 1);
		snprintf(name, sizeof name, "values: %s=%s is an error naming it", bad[i][0], bad[i][1]);
		CHECK_LOAD_FAILS(bad[i][0], name);
	}
	env_clear();
	CHECK(write_file(".env", "RATE_LIMIT_LOGIN=10/fortnight\n") == 0, "values: .env with a bad rate");
	CHECK_LOAD_FAILS("RATE_LIMIT_LOGIN", "values: a bad value from .env names the variable");
	remove_file(".env");

	env_clear();
	setenv("AI_IDLE_TIMEOUT", "2m", 1);
	setenv("AI_TIMEOUT", "1d", 1);
	setenv("AI_CONTEXT_CHARS", "0", 1);
	setenv("RATE_LIMIT_PROMPTS", "100/day", 1);
	setenv("RATE_LIMIT_LOGIN", "5/second", 1);
	setenv("RATE_LIMIT_AUTH_IP", "1/h", 1);
	setenv("PROMPT_MAX_CHARS", "100", 1);
	setenv("SESSION_IDLE_TIMEOUT", "12h", 1);
	setenv("SESSION_MAX_AGE", "30d", 1);
	setenv("COOKIE_SECURE", "0", 1);
	setenv("ANSWER_STORE_WAIT", "2m", 1);
	setenv("AI_MODELS", " a, b ,,c , ", 1);
	setenv("AI_MODEL", "a", 1);
	setenv("AI_SYSTEM_PROMPT", "Be kind.", 1);
	setenv("TRUSTED_PROXIES", "10.0.0.1, 10.0.0.2", 1);
	setenv("DATABASE", "data/app.db", 1);
	setenv("AI_API_URL", "http://localhost:11434/v1/chat/completions", 1);
	int rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0, "values: every setting given");
	if (rc != 0)
		printf("#   err: %s\n", err);
	CHECK(cfg.idle_timeout == 120 && cfg.timeout == 86400 && cfg.context_chars == 0, "values: durations");
	CHECK(cfg.rate_prompts.limit == 100 && cfg.rate_prompts.window == 86400 && cfg.rate_login.limit == 5 &&
		      cfg.rate_login.window == 1 && cfg.rate_auth_ip.window == 3600,
	      "values: rates");
	CHECK(cfg.prompt_max_chars == 100 && cfg.session_idle == 43200 && cfg.session_max == 2592000,
	      "values: prompt limit and session lifetimes");
	CHECK(cfg.cookie_secure == 0, "values: COOKIE_SECURE=0");
	CHECK(cfg.answer_store_wait == 120, "values: ANSWER_STORE_WAIT=2m");
	CHECK(cfg.n_models == 3 && strcmp(cfg.models[0], "a") == 0 && strcmp(cfg.models[1], "b") == 0 &&
		      strcmp(cfg.models[2], "c") == 0 && cfg.models[3] == NULL,
	      "values: AI_MODELS split and trimmed, empty entries dropped");
	CHECK_STR(cfg.system_prompt, "Be kind.", "values: AI_SYSTEM_PROMPT");
	CHECK(cfg.trusted_proxies[0] && strcmp(cfg.trusted_proxies[0], "10.0.0.1") == 0 && cfg.trusted_proxies[1] &&
		      strcmp(cfg.trusted_proxies[1], "10.0.0.2") == 0 && !cfg.trusted_proxies[2],
	      "values: TRUSTED_PROXIES split and trimmed");
	char path[128];
	snprintf(path, sizeof path, "%s/data/app.db", root);
	CHECK_STR(cfg.database, path, "values: relative DATABASE is under the project root");
	config_free(&cfg);

	env_clear();
	setenv("COOKIE_SECURE", "1", 1);
	setenv("DATABASE", "/var/lib/aifacade/app.db", 1);
	setenv("AI_MODELS", " , ", 1);
	rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0 && cfg.cookie_secure == 1, "values: COOKIE_SECURE=1");
	CHECK_STR(cfg.database, "/var/lib/aifacade/app.db", "values: absolute DATABASE kept");
	CHECK(cfg.n_models == 1 && strcmp(cfg.models[0], "deepseek-v4-flash") == 0,
	      "values: AI_MODELS with no names falls back to the model");
	config_free(&cfg);

	env_clear();
	setenv("DATABASE", "postgresql://u@db/aifacade", 1);
	rc = load(&cfg, err, sizeof err);
	CHECK(rc == 0, "values: a PostgreSQL URL loads");
	CHECK_STR(cfg.database, "postgresql://u@db/aifacade", "values: a PostgreSQL URL is kept as is");
	CHECK(cfg.password_cost == PASSWORD_COST_INTERACTIVE, "values: PASSWORD_HASH_COST is interactive by default");
	config_free(&cfg);
	static const struct { const char *v; int cost; } costs[] = {
		{"interactive", PASSWORD_COST_INTERACTIVE}, {"moderate", PASSWORD_COST_MODERATE},
		{"minimum", PASSWORD_COST_MINIMUM},
	};
	for (size_t i = 0; i < sizeof costs / sizeof costs[0]; i++) {
		env_clear();
		setenv("PASSWORD_HASH_COST", costs[i].v, 1);
		rc = load(&cfg, err, sizeof err);
		char name[80];
		snprintf(name, sizeof name, "values: PASSWORD_HASH_COST=%s", costs[i].v);
		CHECK(rc == 0 && cfg.password_cost == costs[i].cost, name);
		config_free(&cfg);
	}
	env_clear();
}

/* config_changed(): each file the settings came from is watched, and a
 * rotation (rewritten in place, renamed over, created, removed) is seen. */
static void test_changed(void)
{
	env_clear();
	struct config cfg;
	char err[512];
	char dir[96];
	snprintf(dir, sizeof dir, "%s/keys", root);
	mkdir(dir, 0700);
	remove_file(".env");
	CHECK(write_file("keys/api_key", "sk-first\n") == 0, "changed: write keys/api_key");
	setenv("AI_API_KEY_FILE", "keys/api_key", 1);
	setenv("SECRET_KEY", "changed-test-secret-0123456789abcdef", 1);
	CHECK(load(&cfg, err, sizeof err) == 0 && cfg.api_key && strcmp(cfg.api_key, "sk-first") == 0,
	      "changed: the key comes from its file");
	CHECK(config_changed(&cfg) == 0, "changed: nothing changed right after the load");
	CHECK(config_changed(&cfg) == 0, "changed: asking again changes nothing");
	/* Same size, rewritten in place. */
	CHECK(write_file("keys/api_key", "sk-other\n") == 0 && config_changed(&cfg) == 1,
	      "changed: a key file rewritten in place is a change");
	config_free(&cfg);
	CHECK(load(&cfg, err, sizeof err) == 0 && cfg.api_key && strcmp(cfg.api_key, "sk-other") == 0 &&
		      config_changed(&cfg) == 0,
	      "changed: loading again takes the new key");
	/* Renamed over, as a secret manager does. */
	CHECK(write_file("keys/api_key.new", "sk-third\n") == 0, "changed: write the next key aside");
	char *from = path_in_root("keys/api_key.new"), *to = path_in_root("keys/api_key");
	CHECK(from && to && rename(from, to) == 0 && config_changed(&cfg) == 1,
	      "changed: a key file renamed over the old one is a change");
	free(from);
	free(to);
	config_free(&cfg);
	CHECK(load(&cfg, err, sizeof err) == 0 && config_changed(&cfg) == 0, "changed: load after the rename");
	CHECK(write_file(".env", "AI_MODEL=m  # cheap\n") == 0 && config_changed(&cfg) == 1,
	      "changed: a .env that appears is a change");
	config_free(&cfg);
	CHECK(load(&cfg, err, sizeof err) == 0 && cfg.model && strcmp(cfg.model, "m") == 0 && config_changed(&cfg) == 0,
	      "changed: the new .env is read, its inline comment left out");
	remove_file(".env");
	CHECK(config_changed(&cfg) == 1, "changed: a .env that goes away is a change");
	config_free(&cfg);
	unsetenv("SECRET_KEY");
	CHECK(load(&cfg, err, sizeof err) == 0 && config_changed(&cfg) == 0,
	      "changed: a generated secret key file, created by this load, is no change");
	char *key = path_in_root("instance/secret_key");
	CHECK(key && unlink(key) == 0 && config_changed(&cfg) == 1, "changed: a deleted secret key file is a change");
	free(key);
	config_free(&cfg);
	env_clear();
}

/* config_dotenv_each(): every assignment, in order, as the one parser reads it. */
static void collect(void *ctx, const char *name, size_t name_len, const char *value, size_t value_len)
{
	char *out = ctx;
	size_t n = strlen(out);
	snprintf(out + n, 512 - n, "%.*s=[%.*s];", (int)name_len, name, (int)value_len, value);
}

static void test_dotenv_each(void)
{
	char out[512] = "";
	static const char text[] = "AI_MODEL=deepseek-chat  # cheap\n"
				   "# a comment\n"
				   "  export  A=\"q # x\" # c\r\n"
				   "B='s'\n"
				   "not an assignment\n"
				   "9BAD=x\n"
				   "C=\n"
				   "D=a#b";
	config_dotenv_each(text, sizeof text - 1, collect, out);
	CHECK_STR(out, "AI_MODEL=[deepseek-chat];A=[q # x];B=[s];C=[];D=[a#b];",
		  "dotenv_each: inline comments, quotes, export, CRLF, empty values; non-assignments skipped");
}

/* DATABASE as messages show it: never a password. */
static void test_database_shown(void)
{
	static const char *const cases[][2] = {
		{"/srv/aifacade/instance/aifacade.db", "/srv/aifacade/instance/aifacade.db"},
		{"postgresql://app@db/aifacade", "postgresql://app@db/aifacade"},
		{"postgresql://app:s3cret@db:5432/aifacade", "postgresql://app:***@db:5432/aifacade"},
		{"postgres://app:p%40ss@db/aifacade?sslmode=require", "postgres://app:***@db/aifacade?sslmode=require"},
		{"postgresql:///aifacade?host=/run/pg&password=s3cret&user=app",
		 "postgresql:///aifacade?host=/run/pg&password=***&user=app"},
		{"postgresql://app:a@b@db/x?password=y", "postgresql://app:***@db/x?password=***"},
		{"postgresql://db/x?mypassword=keep", "postgresql://db/x?mypassword=keep"},
		{"postgresql://app:@db/x", "postgresql://app:***@db/x"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *shown = config_database_shown(cases[i][0]);
		char name[160];
		snprintf(name, sizeof name, "database shown: case %zu", i);
		CHECK_STR(shown, cases[i][1], name);
		free(shown);
	}
}

int main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! libsodium failed to initialise\n");
		return 1;
	}
	test_dotenv();
	test_rate();
	test_seconds();

	snprintf(root, sizeof root, "/tmp/aifacade-unit.XXXXXX");
	if (mkdtemp(root) == NULL) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	test_load_defaults_and_secret();
	test_load_sources();
	test_load_values();
	test_changed();
	test_database_shown();
	test_dotenv_each();
	remove_tree(root);
	unsetenv("AIFACADE_ROOT");
	return check_done();
}
