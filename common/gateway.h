/* gateway.h: the OpenAI-compatible API's request check and stream pass-through.
 *
 * Contract (README, "The OpenAI-compatible API"):
 * - gateway_parse() reads a POST /v1/chat/completions body whole (json-c,
 *   strict) and accepts only what the provider can take: model (one of
 *   AI_MODELS, else 404 model_not_found), messages (system, user and
 *   assistant, each a string or text parts), stream, stream_options
 *   (include_usage), max_tokens, max_completion_tokens, temperature, top_p,
 *   stop, n (1 only), presence_penalty, frequency_penalty, seed and user.
 *   Anything else, a wrong type or a value out of range is refused with a
 *   400 naming the field, never dropped silently. The body sent upstream is
 *   built from the accepted fields; a stream always asks the provider for
 *   its usage (the budgets count it, budget.h).
 * - A gateway_stream passes the provider's event stream on line by line as
 *   it arrives; the only rewrite is the usage the client did not ask for
 *   (stream_options.include_usage), which is taken out. */
#ifndef AIF_GATEWAY_H
#define AIF_GATEWAY_H
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "response.h"

struct json_object;

struct gateway_call {
	struct json_object *upstream; /* the body for the provider (owned) */
	const char *model;            /* in upstream */
	int stream, include_usage;
	size_t chars;                 /* characters of the messages' text, for an estimate */
};

/* Why a body was refused: OpenAI's status, type and code, and a message. */
struct gateway_refusal {
	int status;
	const char *type, *code;      /* static strings */
	char message[300];
};

/* Checks body[0..len) and fills *call; 0, or -1 with *why filled. The
 * caller releases call with gateway_call_free() either way. */
int gateway_parse(const struct config *cfg, const char *body, size_t len, struct gateway_call *call,
		  struct gateway_refusal *why);
void gateway_call_free(struct gateway_call *call);

/* The user and assistant messages of upstream as text (parts joined), in
 * order, for keeping the call as a conversation: calls fn for each. */
void gateway_each_message(const struct gateway_call *call,
			  void (*fn)(void *ctx, const char *role, const char *text), void *ctx);

/* {"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}. */
struct json_object *gateway_models_json(const struct config *cfg);

struct gateway_stream {
	struct response *res;
	int include_usage;
	int done;          /* "data: [DONE]" was passed on */
	int error;         /* the provider's own {"error"} event was passed on */
	struct buf line;   /* the current, unfinished line */
};

/* Passes on the complete lines of data[0..len) (see above); 0, or -1 once
 * the client has gone. */
int gateway_stream_feed(struct gateway_stream *gs, const char *data, size_t len);
/* Ends a stream the provider failed: an event {"error": {...}} as OpenAI
 * sends one, which the official clients raise; nothing when the provider's
 * own error event was passed on already. */
int gateway_stream_error(struct gateway_stream *gs, int status, const char *type, const char *code,
			 const char *message);
void gateway_stream_free(struct gateway_stream *gs);

#endif
