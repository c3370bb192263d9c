/* session.c: random session tokens, hashed at rest, bound to User-Agent (see session.h). */
#include "session.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "alloc.h"
#include "log.h"

/* Touch last_seen at most this often (or at half the idle limit, if shorter),
 * so that most reads stay reads. */
#define TOUCH_EVERY_MS (60 * 1000)

const char *session_cookie_name(const struct config *cfg)
{
	return cfg->cookie_secure ? SESSION_COOKIE_SECURE : SESSION_COOKIE_PLAIN;
}

char *session_hash(const struct config *cfg, const char *what, const char *value)
{
	unsigned char h[32];
	crypto_generichash_state state;
	crypto_generichash_init(&state, cfg->secret, sizeof cfg->secret, sizeof h);
	crypto_generichash_update(&state, (const unsigned char *)what, strlen(what) + 1);
	crypto_generichash_update(&state, (const unsigned char *)value, strlen(value));
	crypto_generichash_final(&state, h, sizeof h);
	char *hex = xmalloc(sizeof h * 2 + 1);
	sodium_bin2hex(hex, sizeof h * 2 + 1, h, sizeof h);
	return hex;
}

int session_create(struct store *st, const struct config *cfg, long long user_id,
		   const char *user_agent, long long now, char **token, char **hash)
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	size_t tlen = sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*token = xmalloc(tlen);
	sodium_bin2base64(*token, tlen, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	*hash = session_hash(cfg, "session", *token);
	char *ua = session_hash(cfg, "user-agent", user_agent);
	int rc = store_session_insert(st, *hash, user_id, ua, now);
	free(ua);
	if (rc != STORE_OK) {
		free(*token);
		free(*hash);
		*token = *hash = NULL;
	}
	return rc;
}

int session_create_from(struct store *st, const struct config *cfg, long long user_id, const char *user_agent,
			const char *addr, long long now, char **token, char **hash)
{
	int rc = session_create(st, cfg, user_id, user_agent, now, token, hash);
	if (rc != STORE_OK)
		return rc;
	/* A public id below 2^53, so that JavaScript reads it exactly. */
	uint64_t sid = 0;
	while (sid == 0) {
		randombytes_buf(&sid, sizeof sid);
		sid &= (UINT64_C(1) << 53) - 1;
	}
	rc = store_session_describe(st, *hash, (long long)sid, user_agent, addr);
	if (rc != STORE_OK) {
		free(*token);
		free(*hash);
		*token = *hash = NULL;
	}
	return rc;
}

int session_resolve(struct store *st, const struct config *cfg, const char *token,
		    const char *user_agent, long long now, long long *user_id, char **username, char **hash)
{
	struct session s;
	*user_id = 0;
	*username = NULL;
	int rc = session_resolve_full(st, cfg, token, user_agent, now, &s, hash);
	if (rc == STORE_OK) {
		*user_id = s.user_id;
		*username = s.username;
		s.username = NULL;
	}
	store_session_free(&s);
	return rc;
}

int session_resolve_full(struct store *st, const struct config *cfg, const char *token, const char *user_agent,
			 long long now, struct session *out, char **hash)
{
	memset(out, 0, sizeof *out);
	*hash = NULL;
	/* 32 bytes in unpadded base64url are 43 characters. */
	if (!token || strlen(token) != 43 || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != 43)
		return STORE_NOTFOUND;
	char *h = session_hash(cfg, "session", token);
	struct session s;
	int rc = store_session_find(st, h, &s);
	if (rc != STORE_OK) {
		free(h);
		return rc;
	}
	char *ua = session_hash(cfg, "user-agent", user_agent);
	int ua_ok = sodium_memcmp(ua, s.ua_hash, strlen(ua)) == 0 && strlen(s.ua_hash) == strlen(ua);
	free(ua);
	if (!ua_ok) {
		/* Strong protection: a stolen cookie from another browser is void. */
		log_warn("session presented with another User-Agent; treated as logged out");
		store_session_free(&s);
		free(h);
		return STORE_NOTFOUND;
	}
	if (s.last_seen < now - cfg->session_idle * 1000 || s.created_at < now - cfg->session_max * 1000) {
		rc = store_session_delete(st, h);
		store_session_free(&s);
		free(h);
		return rc == STORE_OK ? STORE_NOTFOUND : rc;
	}
	long long touch_every = cfg->session_idle * 1000 / 2;
	if (touch_every > TOUCH_EVERY_MS)
		touch_every = TOUCH_EVERY_MS;
	if (now - s.last_seen >= touch_every &&
	    (store_session_touch(st, h, now) != STORE_OK || store_user_seen(st, s.user_id, now) != STORE_OK))
		log_warn("could not refresh a session's last use; it may expire early");
	*out = s;
	*hash = h;
	return STORE_OK;
}

char *session_cookie(const struct config *cfg, const char *token)
{
	const char *secure = cfg->cookie_secure ? "; Secure" : "";
	if (token)
		return xasprintf("%s=%s; Path=/; HttpOnly%s; SameSite=Lax; Max-Age=%ld", session_cookie_name(cfg),
				 token, secure, cfg->session_max);
	return xasprintf("%s=; Path=/; HttpOnly%s; SameSite=Lax; Max-Age=0", session_cookie_name(cfg), secure);
}
