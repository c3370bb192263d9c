/* import.c: AIFacade and ChatGPT exports read and written for one user, all or nothing (see import.h). */
#include "import.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "alloc.h"
#include "archive.h"
#include "conversation.h"
#include "utf8.h"

#define CHATGPT_TITLE "Imported chat"

struct ctx {
	struct store *st;
	long long user_id;
	struct import_counts counts;
	char *err;
	size_t errlen;
	int store_rc;
};

__attribute__((format(printf, 2, 3))) static int refuse(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Reads the whole document; NULL with err set when it is not JSON. */
static struct json_object *read_document(int fd, struct ctx *c)
{
	struct json_tokener *tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *doc = NULL;
	char chunk[65536];
	long long offset = 0;
	enum json_tokener_error jerr = json_tokener_continue;
	int done = 0;
	while (!done) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			refuse(c, "The file could not be read.");
			break;
		}
		if (n == 0) {
			if (jerr == json_tokener_continue)
				refuse(c, offset == 0 ? "The file is empty." : "The file ends in the middle of the JSON document.");
			break;
		}
		doc = json_tokener_parse_ex(tok, chunk, (int)n);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_continue) {
			offset += n;
			continue;
		}
		if (jerr != json_tokener_success) {
			refuse(c, "The file is not valid JSON (%s, near byte %lld).", json_tokener_error_desc(jerr),
			       offset + (long long)json_tokener_get_parse_end(tok));
			doc = NULL;
			break;
		}
		/* Only white space may follow the document. */
		size_t end = json_tokener_get_parse_end(tok);
		for (size_t i = end; i < (size_t)n; i++) {
			if (chunk[i] != ' ' && chunk[i] != '\n' && chunk[i] != '\r' && chunk[i] != '\t') {
				refuse(c, "The file has more after its JSON document (near byte %lld).", offset + (long long)i);
				json_object_put(doc);
				doc = NULL;
				break;
			}
		}
		done = 1;
	}
	json_tokener_free(tok);
	if (doc && done) {
		/* Anything after the document in later reads is refused too. */
		for (;;) {
			ssize_t n = read(fd, chunk, sizeof chunk);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			for (ssize_t i = 0; i < n; i++)
				if (chunk[i] != ' ' && chunk[i] != '\n' && chunk[i] != '\r' && chunk[i] != '\t') {
					refuse(c, "The file has more after its JSON document.");
					json_object_put(doc);
					return NULL;
				}
		}
	}
	return done ? doc : NULL;
}

/* A member's string: NULL when absent or null; *bad when another type or
 * when it holds a NUL character. */
static const char *member_string(struct json_object *o, const char *key, int *bad)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		*bad = 1;
		return NULL;
	}
	const char *s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v)) {
		*bad = 1;
		return NULL;
	}
	return s;
}

static int store_failed(struct ctx *c, int rc)
{
	c->store_rc = rc;
	return -2;
}

static int add_message(struct ctx *c, long long conv_id, struct message_in *m)
{
	char *html = message_html(m->role, m->content);
	m->html = html;
	m->html_version = message_html_version();
	int rc = store_import_msg(c->st, c->user_id, conv_id, m);
	free(html);
	m->html = NULL;
	if (rc != STORE_OK)
		return store_failed(c, rc);
	c->counts.messages++;
	return 0;
}

/* ---- AIFacade's own export ---- */

static int time_member(struct ctx *c, struct json_object *o, const char *key, long long *ms, const char *where)
{
	int bad = 0;
	const char *s = member_string(o, key, &bad);
	if (!s || bad || archive_parse_time(s, ms) < 0)
		return refuse(c, "%s: %s must be a time like 2026-01-31T12:00:00.000Z.", where, key);
	return 0;
}

static int own_message(struct ctx *c, long long conv_id, struct json_object *jm, const char *where)
{
	if (!json_object_is_type(jm, json_type_object))
		return refuse(c, "%s is not an object.", where);
	int bad = 0;
	struct message_in m = {0};
	m.role = member_string(jm, "role", &bad);
	m.content = member_string(jm, "content", &bad);
	m.status = member_string(jm, "status", &bad);
	m.reasoning = member_string(jm, "reasoning", &bad);
	m.model = member_string(jm, "model", &bad);
	m.error = member_string(jm, "error", &bad);
	if (bad)
		return refuse(c, "%s: role, content, status, reasoning, model and error must be strings without NUL characters.", where);
	if (!m.role || (strcmp(m.role, "user") != 0 && strcmp(m.role, "assistant") != 0))
		return refuse(c, "%s: role must be user or assistant.", where);
	if (!m.content)
		return refuse(c, "%s has no content.", where);
	if (!m.status || (strcmp(m.status, "ok") != 0 && strcmp(m.status, "error") != 0 &&
			  strcmp(m.status, "interrupted") != 0))
		return refuse(c, "%s: status must be ok, error or interrupted.", where);
	if (time_member(c, jm, "created_at", &m.created_at, where) < 0)
		return -1;
	return add_message(c, conv_id, &m);
}

static int own_conversation(struct ctx *c, struct json_object *jc, size_t index)
{
	char where[96];
	snprintf(where, sizeof where, "Conversation %zu", index + 1);
	if (!json_object_is_type(jc, json_type_object))
		return refuse(c, "%s is not an object.", where);
	int bad = 0;
	const char *title = member_string(jc, "title", &bad);
	if (!title || bad)
		return refuse(c, "%s has no title.", where);
	char *clean;
	const char *problem = conversation_check_title(title, strlen(title), &clean);
	if (problem)
		return refuse(c, "%s: %s", where, problem);
	long long created, updated;
	struct json_object *msgs;
	if (time_member(c, jc, "created_at", &created, where) < 0 ||
	    time_member(c, jc, "updated_at", &updated, where) < 0) {
		free(clean);
		return -1;
	}
	if (!json_object_object_get_ex(jc, "messages", &msgs) || !json_object_is_type(msgs, json_type_array)) {
		free(clean);
		return refuse(c, "%s has no list of messages.", where);
	}
	long long conv_id;
	int rc = store_import_conv(c->st, c->user_id, clean, created, updated, &conv_id);
	free(clean);
	if (rc != STORE_OK)
		return store_failed(c, rc);
	c->counts.conversations++;
	size_t n = json_object_array_length(msgs);
	for (size_t i = 0; i < n; i++) {
		char mwhere[128];
		snprintf(mwhere, sizeof mwhere, "%s, message %zu", where, i + 1);
		int r = own_message(c, conv_id, json_object_array_get_idx(msgs, i), mwhere);
		if (r < 0)
			return r;
	}
	return 0;
}

static int own_document(struct ctx *c, struct json_object *doc)
{
	struct json_object *v;
	if (!json_object_object_get_ex(doc, "version", &v) || !json_object_is_type(v, json_type_int))
		return refuse(c, "The export has no version number.");
	int64_t version = json_object_get_int64(v);
	if (version > ARCHIVE_VERSION)
		return refuse(c, "The export is of version %lld, made by a newer AIFacade; upgrade this one to import it.",
			      (long long)version);
	if (version < 1)
		return refuse(c, "The export's version number %lld is not one AIFacade writes.", (long long)version);
	struct json_object *convs;
	if (!json_object_object_get_ex(doc, "conversations", &convs) || !json_object_is_type(convs, json_type_array))
		return refuse(c, "The export has no list of conversations.");
	size_t n = json_object_array_length(convs);
	for (size_t i = 0; i < n; i++) {
		int r = own_conversation(c, json_object_array_get_idx(convs, i), i);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- ChatGPT's conversations.json ---- */

/* Seconds (a JSON number) as ms; 0 with *ok unset when absent or null. */
static int seconds_member(struct json_object *o, const char *key, long long *ms)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return -1;
	double t = json_object_get_double(v);
	if (!isfinite(t) || t < 0 || t > 253402300799.0) /* up to the end of year 9999 */
		return -1;
	*ms = llround(t * 1000.0);
	return 1;
}

/* A title that passes conversation_check_title(): control characters
 * become spaces, a long one is cut, an empty one gets a name. Fresh. */
static char *chatgpt_title(const char *title)
{
	char *copy = xstrdup(title ? title : "");
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			*p = ' ';
	size_t len = strlen(copy);
	size_t cut = utf8_valid(copy, len) ? utf8_prefix(copy, len, CONVERSATION_TITLE_MAX) : 0;
	copy[cut] = '\0';
	char *clean;
	if (conversation_check_title(copy, cut, &clean) != NULL)
		clean = xstrdup(CHATGPT_TITLE);
	free(copy);
	return clean;
}

/* The text of a ChatGPT message: its string parts joined by blank lines,
 * or its "text"; fresh, or NULL when it has none. */
static char *chatgpt_text(struct json_object *content)
{
	struct json_object *parts, *text;
	struct buf b = BUF_INIT;
	if (json_object_object_get_ex(content, "parts", &parts) && json_object_is_type(parts, json_type_array)) {
		size_t n = json_object_array_length(parts);
		for (size_t i = 0; i < n; i++) {
			struct json_object *p = json_object_array_get_idx(parts, i);
			if (!json_object_is_type(p, json_type_string) || json_object_get_string_len(p) == 0)
				continue;
			if (b.len)
				buf_append_str(&b, "\n\n");
			buf_append(&b, json_object_get_string(p), (size_t)json_object_get_string_len(p));
		}
	} else if (json_object_object_get_ex(content, "text", &text) && json_object_is_type(text, json_type_string)) {
		buf_append(&b, json_object_get_string(text), (size_t)json_object_get_string_len(text));
	}
	if (b.len == 0 || strlen(buf_str(&b)) != b.len) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static int chatgpt_conversation(struct ctx *c, struct json_object *jc, size_t index)
{
	char where[96];
	snprintf(where, sizeof where, "Conversation %zu", index + 1);
	struct json_object *mapping;
	if (!json_object_is_type(jc, json_type_object) || !json_object_object_get_ex(jc, "mapping", &mapping) ||
	    !json_object_is_type(mapping, json_type_object))
		return refuse(c, "%s has no mapping of messages; is this ChatGPT's conversations.json?", where);
	int bad = 0;
	long long created = 0, updated = 0;
	if (seconds_member(jc, "create_time", &created) < 0 || seconds_member(jc, "update_time", &updated) < 0)
		return refuse(c, "%s: create_time and update_time must be seconds since 1970.", where);
	const char *leaf = member_string(jc, "current_node", &bad);
	if (bad)
		return refuse(c, "%s: current_node must be a node id.", where);
	/* The shown branch: from current_node up through the parents. Without
	 * one, from the root down through each node's last child. */
	size_t total = (size_t)json_object_object_length(mapping), n = 0;
	struct json_object **path = xcalloc(total ? total : 1, sizeof *path);
	struct json_object *node = NULL;
	if (leaf && !json_object_object_get_ex(mapping, leaf, &node)) {
		free(path);
		return refuse(c, "%s: current_node names no node of its mapping.", where);
	}
	if (node) {
		while (node && n < total) {
			if (!json_object_is_type(node, json_type_object)) {
				free(path);
				return refuse(c, "%s: a node of its mapping is not an object.", where);
			}
			path[n++] = node;
			const char *parent = member_string(node, "parent", &bad);
			node = NULL;
			if (parent && !json_object_object_get_ex(mapping, parent, &node)) {
				free(path);
				return refuse(c, "%s: a node's parent is not in its mapping.", where);
			}
		}
		if (node) {
			free(path);
			return refuse(c, "%s: its nodes' parents form a loop.", where);
		}
		for (size_t i = 0; i < n / 2; i++) {
			struct json_object *t = path[i];
			path[i] = path[n - 1 - i];
			path[n - 1 - i] = t;
		}
	} else {
		json_object_object_foreach(mapping, key, val)
		{
			(void)key;
			if (json_object_is_type(val, json_type_object) && !member_string(val, "parent", &bad))
				node = val;
		}
		while (node && n < total) {
			path[n++] = node;
			struct json_object *children;
			node = NULL;
			if (json_object_object_get_ex(path[n - 1], "children", &children) &&
			    json_object_is_type(children, json_type_array) && json_object_array_length(children) > 0) {
				struct json_object *id = json_object_array_get_idx(children, json_object_array_length(children) - 1);
				if (!json_object_is_type(id, json_type_string) ||
				    !json_object_object_get_ex(mapping, json_object_get_string(id), &node) ||
				    !json_object_is_type(node, json_type_object))
					node = NULL;
			}
		}
	}
	const char *title = member_string(jc, "title", &bad);
	char *clean = chatgpt_title(bad ? NULL : title);
	long long conv_id;
	int rc = store_import_conv(c->st, c->user_id, clean, created, updated > created ? updated : created, &conv_id);
	free(clean);
	if (rc != STORE_OK) {
		free(path);
		return store_failed(c, rc);
	}
	c->counts.conversations++;
	int out = 0;
	for (size_t i = 0; i < n && out == 0; i++) {
		struct json_object *msg, *author, *content, *meta, *v;
		if (!json_object_object_get_ex(path[i], "message", &msg) || !json_object_is_type(msg, json_type_object))
			continue;
		const char *role = NULL;
		if (json_object_object_get_ex(msg, "author", &author) && json_object_is_type(author, json_type_object))
			role = member_string(author, "role", &bad);
		if (!role || (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0))
			continue; /* system, tool and hidden messages were never shown */
		const char *model = NULL;
		bad = 0;
		if (json_object_object_get_ex(msg, "metadata", &meta) && json_object_is_type(meta, json_type_object)) {
			if (json_object_object_get_ex(meta, "is_visually_hidden_from_conversation", &v) &&
			    json_object_get_boolean(v))
				continue;
			bad = 0;
			model = member_string(meta, "model_slug", &bad);
		}
		if (!json_object_object_get_ex(msg, "content", &content) || !json_object_is_type(content, json_type_object))
			continue;
		char *text = chatgpt_text(content);
		if (!text)
			continue;
		long long at = created;
		if (seconds_member(msg, "create_time", &at) < 0) {
			free(text);
			out = refuse(c, "%s: a message's create_time must be seconds since 1970.", where);
			break;
		}
		struct message_in m = {0};
		m.role = role;
		m.content = text;
		m.status = "ok";
		m.model = bad ? NULL : model;
		m.created_at = at;
		out = add_message(c, conv_id, &m);
		free(text);
	}
	free(path);
	return out;
}

static int chatgpt_document(struct ctx *c, struct json_object *doc)
{
	size_t n = json_object_array_length(doc);
	if (n == 0)
		return refuse(c, "The file holds no conversations.");
	for (size_t i = 0; i < n; i++) {
		int r = chatgpt_conversation(c, json_object_array_get_idx(doc, i), i);
		if (r < 0)
			return r;
	}
	return 0;
}

int import_fd(struct store *st, long long user_id, int fd, struct import_counts *out, char *err, size_t errlen,
	      int *store_rc)
{
	struct ctx c = {st, user_id, {0, 0}, err, errlen, STORE_OK};
	memset(out, 0, sizeof *out);
	err[0] = '\0';
	*store_rc = STORE_OK;
	struct json_object *doc = read_document(fd, &c);
	if (!doc)
		return IMPORT_REFUSED;
	int r;
	struct json_object *format;
	if (json_object_is_type(doc, json_type_array)) {
		r = 0;
	} else if (json_object_is_type(doc, json_type_object) && json_object_object_get_ex(doc, "format", &format) &&
		   json_object_is_type(format, json_type_string) &&
		   strcmp(json_object_get_string(format), ARCHIVE_FORMAT) == 0) {
		r = 0;
	} else {
		r = refuse(&c, "This is neither an AIFacade export nor ChatGPT's conversations.json.");
	}
	if (r == 0) {
		int rc = store_begin(st);
		if (rc != STORE_OK) {
			r = store_failed(&c, rc);
		} else {
			r = json_object_is_type(doc, json_type_array) ? chatgpt_document(&c, doc) : own_document(&c, doc);
			if (r == 0 && (rc = store_commit(st)) != STORE_OK)
				r = store_failed(&c, rc);
			if (r != 0)
				store_rollback(st);
		}
	}
	json_object_put(doc);
	if (r == 0) {
		*out = c.counts;
		return IMPORT_OK;
	}
	*store_rc = c.store_rc;
	return r == -2 ? IMPORT_STORE : IMPORT_REFUSED;
}
