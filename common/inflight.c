/* inflight.c: the per-user and total bounds on turns in flight (see inflight.h). */
#include "inflight.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "timefmt.h"

/* Reads the first line of a /proc file into buf ("" when unreadable). */
static void proc_line(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* When this process's pid namespace began: the boot (boot_id) and the start
 * of its PID 1, in clock ticks since boot (field 22 of /proc/1/stat, after
 * the parenthesised name, which may hold spaces). A restarted container
 * keeps its hostname and hands out the same small pids again; this tells
 * its processes from those of the run before. */
static void namespace_start(char *out, size_t len)
{
	char boot[64], stat[512];
	proc_line("/proc/sys/kernel/random/boot_id", boot, sizeof boot);
	proc_line("/proc/1/stat", stat, sizeof stat);
	const char *p = strrchr(stat, ')');
	unsigned long long ticks = 0;
	/* after ")": state ppid pgrp session tty_nr tpgid flags minflt cminflt
	 * majflt cmajflt utime stime cutime cstime priority nice num_threads
	 * itrealvalue starttime */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &ticks) != 1)
		ticks = 0;
	snprintf(out, len, "%.8s.%llu", boot, ticks);
}

void inflight_host(char *host, size_t len)
{
	static char name[256];
	if (!name[0]) {
		char start[96];
		if (gethostname(name, sizeof name - 1) != 0)
			name[0] = '\0';
		name[sizeof name - 1] = '\0';
		namespace_start(start, sizeof start);
		size_t n = strlen(name);
		snprintf(name + n, sizeof name - n, " %s", start);
	}
	snprintf(host, len, "%s", name);
}

/* Whether a turn of this host, recorded by process pid with its last
 * heartbeat at heartbeat_at, still runs at now (inflight.h). A generator
 * leads a session of its own (turn.c calls setsid()); any other live
 * process is the request that took the turn, and the heartbeat decides. */
static int local_running(long long pid, long long heartbeat_at, long long now)
{
	if (heartbeat_at < now - INFLIGHT_LOCAL_STALE_MS)
		return 0;
	pid_t p = (pid_t)pid;
	if (p <= 0 || (long long)p != pid || (kill(p, 0) < 0 && errno == ESRCH))
		return 0;
	return getsid(p) == p || heartbeat_at >= now - INFLIGHT_STALE_MS;
}

/* Drops the turns of this host that no longer run (local_running()): their
 * process has ended (killed, say), or their generator died before it took
 * them over, without waiting for the heartbeat to go stale everywhere. */
static int inflight_forget_dead(struct store *st, const char *host, long long now)
{
	struct turn_row *rows;
	size_t n;
	int rc = store_turn_on_host(st, host, &rows, &n);
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		if (local_running(rows[i].pid, rows[i].heartbeat_at, now))
			continue;
		log_info("turn %lld of process %lld ended without releasing its slot (its process is gone, or its"
			 " generator never took it over); released now", rows[i].id, rows[i].pid);
		rc = store_turn_drop(st, rows[i].id, rows[i].pid);
	}
	free(rows);
	return rc;
}

int inflight_take(struct store *st, long long user_id, long long message_id, long per_user, long total,
		  long long now, struct inflight *out, enum inflight_full *full)
{
	char host[256];
	long long mine = 0, all = 0;
	memset(out, 0, sizeof *out);
	*full = INFLIGHT_FREE;
	inflight_host(host, sizeof host);
	int rc = store_turn_reap(st, now - INFLIGHT_STALE_MS, host, now - INFLIGHT_LOCAL_STALE_MS);
	if (rc == STORE_OK)
		rc = inflight_forget_dead(st, host, now);
	/* The count and the insert are one step of the store's (store.h), on
	 * any backend: two requests never both take the last slot. */
	if (rc == STORE_OK)
		rc = store_turn_take(st, user_id, message_id, host, (long long)getpid(), now, per_user, total, &mine,
				     &all, &out->id);
	if (rc != STORE_OK)
		return rc;
	if (out->id == 0) {
		*full = mine >= per_user ? INFLIGHT_USER_FULL : INFLIGHT_ALL_FULL;
		return STORE_OK;
	}
	out->user_id = user_id;
	out->last_beat = now;
	return rc;
}

/* Records this process in the turn's row (its heartbeat too); STORE_OK
 * once done, and then f->moving is cleared. */
static int move_here(struct store *st, struct inflight *f, long long now)
{
	char host[256];
	inflight_host(host, sizeof host);
	int rc = store_turn_set_pid(st, f->user_id, f->id, host, (long long)getpid(), now);
	if (rc == STORE_OK || rc == STORE_NOTFOUND)
		f->moving = 0;
	if (rc == STORE_OK)
		f->last_beat = now;
	return rc;
}

void inflight_move(struct store *st, struct inflight *f)
{
	if (f->id == 0)
		return;
	f->moving = 1;
	int rc = move_here(st, f, wall_ms());
	if (rc == STORE_NOTFOUND)
		log_warn("turn %lld lost its slot before process %ld took it over; it goes on outside the limit", f->id,
			 (long)getpid());
	else if (rc != STORE_OK)
		log_warn("turn %lld: not yet taken over by process %ld, its generator (store error %d); tried again at"
			 " each heartbeat", f->id, (long)getpid(), rc);
}

void inflight_beat(struct store *st, struct inflight *f)
{
	if (f->id == 0)
		return;
	long long now = wall_ms();
	if (now - f->last_beat < INFLIGHT_BEAT_MS)
		return;
	if (f->moving && move_here(st, f, now) == STORE_OK) {
		log_info("turn %lld taken over by process %ld at last", f->id, (long)getpid());
		return;
	}
	f->last_beat = now;
	int rc = store_turn_beat(st, f->user_id, f->id, now);
	if (rc == STORE_NOTFOUND)
		log_warn("turn %lld lost its slot (its heartbeat was late); it goes on outside the limit", f->id);
	else if (rc != STORE_OK)
		log_warn("turn %lld: heartbeat not recorded; it is retried in %lld s", f->id, INFLIGHT_BEAT_MS / 1000);
}

void inflight_release(struct store *st, struct inflight *f)
{
	if (f->id == 0)
		return;
	int rc = store_turn_end(st, f->user_id, f->id);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		log_warn("turn %lld: slot not released; it is freed when its heartbeat goes stale", f->id);
	f->id = 0;
}

int inflight_running(const struct turn_state *t, long long now)
{
	char host[256];
	inflight_host(host, sizeof host);
	if (strcmp(host, t->host) != 0) /* another node's: its heartbeat is all we know */
		return t->heartbeat_at >= now - INFLIGHT_STALE_MS;
	return local_running(t->pid, t->heartbeat_at, now);
}
