/* gateway.c: the OpenAI-compatible API's request check and stream pass-through (see gateway.h). */
#include "gateway.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "utf8.h"

#define GATEWAY_MAX_MESSAGES 1000
#define GATEWAY_MAX_STOP 4

static const char accepted[] = "model, messages, stream, stream_options, max_tokens, max_completion_tokens, "
			       "temperature, top_p, stop, n (1 only), presence_penalty, frequency_penalty, seed and user";

static int refuse(struct gateway_refusal *why, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(struct gateway_refusal *why, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	why->status = status;
	why->type = "invalid_request_error";
	why->code = code;
	va_start(ap, fmt);
	vsnprintf(why->message, sizeof why->message, fmt, ap);
	va_end(ap);
	return -1;
}

/* A field name from the client, cut short and safe to quote. */
static void quote_name(const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name), cut = utf8_prefix(name, n, 40);
	size_t k = 0;
	for (size_t i = 0; i < cut && k + 1 < outlen; i++)
		out[k++] = (unsigned char)name[i] < 0x20 ? ' ' : name[i];
	out[k] = '\0';
}

static int is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

static int number_in(struct json_object *v, double lo, double hi)
{
	if (!is_number(v))
		return 0;
	double d = json_object_get_double(v);
	return d >= lo && d <= hi;
}

/* A message's text: a string, or an array of {"type": "text", "text"}
 * parts. Adds its characters to *chars; -1 with why filled when it is not. */
static int check_content(struct json_object *content, size_t i, size_t *chars, struct gateway_refusal *why)
{
	if (json_object_is_type(content, json_type_string)) {
		*chars += utf8_count(json_object_get_string(content), (size_t)json_object_get_string_len(content));
		return 0;
	}
	if (!json_object_is_type(content, json_type_array))
		return refuse(why, 400, "invalid_type", "messages[%zu].content must be a string or an array of text "
			      "parts.", i);
	size_t n = json_object_array_length(content);
	for (size_t k = 0; k < n; k++) {
		struct json_object *part = json_object_array_get_idx(content, k), *type, *text;
		if (!json_object_is_type(part, json_type_object) || !json_object_object_get_ex(part, "type", &type) ||
		    !json_object_is_type(type, json_type_string) || strcmp(json_object_get_string(type), "text") != 0 ||
		    !json_object_object_get_ex(part, "text", &text) || !json_object_is_type(text, json_type_string) ||
		    json_object_object_length(part) != 2)
			return refuse(why, 400, "unsupported_content", "messages[%zu].content[%zu] is not a text part "
				      "({\"type\": \"text\", \"text\": \"...\"}); this server passes on text only.", i, k);
		*chars += utf8_count(json_object_get_string(text), (size_t)json_object_get_string_len(text));
	}
	return 0;
}

static int check_messages(struct json_object *msgs, size_t *chars, struct gateway_refusal *why)
{
	if (!json_object_is_type(msgs, json_type_array) || json_object_array_length(msgs) == 0)
		return refuse(why, 400, "invalid_type", "messages must be a non-empty array of {role, content}.");
	size_t n = json_object_array_length(msgs);
	if (n > GATEWAY_MAX_MESSAGES)
		return refuse(why, 400, "too_many_messages", "messages holds %zu entries; at most %d are accepted.", n,
			      GATEWAY_MAX_MESSAGES);
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(msgs, i), *role = NULL, *content = NULL;
		if (!json_object_is_type(m, json_type_object))
			return refuse(why, 400, "invalid_type", "messages[%zu] must be an object {role, content}.", i);
		json_object_object_foreach(m, key, val) {
			(void)val;
			if (strcmp(key, "role") != 0 && strcmp(key, "content") != 0 && strcmp(key, "name") != 0) {
				char q[48];
				quote_name(key, q, sizeof q);
				return refuse(why, 400, "unsupported_parameter", "messages[%zu].%s is not supported; a "
					      "message has role, content and name (tools and images are not passed on).", i, q);
			}
		}
		if (!json_object_object_get_ex(m, "role", &role) || !json_object_is_type(role, json_type_string))
			return refuse(why, 400, "invalid_type", "messages[%zu].role must be system, user or assistant.", i);
		const char *r = json_object_get_string(role);
		if (strcmp(r, "system") != 0 && strcmp(r, "user") != 0 && strcmp(r, "assistant") != 0)
			return refuse(why, 400, "invalid_value", "messages[%zu].role must be system, user or assistant "
				      "(tool messages are not passed on).", i);
		if (!json_object_object_get_ex(m, "content", &content) || content == NULL)
			return refuse(why, 400, "missing_required_parameter", "messages[%zu].content is required.", i);
		struct json_object *name;
		if (json_object_object_get_ex(m, "name", &name) && !json_object_is_type(name, json_type_string))
			return refuse(why, 400, "invalid_type", "messages[%zu].name must be a string.", i);
		if (check_content(content, i, chars, why) < 0)
			return -1;
	}
	return 0;
}

static int check_stop(struct json_object *v, struct gateway_refusal *why)
{
	if (json_object_is_type(v, json_type_string))
		return 0;
	if (json_object_is_type(v, json_type_array) && json_object_array_length(v) >= 1 &&
	    json_object_array_length(v) <= GATEWAY_MAX_STOP) {
		for (size_t k = 0; k < json_object_array_length(v); k++)
			if (!json_object_is_type(json_object_array_get_idx(v, k), json_type_string))
				goto bad;
		return 0;
	}
bad:
	return refuse(why, 400, "invalid_type", "stop must be a string or an array of 1 to %d strings.", GATEWAY_MAX_STOP);
}

/* Checks one top-level field; -1 with why filled when it is refused. */
static int check_field(const struct config *cfg, const char *key, struct json_object *v, struct gateway_call *call,
		       struct gateway_refusal *why)
{
	if (strcmp(key, "model") == 0) {
		if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
			return refuse(why, 400, "invalid_type", "model must be the name of a model; GET /v1/models lists them.");
		const char *m = json_object_get_string(v);
		for (size_t i = 0; i < cfg->n_models; i++)
			if (strcmp(cfg->models[i], m) == 0) {
				call->model = cfg->models[i];
				return 0;
			}
		char q[48];
		quote_name(m, q, sizeof q);
		return refuse(why, 404, "model_not_found", "The model '%s' does not exist on this server; GET /v1/models "
			      "lists the ones it offers.", q);
	}
	if (strcmp(key, "messages") == 0)
		return check_messages(v, &call->chars, why);
	if (strcmp(key, "stream") == 0) {
		if (v != NULL && !json_object_is_type(v, json_type_boolean))
			return refuse(why, 400, "invalid_type", "stream must be true or false.");
		call->stream = v != NULL && json_object_get_boolean(v);
		return 0;
	}
	if (strcmp(key, "stream_options") == 0) {
		struct json_object *iu;
		if (v == NULL)
			return 0;
		if (!json_object_is_type(v, json_type_object) || json_object_object_length(v) > 1 ||
		    (json_object_object_length(v) == 1 && (!json_object_object_get_ex(v, "include_usage", &iu) ||
							    !json_object_is_type(iu, json_type_boolean))))
			return refuse(why, 400, "invalid_type", "stream_options may hold only include_usage (true or false).");
		call->include_usage = json_object_object_get_ex(v, "include_usage", &iu) && json_object_get_boolean(iu);
		return 0;
	}
	if (strcmp(key, "max_tokens") == 0 || strcmp(key, "max_completion_tokens") == 0) {
		if (v != NULL && (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1))
			return refuse(why, 400, "invalid_value", "%s must be a whole number from 1.", key);
		return 0;
	}
	if (strcmp(key, "temperature") == 0)
		return v == NULL || number_in(v, 0, 2) ? 0
		       : refuse(why, 400, "invalid_value", "temperature must be a number from 0 to 2.");
	if (strcmp(key, "top_p") == 0)
		return v == NULL || number_in(v, 0, 1) ? 0 : refuse(why, 400, "invalid_value", "top_p must be a number from 0 to 1.");
	if (strcmp(key, "presence_penalty") == 0 || strcmp(key, "frequency_penalty") == 0)
		return v == NULL || number_in(v, -2, 2) ? 0
		       : refuse(why, 400, "invalid_value", "%s must be a number from -2 to 2.", key);
	if (strcmp(key, "stop") == 0)
		return v == NULL ? 0 : check_stop(v, why);
	if (strcmp(key, "n") == 0)
		return v == NULL || (json_object_is_type(v, json_type_int) && json_object_get_int64(v) == 1) ? 0
		       : refuse(why, 400, "unsupported_value", "n must be 1: this server returns one choice per request.");
	if (strcmp(key, "seed") == 0)
		return v == NULL || json_object_is_type(v, json_type_int) ? 0
		       : refuse(why, 400, "invalid_type", "seed must be a whole number.");
	if (strcmp(key, "user") == 0)
		return v == NULL || json_object_is_type(v, json_type_string) ? 0
		       : refuse(why, 400, "invalid_type", "user must be a string.");
	char q[48];
	quote_name(key, q, sizeof q);
	return refuse(why, 400, "unsupported_parameter", "The field '%s' is not supported; this server passes on %s.", q,
		      accepted);
}

int gateway_parse(const struct config *cfg, const char *body, size_t len, struct gateway_call *call,
		  struct gateway_refusal *why)
{
	memset(call, 0, sizeof *call);
	struct json_tokener *tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	struct json_object *root = len ? json_tokener_parse_ex(tok, body, (int)len) : NULL;
	int ok = root != NULL && json_tokener_get_error(tok) == json_tokener_success &&
		 json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	if (!ok || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return refuse(why, 400, "invalid_json", "The request body must be one JSON object with model and messages "
			      "(Content-Type: application/json).");
	}
	struct json_object *up = json_object_new_object();
	call->upstream = up;
	int rc = 0;
	json_object_object_foreach(root, key, val) {
		if (check_field(cfg, key, val, call, why) < 0) {
			rc = -1;
			break;
		}
		if (val != NULL && strcmp(key, "stream_options") != 0)
			json_object_object_add(up, key, json_object_get(val));
	}
	json_object_put(root);
	if (rc < 0)
		return -1;
	if (!json_object_object_get_ex(up, "model", NULL))
		return refuse(why, 400, "missing_required_parameter", "model is required; GET /v1/models lists the models.");
	if (!json_object_object_get_ex(up, "messages", NULL))
		return refuse(why, 400, "missing_required_parameter", "messages is required.");
	if (call->include_usage && !call->stream)
		return refuse(why, 400, "invalid_value", "stream_options is only allowed with stream: true.");
	if (call->stream) {
		/* The budgets count the provider's figure (budget.h). */
		struct json_object *so = json_object_new_object();
		json_object_object_add(so, "include_usage", json_object_new_boolean(1));
		json_object_object_add(up, "stream_options", so);
	}
	return 0;
}

void gateway_call_free(struct gateway_call *call)
{
	json_object_put(call->upstream);
	memset(call, 0, sizeof *call);
}

void gateway_each_message(const struct gateway_call *call,
			  void (*fn)(void *ctx, const char *role, const char *text), void *ctx)
{
	struct json_object *msgs;
	if (!json_object_object_get_ex(call->upstream, "messages", &msgs))
		return;
	for (size_t i = 0; i < json_object_array_length(msgs); i++) {
		struct json_object *m = json_object_array_get_idx(msgs, i), *role, *content;
		if (!json_object_object_get_ex(m, "role", &role) || !json_object_object_get_ex(m, "content", &content))
			continue;
		const char *r = json_object_get_string(role);
		if (strcmp(r, "user") != 0 && strcmp(r, "assistant") != 0)
			continue;
		if (json_object_is_type(content, json_type_string)) {
			fn(ctx, r, json_object_get_string(content));
			continue;
		}
		struct buf text = BUF_INIT;
		for (size_t k = 0; k < json_object_array_length(content); k++) {
			struct json_object *t;
			if (json_object_object_get_ex(json_object_array_get_idx(content, k), "text", &t)) {
				if (text.len)
					buf_append_str(&text, "\n");
				buf_append_str(&text, json_object_get_string(t));
			}
		}
		fn(ctx, r, buf_str(&text));
		buf_free(&text);
	}
}

struct json_object *gateway_models_json(const struct config *cfg)
{
	struct json_object *data = json_object_new_array();
	for (size_t i = 0; i < cfg->n_models; i++) {
		struct json_object *m = json_object_new_object();
		json_object_object_add(m, "id", json_object_new_string(cfg->models[i]));
		json_object_object_add(m, "object", json_object_new_string("model"));
		json_object_object_add(m, "created", json_object_new_int64(0));
		json_object_object_add(m, "owned_by", json_object_new_string("aifacade"));
		json_object_array_add(data, m);
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "object", json_object_new_string("list"));
	json_object_object_add(o, "data", data);
	return o;
}

/* A data line the client did not ask for: a usage chunk without choices is
 * dropped (1), one with choices loses its usage (*rewritten, fresh). */
static int strip_usage(const char *payload, char **rewritten)
{
	*rewritten = NULL;
	if (!strstr(payload, "\"usage\""))
		return 0;
	struct json_object *o = json_tokener_parse(payload), *usage, *choices;
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "usage", &usage)) {
		json_object_put(o);
		return 0;
	}
	if (!json_object_object_get_ex(o, "choices", &choices) || !json_object_is_type(choices, json_type_array) ||
	    json_object_array_length(choices) == 0) {
		json_object_put(o);
		return 1;
	}
	json_object_object_del(o, "usage");
	*rewritten = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

/* Appends one line (without its end) to out, as the client should see it. */
static void pass_line(struct gateway_stream *gs, const char *line, size_t len, struct buf *out)
{
	if (len >= 5 && memcmp(line, "data:", 5) == 0) {
		const char *p = line + 5;
		if (*p == ' ')
			p++;
		if (strcmp(p, "[DONE]") == 0) {
			gs->done = 1;
		} else if (strncmp(p, "{\"error\"", 8) == 0) {
			gs->error = 1;
		} else if (!gs->include_usage) {
			char *rewritten;
			if (strip_usage(p, &rewritten))
				return; /* its blank line follows: an empty event, which clients skip */
			if (rewritten) {
				buf_append_str(out, "data: ");
				buf_append_str(out, rewritten);
				buf_append_str(out, "\n");
				free(rewritten);
				return;
			}
		}
	}
	buf_append(out, line, len);
	buf_append_str(out, "\n");
}

int gateway_stream_feed(struct gateway_stream *gs, const char *data, size_t len)
{
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			buf_append_char(&gs->line, data[i]);
			continue;
		}
		size_t n = gs->line.len;
		if (n && gs->line.data[n - 1] == '\r')
			n--;
		if (n)
			gs->line.data[n] = '\0';
		pass_line(gs, n ? gs->line.data : "", n, &out);
		buf_reset(&gs->line);
	}
	int rc = out.len ? response_stream_write(gs->res, out.data, out.len) : 0;
	buf_free(&out);
	return rc;
}

int gateway_stream_error(struct gateway_stream *gs, int status, const char *type, const char *code,
			 const char *message)
{
	if (gs->error)
		return 0;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "error", response_openai_error_object(status, type, code, message));
	struct buf out = BUF_INIT;
	buf_append_str(&out, gs->line.len ? "\n\ndata: " : "\ndata: ");
	buf_append_str(&out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	buf_append_str(&out, "\n\n");
	json_object_put(o);
	buf_reset(&gs->line);
	int rc = response_stream_write(gs->res, out.data, out.len);
	buf_free(&out);
	return rc;
}

void gateway_stream_free(struct gateway_stream *gs)
{
	buf_free(&gs->line);
}
