/* sandbox.h: what a request process gives up before it reads the request.
 *
 * Contract: sandbox_enter() is called once per request process by the
 * runner (app.c), after the configuration is loaded (it reads .env and
 * secret files) and before the request is parsed, never in the SCGI warm
 * parent (which must stay able to re-exec a replaced binary). It sets
 * PR_SET_NO_NEW_PRIVS, and where the kernel has Landlock (Linux 5.13 and
 * later, when enabled) it limits the files the process may open from then on:
 * read and write under each read_write path (the instance directory, the
 * database's directory), read-only under each read_only path (www/, the
 * program's own directory) and under the system files libc, DNS and TLS
 * need (sandbox.c lists them); nothing may be executed anywhere. Paths that
 * do not exist are skipped. Where Landlock is missing it silently does
 * nothing more. Irreversible; children inherit it. */
#ifndef AIF_SANDBOX_H
#define AIF_SANDBOX_H

enum sandbox_result {
	SANDBOX_FAILED = -1,   /* errno says why; the caller answers 500 */
	SANDBOX_NO_NEW_PRIVS = 0,  /* only no-new-privileges: no Landlock here */
	SANDBOX_LANDLOCK = 1,  /* no-new-privileges and Landlock's file rules */
};

/* read_write and read_only: NULL-terminated lists of paths (NULL entries
 * inside a list are not allowed; a NULL list is empty). */
enum sandbox_result sandbox_enter(const char *const *read_write, const char *const *read_only);

/* The Landlock ABI version the kernel offers, 0 when none. */
int sandbox_landlock_abi(void);

#endif
