/* gateway_chat.c: POST /v1/chat/completions — OpenAI's chat completions through our tokens, budgets and key.
 *
 * README, "The OpenAI-compatible API". A personal API token is the API key
 * (a session cookie is not: ROUTE_OPENAI); every call counts against the
 * user's budgets and prompt rate limit like a chat prompt, and is recorded
 * per user and per token (gateway_calls, the audit log). The provider's
 * answer is passed on as it arrives: a JSON answer whole, an event stream
 * line by line (gateway.h). A client that leaves stops the provider's
 * request at once. Nothing is kept unless the token says so
 * (store_conversations): then the call becomes a conversation in the
 * user's history, titled with the token's name. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "scgi.h"
#include "auth.h"
#include "alloc.h"
#include "budget.h"
#include "config.h"
#include "conversation.h"
#include "gateway.h"
#include "log.h"
#include "provider.h"
#include "ratelimit.h"
#include "store.h"
#include "title.h"

struct run {
	struct request *req;
	struct response *res;
	struct gateway_call call;
	struct gateway_stream gs;
	struct buf answer;   /* a JSON answer, passed on whole at its end */
	int started;         /* the stream's head was sent */
};

/* Records a call of req's token: its tokens, or the code it was refused with. */
static void record(struct request *req, long long tokens, const char *refused, const char *detail)
{
	if (store_gateway_add(req->store, req->user_id, req->token_id, req->now, tokens, refused) != STORE_OK)
		log_warn("could not record a gateway call of token %lld", req->token_id);
	auth_audit(req, NULL, refused ? "gateway-refuse" : "gateway-call", req->token_name, detail);
}

static void refuse(struct request *req, struct response *res, int status, const char *type, const char *code,
		   const char *message)
{
	char detail[160];
	snprintf(detail, sizeof detail, "%s (HTTP %d)", code ? code : type, status);
	record(req, 0, code ? code : type, detail);
	response_error_openai(res, status, type, code, message);
}

static int on_raw(void *ctx, const char *data, size_t len)
{
	struct run *r = ctx;
	if (!r->call.stream) {
		buf_append(&r->answer, data, len);
		return 0;
	}
	if (!r->started) {
		r->started = 1;
		if (response_stream_begin(r->res) < 0)
			return 1;
	}
	return gateway_stream_feed(&r->gs, data, len) < 0;
}

/* The client left: lighttpd signals the program (cgi.limits' tcp-fin-propagate)
 * and its end of the pipe closes. */
static int should_abort(void *ctx)
{
	struct run *r = ctx;
	if (request_cancelled(r->req) || r->res->broken)
		return 1;
	struct pollfd pfd = {.fd = r->res->fd, .events = 0};
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLERR | POLLHUP));
}

/* OpenAI's status, type and code for a provider failure. The provider's
 * own 401 is not the client's: its key is ours, so it is a 502. */
static int failure_status(enum provider_status s, const char **type, const char **code)
{
	*type = "api_error";
	*code = "upstream_error";
	switch (s) {
	case PROVIDER_ERR_BAD_REQUEST:
		*type = "invalid_request_error";
		*code = "upstream_rejected";
		return 400;
	case PROVIDER_ERR_RATE:
		*type = "rate_limit_error";
		*code = "upstream_busy";
		return 429;
	case PROVIDER_ERR_IDLE_TIMEOUT:
	case PROVIDER_ERR_TIMEOUT:
	case PROVIDER_ERR_FIRST_TOKEN:
		*code = "upstream_timeout";
		return 504;
	default:
		return 502;
	}
}

struct keep {
	struct request *req;
	long long conv_id, parent_id;
	int rc;
};

static void keep_message(void *ctx, const char *role, const char *text)
{
	struct keep *k = ctx;
	if (k->rc != STORE_OK)
		return;
	char *html = message_html(role, text);
	k->rc = store_msg_add_under(k->req->store, k->req->user_id, k->conv_id, k->parent_id, role, text, "ok", NULL,
				    html, message_html_version(), k->req->now, &k->parent_id);
	free(html);
}

/* Keeps an answered call as a conversation titled "<token name>: <prompt's
 * first words>" (the token asked for it); a failure is logged, the answer
 * was sent already. */
static void keep_conversation(struct request *req, const struct gateway_call *call, const char *answer)
{
	struct keep k = {req, 0, 0, STORE_OK};
	struct conversation conv = {0};
	const char *last_user = NULL;
	struct json_object *msgs, *content;
	if (json_object_object_get_ex(call->upstream, "messages", &msgs)) {
		for (size_t i = json_object_array_length(msgs); i-- > 0 && !last_user;) {
			struct json_object *m = json_object_array_get_idx(msgs, i), *role;
			if (json_object_object_get_ex(m, "role", &role) && strcmp(json_object_get_string(role), "user") == 0 &&
			    json_object_object_get_ex(m, "content", &content) && json_object_is_type(content, json_type_string))
				last_user = json_object_get_string(content);
		}
	}
	char *words = title_from_prompt(last_user ? last_user : "", last_user ? strlen(last_user) : 0);
	char *title = xasprintf("%s: %s", req->token_name, words);
	free(words);
	k.rc = store_begin(req->store);
	if (k.rc == STORE_OK)
		k.rc = store_conv_create(req->store, req->user_id, title, req->now, &conv);
	k.conv_id = conv.id;
	gateway_each_message(call, keep_message, &k);
	if (k.rc == STORE_OK) {
		char *html = message_html("assistant", answer);
		k.rc = store_msg_add_under(req->store, req->user_id, k.conv_id, k.parent_id, "assistant", answer, "ok",
					   call->model, html, message_html_version(), req->now, &k.parent_id);
		free(html);
	}
	if (k.rc == STORE_OK)
		k.rc = store_commit(req->store);
	if (k.rc != STORE_OK) {
		store_rollback(req->store);
		log_warn("could not keep gateway call of token %lld as a conversation", req->token_id);
	}
	store_conv_free(&conv);
	free(title);
}

static void completions(struct request *req, struct response *res)
{
	const struct config *cfg = req->cfg;
	struct run r = {.req = req, .res = res};
	struct gateway_refusal why;
	if (!cfg->api_key || !*cfg->api_key) {
		refuse(req, res, 503, "api_error", "no_provider", "This server runs the offline demo (no AI_API_KEY set); "
		       "the OpenAI-compatible API needs a provider: ask the server's administrator.");
		return;
	}
	if (gateway_parse(cfg, req->body ? req->body : "", req->body_len, &r.call, &why) < 0) {
		refuse(req, res, why.status, why.type, why.code, why.message);
		gateway_call_free(&r.call);
		return;
	}

	/* Budgets (budget.h) before the prompt rate limit, as for a chat prompt. */
	struct budget b;
	char what[200];
	long retry = 0;
	int rc = budget_read(req->store, cfg, req->user_id, req->now, &b);
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		gateway_call_free(&r.call);
		return;
	}
	if (budget_exceeded(&b, req->now, what, sizeof what, &retry)) {
		char secs[24];
		snprintf(secs, sizeof secs, "%ld", retry);
		response_header(res, "Retry-After", secs);
		/* The official clients retry a 429 after Retry-After only when it is
		 * under a minute; a budget that resets later is not worth their
		 * retries, and they honour this header. */
		if (retry > 60)
			response_header(res, "X-Should-Retry", "false");
		char msg[260];
		snprintf(msg, sizeof msg, "%s.", what);
		refuse(req, res, 429, "insufficient_quota", "insufficient_quota", msg);
		gateway_call_free(&r.call);
		return;
	}
	char *bucket = xasprintf("prompt-user:%lld", req->user_id);
	rc = ratelimit_hit(req->store, bucket, &cfg->rate_prompts, req->now, 1, &retry);
	free(bucket);
	if (rc != 0) {
		if (rc == 1) {
			app_too_many(res, retry, "You have sent too many prompts");
			record(req, 0, "rate_limit_exceeded", "rate_limit_exceeded (HTTP 429)");
		} else {
			app_store_error(res, rc);
		}
		gateway_call_free(&r.call);
		return;
	}

	app_cancel_on_signals(req);
	r.gs.res = res;
	r.gs.include_usage = r.call.include_usage;
	char *body = xstrdup(json_object_to_json_string_ext(r.call.upstream, JSON_C_TO_STRING_PLAIN |
										 JSON_C_TO_STRING_NOSLASHESCAPE));
	struct provider_request preq = {
		.url = cfg->api_url,
		.api_key = cfg->api_key,
		.model = r.call.model,
		.idle_timeout_s = cfg->idle_timeout,
		.total_timeout_s = cfg->timeout,
		.first_token_timeout_s = cfg->first_token_timeout,
		.stream = r.call.stream,
		.should_abort = should_abort,
		.ctx = &r,
		.body_json = body,
		.on_raw = on_raw,
	};
	struct provider_result pres;
	provider_complete(&preq, &pres);
	free(body);

	size_t chars = r.call.chars + (pres.content ? strlen(pres.content) : 0) +
		       (pres.reasoning ? strlen(pres.reasoning) : 0);
	long long tokens = budget_tokens(pres.usage_tokens, chars);
	if (pres.status == PROVIDER_OK || pres.status == PROVIDER_ABORTED) {
		char detail[200];
		/* The provider worked for it, also when the client left halfway. */
		(void)budget_record(req->store, req->user_id, req->now, pres.usage_tokens, chars); /* logs a failure */
		snprintf(detail, sizeof detail, "%s, %lld tokens%s%s", r.call.model, tokens, r.call.stream ? ", stream" : "",
			 pres.status == PROVIDER_ABORTED ? ", client left" : "");
		record(req, tokens, NULL, detail);
	}
	if (pres.status == PROVIDER_OK) {
		if (r.call.stream) {
			if (!r.gs.done && response_stream_write(res, "data: [DONE]\n\n", 14) < 0)
				log_info("the client left before the stream's end");
		} else {
			/* The provider's answer as it sent it, written again by json-c
			 * (provider.c read it as one JSON object already). */
			struct json_object *answer = json_tokener_parse(r.answer.data ? r.answer.data : "");
			if (answer)
				response_json(res, 200, answer);
			else
				response_error_openai(res, 502, "api_error", "upstream_error", provider_user_message(PROVIDER_ERR_MALFORMED));
		}
		if (req->token_store)
			keep_conversation(req, &r.call, pres.content);
	} else if (pres.status == PROVIDER_ABORTED) {
		log_info("gateway call of token %lld stopped: the client left", req->token_id);
	} else {
		const char *type, *code;
		int status = failure_status(pres.status, &type, &code);
		log_warn("gateway call failed: %s", pres.detail ? pres.detail : provider_status_name(pres.status));
		if (r.started) {
			char d[160];
			snprintf(d, sizeof d, "%s mid-stream", code);
			record(req, tokens, code, d);
			(void)gateway_stream_error(&r.gs, status, type, code, provider_user_message(pres.status));
		} else {
			/* The provider's own limit: a short wait, which the official
			 * clients honour before their retry. */
			if (status == 429)
				response_header(res, "Retry-After", "1");
			refuse(req, res, status, type, code, provider_user_message(pres.status));
		}
	}
	provider_result_free(&pres);
	buf_free(&r.answer);
	gateway_stream_free(&r.gs);
	gateway_call_free(&r.call);
}

static const struct route routes[] = {
	{"POST", ROUTE_OPENAI, NULL, completions, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

/* libcurl's and OpenSSL's one-time set-up, once per warm server (chat.c). */
static void warm(void)
{
	if (sodium_init() < 0 || provider_global_init() != 0)
		log_warn("one-time set-up failed; each request will try again");
}

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"gateway_chat", routes};
	(void)argc;
	/* A warm SCGI server when lighttpd.conf spawns it (on PostgreSQL,
	 * tools/cgi-env.sh), else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, warm);
}
