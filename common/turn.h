/* turn.h: an answer the server owns, from the accepted prompt to its end.
 *
 * Contract (README, "Answers in flight"):
 * - turn_start() hands an answer, whose messages and in-flight slot
 *   (inflight.h) the caller has stored, to a process of its own: the
 *   request process forks twice (the child starts a session of its own
 *   with setsid before the parent learns it started, and the grandchild
 *   then starts and leads another, the mark inflight.h knows a generator
 *   by), the grandchild lets go of the client's connection and of the request's
 *   database connection, opens its own and owns the provider request.
 *   Neither the client leaving nor lighttpd ending the request process
 *   (SIGTERM) stops it; only the end of the answer, AI_TIMEOUT, a stop
 *   asked through the store (POST /api/messages/{id}/stop, from any node)
 *   or SIGTERM to that process itself does.
 * - The generator saves what has arrived at least every TURN_SAVE_MS, or
 *   sooner once TURN_SAVE_BYTES and a quarter of what is already saved
 *   wait (a save rewrites the whole text, so a long answer is written a
 *   few times its length in all, not once per 4 KiB), beats its turns row every INFLIGHT_BEAT_MS and reads
 *   the stop flag every TURN_POLL_MS. A save or a beat waits at most
 *   TURN_SAVE_BUSY_MS for another writer (the next one catches up), so a
 *   writer holding the database never stalls the provider's stream; only
 *   the answer's last write waits ANSWER_STORE_WAIT. The answer keeps the stored status
 *   "interrupted" until it ends, so a killed generator leaves an honest
 *   row holding what was saved. Readers show a message as "streaming"
 *   while it is interrupted and its turn runs (inflight_running()).
 * - The generator sends the request that started it each piece as it
 *   arrives (a streamed prompt) and a wake-up after its last write, over
 *   a pipe (turn_spec.wake_fd, turn_pipe.h); a follower too slow to take
 *   a piece, or a piece too long for one write, turns the pipe into a
 *   wake-up after each save.
 * - turn_follow() attaches a request to an answer: it sends the pieces
 *   of the pipe, if it has one, and reads the stored answer when woken,
 *   when a piece came after a gap, and every TURN_FOLLOW_MS in any case
 *   (a request that attaches later, an answer written on another node);
 *   it sends (when streaming) what arrived after the given offsets as `delta`
 *   events with `id: <content bytes>.<reasoning bytes>` and the rendered
 *   HTML as `html`, until the answer ends; then the caller reports it with
 *   turn_report_end(). A client leaving ends only the follower.
 * - turn_report() is the one way a turn reports a failure: an `error`
 *   event on a stream, a JSON body with the HTTP status otherwise. */
#ifndef AIF_TURN_H
#define AIF_TURN_H

#include <stddef.h>

#include "inflight.h"
#include "request.h"
#include "response.h"
#include "store.h"

#define TURN_SAVE_MS 100
#define TURN_SAVE_BYTES 4096
#define TURN_POLL_MS 200
#define TURN_SAVE_BUSY_MS 250
/* How often a follower reads the answer from the store. */
#define TURN_FOLLOW_MS 100
/* Seconds of silence after which a stream gets an SSE comment, so that
 * idle proxies keep it open. */
#define TURN_KEEPALIVE_SECONDS 15
/* turn_follow()'s answer when the client went away (not a store_rc). */
#define TURN_CLIENT_GONE 100
/* The error text of an answer stopped on request. */
#define TURN_STOPPED "The answer was stopped."

struct turn_spec {
	long long user_id, conv_id;
	long long prompt_id; /* the user message answered */
	long long answer_id; /* the assistant message written */
	const char *model;
	int stream;          /* ask the provider for a stream */
	int title;           /* a new conversation's first turn: ask a title after it */
	int cont;            /* continue: append to the answer's saved text */
	struct inflight slot; /* taken by the caller; the generator releases it */
	/* Set by turn_start(): the read end of a pipe the generator writes a
	 * byte to after each write of the answer, and which reads as closed
	 * once the generator has ended (after the title, which comes last);
	 * -1 without one. The caller passes it to turn_follow() and closes it. */
	int wake_fd;
};

/* Starts the generator (see above). req->store is closed and opened again
 * (a SQLite connection must not cross a fork). Returns 0, or -1 when no
 * process could be started (logged; the caller reports it). */
int turn_start(struct request *req, struct turn_spec *spec);

/* Follows user_id's answer message_id until it ends (or, streaming, until
 * the client leaves: then it returns TURN_CLIENT_GONE). from_content and from_reasoning
 * are the byte offsets already sent. The final message (with "streaming"
 * resolved) is left in *out, which the caller frees with store_msg_free();
 * returns 0, TURN_CLIENT_GONE, STORE_NOTFOUND (the
 * conversation is gone) or a negative store_rc. */
/* Waits up to ms, or until the generator writes to *wake_fd (turn_spec),
 * which this sets to -1 once the generator has ended (-1: the wait is
 * timed only); 1 when the client went away meanwhile (res->fd). */
int turn_wait(struct response *res, int *wake_fd, int ms);

int turn_follow(struct store *st, struct response *res, long long user_id, long long message_id, int streaming,
		size_t from_content, size_t from_reasoning, int wake_fd, struct message *out);

/* The status shown for a stored message: "streaming" while it is
 * interrupted and its turn still runs, else the stored one. Static string. */
const char *turn_shown_status(struct store *st, long long user_id, const struct message *m);

/* The JSON of message m of conversation conv_id: message_json() plus
 * conversation_id, parent_id and siblings, and its shown status. */
struct json_object *turn_message_json(struct store *st, long long user_id, long long conv_id,
				      const struct message *m);

/* As turn_message_json, with the conversation's tree already read. */
struct json_object *turn_message_json_in(struct store *st, long long user_id, long long conv_id,
					 const struct message *m, const struct msg_node *tree, size_t n);

/* Reports a failure once: on a stream (res->streaming) as the event
 * `error` with {"error", "code"} and "message" when m is given; otherwise
 * as a JSON body with status, the same fields and "conversation_id" when
 * conv_id is not 0. Takes ownership of m_json (may be NULL). */
void turn_report(struct response *res, int status, const char *code, const char *error, long long conv_id,
		 struct json_object *m_json);

/* Reports the end of a followed answer: `done` with {"message"} when it
 * is ok, else turn_report() with the message and its error (502 for a
 * provider failure, 200 for an answer stopped on request). */
void turn_report_end(struct store *st, struct response *res, long long user_id, long long conv_id,
		     const struct message *m);

/* Parses a Last-Event-ID of ours ("<content bytes>.<reasoning bytes>");
 * 0, or -1 when it is not one. */
int turn_parse_event_id(const char *s, size_t *content, size_t *reasoning);

#endif
