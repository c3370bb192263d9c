/* werkzeug.c: verifying Werkzeug's pbkdf2:sha256 and scrypt password hashes (see werkzeug.h). */
#include "werkzeug.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define SALT_MAX 256
#define PBKDF2_LEN 32
#define SCRYPT_LEN 64

struct parsed {
	int scrypt;
	unsigned long long iterations, n, r, p;
	const char *salt;
	size_t salt_len;
	unsigned char digest[SCRYPT_LEN];
	size_t digest_len;
};

/* A decimal from 1 to max without sign, spaces or leading zeros, ending
 * at *end (one of stops); returns 0 or -1. */
static int number(const char *s, const char **end, unsigned long long max, unsigned long long *out)
{
	if (*s < '1' || *s > '9')
		return -1;
	unsigned long long v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > max)
			return -1;
	}
	*end = p;
	*out = v;
	return 0;
}

static int parse(const char *hash, struct parsed *h)
{
	memset(h, 0, sizeof *h);
	const char *p;
	if (!hash)
		return -1;
	if (strncmp(hash, "pbkdf2:sha256:", 14) == 0) {
		if (number(hash + 14, &p, 10000000, &h->iterations) < 0)
			return -1;
		h->digest_len = PBKDF2_LEN;
	} else if (strncmp(hash, "scrypt:", 7) == 0) {
		h->scrypt = 1;
		if (number(hash + 7, &p, 1u << 20, &h->n) < 0 || *p != ':' || number(p + 1, &p, 64, &h->r) < 0 ||
		    *p != ':' || number(p + 1, &p, 64, &h->p) < 0)
			return -1;
		if (h->n < 2 || (h->n & (h->n - 1)) != 0 || 128 * h->n * h->r > 256ull * 1024 * 1024)
			return -1;
		h->digest_len = SCRYPT_LEN;
	} else {
		return -1;
	}
	if (*p != '$')
		return -1;
	h->salt = p + 1;
	const char *dollar = strchr(h->salt, '$');
	if (!dollar)
		return -1;
	h->salt_len = (size_t)(dollar - h->salt);
	if (h->salt_len == 0 || h->salt_len > SALT_MAX)
		return -1;
	for (size_t i = 0; i < h->salt_len; i++)
		if ((unsigned char)h->salt[i] < 0x21 || (unsigned char)h->salt[i] > 0x7E)
			return -1;
	const char *hex = dollar + 1;
	size_t hex_len = strlen(hex);
	if (hex_len != 2 * h->digest_len)
		return -1;
	for (size_t i = 0; i < hex_len; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return -1;
	size_t got = 0;
	if (sodium_hex2bin(h->digest, sizeof h->digest, hex, hex_len, NULL, &got, NULL) != 0 || got != h->digest_len)
		return -1;
	return 0;
}

int werkzeug_hash_valid(const char *hash)
{
	struct parsed h;
	return parse(hash, &h) == 0;
}

/* PBKDF2 (RFC 8018) with HMAC-SHA256, one block: Werkzeug keeps the
 * digest's own 32 bytes. */
static void pbkdf2_sha256(const char *password, size_t len, const char *salt, size_t salt_len,
			  unsigned long long iterations, unsigned char out[PBKDF2_LEN])
{
	crypto_auth_hmacsha256_state keyed, st;
	unsigned char u[crypto_auth_hmacsha256_BYTES];
	static const unsigned char block_one[4] = {0, 0, 0, 1};
	crypto_auth_hmacsha256_init(&keyed, (const unsigned char *)password, len);
	st = keyed;
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)salt, salt_len);
	crypto_auth_hmacsha256_update(&st, block_one, sizeof block_one);
	crypto_auth_hmacsha256_final(&st, u);
	memcpy(out, u, PBKDF2_LEN);
	for (unsigned long long i = 1; i < iterations; i++) {
		st = keyed;
		crypto_auth_hmacsha256_update(&st, u, sizeof u);
		crypto_auth_hmacsha256_final(&st, u);
		for (size_t k = 0; k < PBKDF2_LEN; k++)
			out[k] ^= u[k];
	}
	sodium_memzero(&keyed, sizeof keyed);
	sodium_memzero(&st, sizeof st);
	sodium_memzero(u, sizeof u);
}

int werkzeug_verify(const char *hash, const char *password, size_t len)
{
	struct parsed h;
	if (parse(hash, &h) < 0)
		return 0;
	unsigned char got[SCRYPT_LEN];
	if (h.scrypt) {
		if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)password, len, (const uint8_t *)h.salt,
							  h.salt_len, h.n, (uint32_t)h.r, (uint32_t)h.p, got,
							  h.digest_len) != 0)
			return 0;
	} else {
		pbkdf2_sha256(password, len, h.salt, h.salt_len, h.iterations, got);
	}
	int ok = sodium_memcmp(got, h.digest, h.digest_len) == 0;
	sodium_memzero(got, sizeof got);
	return ok;
}
