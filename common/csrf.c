/* csrf.c: session-bound CSRF tokens and origin checks (see csrf.h). */
#include "csrf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "alloc.h"

char *csrf_token(const struct config *cfg, const char *session_hash)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, cfg->secret, sizeof cfg->secret);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"csrf\0", 5);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)session_hash, strlen(session_hash));
	crypto_auth_hmacsha256_final(&st, mac);
	size_t len = sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = xmalloc(len);
	sodium_bin2base64(out, len, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

int csrf_valid(const struct config *cfg, const char *session_hash, const char *presented)
{
	if (!presented || !session_hash)
		return 0;
	char *expected = csrf_token(cfg, session_hash);
	size_t len = strlen(expected);
	int ok = strlen(presented) == len && sodium_memcmp(expected, presented, len) == 0;
	free(expected);
	return ok;
}

int csrf_cross_site(const char *origin, const char *sec_fetch_site, const char *host)
{
	if (sec_fetch_site && strcmp(sec_fetch_site, "cross-site") == 0)
		return 1;
	if (!origin)
		return 0; /* non-browser clients; the token still guards them */
	/* A serialised web origin is "http(s)://host[:port]"; anything else
	 * ("null", other schemes, garbage) is another site. */
	const char *ohost;
	if (strncmp(origin, "https://", 8) == 0)
		ohost = origin + 8;
	else if (strncmp(origin, "http://", 7) == 0)
		ohost = origin + 7;
	else
		return 1;
	if (!host || !*host || !*ohost)
		return 1;
	if (strchr(ohost, '/'))
		return 1;
	return strcasecmp(ohost, host) != 0;
}
