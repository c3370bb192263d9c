/* password.h: argon2id password hashing through libsodium.
 *
 * Contract: the parameters are one of libsodium's argon2id limits, chosen
 * by PASSWORD_HASH_COST (README, "Settings"): "interactive" by default (ops
 * 2, 64 MiB: the figure the OWASP guidance for argon2id starts from), "moderate" (ops 3, 256 MiB), or
 * "minimum" (ops 1, 8 KiB), which only test suites should use, as Django's
 * docs advise a fast hasher for tests: a stolen database's weak passwords
 * then fall quickly. A stored hash made with other parameters is replaced
 * at its owner's next login. password_verify_dummy() spends the time of one
 * verification for an unknown user so that login answers alike. Passwords
 * are never logged. */
#ifndef AIF_PASSWORD_H
#define AIF_PASSWORD_H
#include <stddef.h>

#define PASSWORD_HASH_MAX 128

enum password_cost { PASSWORD_COST_INTERACTIVE, PASSWORD_COST_MODERATE, PASSWORD_COST_MINIMUM };

/* Sets the parameters of later hashes (config_load() reads the setting;
 * app.c and aifacadectl call this). Interactive until called. */
void password_set_cost(enum password_cost cost);
/* Writes an encoded hash into out (PASSWORD_HASH_MAX bytes); 0 or -1. */
int password_hash(const char *password, size_t len, char out[PASSWORD_HASH_MAX]);
/* 1 when password matches hash, else 0. hash is argon2id, or a Werkzeug
 * hash of an account moved over from the Flask app (werkzeug.h). */
int password_verify(const char *hash, const char *password, size_t len);
/* Spends the time of one verification and returns 0. */
int password_verify_dummy(const char *password, size_t len);
/* 1 when a stored hash uses other parameters than the configured ones, or
 * is a Werkzeug hash, and should be replaced. */
int password_needs_rehash(const char *hash);

#endif
