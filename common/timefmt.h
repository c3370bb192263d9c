/* timefmt.h: the one way times leave the program, and the one clock that
 * measures how long something took.
 *
 * Contract: the store keeps milliseconds since the Unix epoch; every JSON
 * answer shows them as ISO 8601 UTC with milliseconds
 * ("2026-12-01T18:42:05.123Z", README's API section). Domain modules and
 * endpoints share this, so none depends on the HTTP runner for it. */
#ifndef AIF_TIMEFMT_H
#define AIF_TIMEFMT_H

struct json_object;

/* ms as an ISO 8601 UTC json-c string; the caller owns the reference. */
struct json_object *timefmt_json(long long ms);

/* Milliseconds on CLOCK_MONOTONIC: for deadlines and pacing, which a
 * change of the wall clock must not move. 0 if the clock cannot be read. */
long long monotonic_ms(void);
/* Milliseconds since the Unix epoch on CLOCK_REALTIME: what the store
 * keeps (created_at, heartbeats). 0 if the clock cannot be read. */
long long wall_ms(void);

#endif
