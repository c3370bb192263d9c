/* inflight.h: bounds the turns in flight, per user and in all, across processes.
 *
 * Contract: a turn (a POST /api/chat that asks the AI provider) holds one
 * row of the database's turns table from the moment its messages are
 * stored until its answer is written, so every process, CGI or SCGI child,
 * counts the same rows. inflight_take() first forgets the turns of
 * processes that are gone (a pid of this host that no longer exists, or a
 * heartbeat older than INFLIGHT_STALE_MS, for a process on another host or
 * a pid reused since), then counts and adds the turn in one step of the
 * store's (store_turn_take()), or says which limit is full. A running turn calls inflight_beat()
 * often (it writes at most every INFLIGHT_BEAT_MS) and inflight_release()
 * when its answer is written.
 *
 * The row names the process that took the turn (the request) until the
 * answer's generator, which runs in a session of its own (turn.c), takes
 * it over (inflight_move()). On this host a live generator answers for its
 * turn; a row that still names another live process, the request, has
 * only its heartbeat to say whether a generator runs: the generator may
 * have died before it could take the turn over (the database was out of
 * reach), and the request lives on (a persistent worker), so its pid must
 * not keep the turn "streaming" and its slot taken. The row names the answer's message, so that
 * work which owns turns on the server can find a turn by its message. */
#ifndef AIF_INFLIGHT_H
#define AIF_INFLIGHT_H

#include "store.h"

/* The process generating an answer beats every second; a turn whose beat
 * is older than INFLIGHT_STALE_MS is dead, and its answer is shown
 * interrupted with what was saved (turn.h). */
#define INFLIGHT_BEAT_MS 1000LL
#define INFLIGHT_STALE_MS 6000LL
/* On the generator's own host its process answers for it: while its pid
 * lives the turn runs, heartbeat or not (a writer holding the database
 * keeps the beat from being written; ANSWER_STORE_WAIT is at most 600 s),
 * up to this bound, past which a pid is taken to have been reused. */
#define INFLIGHT_LOCAL_STALE_MS 660000LL
/* What a refused turn is told to wait, in seconds: turns take seconds to
 * minutes, and nothing tells when one will end. */
#define INFLIGHT_RETRY_AFTER 10L

enum inflight_full {
	INFLIGHT_FREE = 0,
	INFLIGHT_USER_FULL = 1, /* MAX_STREAMS_PER_USER turns of this user run */
	INFLIGHT_ALL_FULL = 2,  /* MAX_STREAMS_TOTAL turns run in all */
};

struct inflight {
	long long id;        /* the turns row; 0 when none is held */
	long long user_id;
	long long last_beat; /* ms since the epoch */
	int moving;          /* inflight_move() not yet recorded: tried again at each beat */
};

/* Takes a slot for user_id's answer message_id unless a limit is full
 * (then *full says which, and nothing is added). Returns a store_rc. */
int inflight_take(struct store *st, long long user_id, long long message_id, long per_user, long total,
		  long long now, struct inflight *out, enum inflight_full *full);
/* The generator takes the turn over: the row names this process from now
 * on. When that cannot be written (the database is out of reach), each
 * beat tries again. */
void inflight_move(struct store *st, struct inflight *f);
/* Records that the turn still runs, when INFLIGHT_BEAT_MS have passed. */
void inflight_beat(struct store *st, struct inflight *f);
/* Whether the turn t (read by store_turn_of_msg) still runs at now: its
 * heartbeat is fresh or, on this host, its generator exists. */
int inflight_running(const struct turn_state *t, long long now);
/* This host's name as turns record it: the hostname and when this pid
 * namespace began (boot and the start of its PID 1), so that a pid of a
 * restarted container or a rebooted machine is never taken for the one a
 * turn recorded before. */
void inflight_host(char *host, size_t len);
/* Gives the slot back (idempotent). */
void inflight_release(struct store *st, struct inflight *f);

#endif
