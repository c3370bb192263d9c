/* turn_follow.c: the readers of an answer the server owns: its shown status, its JSON, followers that stream it, and the one failure report (see turn.h). */
#include "turn.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "alloc.h"
#include "conversation.h"
#include "log.h"
#include "stream_html.h"
#include "timefmt.h"
#include "turn_pipe.h"

/* ---- followers -------------------------------------------------------- */

const char *turn_shown_status(struct store *st, long long user_id, const struct message *m)
{
	if (strcmp(m->status, "interrupted") != 0)
		return m->status;
	struct turn_state t;
	if (store_turn_of_msg(st, user_id, m->id, &t) == STORE_OK && inflight_running(&t, wall_ms()))
		return "streaming";
	return m->status;
}

struct json_object *turn_message_json(struct store *st, long long user_id, long long conv_id,
				      const struct message *m)
{
	return turn_message_json_in(st, user_id, conv_id, m, NULL, 0);
}

struct json_object *turn_message_json_in(struct store *st, long long user_id, long long conv_id,
					 const struct message *m, const struct msg_node *tree, size_t n)
{
	struct json_object *o = message_json(m);
	json_object_object_add(o, "status", json_object_new_string(turn_shown_status(st, user_id, m)));
	json_object_object_add(o, "conversation_id", json_object_new_int64(conv_id));
	json_object_object_add(o, "parent_id", m->parent_id ? json_object_new_int64(m->parent_id) : NULL);
	struct json_object *sib = json_object_new_array();
	struct msg_node *own = NULL;
	if (!tree && store_msg_tree(st, user_id, conv_id, &own, &n) == STORE_OK)
		tree = own;
	for (size_t i = 0; tree && i < n; i++)
		if (tree[i].parent_id == m->parent_id)
			json_object_array_add(sib, json_object_new_int64(tree[i].id));
	free(own);
	json_object_object_add(o, "siblings", sib);
	return o;
}

void turn_report(struct response *res, int status, const char *code, const char *error, long long conv_id,
		 struct json_object *m_json)
{
	struct json_object *o = json_object_new_object();
	if (conv_id && !res->streaming)
		json_object_object_add(o, "conversation_id", json_object_new_int64(conv_id));
	if (m_json)
		json_object_object_add(o, "message", m_json);
	json_object_object_add(o, "error", json_object_new_string(error));
	if (code)
		json_object_object_add(o, "code", json_object_new_string(code));
	if (!res->streaming)
		response_json(res, status, o);
	else if (response_stream_event(res, "error", o) < 0)
		log_info("a turn ended, but the client left before its last event");
}

void turn_report_end(struct store *st, struct response *res, long long user_id, long long conv_id,
		     const struct message *m)
{
	struct json_object *mj = turn_message_json(st, user_id, conv_id, m);
	if (strcmp(m->status, "ok") == 0) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "message", mj);
		if (!res->streaming) {
			json_object_object_add(o, "conversation_id", json_object_new_int64(conv_id));
			response_json(res, 200, o);
		} else if (response_stream_event(res, "done", o) < 0) {
			log_info("answer %lld ended, but the client left before its last event", m->id);
		}
		return;
	}
	if (m->error && strcmp(m->error, TURN_STOPPED) == 0)
		turn_report(res, 200, "stopped", m->error, conv_id, mj);
	else if (m->error)
		turn_report(res, 502, "provider_error", m->error, conv_id, mj);
	else /* the generator died, or could not write the end */
		turn_report(res, 502, "not_saved",
			    "The answer could not be saved completely: the server was busy, or the process writing it"
			    " stopped. What arrived is kept, marked interrupted; use Continue or Regenerate.",
			    conv_id, mj);
}

int turn_parse_event_id(const char *s, size_t *content, size_t *reasoning)
{
	unsigned long long v[2] = {0, 0};
	int part = 0, digits = 0;
	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9' && digits < 15) {
			v[part] = v[part] * 10 + (unsigned long long)(*p - '0');
			digits++;
		} else if (*p == '.' && part == 0 && digits > 0) {
			part = 1;
			digits = 0;
		} else {
			return -1;
		}
	}
	if (part != 1 || digits == 0)
		return -1;
	*content = (size_t)v[0];
	*reasoning = (size_t)v[1];
	return 0;
}

static int follow_send(struct response *res, const char *field, const char *text, size_t content, size_t reasoning)
{
	char id[64];
	snprintf(id, sizeof id, "%zu.%zu", content, reasoning);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, field, json_object_new_string(text));
	return response_stream_event_id(res, "delta", id, o);
}

int turn_wait(struct response *res, int *wake_fd, int ms)
{
	struct pollfd p[2] = {{.fd = res->fd, .events = 0}, {.fd = *wake_fd, .events = POLLIN}};
	int n = poll(p, 2, ms);
	/* A broken reader only drains: this wait reads no pieces. */
	struct turn_pipe_reader drain = {.broken = 1};
	if (n > 0 && p[1].revents && turn_pipe_read(&drain, *wake_fd, NULL, NULL) < 0)
		*wake_fd = -1; /* the generator has ended: poll() would report it at once from now on */
	return n > 0 && (p[0].revents & (POLLERR | POLLHUP)) != 0;
}

/* A follower that streams: what it has sent, and what it has learnt. */
struct follow {
	struct response *res;
	int streaming;
	struct stream_html html;
	size_t sent_c, sent_r; /* bytes of content and reasoning sent */
	time_t last_write;
	int gone;   /* the client left */
	int behind; /* a piece came after a gap: the stored answer has what is missing */
	int primed; /* html holds what was sent before (follow_read()) */
};

/* Sends what is new of a piece of the answer; the byte offsets of a piece
 * and of what was sent are both at the seams of the provider's pieces or
 * of a save, so the new part starts at a character. */
static void follow_text(void *ctx, char kind, size_t offset, const char *text, size_t len)
{
	struct follow *f = ctx;
	size_t *sent = kind == 'c' ? &f->sent_c : &f->sent_r;
	if (f->gone || !f->streaming || offset + len <= *sent)
		return;
	if (offset > *sent) {
		f->behind = 1;
		return;
	}
	char *piece = xstrndup(text + (*sent - offset), len - (*sent - offset));
	*sent = offset + len;
	f->gone = follow_send(f->res, kind == 'c' ? "content" : "reasoning", piece, f->sent_c, f->sent_r) < 0;
	if (kind == 'c')
		stream_html_add(&f->html, piece);
	free(piece);
	f->last_write = time(NULL);
}

/* Reads the stored answer into *m (on STORE_OK) and sends what is new of
 * it; *ended says whether the answer has ended. */
static int follow_read(struct store *st, struct follow *f, long long user_id, long long message_id, struct message *m,
		       int *ended)
{
	long long conv_id;
	int rc = store_msg_get(st, user_id, message_id, m, &conv_id);
	if (rc != STORE_OK)
		return rc;
	*ended = strcmp(m->status, "interrupted") != 0;
	if (!*ended) {
		struct turn_state t;
		int trc = store_turn_of_msg(st, user_id, message_id, &t);
		if (trc == STORE_NOTFOUND || (trc == STORE_OK && !inflight_running(&t, wall_ms()))) {
			/* ended just now, or its process died: read the end */
			store_msg_free(m);
			rc = store_msg_get(st, user_id, message_id, m, &conv_id);
			if (rc != STORE_OK)
				return rc;
			*ended = 1;
		}
	}
	size_t clen = strlen(m->content);
	if (!f->primed && f->streaming) { /* what was sent before this request (continue, a reattach) */
		char *before = xstrndup(m->content, f->sent_c < clen ? f->sent_c : clen);
		stream_html_add(&f->html, before);
		free(before);
	}
	f->primed = 1;
	if (m->reasoning)
		follow_text(f, 'r', 0, m->reasoning, strlen(m->reasoning));
	follow_text(f, 'c', 0, m->content, clen);
	return STORE_OK;
}

int turn_follow(struct store *st, struct response *res, long long user_id, long long message_id, int streaming,
		size_t from_content, size_t from_reasoning, int wake_fd, struct message *out)
{
	struct follow f = {res, streaming, STREAM_HTML_INIT, from_content, from_reasoning, time(NULL), 0, 0, 0};
	struct turn_pipe_reader pipe = {.len = 0};
	int rc = 0, read_now = 1;
	long long last_read = 0;
	memset(out, 0, sizeof *out);
	for (;;) {
		if (read_now) {
			struct message m;
			last_read = monotonic_ms();
			read_now = 0;
			f.behind = 0;
			int ended = 0;
			rc = follow_read(st, &f, user_id, message_id, &m, &ended);
			if (rc != STORE_OK)
				break;
			if (ended && !f.gone) {
				*out = m; /* out owns its strings now */
				break;
			}
			store_msg_free(&m);
		}
		if (streaming && !f.gone && stream_html_send(&f.html, res, monotonic_ms(), 0) < 0)
			f.gone = 1;
		if (streaming && !f.gone && time(NULL) - f.last_write >= TURN_KEEPALIVE_SECONDS) {
			f.gone = response_stream_comment(res, "keep-alive") < 0;
			f.last_write = time(NULL);
		}
		if (f.gone) {
			rc = TURN_CLIENT_GONE;
			break;
		}
		long long left = TURN_FOLLOW_MS - (monotonic_ms() - last_read);
		struct pollfd p[2] = {{.fd = res->fd, .events = 0}, {.fd = wake_fd, .events = POLLIN}};
		int n = poll(p, 2, left > 0 ? (int)left : 0);
		if (n > 0 && (p[0].revents & (POLLERR | POLLHUP))) {
			rc = TURN_CLIENT_GONE;
			break;
		}
		if (n > 0 && p[1].revents) {
			if (turn_pipe_read(&pipe, wake_fd, follow_text, &f) < 0) {
				wake_fd = -1; /* the generator has ended: its last write is stored */
				read_now = 1;
			}
			if (pipe.woken || f.behind)
				read_now = 1;
			pipe.woken = 0;
		}
		if (monotonic_ms() - last_read >= TURN_FOLLOW_MS)
			read_now = 1;
	}
	stream_html_free(&f.html);
	return rc;
}
