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

static long long turn_wall_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- followers -------------------------------------------------------- */

const char *turn_shown_status(struct store *st, long long user_id, const struct message *m)
{
	if (strcmp(m->status, "interrupted") != 0)
		return m->status;
	struct turn_state t;
	if (store_turn_of_msg(st, user_id, m->id, &t) == STORE_OK && inflight_running(&t, turn_wall_ms()))
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

/* Waits up to TURN_FOLLOW_MS; 1 when the client has gone away meanwhile. */
static int follow_wait(struct response *res)
{
	struct pollfd p = {.fd = res->fd, .events = 0};
	int n = poll(&p, 1, TURN_FOLLOW_MS);
	return n > 0 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

int turn_follow(struct store *st, struct response *res, long long user_id, long long message_id, int streaming,
		size_t from_content, size_t from_reasoning, struct message *out)
{
	size_t sent_c = from_content, sent_r = from_reasoning;
	struct stream_html html = STREAM_HTML_INIT;
	time_t last_write = time(NULL);
	int first = 1, rc = 0;
	memset(out, 0, sizeof *out);
	for (;;) {
		struct message m;
		long long conv_id;
		rc = store_msg_get(st, user_id, message_id, &m, &conv_id);
		if (rc != STORE_OK)
			break;
		int ended = strcmp(m.status, "interrupted") != 0;
		if (!ended) {
			struct turn_state t;
			int trc = store_turn_of_msg(st, user_id, message_id, &t);
			if (trc == STORE_NOTFOUND || (trc == STORE_OK && !inflight_running(&t, turn_wall_ms()))) {
				/* ended just now, or its process died: read the end */
				store_msg_free(&m);
				rc = store_msg_get(st, user_id, message_id, &m, &conv_id);
				if (rc != STORE_OK)
					break;
				ended = 1;
			}
		}
		if (streaming) {
			size_t clen = strlen(m.content), rlen = m.reasoning ? strlen(m.reasoning) : 0;
			if (first) {
				char *before = xstrndup(m.content, sent_c < clen ? sent_c : clen);
				stream_html_add(&html, before);
				free(before);
				first = 0;
			}
			int gone = 0;
			if (rlen > sent_r) {
				gone |= follow_send(res, "reasoning", m.reasoning + sent_r, sent_c, rlen) < 0;
				sent_r = rlen;
				last_write = time(NULL);
			}
			if (clen > sent_c && !gone) {
				gone |= follow_send(res, "content", m.content + sent_c, clen, sent_r) < 0;
				stream_html_add(&html, m.content + sent_c);
				sent_c = clen;
				last_write = time(NULL);
			}
			if (!gone && !ended && stream_html_send(&html, res, stream_html_now_ms(), 0) < 0)
				gone = 1;
			if (!gone && time(NULL) - last_write >= TURN_KEEPALIVE_SECONDS) {
				gone = response_stream_comment(res, "keep-alive") < 0;
				last_write = time(NULL);
			}
			if (gone) {
				store_msg_free(&m);
				rc = TURN_CLIENT_GONE;
				break;
			}
		}
		if (ended) {
			*out = m; /* out owns its strings now */
			rc = 0;
			break;
		}
		store_msg_free(&m);
		if (follow_wait(res)) {
			rc = TURN_CLIENT_GONE;
			break;
		}
	}
	stream_html_free(&html);
	return rc;
}
