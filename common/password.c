/* password.c: argon2id hashing and verification (see password.h). */
#include "password.h"

#include <string.h>

#include <sodium.h>

#include "werkzeug.h"

static unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
static size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;

void password_set_cost(enum password_cost cost)
{
	switch (cost) {
	case PASSWORD_COST_MODERATE:
		ops = crypto_pwhash_OPSLIMIT_MODERATE;
		mem = crypto_pwhash_MEMLIMIT_MODERATE;
		break;
	case PASSWORD_COST_MINIMUM:
		ops = crypto_pwhash_OPSLIMIT_MIN;
		mem = crypto_pwhash_MEMLIMIT_MIN;
		break;
	default:
		ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	}
}

int password_hash(const char *password, size_t len, char out[PASSWORD_HASH_MAX])
{
	_Static_assert(crypto_pwhash_STRBYTES <= PASSWORD_HASH_MAX, "hash buffer too small");
	return crypto_pwhash_str_alg(out, password, len, ops, mem, crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
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
	/* Hashing costs what verifying costs (one argon2id run with the
	 * configured parameters), and matches nothing. */
	char spent[PASSWORD_HASH_MAX];
	int rc = password_hash(password, len, spent);
	(void)rc;
	sodium_memzero(spent, sizeof spent);
	return 0;
}

int password_needs_rehash(const char *hash)
{
	if (strncmp(hash, "$argon2", 7) != 0)
		return 1; /* a Werkzeug hash, replaced at the first login */
	return crypto_pwhash_str_needs_rehash(hash, ops, mem) != 0;
}
