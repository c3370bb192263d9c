/* turn.c: an answer the server owns: the process that generates it (see turn.h). */
#define _GNU_SOURCE
#include "turn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "alloc.h"
#include "budget.h"
#include "buf.h"
#include "config.h"
#include "conversation.h"
#include "log.h"
#include "provider.h"
#include "stream_html.h"
#include "title.h"
#include "timefmt.h"
#include "turn_pipe.h"

/* ---- the generator ---------------------------------------------------- */

/* SIGTERM, SIGHUP or SIGINT sent to the generator itself: an orderly stop
 * that keeps what arrived. The one piece of process state a handler touches. */
static volatile sig_atomic_t turn_signalled;

static void turn_on_signal(int sig)
{
	(void)sig;
	turn_signalled = 1;
}

/* The generator's end of the pipe to the request that started it, or -1
 * (turn_start(), turn_pipe.h). While gen_frames holds, each piece goes to
 * that follower as it arrives; once one could not (a full pipe: the
 * follower is slow; a piece too long for one frame), a wake-up after each
 * save has the follower read the stored answer instead. The last write
 * wakes it in any case, and the end of this process closes the pipe. */
static int gen_wake = -1;
static int gen_frames;

static void gen_pipe_write(const char *data, size_t n)
{
	/* Non-blocking: a closed pipe is a follower gone (SIGPIPE is ignored here). */
	/* check-output: the generator's pipe to its follower (turn_pipe.h), not the client */
	ssize_t w = write(gen_wake, data, n);
	if (w < 0 && errno != EAGAIN)
		gen_wake = -1;
	else if (w < 0 && n > 1)
		gen_frames = 0; /* a full pipe has a wake-up pending already */
}

static void gen_wake_follower(void)
{
	if (gen_wake >= 0)
		gen_pipe_write((const char[]){TURN_PIPE_WAKE}, 1);
}

static void gen_send_piece(char kind, size_t offset, const char *piece)
{
	if (gen_wake < 0 || !gen_frames)
		return;
	char frame[TURN_PIPE_MAX];
	size_t n = turn_pipe_frame(frame, kind, offset, piece, strlen(piece));
	if (n == 0)
		gen_frames = 0; /* the next save wakes the follower */
	else
		gen_pipe_write(frame, n);
}

struct gen {
	struct store *st;
	struct turn_spec *sp;
	struct buf content, reasoning; /* the answer so far, saved text included */
	size_t saved_content, saved_reasoning;
	long long last_save, last_poll; /* monotonic ms */
	int stopped;
};

static void gen_save(struct gen *g, long long now)
{
	g->last_save = now;
	if (g->content.len == g->saved_content && g->reasoning.len == g->saved_reasoning)
		return;
	int rc = store_msg_progress(g->st, g->sp->user_id, g->sp->conv_id, g->sp->answer_id, buf_str(&g->content),
				    buf_str(&g->reasoning));
	if (rc == STORE_OK) {
		g->saved_content = g->content.len;
		g->saved_reasoning = g->reasoning.len;
		if (!gen_frames)
			gen_wake_follower();
	} else if (rc == STORE_NOTFOUND) {
		log_info("answer %lld is gone (its conversation was deleted); it is stopped", g->sp->answer_id);
		g->stopped = 1;
	} else {
		log_warn("answer %lld: what arrived could not be saved (%d); tried again shortly", g->sp->answer_id, rc);
	}
}

static int gen_should_abort(void *ctx)
{
	struct gen *g = ctx;
	long long now = monotonic_ms();
	inflight_beat(g->st, &g->sp->slot);
	if (turn_signalled)
		g->stopped = 1;
	if (now - g->last_poll >= TURN_POLL_MS) {
		int stop = 0;
		g->last_poll = now;
		if (store_turn_stop_flag(g->st, g->sp->user_id, g->sp->slot.id, &stop) == STORE_OK && stop) {
			log_info("answer %lld stopped on request after %zu bytes", g->sp->answer_id, g->content.len);
			g->stopped = 1;
		}
	}
	size_t saved = g->saved_content + g->saved_reasoning;
	size_t unsaved = g->content.len + g->reasoning.len - saved;
	if (now - g->last_save >= TURN_SAVE_MS || (unsaved >= TURN_SAVE_BYTES && unsaved >= saved / 4))
		gen_save(g, now);
	return g->stopped;
}

static int gen_on_delta(void *ctx, const char *content, const char *reasoning)
{
	struct gen *g = ctx;
	if (content) {
		gen_send_piece('c', g->content.len, content);
		buf_append_str(&g->content, content);
	} else {
		gen_send_piece('r', g->reasoning.len, reasoning);
		buf_append_str(&g->reasoning, reasoning);
	}
	return gen_should_abort(ctx);
}

/* Writes the end of the turn: both its messages share the outcome (only ok
 * ones are context later), except that a prompt already answered well keeps
 * its ok. Every write names the conversation and its owner. */
static int gen_finish(struct store *st, const struct turn_spec *sp, const struct message *prompt, const char *content,
		      const char *reasoning, const char *status, const char *error, long long now,
		      long long usage_tokens, size_t sent_chars)
{
	const long long version = message_html_version();
	char *html = message_html("assistant", content);
	const char *prompt_status = strcmp(prompt->status, "ok") == 0 ? "ok" : status;
	int rc = store_begin(st);
	/* The usage for the budgets (budget.h) goes in the turn's transaction,
	 * which holds the write lock already on SQLite: it never waits on its
	 * own. A failed usage write ends the transaction on PostgreSQL
	 * (store.h), so the answer is then stored in a new one and the usage
	 * tried once more after it: the answer comes first. */
	int usage_rc = STORE_ERROR;
	if (rc == STORE_OK) {
		usage_rc = budget_record(st, sp->user_id, now, usage_tokens, sent_chars);
		if (usage_rc != STORE_OK) {
			store_rollback(st);
			rc = store_begin(st);
		}
	}
	if (rc == STORE_OK)
		rc = store_msg_finish(st, sp->user_id, sp->conv_id, sp->answer_id, content, reasoning, status, error, html,
				      version);
	if (rc == STORE_OK && strcmp(prompt->status, prompt_status) != 0) {
		char *prompt_html = message_html("user", prompt->content);
		rc = store_msg_finish(st, sp->user_id, sp->conv_id, prompt->id, prompt->content, NULL, prompt_status, NULL,
				      prompt_html, version);
		free(prompt_html);
	}
	if (rc == STORE_OK)
		rc = store_conv_touch(st, sp->user_id, sp->conv_id, now);
	if (rc == STORE_OK)
		rc = store_commit(st);
	if (rc != STORE_OK)
		store_rollback(st);
	/* Not for STORE_NOTFOUND: gen_run() records the usage of a deleted
	 * conversation itself. */
	if (rc == STORE_OK && usage_rc != STORE_OK)
		(void)budget_record(st, sp->user_id, now, usage_tokens, sent_chars);
	free(html);
	return rc;
}

static void gen_run(struct request *req, struct turn_spec *sp)
{
	const struct config *cfg = req->cfg;
	struct store *st = req->store;
	struct message prompt, answer;
	long long conv_of_prompt = 0, conv_of_answer = 0;
	int rc = store_msg_get(st, sp->user_id, sp->prompt_id, &prompt, &conv_of_prompt);
	int rc2 = store_msg_get(st, sp->user_id, sp->answer_id, &answer, &conv_of_answer);
	struct message *history = NULL;
	size_t n_history = 0;
	if (rc == STORE_OK && rc2 == STORE_OK)
		rc = store_msg_branch_context(st, sp->user_id, sp->conv_id, sp->prompt_id, cfg->context_chars, &history,
					      &n_history);
	if (rc != STORE_OK || rc2 != STORE_OK) {
		log_info("answer %lld: its conversation is gone or unreadable; nothing is asked", sp->answer_id);
		store_msg_free(&prompt);
		store_msg_free(&answer);
		inflight_release(st, &sp->slot);
		return;
	}
	/* system prompt, the branch above the prompt, the prompt, and for a
	 * continuation the answer so far, which the provider goes on from */
	struct provider_message *msgs = xcalloc(n_history + 3, sizeof *msgs);
	size_t n = 0;
	if (cfg->system_prompt)
		msgs[n++] = (struct provider_message){"system", cfg->system_prompt};
	for (size_t i = 0; i < n_history; i++)
		msgs[n++] = (struct provider_message){history[i].role, history[i].content};
	msgs[n++] = (struct provider_message){"user", prompt.content};
	int cont = sp->cont && answer.content[0] != '\0';
	if (cont)
		msgs[n++] = (struct provider_message){"assistant", answer.content};

	struct gen g = {st, sp, BUF_INIT, BUF_INIT, 0, 0, monotonic_ms(), monotonic_ms(), 0};
	if (cont) {
		buf_append_str(&g.content, answer.content);
		if (answer.reasoning)
			buf_append_str(&g.reasoning, answer.reasoning);
		g.saved_content = g.content.len;
		g.saved_reasoning = g.reasoning.len;
	}
	struct provider_request preq = {
		.url = cfg->api_url,
		.api_key = cfg->api_key,
		.model = sp->model,
		.messages = msgs,
		.n_messages = n,
		.idle_timeout_s = cfg->idle_timeout,
		.total_timeout_s = cfg->timeout,
		.first_token_timeout_s = cfg->first_token_timeout,
		.stream = sp->stream,
		.on_delta = gen_on_delta,
		.should_abort = gen_should_abort,
		.ctx = &g,
	};
	struct provider_result pres;
	int answered = provider_complete(&preq, &pres) == 0;
	size_t sent_chars = pres.content ? strlen(pres.content) : 0;
	for (size_t i = 0; i < n; i++)
		sent_chars += strlen(msgs[i].content);

	/* The final text is the saved prefix of a continuation and what this
	 * request returned (a JSON answer arrives whole, without deltas). */
	struct buf content = BUF_INIT, reasoning = BUF_INIT;
	if (cont) {
		buf_append_str(&content, answer.content);
		if (answer.reasoning)
			buf_append_str(&reasoning, answer.reasoning);
	}
	buf_append_str(&content, pres.content ? pres.content : "");
	if (pres.reasoning)
		buf_append_str(&reasoning, pres.reasoning);
	const char *status = "ok", *error = NULL;
	if (answered) {
		/* the whole answer arrived */
	} else if (pres.status == PROVIDER_ABORTED) {
		status = "interrupted";
		error = TURN_STOPPED;
	} else {
		status = content.len ? "interrupted" : "error";
		error = provider_user_message(pres.status);
		log_error("provider %s failed (%s): %s", cfg->api_url, provider_status_name(pres.status),
			  pres.detail ? pres.detail : "no detail");
	}
	/* The answer cannot be asked for again, a request can: its last write
	 * waits longer for other writers (README, ANSWER_STORE_WAIT). */
	store_patience(st, (int)cfg->answer_store_wait * 1000);
	rc = gen_finish(st, sp, &prompt, buf_str(&content), buf_str(&reasoning), status, error, req->now,
			pres.usage_tokens, sent_chars);
	gen_wake_follower();
	if (rc == STORE_NOTFOUND) {
		log_info("conversation %lld was deleted while answer %lld was written; nothing stored", sp->conv_id,
			 sp->answer_id);
		/* The tokens were spent all the same. */
		(void)budget_record(st, sp->user_id, req->now, pres.usage_tokens, sent_chars);
	} else if (rc != STORE_OK)
		log_error("could not store the answer %lld; it stays marked interrupted with what was saved",
			  sp->answer_id);
	/* What follows can wait as a request does; after a write that failed
	 * it need not: the slot is freed when this process has ended anyway
	 * (inflight.h). */
	store_patience(st, rc == STORE_OK ? STORE_BUSY_MS : TURN_SAVE_BUSY_MS);
	if (answered && rc == STORE_OK && sp->title) {
		struct conversation conv;
		if (store_conv_get(st, sp->user_id, sp->conv_id, &conv) == STORE_OK)
			title_after_first_turn(req, NULL, &conv, sp->model, prompt.content, buf_str(&content), 0);
		store_conv_free(&conv);
	}
	inflight_release(st, &sp->slot);
	buf_free(&content);
	buf_free(&reasoning);
	buf_free(&g.content);
	buf_free(&g.reasoning);
	provider_result_free(&pres);
	free(msgs);
	store_msg_list_free(history, n_history);
	store_msg_free(&prompt);
	store_msg_free(&answer);
}

/* The grandchild: lets go of the client and of lighttpd, takes the turn
 * over and writes the answer. Never returns. */
static void turn_generator(struct request *req, struct turn_spec *sp)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = turn_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	/* A persistent worker's kept provider connections stay the worker's. */
	provider_forget_connections();
	/* The client's connection (stdin and stdout, and any other copy) must
	 * close when the request process ends, or lighttpd would wait for this
	 * answer; stderr, the log, stays. */
	if (dup2(2, 0) < 0 || dup2(2, 1) < 0)
		_exit(1);
	int keep = 3; /* the first descriptor closed below */
	if (sp->wake_fd >= 0) {
		gen_wake = dup2(sp->wake_fd, 3) == 3 ? 3 : -1; /* this replaces whatever was 3, the read end included */
		keep = 4;
		gen_frames = sp->stream; /* the follower of a streamed prompt streams */
	}
	sp->wake_fd = -1;
	if (close_range((unsigned)keep, ~0U, 0) != 0)
		for (int fd = keep; fd < 1024; fd++)
			close(fd);
	char err[512];
	if (store_open(req->cfg->database, &req->store, err, sizeof err) < 0) {
		log_error("answer %lld: %s; it stays interrupted", sp->answer_id, err);
		_exit(1);
	}
	inflight_move(req->store, &sp->slot);
	store_patience(req->store, TURN_SAVE_BUSY_MS); /* turn.h: saves and beats catch up */
	gen_run(req, sp);
	store_close(req->store);
	_exit(0);
}

int turn_start(struct request *req, struct turn_spec *sp)
{
	/* A SQLite connection must not be used on both sides of a fork: the
	 * request's is closed first and each side opens its own. */
	store_close(req->store);
	req->store = NULL;
	/* The pipe that wakes this request when the generator has written
	 * (gen_wake); without it the follower only reads every TURN_FOLLOW_MS. */
	int wake[2];
	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0)
		wake[0] = wake[1] = -1;
	pid_t child = fork();
	if (child == 0) {
		if (setsid() < 0)
			_exit(1);
		pid_t grandchild = fork();
		if (grandchild != 0)
			_exit(grandchild < 0 ? 1 : 0);
		/* and then a session of its own, which it leads: the mark by
		 * which inflight_running() tells a generator from a request */
		if (setsid() < 0)
			_exit(1);
		sp->wake_fd = wake[1];
		turn_generator(req, sp);
	}
	if (wake[1] >= 0)
		close(wake[1]);
	sp->wake_fd = wake[0];
	int status = 1;
	if (child > 0)
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
	int started = child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!started && sp->wake_fd >= 0) {
		close(sp->wake_fd);
		sp->wake_fd = -1;
	}
	if (!started)
		log_error("answer %lld: no process could be started to write it (%s)", sp->answer_id,
			  child < 0 ? strerror(errno) : "fork failed");
	char err[512];
	if (store_open(req->cfg->database, &req->store, err, sizeof err) < 0) {
		log_error("%s", err);
		req->store = NULL;
		return -1;
	}
	return started ? 0 : -1;
}

