#!/usr/bin/env bash
# pgbouncer-start.sh: a PgBouncer of docker-compose.cluster.yml, in the
# foreground, in front of one PostgreSQL node (BOUNCER_TARGET). Transaction
# pooling, as tests/pg.sh runs it (common/store_pg.c uses no named prepared
# statements). Clients log in as aifacade with the password in
# PG_PASSWORD_FILE (scram-sha-256); PgBouncer logs in to the server the same way.
#
# One PgBouncer stands beside each PostgreSQL node; the web nodes' DATABASE
# names them all with target_session_attrs=read-write, so libpq finds the
# one whose server takes writes (README, "Several web nodes on PostgreSQL").
set -euo pipefail

fail() { echo "pgbouncer-start: $*" >&2; exit 1; }
target=${BOUNCER_TARGET:?set BOUNCER_TARGET to the PostgreSQL node this PgBouncer serves}
f=${PG_PASSWORD_FILE:-}
{ [ -n "$f" ] && [ -r "$f" ]; } || fail "PG_PASSWORD_FILE must name a readable file holding aifacade's password"
pw=$(head -n1 "$f" | tr -d '\r\n')
dir=$(mktemp -d)
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
; A server that is down is tried again after 1 s, not 15: a standby
; promoted behind the other PgBouncer is found at once, and this one's
; server is used again as soon as it is back.
server_login_retry = 1
server_connect_timeout = 3
; A query a dead server never answers fails its client instead of hanging.
query_wait_timeout = 10
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
INI
exec pgbouncer "$dir/pgbouncer.ini"
