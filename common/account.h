/* account.h: the rules for usernames and passwords (SPEC §4).
 *
 * Usernames: 3–80 characters after trimming, printable, unique without
 * regard to case (the key is the simple lower-case fold of every letter).
 * Passwords: 8–128 characters, any Unicode. */
#ifndef AIF_ACCOUNT_H
#define AIF_ACCOUNT_H
#include <stddef.h>

/* Trims s and checks it; returns NULL and sets *display (trimmed) and *key
 * (folded), both fresh strings the caller frees, or returns a message for
 * the user. */
const char *account_check_username(const char *s, size_t len, char **display, char **key);
/* Returns NULL when the password is acceptable, else a message. */
const char *account_check_password(const char *s, size_t len);

#endif
