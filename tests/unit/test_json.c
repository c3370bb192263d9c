/* test_json.c: unit tests for json.c's strict request reader, hostile input first. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"

/* Parses an exact-size heap copy (no NUL after it); returns 0 or -1. */
static int parse(const char *text, size_t len, struct jv_object *obj, const char **err)
{
	char *p = check_exact(text, len);
	int rc = jsonx_parse_object(p, len, obj, err);
	free(p);
	return rc;
}

/* 1 when text is refused cleanly: -1, a message, and nothing left allocated. */
static int refused_len(const char *text, size_t len, const char **msg)
{
	struct jv_object obj;
	const char *err = NULL;
	int rc = parse(text, len, &obj, &err);
	if (msg)
		*msg = err;
	int clean = obj.members == NULL && obj.count == 0;
	if (rc == 0)
		jsonx_free_members(&obj);
	return rc == -1 && err != NULL && clean;
}

#define REFUSED(lit) refused_len((lit), sizeof(lit) - 1, NULL)

/* Parses text that must be accepted; the caller frees obj. */
static int accepted_len(const char *text, size_t len, struct jv_object *obj)
{
	const char *err = "unset";
	int rc = parse(text, len, obj, &err);
	return rc == 0 && err == NULL;
}

#define ACCEPTED(lit, obj) accepted_len((lit), sizeof(lit) - 1, (obj))

static int has_string(const struct jv_object *obj, const char *key, const char *want, size_t want_len)
{
	const struct jv_member *m = jsonx_member(obj, key);
	return m && m->type == JV_STRING && m->len == want_len && memcmp(m->str, want, want_len) == 0 &&
	       m->str[want_len] == '\0';
}

static int has_int(const struct jv_object *obj, const char *key, long long want)
{
	const struct jv_member *m = jsonx_member(obj, key);
	return m && m->type == JV_INT && m->num == want;
}

static int has_type(const struct jv_object *obj, const char *key, enum jv_type t)
{
	const struct jv_member *m = jsonx_member(obj, key);
	return m && m->type == t;
}

static void test_not_objects(void)
{
	CHECK(REFUSED(""), "empty body");
	CHECK(REFUSED("   \n\t"), "whitespace only");
	CHECK(REFUSED("[]"), "array at top level");
	CHECK(REFUSED("[{\"a\":1}]"), "object inside an array");
	CHECK(REFUSED("\"str\""), "string at top level");
	CHECK(REFUSED("1"), "number at top level");
	CHECK(REFUSED("null"), "null at top level");
	CHECK(REFUSED("\xEF\xBB\xBF{}"), "byte order mark before the object");
	CHECK(REFUSED("\v{}"), "vertical tab is not JSON whitespace");
	CHECK(REFUSED("\xC2\xA0{}"), "no-break space is not JSON whitespace");
}

static void test_truncated(void)
{
	CHECK(REFUSED("{"), "only an opening brace");
	CHECK(REFUSED("{\"a\""), "key without colon");
	CHECK(REFUSED("{\"a\":"), "key without value");
	CHECK(REFUSED("{\"a\":1"), "missing closing brace");
	CHECK(REFUSED("{\"a\":1,"), "comma then end");
	CHECK(REFUSED("{\"a\":\"abc"), "unterminated string value");
	CHECK(REFUSED("{\"a"), "unterminated key");
	CHECK(REFUSED("{\"a\":\"\\"), "backslash at the very end");
	CHECK(REFUSED("{\"a\":\"\\u12"), "\\u escape cut short at the end");
	CHECK(REFUSED("{\"a\":tr"), "literal cut short");
	CHECK(REFUSED("{\"a\":-"), "minus at the end");
	CHECK(REFUSED("{\"a\":1."), "fraction cut short");
	CHECK(REFUSED("{\"a\":1e"), "exponent cut short");

	/* Every proper prefix of a valid body is refused, without reading past it. */
	static const char body[] = "{ \"s\" : \"h\\u00e9\\uD83D\\uDE00\\n\\\"x\" , \"n\":-12.5e+3,\"i\":7,"
				   "\"t\":true,\"f\":false,\"z\":null }";
	size_t len = sizeof body - 1;
	struct jv_object obj;
	CHECK(accepted_len(body, len, &obj), "the full body is accepted");
	jsonx_free_members(&obj);
	int all_refused = 1;
	for (size_t i = 0; i < len; i++)
		if (!refused_len(body, i, NULL))
			all_refused = 0;
	CHECK(all_refused, "every truncation of a valid body is refused");
}

static void test_syntax(void)
{
	CHECK(REFUSED("{\"a\":1,}"), "trailing comma");
	CHECK(REFUSED("{,}"), "lone comma");
	CHECK(REFUSED("{,\"a\":1}"), "leading comma");
	CHECK(REFUSED("{\"a\":1,,\"b\":2}"), "double comma");
	CHECK(REFUSED("{\"a\" 1}"), "missing colon");
	CHECK(REFUSED("{\"a\"::1}"), "double colon");
	CHECK(REFUSED("{a:1}"), "unquoted key");
	CHECK(REFUSED("{'a':1}"), "single-quoted key");
	CHECK(REFUSED("{\"a\":'x'}"), "single-quoted value");
	CHECK(REFUSED("{1:1}"), "number as key");
	CHECK(REFUSED("{\"a\":1 \"b\":2}"), "missing comma");
	CHECK(REFUSED("{\"a\":1 /* c */}"), "comment");
	CHECK(REFUSED("{\"a\":1}}"), "extra closing brace");
	CHECK(REFUSED("{\"a\":1} x"), "trailing garbage");
	CHECK(REFUSED("{\"a\":1}{}"), "second object");
	CHECK(REFUSED("{}[]"), "trailing array");
	CHECK(refused_len("{\"a\":1}\0", 8, NULL), "trailing NUL byte inside the length");
	CHECK(refused_len("{\0\"a\":1}", 8, NULL), "NUL byte between tokens");
	CHECK(REFUSED("{\"a\":True}"), "capitalised literal");
	CHECK(REFUSED("{\"a\":nul}"), "misspelt null");
	CHECK(REFUSED("{\"a\":nulll}"), "overlong null");
	CHECK(REFUSED("{\"a\":falsey}"), "literal with a tail");
	CHECK(REFUSED("{\"a\":undefined}"), "undefined");
}

static void test_numbers(void)
{
	CHECK(REFUSED("{\"a\":01}"), "leading zero");
	CHECK(REFUSED("{\"a\":00}"), "double zero");
	CHECK(REFUSED("{\"a\":-01}"), "negative with leading zero");
	CHECK(REFUSED("{\"a\":+1}"), "plus sign");
	CHECK(REFUSED("{\"a\":.5}"), "no integer part");
	CHECK(REFUSED("{\"a\":1.}"), "no fraction digits");
	CHECK(REFUSED("{\"a\":1e+}"), "no exponent digits");
	CHECK(REFUSED("{\"a\":--1}"), "double minus");
	CHECK(REFUSED("{\"a\":- 1}"), "space after minus");
	CHECK(REFUSED("{\"a\":0x10}"), "hexadecimal");
	CHECK(REFUSED("{\"a\":NaN}"), "NaN");
	CHECK(REFUSED("{\"a\":Infinity}"), "Infinity");
	CHECK(REFUSED("{\"a\":-Infinity}"), "-Infinity");
	CHECK(REFUSED("{\"a\":1_000}"), "digit separator");
	CHECK(REFUSED("{\"a\":1.2.3}"), "two decimal points");

	struct jv_object obj;
	CHECK(ACCEPTED("{\"a\":0,\"b\":-0,\"c\":42,\"d\":-7}", &obj), "plain integers accepted");
	CHECK(has_int(&obj, "a", 0) && has_int(&obj, "b", 0) && has_int(&obj, "c", 42) && has_int(&obj, "d", -7),
	      "integers read as JV_INT with their values");
	jsonx_free_members(&obj);

	CHECK(ACCEPTED("{\"max\":9223372036854775807,\"min\":-9223372036854775808}", &obj), "long long limits");
	CHECK(has_int(&obj, "max", 9223372036854775807LL) && has_int(&obj, "min", -9223372036854775807LL - 1),
	      "long long limits are exact JV_INT");
	jsonx_free_members(&obj);

	CHECK(ACCEPTED("{\"a\":9223372036854775808,\"b\":99999999999999999999,\"c\":-9223372036854775809,"
		       "\"d\":1234567890123456789012345678901234567890}",
		       &obj),
	      "huge integers accepted as numbers");
	CHECK(has_type(&obj, "a", JV_NUMBER) && has_type(&obj, "b", JV_NUMBER) && has_type(&obj, "c", JV_NUMBER) &&
		      has_type(&obj, "d", JV_NUMBER),
	      "integers beyond long long are JV_NUMBER, never a wrapped JV_INT");
	jsonx_free_members(&obj);

	CHECK(ACCEPTED("{\"a\":1.5,\"b\":1e3,\"c\":1E-3,\"d\":-0.0,\"e\":2.0}", &obj), "fractions and exponents");
	CHECK(has_type(&obj, "a", JV_NUMBER) && has_type(&obj, "b", JV_NUMBER) && has_type(&obj, "c", JV_NUMBER) &&
		      has_type(&obj, "d", JV_NUMBER) && has_type(&obj, "e", JV_NUMBER),
	      "1.5, 1e3, 2.0 are JV_NUMBER, not ids");
	jsonx_free_members(&obj);
}

static void test_strings(void)
{
	const char *msg;
	CHECK(REFUSED("{\"a\":\"\\u0000\"}"), "\\u0000 in a value");
	CHECK(REFUSED("{\"\\u0000\":1}"), "\\u0000 in a key");
	CHECK(REFUSED("{\"a\":\"x\\u0000y\"}"), "\\u0000 in the middle of a value");
	CHECK(refused_len("{\"a\":\"x\0y\"}", 11, NULL), "raw NUL in a string");
	CHECK(REFUSED("{\"a\":\"line\nbreak\"}"), "raw newline in a string");
	CHECK(REFUSED("{\"a\":\"tab\there\"}"), "raw tab in a string");
	CHECK(REFUSED("{\"a\":\"\x1F\"}"), "raw U+001F in a string");
	CHECK(REFUSED("{\"a\":\"\\uD800\"}"), "lone high surrogate");
	CHECK(REFUSED("{\"a\":\"\\uDBFF\"}"), "lone high surrogate U+DBFF");
	CHECK(REFUSED("{\"a\":\"\\uDC00\"}"), "lone low surrogate");
	CHECK(REFUSED("{\"a\":\"\\uDFFF\\uD800\"}"), "surrogates in the wrong order");
	CHECK(REFUSED("{\"a\":\"\\uD800\\uD800\"}"), "two high surrogates");
	CHECK(REFUSED("{\"a\":\"\\uD800\\u0041\"}"), "high surrogate then a normal escape");
	CHECK(REFUSED("{\"a\":\"\\uD800x\"}"), "high surrogate then a normal character");
	CHECK(REFUSED("{\"a\":\"\\uD800\\n\"}"), "high surrogate then another escape");
	CHECK(REFUSED("{\"\\uD800\":1}"), "lone surrogate in a key");
	CHECK(REFUSED("{\"a\":\"\\x41\"}"), "\\x escape");
	CHECK(REFUSED("{\"a\":\"\\'\"}"), "\\' escape");
	CHECK(REFUSED("{\"a\":\"\\U0041\"}"), "\\U escape");
	CHECK(REFUSED("{\"a\":\"\\u12G4\"}"), "\\u with a non-hex digit");
	CHECK(REFUSED("{\"a\":\"\\u-123\"}"), "\\u with a sign");
	CHECK(REFUSED("{\"a\":\"\\u 123\"}"), "\\u with a space");
	CHECK(REFUSED("{\"a\":\"\\0\"}"), "\\0 escape");
	CHECK(refused_len("{\"a\":\"\\\0\"}", 9, &msg), "backslash then raw NUL");

	struct jv_object obj;
	CHECK(ACCEPTED("{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", &obj), "every simple escape");
	CHECK(has_string(&obj, "s", "\"\\/\b\f\n\r\t", 8), "simple escapes decode");
	jsonx_free_members(&obj);

	CHECK(ACCEPTED("{\"s\":\"\\u00e9\\u20AC\\uD83D\\uDE00\\uDBFF\\uDFFF\\u0001\"}", &obj), "\\u escapes");
	CHECK(has_string(&obj, "s", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\x01", 14),
	      "\\u escapes and surrogate pairs decode to UTF-8");
	jsonx_free_members(&obj);

	CHECK(ACCEPTED("{\"s\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\",\"e\":\"\"}", &obj), "raw UTF-8 and empty strings");
	CHECK(has_string(&obj, "s", "caf\xC3\xA9 \xF0\x9F\x98\x80", 10) && has_string(&obj, "e", "", 0),
	      "raw UTF-8 kept byte for byte; empty string has length 0");
	jsonx_free_members(&obj);

	CHECK(ACCEPTED("{\"s\":\"</script><b>\\u003c\"}", &obj), "markup is just text here");
	CHECK(has_string(&obj, "s", "</script><b><", 13), "markup decoded verbatim (escaping is the writer's job)");
	jsonx_free_members(&obj);

	CHECK(ACCEPTED("{\"s\":\"\x7F\"}", &obj), "DEL is allowed raw in JSON strings");
	jsonx_free_members(&obj);

	/* A body as large as the request limit. */
	size_t big = 64 * 1024;
	char *text = malloc(big);
	CHECK(text != NULL, "allocate a 64 KiB body");
	if (text) {
		memcpy(text, "{\"s\":\"", 6);
		memset(text + 6, 'x', big - 8);
		memcpy(text + big - 2, "\"}", 2);
		CHECK(accepted_len(text, big, &obj), "64 KiB string accepted");
		const struct jv_member *m = jsonx_member(&obj, "s");
		CHECK(m && m->len == big - 8 && strlen(m->str) == big - 8, "64 KiB string has its full length");
		jsonx_free_members(&obj);
		free(text);
	}
}

static void test_duplicates_and_nesting(void)
{
	const char *msg = NULL;
	CHECK(refused_len("{\"a\":1,\"a\":2}", 13, &msg), "duplicate key");
	CHECK(msg && strstr(msg, "repeats"), "duplicate key: the message says a field repeats");
	CHECK(REFUSED("{\"a\":1,\"\\u0061\":2}"), "duplicate key spelt with \\u0061");
	CHECK(REFUSED("{\"\\u00e9\":1,\"\xC3\xA9\":2}"), "duplicate non-ASCII key, escaped and raw");
	CHECK(REFUSED("{\"a\\/b\":1,\"a/b\":2}"), "duplicate key spelt with \\/");
	CHECK(REFUSED("{\"a\":1,\"b\":2,\"a\":3}"), "duplicate key after another key");
	CHECK(REFUSED("{\"\":1,\"\":2}"), "duplicate empty key");

	msg = NULL;
	CHECK(refused_len("{\"a\":{}}", 8, &msg), "nested object");
	CHECK(msg && strstr(msg, "strings, numbers"), "nested object: the message names the allowed types");
	CHECK(REFUSED("{\"a\":[]}"), "nested empty array");
	CHECK(REFUSED("{\"a\":[1,2]}"), "nested array");
	CHECK(REFUSED("{\"a\":{\"b\":1}}"), "nested object with a member");

	/* Deep nesting is refused at the first level, without recursion. */
	size_t depth = 100000;
	char *deep = malloc(depth + 6);
	CHECK(deep != NULL, "allocate a deeply nested body");
	if (deep) {
		memcpy(deep, "{\"a\":", 5);
		memset(deep + 5, '[', depth);
		deep[5 + depth] = '}';
		CHECK(refused_len(deep, depth + 6, NULL), "100000 nested arrays refused");
		free(deep);
	}

	struct jv_object obj;
	CHECK(ACCEPTED("{\"a\":1,\"A\":2,\"a \":3}", &obj), "keys differing in case or space are distinct");
	CHECK(obj.count == 3, "three distinct keys kept");
	jsonx_free_members(&obj);
}

static void test_limits_and_shapes(void)
{
	struct jv_object obj;
	CHECK(ACCEPTED("{}", &obj) && obj.count == 0, "empty object");
	jsonx_free_members(&obj);
	CHECK(ACCEPTED(" \r\n\t{ \r\n\t} \r\n\t", &obj) && obj.count == 0, "JSON whitespace everywhere");
	jsonx_free_members(&obj);

	CHECK(ACCEPTED("{\"t\":true,\"f\":false,\"z\":null,\"\":\"empty key\"}", &obj), "literals and empty key");
	const struct jv_member *t = jsonx_member(&obj, "t"), *f = jsonx_member(&obj, "f");
	CHECK(t && t->type == JV_BOOL && t->boolean == 1 && f && f->type == JV_BOOL && f->boolean == 0,
	      "booleans read");
	CHECK(has_type(&obj, "z", JV_NULL), "null read");
	CHECK(jsonx_member(&obj, "missing") == NULL, "absent key gives NULL");
	CHECK(obj.count == 4 && strcmp(obj.members[0].key, "t") == 0 && strcmp(obj.members[3].key, "") == 0,
	      "members kept in order");
	jsonx_free_members(&obj);

	/* Field count limit: 64 accepted, 65 refused. */
	char text[2048];
	for (int count = 64; count <= 65; count++) {
		size_t n = 0;
		text[n++] = '{';
		for (int i = 0; i < count; i++)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s\"k%d\":%d", i ? "," : "", i, i);
		text[n++] = '}';
		if (count == 64) {
			CHECK(accepted_len(text, n, &obj) && obj.count == 64, "64 fields accepted");
			CHECK(has_int(&obj, "k63", 63), "the 64th field is readable");
			jsonx_free_members(&obj);
		} else {
			const char *msg = NULL;
			CHECK(refused_len(text, n, &msg), "65 fields refused");
			CHECK(msg && strstr(msg, "too many"), "65 fields: the message says too many");
		}
	}

	jsonx_free_members(&obj); /* freeing twice is harmless */
	CHECK(obj.members == NULL && obj.count == 0, "free leaves an empty object");
}

static void test_output(void)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "s", json_object_new_string("</script>\"\n\xE2\x80\xA8"));
	char *s = jsonx_to_string(o);
	CHECK(s != NULL, "jsonx_to_string returns a string");
	CHECK(s && strstr(s, "<\\/") == NULL && strstr(s, "</script>") != NULL, "jsonx_to_string does not escape '/'");
	CHECK(s && strstr(s, "\\\"") && strstr(s, "\\n"), "jsonx_to_string escapes quotes and newlines");
	CHECK(s && strchr(s, ' ') == NULL, "jsonx_to_string is compact");
	free(s);
	json_object_put(o);
	s = jsonx_to_string(NULL);
	CHECK_STR(s, "null", "jsonx_to_string(NULL) is null");
	free(s);
}

int main(void)
{
	test_not_objects();
	test_truncated();
	test_syntax();
	test_numbers();
	test_strings();
	test_duplicates_and_nesting();
	test_limits_and_shapes();
	test_output();
	return check_done();
}
