/* csrf.h: cross-site request forgery defences.
 *
 * Contract: the token is HMAC-SHA256(SECRET_KEY, session hash), base64url:
 * bound to one session, nothing stored, compared in constant time. Apart from
 * the token, csrf_cross_site() refuses any state-changing request whose
 * Origin is another site or whose Sec-Fetch-Site says cross-site. */
#ifndef AIF_CSRF_H
#define AIF_CSRF_H

#include "config.h"

/* Fresh string the caller frees. */
char *csrf_token(const struct config *cfg, const char *session_hash);
/* 1 when presented equals the session's token. */
int csrf_valid(const struct config *cfg, const char *session_hash, const char *presented);
/* 1 when the request comes from another site: Origin's host differs from
 * host, Origin is "null" or not http(s), or Sec-Fetch-Site is cross-site. */
int csrf_cross_site(const char *origin, const char *sec_fetch_site, const char *host);

#endif
