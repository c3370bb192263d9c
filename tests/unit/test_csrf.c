/* test_csrf.c: unit tests for csrf.c: hostile Origins and forged tokens first. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "config.h"
#include "csrf.h"

#define HOST "app.example:8443"

static void test_cross_site(void)
{
	CHECK(csrf_cross_site("null", NULL, HOST), "origin: null (sandboxed frame, file:, data:)");
	CHECK(csrf_cross_site("https://evil.example", NULL, HOST), "origin: another host");
	CHECK(csrf_cross_site("https://evil.example:8443", NULL, HOST), "origin: another host, same port");
	CHECK(csrf_cross_site("https://app.example:9443", NULL, HOST), "origin: same host, another port");
	CHECK(csrf_cross_site("https://app.example", NULL, HOST), "origin: same host, no port");
	CHECK(csrf_cross_site("https://app.example:8443.evil.example", NULL, HOST), "origin: our host as a prefix");
	CHECK(csrf_cross_site("https://x.app.example:8443", NULL, HOST), "origin: a subdomain of our host");
	CHECK(csrf_cross_site("https://evil.example@app.example:8443", NULL, HOST), "origin: userinfo before our host");
	CHECK(csrf_cross_site("app.example:8443", NULL, HOST), "origin: missing scheme");
	CHECK(csrf_cross_site("//app.example:8443", NULL, HOST), "origin: scheme-relative");
	CHECK(csrf_cross_site("://app.example:8443", NULL, HOST), "origin: empty scheme");
	CHECK(csrf_cross_site("javascript://app.example:8443", NULL, HOST), "origin: javascript scheme");
	CHECK(csrf_cross_site("ftp://app.example:8443", NULL, HOST), "origin: ftp scheme");
	CHECK(csrf_cross_site("https://app.example:8443/", NULL, HOST), "origin: trailing slash");
	CHECK(csrf_cross_site("https://app.example:8443/path", NULL, HOST), "origin: with a path");
	CHECK(csrf_cross_site("https://app.example:8443?x=1", NULL, HOST), "origin: with a query");
	CHECK(csrf_cross_site("https://app.example:8443#x", NULL, HOST), "origin: with a fragment");
	CHECK(csrf_cross_site("https://app.example:8443 ", NULL, HOST), "origin: trailing space");
	CHECK(csrf_cross_site(" https://app.example:8443", NULL, HOST), "origin: leading space");
	CHECK(csrf_cross_site("https://app.example.:8443", NULL, HOST), "origin: trailing dot in the host");
	CHECK(csrf_cross_site("https://", NULL, HOST), "origin: scheme only");
	CHECK(csrf_cross_site("https://", NULL, ""), "origin: scheme only, empty Host header");
	CHECK(csrf_cross_site("", NULL, HOST), "origin: empty string");
	CHECK(csrf_cross_site("https://app.example:8443", NULL, NULL), "origin without a Host header");
	CHECK(csrf_cross_site("https://app.example:8443", NULL, ""), "origin with an empty Host header");
	CHECK(csrf_cross_site("https://app.example:8443", "cross-site", HOST), "Sec-Fetch-Site cross-site wins over Origin");
	CHECK(csrf_cross_site(NULL, "cross-site", HOST), "Sec-Fetch-Site cross-site without Origin");
	CHECK(csrf_cross_site(NULL, "cross-site", NULL), "Sec-Fetch-Site cross-site without Origin or Host");

	CHECK(!csrf_cross_site("https://app.example:8443", NULL, HOST), "origin: exactly our host");
	CHECK(!csrf_cross_site("https://APP.Example:8443", NULL, HOST), "origin: host compared without case");
	CHECK(!csrf_cross_site("https://app.example:8443", NULL, "APP.EXAMPLE:8443"), "host compared without case");
	CHECK(!csrf_cross_site("http://localhost:8080", NULL, "localhost:8080"), "origin: plain HTTP for local tests");
	CHECK(!csrf_cross_site("https://[::1]:8443", NULL, "[::1]:8443"), "origin: IPv6 literal");
	CHECK(!csrf_cross_site("https://app.example:8443", "same-origin", HOST), "Sec-Fetch-Site same-origin");
	CHECK(!csrf_cross_site("https://app.example:8443", "same-site", HOST), "Sec-Fetch-Site same-site, same origin");
	CHECK(!csrf_cross_site(NULL, "none", HOST), "Sec-Fetch-Site none (typed in the address bar)");
	CHECK(!csrf_cross_site(NULL, NULL, HOST), "no Origin, no Sec-Fetch-Site: a non-browser client (token guards it)");
}

static void test_tokens(void)
{
	struct config a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	randombytes_buf(a.secret, sizeof a.secret);
	randombytes_buf(b.secret, sizeof b.secret);
	const char *h1 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	const char *h2 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

	char *t1 = csrf_token(&a, h1);
	char *t1again = csrf_token(&a, h1);
	char *t2 = csrf_token(&a, h2);
	char *t1b = csrf_token(&b, h1);
	CHECK(t1 && strlen(t1) == 43, "token: 32 bytes in unpadded base64url are 43 characters");
	CHECK(t1 && strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43,
	      "token: only base64url characters (safe in a header)");
	CHECK(t1 && t1again && strcmp(t1, t1again) == 0, "token: the same session gets the same token");
	CHECK(t1 && t2 && strcmp(t1, t2) != 0, "token: another session gets another token");
	CHECK(t1 && t1b && strcmp(t1, t1b) != 0, "token: another SECRET_KEY gives another token");

	CHECK(csrf_valid(&a, h1, t1), "valid: the right token");
	CHECK(!csrf_valid(&a, h1, NULL), "valid: no token");
	CHECK(!csrf_valid(&a, h1, ""), "valid: empty token");
	CHECK(!csrf_valid(&a, NULL, t1), "valid: no session");
	CHECK(!csrf_valid(&a, "", t1), "valid: empty session hash");
	CHECK(!csrf_valid(&a, h2, t1), "valid: another session's token");
	CHECK(!csrf_valid(&b, h1, t1), "valid: a token made with another key");

	char buf[128];
	size_t n = strlen(t1);
	memcpy(buf, t1, n - 1);
	buf[n - 1] = '\0';
	CHECK(!csrf_valid(&a, h1, buf), "valid: one character short");
	memcpy(buf, t1, n);
	buf[n] = 'A';
	buf[n + 1] = '\0';
	CHECK(!csrf_valid(&a, h1, buf), "valid: one character too long");
	buf[n] = '=';
	CHECK(!csrf_valid(&a, h1, buf), "valid: with base64 padding");
	buf[n] = ' ';
	CHECK(!csrf_valid(&a, h1, buf), "valid: with a trailing space");
	memcpy(buf, t1, n + 1);
	buf[0] = buf[0] == 'A' ? 'B' : 'A';
	CHECK(!csrf_valid(&a, h1, buf), "valid: first character changed");
	memcpy(buf, t1, n + 1);
	buf[n - 1] = buf[n - 1] == 'A' ? 'B' : 'A';
	CHECK(!csrf_valid(&a, h1, buf), "valid: last character changed");
	memcpy(buf, t1, n + 1);
	for (size_t i = 0; i < n; i++)
		if (buf[i] >= 'a' && buf[i] <= 'z')
			buf[i] = (char)(buf[i] - 32);
	CHECK(strcmp(buf, t1) != 0 && !csrf_valid(&a, h1, buf), "valid: case matters (the token upper-cased is refused)");
	CHECK(!csrf_valid(&a, h1, h1), "valid: the session hash itself is not the token");
	memset(buf, 'A', 43);
	buf[43] = '\0';
	CHECK(!csrf_valid(&a, h1, buf), "valid: 43 A's");
	char *long_token = malloc(100001);
	if (long_token) {
		memset(long_token, 'A', 100000);
		long_token[100000] = '\0';
		memcpy(long_token, t1, n);
		CHECK(!csrf_valid(&a, h1, long_token), "valid: the token followed by 100 KB");
		free(long_token);
	}
	free(t1);
	free(t1again);
	free(t2);
	free(t1b);
}

int main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! libsodium failed to initialise\n");
		return 1;
	}
	test_cross_site();
	test_tokens();
	return check_done();
}
