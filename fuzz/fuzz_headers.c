/* fuzz_headers.c: fuzzes the request-header parsers: cookies (request_cookie),
 * the client address and its rate-limit key (request_client_addr,
 * request_client_net) and the cross-site check (csrf_cross_site).
 *
 * Input: cookie header \x01 cookie name \x01 REMOTE_ADDR \x01 Origin \x01 Host.
 * Properties: a found cookie value is part of the header and holds no ';';
 * "repeated" and a value never come together; the client address and its
 * rate-limit key are never empty; an Origin naming the Host itself is same-site. */
#include "fuzz.h"

#include "csrf.h"
#include "request.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts p;
	fuzz_split(data, size, 5, &p);
	const char *header = p.part[0];
	const char *names[] = {p.part[1][0] ? p.part[1] : "x", SESSION_COOKIE_SECURE, SESSION_COOKIE_PLAIN};
	for (size_t k = 0; k < 3; k++) {
		int repeated = 7;
		char *v = request_cookie(header, names[k], &repeated);
		FUZZ_ASSERT(repeated == 0 || repeated == 1, "repeated is a flag");
		if (v) {
			FUZZ_ASSERT(!repeated, "no value when repeated");
			FUZZ_ASSERT(strchr(v, ';') == NULL, "a value holds no ';'");
			FUZZ_ASSERT(strstr(header, v) != NULL, "the value comes from the header");
			free(v);
		}
	}
	int repeated = 0;
	FUZZ_ASSERT(request_cookie(NULL, "x", &repeated) == NULL && !repeated, "no header, no cookie");

	/* Headers never name the client (lighttpd's mod_extforward sets
	 * REMOTE_ADDR): any text as REMOTE_ADDR gives one rate-limit key, and
	 * that key is stable (the key of a key is itself). */
	char *addr = request_client_addr(p.part[2]);
	FUZZ_ASSERT(addr != NULL && *addr, "an address is never empty");
	char *net = request_client_net(addr);
	FUZZ_ASSERT(net != NULL && *net, "a rate-limit key is never empty");
	if (!strchr(addr, '%') && !strstr(net, "/64")) {
		char *again = request_client_net(net);
		FUZZ_ASSERT(strcmp(again, net) == 0, "an IPv4 key is its own key");
		free(again);
	}
	free(net);
	free(addr);

	const char *origin = p.len[3] ? p.part[3] : NULL;
	const char *host = p.len[4] ? p.part[4] : NULL;
	int cross = csrf_cross_site(origin, NULL, host);
	FUZZ_ASSERT(cross == 0 || cross == 1, "a yes or a no");
	FUZZ_ASSERT(csrf_cross_site(origin, "cross-site", host) == 1, "Sec-Fetch-Site: cross-site is refused");
	FUZZ_ASSERT(csrf_cross_site(NULL, NULL, host) == 0, "no Origin, no verdict");
	if (host && *host && !strpbrk(host, "/?#@")) {
		char same[600];
		if (strlen(host) < 500) {
			snprintf(same, sizeof same, "https://%s", host);
			FUZZ_ASSERT(csrf_cross_site(same, NULL, host) == 0, "the host's own origin is same-site");
		}
	}
	if (origin && strcmp(origin, "null") == 0)
		FUZZ_ASSERT(cross == 1, "Origin: null is refused");
	fuzz_free(&p);
	return 0;
}
