/* password.h: argon2id password hashing through libsodium.
 *
 * Contract: parameters are libsodium's "interactive" argon2id limits
 * (ops 2, 64 MiB): about 0.1 s here, the figure the OWASP guidance for
 * argon2id starts from. password_verify_dummy() spends the same time for an
 * unknown user so that login answers alike. Passwords are never logged. */
#ifndef AIF_PASSWORD_H
#define AIF_PASSWORD_H
#include <stddef.h>

#define PASSWORD_HASH_MAX 128

/* Writes an encoded hash into out (PASSWORD_HASH_MAX bytes); 0 or -1. */
int password_hash(const char *password, size_t len, char out[PASSWORD_HASH_MAX]);
/* 1 when password matches hash, else 0. hash is argon2id, or a Werkzeug
 * hash of an account moved over from the Flask app (werkzeug.h). */
int password_verify(const char *hash, const char *password, size_t len);
/* Spends the time of one verification and returns 0. */
int password_verify_dummy(const char *password, size_t len);
/* 1 when a stored hash uses older parameters, or is a Werkzeug hash, and
 * should be replaced. */
int password_needs_rehash(const char *hash);

#endif
