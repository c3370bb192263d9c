#!/usr/bin/env bash
# pgbouncer-start.sh: a PgBouncer of docker-compose.cluster.yml, in the
# foreground, in front of the PostgreSQL primary. Transaction pooling, as
# tests/pg.sh runs it (common/store_pg.c uses no named prepared
# statements). Clients log in as aifacade with the password in
# PG_PASSWORD_FILE (scram-sha-256); PgBouncer logs in to the server the same way.
#
# Its server is the node named in STATE/target (a volume, so that it
# survives a restart), or at first BOUNCER_TARGET. After a failover
# `bouncer-target.sh NODE` points it at the promoted node (README,
# "Several web nodes on PostgreSQL"). Why not one PgBouncer per node and
# target_session_attrs=read-write in DATABASE: PgBouncer hands every client
# the server parameters of its first server login (in_hot_standby among
# them), so libpq's read-write check through it sees a node as it was then:
# a promoted standby stays "read-only" to libpq, a demoted primary "read-write".
set -euo pipefail

fail() { echo "pgbouncer-start: $*" >&2; exit 1; }
state=${BOUNCER_STATE:-/var/lib/pgbouncer-state}
target=$(cat "$state/target" 2>/dev/null || true)
[ -n "$target" ] || target=${BOUNCER_TARGET:-}
[ -n "$target" ] || fail "set BOUNCER_TARGET to the PostgreSQL primary this PgBouncer serves"
f=${PG_PASSWORD_FILE:-}
{ [ -n "$f" ] && [ -r "$f" ]; } || fail "PG_PASSWORD_FILE must name a readable file holding aifacade's password"
pw=$(head -n1 "$f" | tr -d '\r\n')
dir=/tmp/pgbouncer
mkdir -p "$dir"
printf '"aifacade" "%s"\n' "$pw" >"$dir/userlist.txt"
cat >"$dir/pgbouncer.ini" <<INI
[databases]
aifacade = host=$target port=5432 dbname=aifacade

[pgbouncer]
listen_addr = *
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = ${BOUNCER_MAX_CLIENTS:-1000}
default_pool_size = ${BOUNCER_POOL_SIZE:-40}
; A server that is down is tried again after 1 s, not 15: the promoted
; standby is used as soon as bouncer-target.sh names it.
server_login_retry = 1
server_connect_timeout = 3
; A client waits at most 10 s for a server connection to be lent.
query_wait_timeout = 10
; A server killed mid-query (docker kill, a machine gone) sends no reset:
; keepalive probes 2 s after the last packet, 1 s apart, find it dead
; within about 4 s, and unacknowledged data within 4 s, so the query's
; client gets an error (the app answers 503) instead of waiting for ever.
tcp_keepalive = 1
tcp_keepidle = 2
tcp_keepintvl = 1
tcp_keepcnt = 2
tcp_user_timeout = 4000
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
INI
exec pgbouncer "$dir/pgbouncer.ini"
