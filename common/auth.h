/* auth.h: who is asking: a session cookie, an API token, or the trusted
 * proxy's header; and the account rules every way in shares.
 *
 * Contract (README, "Accounts and administration"; SECURITY.md):
 * - A session cookie (session.h) is tried first, then
 *   `Authorization: Bearer <token>` (an API token: shown once, stored as a
 *   keyed hash; no CSRF token is needed, as no browser sends it by itself),
 *   then, with AUTH_TRUSTED_HEADER set, that header, believed only when the
 *   request came through a proxy in TRUSTED_PROXIES. A header user is
 *   created on first sight, subject to REGISTRATION.
 * - Only an active account is anyone: a pending one gets 403 saying it waits
 *   for approval, a disabled one 401; the check runs on every request, so
 *   approving or disabling takes effect at once.
 * - A bad bearer token is 401 even on routes that need no login: a script
 *   must learn at once that its token is wrong. */
#ifndef AIF_AUTH_H
#define AIF_AUTH_H

#include "request.h"
#include "response.h"
#include "store.h"

enum auth_kind { AUTH_NONE, AUTH_SESSION, AUTH_TOKEN, AUTH_HEADER };

/* API tokens: "aif_" and 43 base64url characters. */
#define AUTH_TOKEN_PREFIX "aif_"

/* Recognises the user of req (request.h's user_id, username, role,
 * session_hash, auth_kind). Returns 0 to go on, or -1 when res holds the
 * answer (401, 403, or a store failure). required: the route needs a user. */
int auth_attach(struct request *req, struct response *res, int required);
/* As auth_attach() with a user required, but only an API token counts: a
 * session cookie or the trusted header is ignored (the OpenAI-compatible
 * API, README "The OpenAI-compatible API"). Also fills req's token_id,
 * token_name and token_store. */
int auth_attach_token(struct request *req, struct response *res);
/* The user an admin route names by its id (req->id) into *u, which the
 * caller frees; -1 having answered 404 or the store's error. */
int auth_target_user(struct request *req, struct response *res, struct user *u);

/* A fresh random API token (caller frees); its stored hash (caller frees). */
char *auth_token_new(void);
char *auth_token_hash(const struct config *cfg, const char *token);

/* 1 when the peer that sent the request is one of cfg's trusted proxies.
 * lighttpd's mod_extforward replaces REMOTE_ADDR with the client named in
 * X-Forwarded-For only for a peer in extforward.forwarder, which
 * tools/cgi-env.sh writes from TRUSTED_PROXIES; the address it puts there
 * has no port, so REMOTE_PORT "0" (never a TCP peer's port) says it did.
 * Otherwise REMOTE_ADDR is the peer itself and must be in the list. */
int auth_from_trusted_proxy(const struct config *cfg, const char *remote_addr, const char *remote_port);

/* The user-facing refusal for an account status that may not log in, or
 * NULL for "active"; *status_code the HTTP status to answer with. */
const char *auth_status_refusal(const char *status, int *status_code);

/* Writes an audit entry (who, what, whom, from where); a failure is logged,
 * never fatal. actor NULL: req's user. */
void auth_audit(const struct request *req, const char *actor, const char *action, const char *target,
		const char *detail);

#endif
