/* test_account.c: unit tests for account.c's username and password rules, hostile input first. */
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "check.h"

/* Checks a username on an exact-size copy; returns the message (NULL when accepted). */
static const char *username(const char *s, size_t len, char **display, char **key)
{
	char *p = check_exact(s, len);
	const char *msg = account_check_username(p, len, display, key);
	free(p);
	return msg;
}

/* Checks that s is refused with a message containing word, nothing allocated. */
static void check_refused(const char *s, size_t len, const char *word, const char *name, int line)
{
	char *display = (char *)1, *key = (char *)1;
	const char *msg = username(s, len, &display, &key);
	int ok = msg != NULL && display == NULL && key == NULL && (!word || strstr(msg, word));
	if (!check_report(ok, name, __FILE__, line))
		printf("#   message: %s\n", msg ? msg : "(accepted)");
	if (!msg) {
		free(display);
		free(key);
	}
}

#define CHECK_REFUSED_LEN(s, len, word, name) check_refused((s), (len), (word), (name), __LINE__)
#define CHECK_REFUSED(lit, word, name) check_refused((lit), sizeof(lit) - 1, (word), (name), __LINE__)

/* Checks that s is accepted with the given display form and key. */
static void check_user(const char *s, size_t len, const char *want_display, const char *want_key, const char *name,
		       int line)
{
	char *display = NULL, *key = NULL;
	const char *msg = username(s, len, &display, &key);
	int ok = msg == NULL && display && key && (!want_display || strcmp(display, want_display) == 0) &&
		 (!want_key || strcmp(key, want_key) == 0);
	if (!check_report(ok, name, __FILE__, line))
		printf("#   message %s, display \"%s\", key \"%s\"\n", msg ? msg : "none", display ? display : "NULL",
		       key ? key : "NULL");
	free(display);
	free(key);
}

#define CHECK_USER_LEN(s, len, display, key, name) check_user((s), (len), (display), (key), (name), __LINE__)
#define CHECK_USER(lit, display, key, name) check_user((lit), sizeof(lit) - 1, (display), (key), (name), __LINE__)

/* Checks that a and b are both accepted and fold to the same key. */
static void check_same_key(const char *a, const char *b, const char *name, int line)
{
	char *da = NULL, *ka = NULL, *db = NULL, *kb = NULL;
	const char *ma = username(a, strlen(a), &da, &ka);
	const char *mb = username(b, strlen(b), &db, &kb);
	if (!check_report(!ma && !mb && strcmp(ka, kb) == 0, name, __FILE__, line))
		printf("#   keys \"%s\" and \"%s\"\n", ka ? ka : "NULL", kb ? kb : "NULL");
	free(da), free(ka), free(db), free(kb);
}

#define CHECK_SAME_KEY(a, b, name) check_same_key((a), (b), (name), __LINE__)

static void test_username_hostile(void)
{
	CHECK_REFUSED("ab\x01" "c", "printable", "username: C0 control");
	CHECK_REFUSED("ab\nc", "printable", "username: newline inside");
	CHECK_REFUSED("ab\rc", "printable", "username: carriage return inside");
	CHECK_REFUSED("ab\tc", "printable", "username: tab inside");
	CHECK_REFUSED("abc\n", "printable", "username: trailing newline is not trimmed away");
	CHECK_REFUSED("\x1B[31mred", "printable", "username: terminal escape");
	CHECK_REFUSED("abc\x7F", "printable", "username: DEL");
	CHECK_REFUSED("ab\xC2\x80" "c", "printable", "username: C1 U+0080");
	CHECK_REFUSED("ab\xC2\x85" "c", "printable", "username: C1 NEL U+0085");
	CHECK_REFUSED("ab\xC2\x9F" "c", "printable", "username: C1 U+009F");
	CHECK_REFUSED("adm\xE2\x80\xAEnimda", "printable", "username: right-to-left override U+202E");
	CHECK_REFUSED("adm\xE2\x80\xAAin", "printable", "username: left-to-right embedding U+202A");
	CHECK_REFUSED("adm\xE2\x80\xADin", "printable", "username: left-to-right override U+202D");
	CHECK_REFUSED("adm\xE2\x81\xA6in", "printable", "username: left-to-right isolate U+2066");
	CHECK_REFUSED("adm\xE2\x81\xA9in", "printable", "username: pop directional isolate U+2069");
	CHECK_REFUSED("adm\xE2\x80\x8Ein", "printable", "username: left-to-right mark U+200E");
	CHECK_REFUSED("adm\xE2\x80\x8Fin", "printable", "username: right-to-left mark U+200F");
	CHECK_REFUSED("adm\xD8\x9Cin", "printable", "username: Arabic letter mark U+061C");
	CHECK_REFUSED("ad\xE2\x80\x8Bmin", "printable", "username: zero-width space inside");
	CHECK_REFUSED("ad\xE2\x81\xA0min", "printable", "username: word joiner U+2060 inside");
	CHECK_REFUSED("ad\xC2\xADmin", "printable", "username: soft hyphen U+00AD inside");
	CHECK_REFUSED("admin\xF3\xA0\x81\xA1", "printable", "username: tag character U+E0061");
	CHECK_REFUSED("ab\xE2\x80\xA8" "c", "printable", "username: line separator U+2028");
	CHECK_REFUSED("ab\xE2\x80\xA9" "c", "printable", "username: paragraph separator U+2029");
	CHECK_REFUSED("ab\xEF\xBB\xBF" "c", "printable", "username: zero-width no-break space U+FEFF");
	CHECK_REFUSED("ab\xEE\x80\x80" "c", "printable", "username: private use U+E000");
	CHECK_REFUSED("ab\xF3\xB0\x80\x80" "c", "printable", "username: supplementary private use U+F0000");
	CHECK_REFUSED("ab\xEF\xBF\xBE" "c", "printable", "username: noncharacter U+FFFE");
	CHECK_REFUSED("ab\xEF\xBF\xBF" "c", "printable", "username: noncharacter U+FFFF");
	CHECK_REFUSED("ab\xF0\x9F\xBF\xBF" "c", "printable", "username: noncharacter U+1FFFF");

	CHECK_REFUSED_LEN("ab\0c", 4, "valid", "username: raw NUL");
	CHECK_REFUSED_LEN("abc\0", 4, "valid", "username: trailing NUL inside the length");
	CHECK_REFUSED("ab\xC0\xAF" "c", "valid", "username: overlong UTF-8");
	CHECK_REFUSED("ab\xED\xA0\x80" "c", "valid", "username: encoded surrogate");
	CHECK_REFUSED("ab\xF4\x90\x80\x80", "valid", "username: beyond U+10FFFF");
	CHECK_REFUSED("abc\xC3", "valid", "username: truncated UTF-8 at the end");
	CHECK_REFUSED("\x80" "abc", "valid", "username: lone continuation byte");

	CHECK_REFUSED("", "3 to 80", "username: empty");
	CHECK_REFUSED("     ", "3 to 80", "username: spaces only");
	CHECK_REFUSED("\xE3\x80\x80\xC2\xA0\xE2\x80\x8B\t", "3 to 80", "username: Unicode spaces only");
	CHECK_REFUSED("ab", "3 to 80", "username: two characters");
	CHECK_REFUSED("  ab  ", "3 to 80", "username: two characters once trimmed");
	CHECK_REFUSED("\xC3\xA9\xC3\xA9", "3 to 80", "username: two characters in four bytes");

	char name[512];
	memset(name, 'a', 81);
	CHECK_REFUSED_LEN(name, 81, "3 to 80", "username: 81 characters");
	for (int i = 0; i < 81; i++)
		memcpy(name + 2 * i, "\xC3\xA9", 2);
	CHECK_REFUSED_LEN(name, 162, "3 to 80", "username: 81 two-byte characters");
	CHECK_USER_LEN(name, 160, NULL, NULL, "username: 80 two-byte characters (160 bytes) accepted");
}

static void test_username_accepted(void)
{
	CHECK_USER("alice", "alice", "alice", "username: plain");
	CHECK_USER("abc", "abc", "abc", "username: three characters");
	CHECK_USER("  Alice \t", "Alice", "alice", "username: blanks trimmed at both ends, case folded");
	CHECK_USER("\t alice", "alice", "alice", "username: leading tab trimmed");
	CHECK_USER("alice\t", "alice", "alice", "username: trailing tab trimmed like a leading one");
	CHECK_USER("\xE3\x80\x80" "bob\xC2\xA0", "bob", "bob", "username: ideographic and no-break spaces trimmed");
	CHECK_USER("\xE2\x80\x8B" "bob\xE2\x80\x8B", "bob", "bob", "username: zero-width spaces at the ends trimmed");
	CHECK_USER("Mary Ann", "Mary Ann", "mary ann", "username: inner space kept");
	CHECK_USER("a  b", "a  b", "a  b", "username: two inner spaces kept");
	CHECK_USER("<b>&amp;'\"", "<b>&amp;'\"", "<b>&amp;'\"", "username: markup is printable (escaped on output)");
	CHECK_USER("J\xC3\xBCrgen", "J\xC3\xBCrgen", "j\xC3\xBCrgen", "username: non-ASCII kept");
#define EMOJI3 "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
#define ZWJ_SEQ "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x92\xBB"
	CHECK_USER(EMOJI3, EMOJI3, EMOJI3, "username: three emoji");
	CHECK_USER(ZWJ_SEQ, ZWJ_SEQ, ZWJ_SEQ, "username: zero-width joiner inside an emoji sequence");
#undef EMOJI3
#undef ZWJ_SEQ

	char name[81];
	memset(name, 'A', 80);
	name[80] = '\0';
	char want_key[81];
	memset(want_key, 'a', 80);
	want_key[80] = '\0';
	CHECK_USER_LEN(name, 80, name, want_key, "username: 80 characters");
	char padded[128];
	snprintf(padded, sizeof padded, "   %s   ", name);
	CHECK_USER_LEN(padded, strlen(padded), name, want_key, "username: 80 characters with blanks around");
}

static void test_username_folding(void)
{
	CHECK_SAME_KEY("ALICE", "alice", "fold: ASCII");
	CHECK_SAME_KEY("AlIcE", "aLiCe", "fold: mixed case");
	CHECK_SAME_KEY("\xC3\x84" "BC", "\xC3\xA4" "bc", "fold: \xC3\x84" "BC equals \xC3\xA4" "bc");
	CHECK_SAME_KEY("\xC3\x89" "COLE", "\xC3\xA9" "cole", "fold: \xC3\x89" "COLE equals \xC3\xA9" "cole");
	CHECK_SAME_KEY("\xCE\xA9\xCE\x9C\xCE\x95\xCE\x93\xCE\x91", "\xCF\x89\xCE\xBC\xCE\xB5\xCE\xB3\xCE\xB1", "fold: Greek");
	CHECK_SAME_KEY("\xD0\x98\xD0\x92\xD0\x90\xD0\x9D", "\xD0\xB8\xD0\xB2\xD0\xB0\xD0\xBD", "fold: Cyrillic");
	CHECK_SAME_KEY("\xF0\x90\x90\x80" "bc", "\xF0\x90\x90\xA8" "bc", "fold: Deseret (four-byte) letters");
	CHECK_SAME_KEY("  Bob  ", "bob", "fold: after trimming");

	char *d = NULL, *k = NULL;
	const char *msg = username("\xC3\x84" "BC", 4, &d, &k);
	CHECK(msg == NULL && d && strcmp(d, "\xC3\x84" "BC") == 0, "fold: the display name keeps its case");
	free(d);
	free(k);
}

static int password_ok_len(const char *s, size_t len)
{
	char *p = check_exact(s, len);
	const char *msg = account_check_password(p, len);
	free(p);
	return msg == NULL;
}

static void test_password(void)
{
	char pw[1024];
	CHECK(!password_ok_len("", 0), "password: empty");
	CHECK(!password_ok_len("1234567", 7), "password: seven characters");
	CHECK(password_ok_len("12345678", 8), "password: eight characters");
	CHECK(!password_ok_len("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 14),
	      "password: seven characters in fourteen bytes");
	CHECK(password_ok_len("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 16),
	      "password: eight two-byte characters");
	CHECK(password_ok_len("        ", 8), "password: spaces count and are not trimmed");
	CHECK(!password_ok_len("1234\0" "5678", 9), "password: raw NUL");
	CHECK(!password_ok_len("12345678\xC0\xAF", 10), "password: overlong UTF-8");
	CHECK(!password_ok_len("12345678\xED\xA0\x80", 11), "password: encoded surrogate");
	CHECK(!password_ok_len("12345678\xFF", 9), "password: invalid byte");
	CHECK(!password_ok_len("12345678\xE2\x82", 10), "password: truncated UTF-8");

	memset(pw, 'x', 129);
	CHECK(password_ok_len(pw, 128), "password: 128 characters");
	CHECK(!password_ok_len(pw, 129), "password: 129 characters");
	for (int i = 0; i < 129; i++)
		memcpy(pw + 4 * i, "\xF0\x9D\x84\x9E", 4);
	CHECK(password_ok_len(pw, 512), "password: 128 four-byte characters (512 bytes)");
	CHECK(!password_ok_len(pw, 516), "password: 129 four-byte characters");
	const char *msg = account_check_password("short", 5);
	CHECK(msg && strstr(msg, "8"), "password: the message gives the minimum");
	msg = account_check_password(pw, 516);
	CHECK(msg && strstr(msg, "128"), "password: the message gives the maximum");
}

int main(void)
{
	test_username_hostile();
	test_username_accepted();
	test_username_folding();
	test_password();
	return check_done();
}
