/* test_werkzeug.c: unit tests for werkzeug.c and password.c's use of it: hostile hashes first, then vectors from Python's hashlib. */
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "password.h"
#include "werkzeug.h"

#define PW "correct horse \xE2\x9C\x93"
#define PBKDF2 "pbkdf2:sha256:1000$s4lt$26f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe6"
#define SCRYPT                                                                                                     \
	"scrypt:1024:8:1$NaCl$082333445ead145bca8aec90eb713d885d625a817cc5f5b02224e73294f3c4b8911a5010213f486e16f2" \
	"296b0f9db3d107df303b2b01909a74ce4e20c5984c67"
/* A key longer than SHA-256's block: HMAC hashes it first. */
#define LONGKEY "pbkdf2:sha256:1$a$3562734773cd4fb4be5cf703264ab2d8802b1f9fc8ce58d9d733c1eb9b29cc91"

static void test_hostile(void)
{
	static const char *const bad[] = {
		"", "pbkdf2", "pbkdf2:sha256", "pbkdf2:sha256$s$00", "pbkdf2:sha1:1000$s4lt$" "00",
		"pbkdf2:sha256:0$s$26f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe6",
		"pbkdf2:sha256:01000$s$26f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe6",
		"pbkdf2:sha256:-5$s$26f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe6",
		"pbkdf2:sha256:10000001$s$26f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe6",
		"pbkdf2:sha256:99999999999999999999999$s$26f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe6",
		"pbkdf2:sha256:1000$$26f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe6",
		"pbkdf2:sha256:1000$s4lt$26F794E352E49DB7888E7782317ECC01EDD5E7CC5C5E86BB191F7FC5221CCBE6",
		"pbkdf2:sha256:1000$s4lt$26f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe",
		"pbkdf2:sha256:1000$s4lt$26f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe600",
		"pbkdf2:sha256:1000$s4lt$zz f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe6",
		"pbkdf2:sha256:1000 $s4lt$26f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe6",
		"pbkdf2:sha256:1000$s 4lt$26f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe6",
		"scrypt:1024:8$NaCl$00", "scrypt:1000:8:1$NaCl$00", "scrypt:0:8:1$NaCl$00", "scrypt:1:8:1$NaCl$00",
		"scrypt:2097152:8:1$NaCl$00", "scrypt:1024:65:1$NaCl$00", "scrypt:1024:8:0$NaCl$00",
		"scrypt:1048576:64:1$NaCl$082333445ead145bca8aec90eb713d885d625a817cc5f5b02224e73294f3c4b8911a5010213f486e16f2"
		"296b0f9db3d107df303b2b01909a74ce4e20c5984c67",
		"sha256$salt$abc", "plain", "$2b$12$abcdefghijklmnopqrstuv", "md5$x$y", PW,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[160];
		snprintf(name, sizeof name, "hostile hash %zu is not a Werkzeug hash and matches nothing", i);
		CHECK(!werkzeug_hash_valid(bad[i]) && !werkzeug_verify(bad[i], PW, strlen(PW)) &&
			      !password_verify(bad[i], PW, strlen(PW)),
		      name);
	}
	CHECK(!werkzeug_hash_valid(NULL) && !werkzeug_verify(NULL, "x", 1), "NULL hash refused");
	char longsalt[400] = "pbkdf2:sha256:1$";
	memset(longsalt + 16, 'a', 300);
	strcpy(longsalt + 316, "$26f794e352e49db7888e7782317ecc01edd5e7cc5c5e86bb191f7fc5221ccbe6");
	CHECK(!werkzeug_hash_valid(longsalt), "a salt over 256 bytes refused");
}

static void test_vectors(void)
{
	CHECK(werkzeug_hash_valid(PBKDF2) && werkzeug_hash_valid(SCRYPT), "hashlib's hashes are recognised");
	CHECK(werkzeug_verify(PBKDF2, PW, strlen(PW)), "pbkdf2:sha256 matches its password");
	CHECK(!werkzeug_verify(PBKDF2, "correct horse", 13), "pbkdf2:sha256 refuses another password");
	CHECK(!werkzeug_verify(PBKDF2, PW, strlen(PW) - 1), "pbkdf2:sha256 refuses a prefix of the password");
	CHECK(werkzeug_verify(SCRYPT, PW, strlen(PW)), "scrypt matches its password");
	CHECK(!werkzeug_verify(SCRYPT, "", 0), "scrypt refuses an empty password");
	CHECK(werkzeug_verify(LONGKEY, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 100),
	      "a password longer than HMAC's block");
	CHECK(password_verify(PBKDF2, PW, strlen(PW)) && password_verify(SCRYPT, PW, strlen(PW)),
	      "password_verify accepts both Werkzeug formats");
	CHECK(password_needs_rehash(PBKDF2) && password_needs_rehash(SCRYPT), "Werkzeug hashes are to be replaced");
	char argon[PASSWORD_HASH_MAX];
	CHECK(password_hash(PW, strlen(PW), argon) == 0 && !password_needs_rehash(argon) &&
		      password_verify(argon, PW, strlen(PW)) && !werkzeug_hash_valid(argon),
	      "an argon2id hash is not a Werkzeug one and needs no rehash");
	CHECK(strstr(argon, "$m=65536,t=2,p=1$") != NULL, "the default cost is libsodium's interactive");
	/* PASSWORD_HASH_COST: a hash of other parameters is replaced at the next login. */
	char weak[PASSWORD_HASH_MAX];
	password_set_cost(PASSWORD_COST_MINIMUM);
	CHECK(password_hash(PW, strlen(PW), weak) == 0 && strstr(weak, "$m=8,t=1,p=1$") != NULL &&
		      password_verify(weak, PW, strlen(PW)) && !password_verify(weak, "wrong", 5),
	      "minimum cost hashes and verifies");
	CHECK(password_needs_rehash(argon) && !password_needs_rehash(weak),
	      "under minimum, an interactive hash is to be replaced and a minimum one is not");
	CHECK(password_verify_dummy(PW, strlen(PW)) == 0, "the dummy verification matches nothing");
	password_set_cost(PASSWORD_COST_INTERACTIVE);
	CHECK(password_needs_rehash(weak) && !password_needs_rehash(argon),
	      "back to interactive, the minimum hash is to be replaced");
	password_set_cost(PASSWORD_COST_MODERATE);
	CHECK(password_needs_rehash(argon) && password_needs_rehash(weak), "moderate replaces both");
	password_set_cost(PASSWORD_COST_INTERACTIVE);
}

int main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! libsodium\n");
		return 1;
	}
	test_hostile();
	test_vectors();
	return check_done();
}
