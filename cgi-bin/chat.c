/* chat.c: POST /api/chat — store a prompt (or regenerate, edit, continue), start its answer (turn.h), follow it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

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
#include "branch.h"
#include "stream_html.h"
#include "turn.h"
#include "title.h"
#include "utf8.h"

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

static int model_known(const struct config *cfg, const char *model)
{
	for (size_t i = 0; i < cfg->n_models; i++)
		if (strcmp(cfg->models[i], model) == 0)
			return 1;
	return strcmp(model, cfg->model) == 0;
}

/* What the request asks for: a new prompt, or regenerate, edit or
 * continue of an earlier message (README, "Regenerate, edit, continue"). */
enum chat_mode { CHAT_NEW, CHAT_REGENERATE, CHAT_EDIT, CHAT_CONTINUE };

struct chat_plan {
	enum chat_mode mode;
	long long conv_id;     /* 0: a new conversation */
	long long parent_id;   /* where a new prompt goes (0: a root) */
	long long prompt_id;   /* the prompt answered, when it exists already */
	long long answer_id;   /* the answer continued */
	struct message target; /* the message named by regenerate, edit or continue */
	const char *model;
};

/* Reads the message a regenerate, edit or continue names and checks that
 * the mode fits it; answers and returns -1 when not. */
static int plan_target(struct request *req, struct response *res, struct chat_plan *p, long long id)
{
	long long conv_id = 0;
	int rc = store_msg_get(req->store, req->user_id, id, &p->target, &conv_id);
	if (rc == STORE_NOTFOUND) {
		response_error(res, 404, "Message not found.");
		return -1;
	}
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return -1;
	}
	if (p->conv_id && p->conv_id != conv_id) {
		response_error(res, 400, "That message is in another conversation; leave conversation_id out.");
		return -1;
	}
	p->conv_id = conv_id;
	int is_user = strcmp(p->target.role, "user") == 0;
	if (p->mode == CHAT_EDIT && !is_user) {
		response_error(res, 400, "Only a prompt can be edited; use regenerate for an answer.");
		return -1;
	}
	if (p->mode != CHAT_EDIT && is_user) {
		response_error(res, 400, "Regenerate and continue take an answer's id, not a prompt's.");
		return -1;
	}
	if (p->mode != CHAT_EDIT && strcmp(turn_shown_status(req->store, req->user_id, &p->target), "streaming") == 0) {
		response_error(res, 409, "That answer is still being written; stop it first or wait for it to end.");
		return -1;
	}
	if (p->mode == CHAT_CONTINUE && p->target.content[0] == '\0') {
		response_error(res, 400, "That answer has no text to continue from; regenerate it instead.");
		return -1;
	}
	if (p->mode == CHAT_EDIT) {
		p->parent_id = p->target.parent_id;
	} else {
		p->prompt_id = p->target.parent_id;
		p->answer_id = p->mode == CHAT_CONTINUE ? id : 0;
		if (!p->prompt_id) {
			response_error(res, 400, "That answer has no prompt above it to answer again.");
			return -1;
		}
	}
	return 0;
}

/* Stores what the turn starts with (the conversation, the prompt, the
 * empty answer or the one continued, the slot under MAX_STREAMS_*) in one
 * transaction; answers and returns -1 on failure. A process killed from
 * here on leaves the prompt and an honest status, never a torn turn. */
static int store_turn(struct request *req, struct response *res, struct chat_plan *p, const char *prompt, size_t plen,
		      struct conversation *conv, struct turn_spec *spec, char **prompt_html)
{
	const struct config *cfg = req->cfg;
	enum inflight_full full = INFLIGHT_FREE;
	int rc = store_begin(req->store);
	if (rc == STORE_OK && !p->conv_id) {
		char *title = title_from_prompt(prompt, plen);
		rc = store_conv_create(req->store, req->user_id, title, req->now, conv);
		free(title);
		p->conv_id = conv->id;
	}
	if (rc == STORE_OK && prompt) {
		*prompt_html = message_html("user", prompt);
		rc = store_msg_add_under(req->store, req->user_id, p->conv_id, p->parent_id, "user", prompt, "interrupted",
					 NULL, *prompt_html, message_html_version(), req->now, &p->prompt_id);
	}
	if (rc == STORE_OK && p->mode == CHAT_CONTINUE) /* written again, from where it stopped */
		rc = store_msg_finish(req->store, req->user_id, p->conv_id, p->answer_id, p->target.content,
				      p->target.reasoning, "interrupted", NULL, NULL, 0);
	else if (rc == STORE_OK)
		rc = store_msg_add_under(req->store, req->user_id, p->conv_id, p->prompt_id, "assistant", "",
					 "interrupted", p->model, NULL, 0, req->now, &p->answer_id);
	if (rc == STORE_OK)
		rc = inflight_take(req->store, req->user_id, p->answer_id, cfg->max_streams_user, cfg->max_streams_total,
				   req->now, &spec->slot, &full);
	if (rc == STORE_OK && full == INFLIGHT_FREE)
		rc = store_conv_touch(req->store, req->user_id, p->conv_id, req->now);
	if (rc == STORE_OK && full == INFLIGHT_FREE) /* the new branch is the one shown next */
		rc = store_conv_set_leaf(req->store, req->user_id, p->conv_id, p->answer_id);
	if (rc == STORE_OK && full == INFLIGHT_FREE)
		rc = store_commit(req->store);
	if (rc == STORE_OK && full == INFLIGHT_FREE)
		return 0;
	store_rollback(req->store);
	if (full == INFLIGHT_USER_FULL) {
		char what[160];
		snprintf(what, sizeof what, "You already have %ld answers being written, the most allowed at once;"
			 " wait for one to finish", cfg->max_streams_user);
		app_too_many(res, INFLIGHT_RETRY_AFTER, what);
	} else if (full == INFLIGHT_ALL_FULL) {
		app_too_many(res, INFLIGHT_RETRY_AFTER, "The server is writing as many answers as it can");
	} else if (rc == STORE_NOTFOUND) { /* deleted since it was read */
		response_error(res, 404, "Conversation not found.");
	} else {
		app_store_error(res, rc);
	}
	return -1;
}

/* After a new conversation's first answer, the generator asks for a title
 * and then gives its slot back: a stream still open gets the event title
 * once the slot is free (title.h), if the title changed. */
static void announce_title(struct request *req, struct response *res, const struct conversation *conv,
			   const struct turn_spec *spec)
{
	struct turn_state t;
	int wake = spec->wake_fd; /* reads as closed once the generator has ended (turn.h) */
	for (int i = 0; i < (TITLE_TIMEOUT_SECONDS + 3) * 1000 / TURN_FOLLOW_MS; i++) {
		if (store_turn_of_msg(req->store, req->user_id, spec->answer_id, &t) != STORE_OK)
			break;
		if (turn_wait(res, &wake, TURN_FOLLOW_MS))
			return;
	}
	struct conversation now;
	if (store_conv_get(req->store, req->user_id, conv->id, &now) == STORE_OK && strcmp(now.title, conv->title) != 0) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "conversation", conversation_json(&now));
		if (response_stream_event(res, "title", o) < 0)
			log_info("title for conversation %lld stored; the client left before it", conv->id);
	}
	store_conv_free(&now);
}

static void chat(struct request *req, struct response *res)
{
	const struct config *cfg = req->cfg;
	size_t plen = 0;
	const char *prompt = app_field_string(req, "prompt", &plen);
	const long long regenerate = app_field_id(req, "regenerate"), edit = app_field_id(req, "edit"),
			cont = app_field_id(req, "continue");
	struct chat_plan p = {CHAT_NEW, app_field_id(req, "conversation_id"), 0, 0, 0, {0}, NULL};
	p.model = app_field_string(req, "model", NULL);
	const int streaming = wants_stream(req->accept);

	if ((regenerate != 0) + (edit != 0) + (cont != 0) > 1) {
		response_error(res, 400, "Send one of regenerate, edit and continue, not several.");
		return;
	}
	p.mode = regenerate ? CHAT_REGENERATE : edit ? CHAT_EDIT : cont ? CHAT_CONTINUE : CHAT_NEW;
	if ((p.mode == CHAT_NEW || p.mode == CHAT_EDIT) && !prompt) {
		response_error(res, 400, "Missing field: prompt.");
		return;
	}
	if ((p.mode == CHAT_REGENERATE || p.mode == CHAT_CONTINUE) && prompt) {
		response_error(res, 400, "Regenerate and continue answer the stored prompt; leave prompt out.");
		return;
	}
	if (prompt && is_blank_text(prompt, plen)) {
		response_error(res, 400, "Prompt cannot be empty.");
		return;
	}
	if (prompt && (long)utf8_count(prompt, plen) > cfg->prompt_max_chars) {
		char msg[160];
		snprintf(msg, sizeof msg, "Prompt is too long (the limit is %ld characters).", cfg->prompt_max_chars);
		response_error(res, 400, msg);
		return;
	}
	if (p.model && !model_known(cfg, p.model)) {
		response_error(res, 400, "Unknown model; choose one of the models offered.");
		return;
	}

	struct conversation conv = {0};
	int rc;
	if (p.mode != CHAT_NEW && plan_target(req, res, &p, regenerate ? regenerate : edit ? edit : cont) < 0) {
		store_msg_free(&p.target);
		return;
	}
	if (!p.model) /* a regenerated or continued answer keeps its model while it is offered */
		p.model = p.target.model && model_known(cfg, p.target.model) ? p.target.model : cfg->model;
	if (p.conv_id) {
		rc = store_conv_get(req->store, req->user_id, p.conv_id, &conv);
		if (rc != STORE_OK) {
			if (rc == STORE_NOTFOUND)
				response_error(res, 404, "Conversation not found.");
			else
				app_store_error(res, rc);
			store_msg_free(&p.target);
			return;
		}
	}
	const int new_conv = p.conv_id == 0;
	if (p.mode == CHAT_NEW && !new_conv) { /* the prompt goes at the end of the branch shown */
		struct msg_node *tree = NULL;
		size_t n = 0;
		rc = store_msg_tree(req->store, req->user_id, p.conv_id, &tree, &n);
		p.parent_id = branch_end(tree, n, conv.leaf_id);
		free(tree);
		if (rc != STORE_OK) {
			app_store_error(res, rc);
			store_conv_free(&conv);
			return;
		}
	}

	/* Budgets (budget.h) before the hourly rate limit: a refusal costs nothing. */
	if (budget_check(req, res) != 0) {
		store_conv_free(&conv);
		store_msg_free(&p.target);
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
		store_msg_free(&p.target);
		return;
	}

	struct turn_spec spec = {.wake_fd = -1};
	char *prompt_html = NULL;
	if (store_turn(req, res, &p, prompt, plen, &conv, &spec, &prompt_html) < 0) {
		store_conv_free(&conv);
		store_msg_free(&p.target);
		free(prompt_html);
		return;
	}
	spec.user_id = req->user_id;
	spec.conv_id = p.conv_id;
	spec.prompt_id = p.prompt_id;
	spec.answer_id = p.answer_id;
	spec.model = p.model;
	spec.stream = streaming;
	spec.title = new_conv;
	spec.cont = p.mode == CHAT_CONTINUE;

	if (streaming) {
		signal(SIGPIPE, SIG_IGN);
		response_stream_begin(res);
		struct json_object *start = json_object_new_object();
		json_object_object_add(start, "conversation_id", json_object_new_int64(p.conv_id));
		json_object_object_add(start, "conversation", conversation_json(&conv));
		if (prompt) {
			struct message um = {p.prompt_id, xstrdup("user"), xstrdup(prompt), NULL, xstrdup("ok"), NULL, NULL,
					     req->now, xstrdup(prompt_html), message_html_version(), p.parent_id};
			struct json_object *uj = message_json(&um);
			json_object_object_add(uj, "parent_id", p.parent_id ? json_object_new_int64(p.parent_id) : NULL);
			json_object_object_add(start, "user_message", uj);
			store_msg_free(&um);
		}
		json_object_object_add(start, "message_id", json_object_new_int64(p.answer_id));
		json_object_object_add(start, "prompt_id", json_object_new_int64(p.prompt_id));
		if (response_stream_event(res, "start", start) < 0)
			log_info("answer %lld goes on; its client left before the start event", p.answer_id);
	}
	free(prompt_html);
	size_t from_c = p.mode == CHAT_CONTINUE ? strlen(p.target.content) : 0;
	size_t from_r = p.mode == CHAT_CONTINUE && p.target.reasoning ? strlen(p.target.reasoning) : 0;
	/* A regenerated or continued answer's model (spec.model) is the
	 * target's string: it must outlive the target, freed here, for the
	 * turn and the title (it was read after this free). */
	char *kept_model = NULL;
	if (p.model && p.model == p.target.model) {
		kept_model = p.target.model;
		p.target.model = NULL;
	}
	store_msg_free(&p.target);

	if (turn_start(req, &spec) < 0) {
		if (req->store) {
			inflight_release(req->store, &spec.slot);
			store_begin(req->store);
			int frc = store_msg_finish(req->store, req->user_id, p.conv_id, p.answer_id, "", NULL, "error",
						   "The server could not start writing the answer; try again.", NULL, 0);
			if (frc == STORE_OK)
				frc = store_commit(req->store);
			if (frc != STORE_OK)
				store_rollback(req->store);
		}
		turn_report(res, 503, "not_started", "The server could not start writing the answer; try again shortly.",
			    p.conv_id, NULL);
		store_conv_free(&conv);
		free(kept_model);
		return;
	}
	struct message final;
	rc = turn_follow(req->store, res, req->user_id, p.answer_id, streaming, from_c, from_r, spec.wake_fd, &final);
	if (rc == TURN_CLIENT_GONE) {
		log_info("answer %lld goes on; its client left", p.answer_id);
		if (!streaming) /* nobody reads it; the stored answer is what counts */
			response_error(res, 503, "The client left; the answer goes on and is stored.");
	} else if (rc == STORE_NOTFOUND) {
		if (streaming)
			turn_report(res, 404, "conversation_deleted",
				    "The conversation was deleted while the answer was being written; nothing was saved.", 0,
				    NULL);
		else
			response_error(res, 404, "Conversation not found.");
	} else if (rc != STORE_OK) {
		turn_report(res, rc == STORE_BUSY || rc == STORE_READONLY ? 503 : 500, "not_saved",
			    "The answer cannot be read back right now; it goes on and stays in the conversation.", p.conv_id,
			    NULL);
	} else {
		turn_report_end(req->store, res, req->user_id, p.conv_id, &final);
		if (streaming && new_conv && strcmp(final.status, "ok") == 0 && cfg->titles)
			announce_title(req, res, &conv, &spec);
	}
	if (rc == STORE_OK)
		store_msg_free(&final);
	store_conv_free(&conv);
	free(kept_model);
	if (spec.wake_fd >= 0)
		close(spec.wake_fd);
}

static const struct field fields[] = {
	{"prompt", FIELD_STRING, 0},
	{"conversation_id", FIELD_ID, 0},
	{"model", FIELD_STRING, 0},
	{"regenerate", FIELD_ID, 0},
	{"edit", FIELD_ID, 0},
	{"continue", FIELD_ID, 0},
	{NULL, 0, 0},
};

static const struct route routes[] = {
	{"POST", ROUTE_AUTH | ROUTE_CSRF | ROUTE_BODY, fields, chat, NULL},
	{NULL, 0, NULL, NULL, NULL},
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
