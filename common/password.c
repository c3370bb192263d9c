/* password.c: argon2id hashing and verification (see password.h). */
#include "password.h"

#include <string.h>

#include <sodium.h>

#include "werkzeug.h"

#define OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

int password_hash(const char *password, size_t len, char out[PASSWORD_HASH_MAX])
{
	_Static_assert(crypto_pwhash_STRBYTES <= PASSWORD_HASH_MAX, "hash buffer too small");
	return crypto_pwhash_str_alg(out, password, len, OPS, MEM, crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
}

int password_verify(const char *hash, const char *password, size_t len)
{
	/* Accounts moved over from the Flask app keep its hash until their
	 * first login (README, "Moving over from the Flask app"). */
	if (strncmp(hash, "$argon2", 7) != 0)
		return werkzeug_verify(hash, password, len);
	return crypto_pwhash_str_verify(hash, password, len) == 0;
}

int password_verify_dummy(const char *password, size_t len)
{
	/* The hash of a random string with this build's parameters. */
	static const char dummy[crypto_pwhash_STRBYTES] =
	    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
	    "4y9bq0CWvbsWUMvWmbMNSBwL3g6s6VpiJp3ReCkKk3E";
	/* Nobody knows that string, so this never matches; only its cost counts. */
	int matched = crypto_pwhash_str_verify(dummy, password, len) == 0;
	(void)matched;
	return 0;
}

int password_needs_rehash(const char *hash)
{
	if (strncmp(hash, "$argon2", 7) != 0)
		return 1; /* a Werkzeug hash, replaced at the first login */
	return crypto_pwhash_str_needs_rehash(hash, OPS, MEM) != 0;
}
