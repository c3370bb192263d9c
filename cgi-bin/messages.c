/* messages.c: GET /api/messages/{id}, GET /api/messages/{id}/stream, POST /api/messages/{id}/stop — one answer, attached to or stopped from anywhere. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "scgi.h"
#include "store.h"
#include "turn.h"

/* GET /api/messages/{id}: the message as it stands (README, API). */
static void message_get(struct request *req, struct response *res)
{
	struct message m;
	long long conv_id;
	int rc = store_msg_get(req->store, req->user_id, req->id, &m, &conv_id);
	if (rc == STORE_NOTFOUND) {
		response_error(res, 404, "Message not found.");
		return;
	}
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "message", turn_message_json(req->store, req->user_id, conv_id, &m));
	response_json(res, 200, o);
	store_msg_free(&m);
}

/* GET /api/messages/{id}/stream: what has arrived (after Last-Event-ID),
 * then every further delta, then done or error, as POST /api/chat streams. */
static void message_stream(struct request *req, struct response *res)
{
	struct message m;
	long long conv_id;
	int rc = store_msg_get(req->store, req->user_id, req->id, &m, &conv_id);
	if (rc == STORE_NOTFOUND || (rc == STORE_OK && strcmp(m.role, "assistant") != 0)) {
		if (rc == STORE_OK)
			store_msg_free(&m);
		response_error(res, 404, rc == STORE_OK ? "Only an answer can be attached to; that message is a prompt."
							: "Message not found.");
		return;
	}
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	if (!req->accept || !strstr(req->accept, "text/event-stream")) {
		store_msg_free(&m);
		response_error(res, 406, "This stream is sent as text/event-stream; send Accept: text/event-stream.");
		return;
	}
	size_t from_c = 0, from_r = 0;
	const char *last = request_var(req->vars, "HTTP_LAST_EVENT_ID");
	if (last && *last) {
		size_t clen = strlen(m.content), rlen = m.reasoning ? strlen(m.reasoning) : 0;
		/* Only an id this stream sent: within what is stored, and at a
		 * character boundary, so nothing is cut, repeated or missed. */
		if (turn_parse_event_id(last, &from_c, &from_r) < 0 || from_c > clen || from_r > rlen ||
		    (m.content[from_c] & 0xC0) == 0x80 || (m.reasoning && (m.reasoning[from_r] & 0xC0) == 0x80)) {
			store_msg_free(&m);
			response_error(res, 400, "Last-Event-ID is not an id this stream sent; reconnect without it to get"
						 " the whole answer.");
			return;
		}
	}
	store_msg_free(&m);
	signal(SIGPIPE, SIG_IGN);
	response_stream_begin(res);
	struct json_object *start = json_object_new_object();
	json_object_object_add(start, "conversation_id", json_object_new_int64(conv_id));
	json_object_object_add(start, "message_id", json_object_new_int64(req->id));
	if (response_stream_event(res, "start", start) < 0)
		return;
	struct message final;
	rc = turn_follow(req->store, res, req->user_id, req->id, 1, from_c, from_r, -1, &final);
	if (rc == STORE_OK) {
		turn_report_end(req->store, res, req->user_id, conv_id, &final);
		store_msg_free(&final);
	} else if (rc == STORE_NOTFOUND) {
		turn_report(res, 404, "conversation_deleted",
			    "The conversation was deleted while the answer was being written; nothing was saved.", 0, NULL);
	} else if (rc < 0) {
		turn_report(res, 503, "unavailable", "The answer cannot be read right now; reconnect shortly.", 0, NULL);
	}
}

/* POST /api/messages/{id}/stop: asks the answer's generator, on whichever
 * node it runs, to close its provider request and keep what arrived. */
static void message_stop(struct request *req, struct response *res)
{
	struct message m;
	long long conv_id;
	int rc = store_msg_get(req->store, req->user_id, req->id, &m, &conv_id);
	if (rc == STORE_OK) {
		store_msg_free(&m);
		rc = store_turn_stop(req->store, req->user_id, req->id);
		if (rc == STORE_NOTFOUND) /* it has ended already: nothing to stop */
			rc = STORE_OK;
	} else if (rc == STORE_NOTFOUND) {
		response_error(res, 404, "Message not found.");
		return;
	}
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	log_info("answer %lld: stop asked", req->id);
	response_empty(res, 204);
}

/* /<id>, /<id>/stream and /<id>/stop: the runner (app.h) matches the
 * suffix and hands the handler the id. */
static const struct route routes[] = {
	{"GET", ROUTE_AUTH | ROUTE_ID, NULL, message_get, NULL, NULL},
	{"GET", ROUTE_AUTH | ROUTE_ID, NULL, message_stream, NULL, "stream"},
	{"POST", ROUTE_AUTH | ROUTE_CSRF | ROUTE_ID, NULL, message_stop, NULL, "stop"},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"messages", routes};
	(void)argc;
	/* A warm SCGI server when lighttpd.conf spawns it (on PostgreSQL,
	 * tools/cgi-env.sh), else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
