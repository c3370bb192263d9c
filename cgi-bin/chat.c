/* chat.c: POST /api/chat — store a prompt, ask the AI provider, stream or return its answer. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "alloc.h"
#include "app.h"
#include "budget.h"
#include "buf.h"
#include "config.h"
#include "conversation.h"
#include "inflight.h"
#include "log.h"
#include "provider.h"
#include "ratelimit.h"
#include "scgi.h"
#include "store.h"
#include "stream_html.h"
#include "title.h"
#include "utf8.h"

/* Seconds of provider silence after which the browser gets an SSE comment,
 * so that idle proxies keep the stream open. */
#define KEEPALIVE_SECONDS 15

/* Set by SIGTERM (lighttpd ends the CGI when the client goes away) and
 * SIGHUP; the one piece of process state a signal handler may touch. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct turn {
	struct response *res;
	int streaming;
	int client_gone;
	time_t last_write;
	struct store *store;
	struct inflight slot; /* this turn's place under MAX_STREAMS_* */
	struct stream_html html; /* the answer so far, sent rendered at a bounded rate */
};

static int turn_should_abort(void *ctx)
{
	struct turn *t = ctx;
	inflight_beat(t->store, &t->slot);
	if (stop_requested)
		t->client_gone = 1;
	if (t->streaming && !t->client_gone) {
		/* A closed pipe to lighttpd shows as POLLERR before any write. */
		struct pollfd p = {.fd = t->res->fd, .events = POLLOUT};
		if (poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP)))
			t->client_gone = 1;
		else if (time(NULL) - t->last_write >= KEEPALIVE_SECONDS) {
			if (response_stream_comment(t->res, "keep-alive") < 0)
				t->client_gone = 1;
			t->last_write = time(NULL);
		}
	}
	if (t->streaming && !t->client_gone && stream_html_send(&t->html, t->res, stream_html_now_ms(), 0) < 0)
		t->client_gone = 1;
	return t->client_gone;
}

static int turn_on_delta(void *ctx, const char *content, const char *reasoning)
{
	struct turn *t = ctx;
	if (t->streaming && !t->client_gone) {
		struct json_object *o = json_object_new_object();
		if (content)
			json_object_object_add(o, "content", json_object_new_string(content));
		else
			json_object_object_add(o, "reasoning", json_object_new_string(reasoning));
		if (response_stream_event(t->res, "delta", o) < 0)
			t->client_gone = 1;
		t->last_write = time(NULL);
		if (content)
			stream_html_add(&t->html, content);

	}
	return turn_should_abort(ctx);
}

/* The JSON of a message built from borrowed strings (any may be NULL but
 * role, content, status and html; html is content's message_html()). */
static struct json_object *turn_message_json(long long id, const char *role, const char *content,
					     const char *reasoning, const char *status, const char *model,
					     const char *error, long long at, const char *html)
{
	struct message m = {id, xstrdup(role), xstrdup(content), reasoning ? xstrdup(reasoning) : NULL,
			    xstrdup(status), model ? xstrdup(model) : NULL, error ? xstrdup(error) : NULL, at,
			    xstrdup(html), message_html_version()};
	struct json_object *o = message_json(&m);
	store_msg_free(&m);
	return o;
}

static int wants_stream(const char *accept)
{
	return accept && strstr(accept, "text/event-stream") != NULL;
}

static int is_blank_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n\f\v", s[i]))
			return 0;
	return 1;
}

/* Builds the provider's messages: system prompt, earlier ok messages within
 * the budget, then the prompt. *list is allocated; its strings are borrowed. */
static int build_context(struct request *req, long long conv_id, long long user_msg_id, const char *prompt,
			 struct message **history, size_t *n_history, struct provider_message **list, size_t *n)
{
	const struct config *cfg = req->cfg;
	int rc = store_msg_context(req->store, req->user_id, conv_id, user_msg_id, cfg->context_chars, history,
				   n_history);
	if (rc != STORE_OK)
		return rc;
	*list = xcalloc(*n_history + 2, sizeof **list);
	*n = 0;
	if (cfg->system_prompt)
		(*list)[(*n)++] = (struct provider_message){"system", cfg->system_prompt};
	for (size_t i = 0; i < *n_history; i++)
		(*list)[(*n)++] = (struct provider_message){(*history)[i].role, (*history)[i].content};
	(*list)[(*n)++] = (struct provider_message){"user", prompt};
	return STORE_OK;
}

/* Why an answer could not be stored, for the stream's last event: the
 * client already saw it and must learn it is not kept. */
static const char *turn_store_problem(int rc)
{
	switch (rc) {
	case STORE_NOTFOUND:
		return "The conversation was deleted while the answer was being written; nothing was saved.";
	case STORE_BUSY:
		return "The answer could not be saved: the server is busy. It stays marked interrupted; try again.";
	case STORE_READONLY:
		return "The answer could not be saved: the server cannot write data right now (disk full or"
		       " read-only). Try again later.";
	default:
		return "The answer could not be saved because of a problem on our side; try again.";
	}
}

/* The stream's last event: `done` only when the whole answer arrived and
 * was stored (store_rc rc), else `error` naming the cause. */
static void turn_last_event(struct turn *t, int rc, int answered, long long answer_id, const char *content,
			    const char *reasoning, const char *status, const char *model, const char *error,
			    long long now, const char *answer_html)
{
	struct json_object *o = json_object_new_object();
	if (rc == STORE_NOTFOUND) {
		json_object_object_add(o, "error", json_object_new_string(turn_store_problem(rc)));
		json_object_object_add(o, "code", json_object_new_string("conversation_deleted"));
	} else if (rc != STORE_OK) {
		/* What the client saw, and that the store keeps it interrupted. */
		json_object_object_add(o, "message", turn_message_json(answer_id, "assistant", content, reasoning,
									       "interrupted", model, turn_store_problem(rc),
									       now, answer_html));
		json_object_object_add(o, "error", json_object_new_string(turn_store_problem(rc)));
		json_object_object_add(o, "code", json_object_new_string("not_saved"));
	} else {
		json_object_object_add(o, "message", turn_message_json(answer_id, "assistant", content, reasoning,
									       status, model, error, now, answer_html));
		if (!answered)
			json_object_object_add(o, "error", json_object_new_string(error));
	}
	int ok = rc == STORE_OK && answered;
	if (response_stream_event(t->res, ok ? "done" : "error", o) < 0)
		log_info("answer %lld ended, but the client left before its last event", answer_id);
}

static void chat(struct request *req, struct response *res)
{
	const struct config *cfg = req->cfg;
	size_t plen;
	const char *prompt = app_field_string(req, "prompt", &plen);
	const char *model = app_field_string(req, "model", NULL);
	long long conv_id = app_field_id(req, "conversation_id");

	if (is_blank_text(prompt, plen)) {
		response_error(res, 400, "Prompt cannot be empty.");
		return;
	}
	if ((long)utf8_count(prompt, plen) > cfg->prompt_max_chars) {
		char msg[160];
		snprintf(msg, sizeof msg, "Prompt is too long (the limit is %ld characters).", cfg->prompt_max_chars);
		response_error(res, 400, msg);
		return;
	}
	if (!model)
		model = cfg->model;
	int known = 0;
	for (size_t i = 0; i < cfg->n_models; i++)
		known |= strcmp(cfg->models[i], model) == 0;
	if (!known && strcmp(model, cfg->model) != 0) {
		response_error(res, 400, "Unknown model; choose one of the models offered.");
		return;
	}

	struct conversation conv = {0};
	int rc;
	if (conv_id) {
		rc = store_conv_get(req->store, req->user_id, conv_id, &conv);
		if (rc == STORE_NOTFOUND) {
			response_error(res, 404, "Conversation not found.");
			return;
		}
		if (rc != STORE_OK) {
			app_store_error(res, rc);
			return;
		}
	}

	/* Budgets (budget.h) before the hourly rate limit: a refusal costs nothing. */
	if (budget_check(req, res) != 0) {
		store_conv_free(&conv);
		return;
	}
	long retry = 0;
	char *bucket = xasprintf("prompt-user:%lld", req->user_id);
	rc = ratelimit_hit(req->store, bucket, &cfg->rate_prompts, req->now, 1, &retry);
	free(bucket);
	if (rc != 0) {
		if (rc == 1)
			app_too_many(res, retry, "You have sent too many prompts");
		else
			app_store_error(res, rc);
		store_conv_free(&conv);
		return;
	}

	/* The turn is stored first, as "interrupted": a process killed from
	 * here on leaves the prompt and an honest status, never a torn turn.
	 * Each message's HTML is stored with its final content (the prompt's
	 * now, the answer's at the end), so reads need not render it again.
	 * The same transaction takes the turn's slot under MAX_STREAMS_*. */
	const long long html_version = message_html_version();
	char *prompt_html = message_html("user", prompt);
	long long user_id = 0, answer_id = 0;
	struct turn t = {res, wants_stream(req->accept), 0, time(NULL), req->store, {0, 0, 0}, STREAM_HTML_INIT};
	enum inflight_full full = INFLIGHT_FREE;
	rc = store_begin(req->store);
	if (rc == STORE_OK && !conv_id) {
		char *title = title_from_prompt(prompt, plen);
		rc = store_conv_create(req->store, req->user_id, title, req->now, &conv);
		free(title);
	}
	if (rc == STORE_OK)
		rc = store_msg_add(req->store, req->user_id, conv.id, "user", prompt, "interrupted", NULL, prompt_html,
				   html_version, req->now, &user_id);
	if (rc == STORE_OK)
		rc = store_msg_add(req->store, req->user_id, conv.id, "assistant", "", "interrupted", model, NULL, 0,
				   req->now, &answer_id);
	if (rc == STORE_OK)
		rc = inflight_take(req->store, req->user_id, answer_id, cfg->max_streams_user, cfg->max_streams_total,
				   req->now, &t.slot, &full);
	if (rc == STORE_OK && full == INFLIGHT_FREE)
		rc = store_conv_touch(req->store, req->user_id, conv.id, req->now);
	if (rc == STORE_OK && full == INFLIGHT_FREE)
		rc = store_commit(req->store);
	if (rc != STORE_OK || full != INFLIGHT_FREE) {
		store_rollback(req->store);
		if (full == INFLIGHT_USER_FULL) {
			char what[160];
			snprintf(what, sizeof what, "You already have %ld answers being written, the most allowed at once;"
				 " wait for one to finish", cfg->max_streams_user);
			app_too_many(res, INFLIGHT_RETRY_AFTER, what);
		} else if (full == INFLIGHT_ALL_FULL)
			app_too_many(res, INFLIGHT_RETRY_AFTER, "The server is writing as many answers as it can");
		else if (rc == STORE_NOTFOUND) /* deleted since it was read above */
			response_error(res, 404, "Conversation not found.");
		else
			app_store_error(res, rc);
		store_conv_free(&conv);
		free(prompt_html);
		return;
	}

	struct message *history = NULL;
	size_t n_history = 0, n_msgs = 0;
	struct provider_message *msgs = NULL;
	rc = build_context(req, conv.id, user_id, prompt, &history, &n_history, &msgs, &n_msgs);
	if (rc != STORE_OK) {
		inflight_release(req->store, &t.slot);
		app_store_error(res, rc);
		store_conv_free(&conv);
		free(prompt_html);
		return;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (t.streaming) {
		if (response_stream_begin(res) < 0)
			t.client_gone = 1;
		struct json_object *start = json_object_new_object();
		json_object_object_add(start, "conversation_id", json_object_new_int64(conv.id));
		json_object_object_add(start, "conversation", conversation_json(&conv));
		json_object_object_add(start, "user_message", turn_message_json(user_id, "user", prompt, NULL, "interrupted",
										 NULL, NULL, req->now, prompt_html));
		json_object_object_add(start, "message_id", json_object_new_int64(answer_id));
		if (!t.client_gone && response_stream_event(res, "start", start) < 0)
			t.client_gone = 1;
		else if (t.client_gone)
			json_object_put(start);
	}

	struct provider_request preq = {
		.url = cfg->api_url,
		.api_key = cfg->api_key,
		.model = model,
		.messages = msgs,
		.n_messages = n_msgs,
		.idle_timeout_s = cfg->idle_timeout,
		.total_timeout_s = cfg->timeout,
		.first_token_timeout_s = cfg->first_token_timeout,
		.stream = t.streaming,
		.on_delta = turn_on_delta,
		.should_abort = turn_should_abort,
		.ctx = &t,
	};
	struct provider_result pres;
	int answered = provider_complete(&preq, &pres) == 0;
	size_t sent_chars = pres.content ? strlen(pres.content) : 0;
	for (size_t i = 0; i < n_msgs; i++)
		sent_chars += strlen(msgs[i].content);

	const char *status = "ok", *error = NULL;
	const char *content = pres.content ? pres.content : "";
	if (answered) {
		/* the whole answer arrived */
	} else if (pres.status == PROVIDER_ABORTED) {
		status = "interrupted";
		error = "The answer was stopped.";
		log_info("answer %lld stopped by the client after %zu bytes", answer_id, strlen(content));
	} else {
		status = *content ? "interrupted" : "error";
		error = provider_user_message(pres.status);
		log_error("provider %s failed (%s): %s", cfg->api_url, provider_status_name(pres.status),
			  pres.detail ? pres.detail : "no detail");
	}
	/* Whatever content is stored, interrupted or not, is final: its HTML
	 * goes with it, rendered before the write lock is taken. */
	char *answer_html = message_html("assistant", content);
	/* Both halves of the turn share its outcome: only ok turns are context
	 * later. Every write names the conversation and its owner: when the
	 * user deleted the conversation (or cleared the history) meanwhile,
	 * nothing matches and nothing is written. */
	rc = store_begin(req->store);
	/* The usage for the budgets (budget.h) goes in the turn's transaction,
	 * which holds the write lock already: it never waits on its own. */
	if (rc == STORE_OK)
		(void)budget_record(req->store, req->user_id, req->now, pres.usage_tokens, sent_chars);
	if (rc == STORE_OK)
		rc = store_msg_finish(req->store, req->user_id, conv.id, answer_id, content, pres.reasoning, status, error,
				      answer_html, html_version);
	if (rc == STORE_OK)
		rc = store_msg_finish(req->store, req->user_id, conv.id, user_id, prompt, NULL, status, NULL, prompt_html,
				      html_version);
	if (rc == STORE_OK)
		rc = store_conv_touch(req->store, req->user_id, conv.id, req->now);
	if (rc == STORE_OK)
		rc = store_commit(req->store);
	if (rc != STORE_OK)
		store_rollback(req->store);
	inflight_release(req->store, &t.slot);
	if (rc == STORE_NOTFOUND) {
		log_info("conversation %lld was deleted while answer %lld was written; nothing stored", conv.id,
			 answer_id);
		/* The tokens were spent all the same. */
		(void)budget_record(req->store, req->user_id, req->now, pres.usage_tokens, sent_chars);
	}
	else if (rc != STORE_OK)
		log_error("could not store the answer %lld; it stays marked interrupted", answer_id);

	if (t.streaming) {
		if (!t.client_gone)
			turn_last_event(&t, rc, answered, answer_id, content, pres.reasoning, status, model, error,
					req->now, answer_html);
	} else if (rc == STORE_NOTFOUND) {
		response_error(res, 404, "Conversation not found.");
	} else if (rc != STORE_OK) {
		app_store_error(res, rc);
	} else {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "conversation_id", json_object_new_int64(conv.id));
		json_object_object_add(o, "message", turn_message_json(answer_id, "assistant", content, pres.reasoning,
									       status, model, error, req->now, answer_html));
		if (answered) {
			response_json(res, 200, o);
		} else {
			json_object_object_add(o, "error", json_object_new_string(error));
			/* Stopped: lighttpd is ending this process, because the
			 * client left or the server is stopping; a client still
			 * there may try again (README, POST /api/chat). */
			response_json(res, pres.status == PROVIDER_ABORTED ? 503 : 502, o);
		}
	}
	if (!conv_id && answered && rc == STORE_OK) /* a new conversation's first answer */
		title_after_first_turn(req, res, &conv, model, prompt, content, t.streaming && !t.client_gone);
	provider_result_free(&pres);
	stream_html_free(&t.html);
	free(answer_html);
	free(prompt_html);
	free(msgs);
	store_msg_list_free(history, n_history);
	store_conv_free(&conv);
}

static const struct field fields[] = {
	{"prompt", FIELD_STRING, 1},
	{"conversation_id", FIELD_ID, 0},
	{"model", FIELD_STRING, 0},
	{NULL, 0, 0},
};

static const struct route routes[] = {
	{"POST", ROUTE_AUTH | ROUTE_CSRF | ROUTE_BODY, fields, chat},
	{NULL, 0, NULL, NULL},
};

/* The warm parent's one-time set-up (scgi.h): OpenSSL and libcurl's globals. */
static void warm(void)
{
	if (sodium_init() < 0 || provider_global_init() != 0)
		log_warn("one-time set-up failed; each request will try again");
}

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"chat", routes};
	(void)argc;
	/* lighttpd.conf spawns chat through mod_scgi: libcurl's shared objects
	 * are then loaded once, not for every prompt (bench/README.md). Run by
	 * mod_cgi or by hand, it is a plain CGI program. */
	return scgi_main(&ep, argv, warm);
}
