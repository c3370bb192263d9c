/* werkzeug.h: the password hashes of the Flask app this one replaces.
 *
 * Contract: only Werkzeug's two current formats are recognised:
 *   pbkdf2:sha256:<iterations>$<salt>$<hex of 32 bytes>
 *     PBKDF2-HMAC-SHA256 of the password with the salt's bytes;
 *   scrypt:<n>:<r>:<p>$<salt>$<hex of 64 bytes>
 *     scrypt of the password with the salt's bytes.
 * Anything else (another digest, no iteration count, plain text, a bare
 * hash) is not a Werkzeug hash here. Costs are bounded so that a stored
 * hash cannot make a login spend minutes or gigabytes: iterations from 1
 * to 10,000,000; n a power of two from 2 to 2^20, r and p from 1 to 64,
 * 128·n·r at most 256 MiB. Such hashes are accepted at login only until
 * the password is hashed again with argon2id (password.h). */
#ifndef AIF_WERKZEUG_H
#define AIF_WERKZEUG_H
#include <stddef.h>

/* 1 when hash is a well-formed Werkzeug hash in a recognised format. */
int werkzeug_hash_valid(const char *hash);
/* 1 when password matches; 0 when it does not or hash is not valid. */
int werkzeug_verify(const char *hash, const char *password, size_t len);

#endif
