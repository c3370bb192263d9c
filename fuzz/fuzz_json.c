/* fuzz_json.c: fuzzes the strict request-body reader (jsonx_parse_object).
 *
 * The input is first checked as request_parse() does (valid UTF-8, no NUL),
 * then parsed from an exact-size copy, so any read past the body is caught.
 * Properties: keys and strings are valid UTF-8 without NUL; no key twice;
 * at most 64 fields; a refusal says why and frees everything. Differential:
 * whatever we accept, json-c's strict parser reads as an object with the
 * same fields and the same string and integer values. */
#include "fuzz.h"

#include <json-c/json.h>

#include "json.h"
#include "utf8.h"

static void compare_with_json_c(const char *text, size_t len, const struct jv_object *obj)
{
	struct json_tokener *tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	struct json_object *v = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	FUZZ_ASSERT(v != NULL && e == json_tokener_success, "json-c accepts what we accept");
	FUZZ_ASSERT(json_object_is_type(v, json_type_object), "json-c sees an object");
	FUZZ_ASSERT((size_t)json_object_object_length(v) == obj->count, "same number of fields");
	for (size_t i = 0; i < obj->count; i++) {
		const struct jv_member *m = &obj->members[i];
		struct json_object *x = NULL;
		FUZZ_ASSERT(json_object_object_get_ex(v, m->key, &x), "json-c has the same keys");
		switch (m->type) {
		case JV_STRING:
			FUZZ_ASSERT(json_object_is_type(x, json_type_string), "a string for json-c too");
			FUZZ_ASSERT((size_t)json_object_get_string_len(x) == m->len &&
					    memcmp(json_object_get_string(x), m->str, m->len) == 0,
				    "the same string");
			break;
		case JV_INT:
			FUZZ_ASSERT(json_object_is_type(x, json_type_int), "an integer for json-c too");
			FUZZ_ASSERT(json_object_get_int64(x) == m->num, "the same integer");
			break;
		case JV_NUMBER:
			FUZZ_ASSERT(json_object_is_type(x, json_type_int) || json_object_is_type(x, json_type_double),
				    "a number for json-c too");
			break;
		case JV_BOOL:
			FUZZ_ASSERT(json_object_is_type(x, json_type_boolean) &&
					    json_object_get_boolean(x) == m->boolean,
				    "the same boolean");
			break;
		case JV_NULL:
			FUZZ_ASSERT(x == NULL, "null for json-c too");
			break;
		}
	}
	json_object_put(v);
	json_tokener_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!utf8_valid((const char *)data, size))
		return 0; /* request_parse() answers 400 before any JSON is read */
	char *text = malloc(size ? size : 1);
	if (size)
		memcpy(text, data, size);
	struct jv_object obj;
	const char *err = NULL;
	if (jsonx_parse_object(text, size, &obj, &err) == 0) {
		FUZZ_ASSERT(err == NULL, "no message on success");
		FUZZ_ASSERT(obj.count <= 64, "at most 64 fields");
		for (size_t i = 0; i < obj.count; i++) {
			const struct jv_member *m = &obj.members[i];
			FUZZ_ASSERT(utf8_valid(m->key, strlen(m->key)), "key is valid UTF-8 without NUL");
			FUZZ_ASSERT(jsonx_member(&obj, m->key) == m, "no key twice");
			if (m->type == JV_STRING)
				FUZZ_ASSERT(strlen(m->str) == m->len && utf8_valid(m->str, m->len),
					    "string is valid UTF-8 without NUL");
		}
		compare_with_json_c(text, size, &obj);
		jsonx_free_members(&obj);
	} else {
		FUZZ_ASSERT(err != NULL && *err, "a refusal says why");
		FUZZ_ASSERT(obj.members == NULL && obj.count == 0, "a refusal frees everything");
	}
	free(text);
	return 0;
}
