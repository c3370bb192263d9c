/* json.h: strict reading of request bodies, and json-c helpers for output.
 *
 * Request bodies in this API are flat JSON objects. json-c silently keeps the
 * last of two equal keys, so requests are read by jsonx_parse_object(), a small
 * strict reader that rejects duplicate keys, nested values, lone surrogates,
 * NUL characters and trailing bytes. Every value the API sends is built with
 * json-c and serialised by jsonx_to_string(); nothing prints JSON by hand. */
#ifndef AIF_JSON_H
#define AIF_JSON_H
#include <stddef.h>

#include <json-c/json.h>

enum jv_type { JV_NULL, JV_BOOL, JV_INT, JV_NUMBER, JV_STRING };

struct jv_member {
	char *key;         /* owned, NUL-terminated, valid UTF-8 */
	enum jv_type type;
	char *str;         /* JV_STRING: owned, NUL-free, valid UTF-8 */
	size_t len;        /* JV_STRING: byte length */
	long long num;     /* JV_INT */
	int boolean;       /* JV_BOOL */
};

struct jv_object {
	struct jv_member *members;
	size_t count;
};

/* Parses text[0..len) (already checked to be valid UTF-8) as one flat JSON
 * object. Returns 0, or -1 with a message for the client in *err (static). */
int jsonx_parse_object(const char *text, size_t len, struct jv_object *out, const char **err);
void jsonx_free_members(struct jv_object *obj);
const struct jv_member *jsonx_member(const struct jv_object *obj, const char *key);

/* Serialises v compactly without escaping '/'; returns a string the caller
 * frees. Does not take ownership of v. */
char *jsonx_to_string(struct json_object *v);

#endif
