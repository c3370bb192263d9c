/* test_session.c: unit tests for session.c: cookie attributes, hashing, forged and stale tokens. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "config.h"
#include "session.h"
#include "store.h"

/* Splits a Set-Cookie value at "; " and checks that it holds exactly the
 * attributes in want (NULL-terminated), in any order after the first. */
static int cookie_has_exactly(const char *cookie, const char *first, const char *const *want)
{
	char *copy = cookie ? strdup(cookie) : NULL;
	if (!copy)
		return 0;
	int ok = 1, count = 0, seen[16] = {0};
	char *save = NULL;
	for (char *part = strtok_r(copy, ";", &save); part; part = strtok_r(NULL, ";", &save)) {
		if (count > 0) {
			if (*part != ' ')
				ok = 0;
			part++;
		}
		if (count == 0) {
			ok = ok && strcmp(part, first) == 0;
		} else {
			int found = 0;
			for (int i = 0; want[i]; i++)
				if (strcmp(part, want[i]) == 0 && !seen[i])
					seen[i] = found = 1;
			ok = ok && found;
		}
		count++;
	}
	for (int i = 0; want[i]; i++)
		ok = ok && seen[i];
	free(copy);
	if (!ok)
		printf("#   cookie: %s\n", cookie);
	return ok;
}

static void test_cookie(void)
{
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.session_max = 2592000;

	cfg.cookie_secure = 1;
	CHECK_STR(session_cookie_name(&cfg), "__Host-aifacade", "name: __Host- prefix when secure");
	char *c = session_cookie(&cfg, "TOKEN");
	static const char *const secure_set[] = {"Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=2592000", NULL};
	CHECK(cookie_has_exactly(c, "__Host-aifacade=TOKEN", secure_set),
	      "set, secure: __Host-aifacade with Path=/, HttpOnly, Secure, SameSite=Lax, Max-Age, no Domain");
	CHECK(c && strstr(c, "Domain") == NULL && strstr(c, "domain") == NULL, "set, secure: no Domain (required by __Host-)");
	free(c);
	c = session_cookie(&cfg, NULL);
	static const char *const secure_clear[] = {"Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=0", NULL};
	CHECK(cookie_has_exactly(c, "__Host-aifacade=", secure_clear),
	      "expire, secure: same name and attributes, empty value, Max-Age=0");
	free(c);

	cfg.cookie_secure = 0;
	CHECK_STR(session_cookie_name(&cfg), "aifacade_session", "name: no __Host- prefix without Secure");
	c = session_cookie(&cfg, "TOKEN");
	static const char *const plain_set[] = {"Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=2592000", NULL};
	CHECK(cookie_has_exactly(c, "aifacade_session=TOKEN", plain_set),
	      "set, plain HTTP: HttpOnly, SameSite=Lax, Path=/ without Secure");
	free(c);
	c = session_cookie(&cfg, NULL);
	static const char *const plain_clear[] = {"Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=0", NULL};
	CHECK(cookie_has_exactly(c, "aifacade_session=", plain_clear), "expire, plain HTTP");
	free(c);
}

static void test_hash(const struct config *cfg)
{
	char *a = session_hash(cfg, "session", "abc");
	char *b = session_hash(cfg, "session", "abc");
	char *c = session_hash(cfg, "user-agent", "abc");
	char *d = session_hash(cfg, "sessiona", "bc");
	char *e = session_hash(cfg, "session", "abd");
	CHECK(a && strlen(a) == 64 && strspn(a, "0123456789abcdef") == 64, "hash: 64 lower-case hex digits");
	CHECK(a && b && strcmp(a, b) == 0, "hash: deterministic");
	CHECK(a && c && strcmp(a, c) != 0, "hash: separate domains for tokens and User-Agents");
	CHECK(a && d && strcmp(a, d) != 0, "hash: the domain and value cannot be shifted into each other");
	CHECK(a && e && strcmp(a, e) != 0, "hash: one changed character changes it");
	CHECK(a && strcmp(a, "abc") != 0, "hash: never the token itself");
	struct config other = *cfg;
	other.secret[0] ^= 1;
	char *f = session_hash(&other, "session", "abc");
	CHECK(a && f && strcmp(a, f) != 0, "hash: keyed by SECRET_KEY");
	free(a), free(b), free(c), free(d), free(e), free(f);
}

static void test_resolve(const struct config *cfg)
{
	char dir[] = "/tmp/aifacade-unit-session.XXXXXX";
	if (mkdtemp(dir) == NULL) {
		CHECK(0, "resolve: make a temporary directory");
		return;
	}
	char path[128], err[512];
	snprintf(path, sizeof path, "%s/test.db", dir);
	struct store *st = NULL;
	if (store_open(path, &st, err, sizeof err) < 0) {
		printf("# %s\n", err);
		CHECK(0, "resolve: open a store");
		rmdir(dir);
		return;
	}
	long long now = 1700000000000LL, uid = 0;
	CHECK(store_user_create(st, "alice", "alice", "hash", now, &uid) == STORE_OK, "resolve: create a user");

	char *token = NULL, *hash = NULL;
	CHECK(session_create(st, cfg, uid, "UA/1", now, &token, &hash) == STORE_OK, "create: a session");
	CHECK(token && strlen(token) == 43, "create: the token is 32 random bytes in base64url");
	char *token2 = NULL, *hash2 = NULL;
	CHECK(session_create(st, cfg, uid, "UA/1", now, &token2, &hash2) == STORE_OK && token && token2 &&
		      strcmp(token, token2) != 0,
	      "create: two sessions get different tokens");

	long long id = -1;
	char *name = NULL, *h = NULL;
	int rc = session_resolve(st, cfg, token, "UA/1", now + 1000, &id, &name, &h);
	CHECK(rc == STORE_OK && id == uid && name && strcmp(name, "alice") == 0 && h && hash && strcmp(h, hash) == 0,
	      "resolve: the right token and User-Agent");
	free(name), free(h);

	rc = session_resolve(st, cfg, token, "UA/2", now + 1000, &id, &name, &h);
	CHECK(rc == STORE_NOTFOUND && id == 0 && name == NULL && h == NULL, "resolve: another User-Agent is logged out");
	rc = session_resolve(st, cfg, token, "", now + 1000, &id, &name, &h);
	CHECK(rc == STORE_NOTFOUND, "resolve: an empty User-Agent is logged out");

	char forged[64];
	snprintf(forged, sizeof forged, "%s", token ? token : "");
	forged[0] = forged[0] == 'A' ? 'B' : 'A';
	rc = session_resolve(st, cfg, forged, "UA/1", now, &id, &name, &h);
	CHECK(rc == STORE_NOTFOUND && id == 0, "resolve: a changed token");
	static const char *const malformed[] = {
		"", "short", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA;",
		"' OR 1=1 --AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL,
	};
	int all = 1;
	for (const char *const *m = malformed; *m; m++)
		if (session_resolve(st, cfg, *m, "UA/1", now, &id, &name, &h) != STORE_NOTFOUND || id != 0 || name || h)
			all = 0;
	CHECK(all, "resolve: malformed tokens (length, padding, + / ; quotes) are no session");
	CHECK(session_resolve(st, cfg, NULL, "UA/1", now, &id, &name, &h) == STORE_NOTFOUND, "resolve: no token");
	CHECK(hash && session_resolve(st, cfg, hash, "UA/1", now, &id, &name, &h) == STORE_NOTFOUND,
	      "resolve: the stored hash is not a token");

	long long idle_ms = cfg->session_idle * 1000;
	rc = session_resolve(st, cfg, token2, "UA/1", now + idle_ms + 1, &id, &name, &h);
	CHECK(rc == STORE_NOTFOUND, "resolve: idle longer than SESSION_IDLE_TIMEOUT is logged out");
	rc = session_resolve(st, cfg, token2, "UA/1", now, &id, &name, &h);
	CHECK(rc == STORE_NOTFOUND, "resolve: an idle-expired session is deleted, not revived");

	/* Keep a session alive past the absolute limit by touching it. */
	long long t = now;
	int alive = 1;
	while (t < now + cfg->session_max * 1000 - 1000 && alive) {
		t += idle_ms / 2;
		if (t > now + cfg->session_max * 1000 - 1000)
			t = now + cfg->session_max * 1000 - 1000;
		rc = session_resolve(st, cfg, token, "UA/1", t, &id, &name, &h);
		alive = rc == STORE_OK;
		free(name), free(h);
		name = h = NULL;
	}
	CHECK(alive, "resolve: regular use keeps a session until its maximum age");
	rc = session_resolve(st, cfg, token, "UA/1", now + cfg->session_max * 1000 + 1, &id, &name, &h);
	CHECK(rc == STORE_NOTFOUND, "resolve: older than SESSION_MAX_AGE is logged out even when in use");

	free(token), free(hash), free(token2), free(hash2);
	store_close(st);
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/test.db%s", dir, suffixes[i]);
		unlink(path);
	}
	if (rmdir(dir) != 0)
		printf("# could not remove %s\n", dir);
}

int main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! libsodium failed to initialise\n");
		return 1;
	}
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	randombytes_buf(cfg.secret, sizeof cfg.secret);
	cfg.session_idle = 3600;
	cfg.session_max = 4 * 3600;
	test_cookie();
	test_hash(&cfg);
	test_resolve(&cfg);
	return check_done();
}
