#!/usr/bin/env bash
# pg-node.sh: one PostgreSQL node of docker-compose.cluster.yml, in the
# foreground (exec postgres, so `docker stop` is a fast shutdown).
#
# On an empty data directory ($PGDATA, a volume) it makes the node:
#   PG_FOLLOW unset   a primary: initdb, the application's role and
#                     database (aifacade), the replication role (replicator)
#   PG_FOLLOW=HOST    a streaming standby of the primary at HOST:
#                     pg_basebackup, then primary_conninfo naming this node
#                     (application_name=PG_NODE_NAME, which the primary's
#                     synchronous_standby_names lists)
# A data directory that exists is started as it is: a standby stays one
# until promoted (pg_ctl promote), a primary stays one. After a failover the
# old primary must not start on its old data (README, "Several web nodes on
# PostgreSQL"): empty its volume and start it with PG_FOLLOW naming the new one.
#
# Settings (environment): PG_NODE_NAME (this node's name), PG_FOLLOW,
# PG_SYNC_STANDBY (the standby names a commit waits for: synchronous
# replication; empty: none; read when the node is made, then ALTER SYSTEM's), PG_PASSWORD_FILE (the aifacade role's
# password), PG_REPLICATION_PASSWORD_FILE (the replicator role's),
# PG_MAX_CONNECTIONS (200). Passwords are read from files (Docker secrets),
# never from the command line.
set -euo pipefail

say() { echo "pg-node ${PG_NODE_NAME:-?}: $*"; }
fail() { echo "pg-node ${PG_NODE_NAME:-?}: $*" >&2; exit 1; }

: "${PGDATA:?}"
name=${PG_NODE_NAME:-}
[ -n "$name" ] || fail "set PG_NODE_NAME to the name of this node (e.g. pg1)"
follow=${PG_FOLLOW:-}
secret() { # VAR: the first line of the file VAR names
  local f=${!1:-}
  { [ -n "$f" ] && [ -r "$f" ]; } || fail "$1 must name a readable file holding the password (got '${f}')"
  head -n1 "$f" | tr -d '\r\n'
}
app_pw=$(secret PG_PASSWORD_FILE)
repl_pw=$(secret PG_REPLICATION_PASSWORD_FILE)
case "$app_pw$repl_pw" in
  *"'"* | *\\* | *" "*) fail "the passwords may not hold quotes, backslashes or spaces (use e.g. openssl rand -hex 24)" ;;
esac
sock=/tmp

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$follow" ]; then
    say "an empty data directory: making a primary"
    initdb -D "$PGDATA" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    # Any address may try; each must know its role's password (scram).
    {
      echo "host all all all scram-sha-256"
      echo "host replication replicator all scram-sha-256"
    } >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=$sock" start >/dev/null
    psql -h "$sock" -U postgres -v ON_ERROR_STOP=1 -q \
      -v app_pw="$app_pw" -v repl_pw="$repl_pw" -v sync="${PG_SYNC_STANDBY:-}" <<'SQL'
CREATE ROLE aifacade LOGIN PASSWORD :'app_pw';
CREATE DATABASE aifacade OWNER aifacade;
CREATE ROLE replicator REPLICATION LOGIN PASSWORD :'repl_pw';
ALTER SYSTEM SET synchronous_standby_names = :'sync';
SQL
    pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
  else
    say "an empty data directory: a standby of $follow"
    for i in $(seq 120); do
      pg_isready -q -h "$follow" -p 5432 && break
      [ "$i" -lt 120 ] || fail "the primary $follow did not answer within 60 s"
      sleep 0.5
    done
    PGPASSWORD=$repl_pw pg_basebackup -h "$follow" -p 5432 -U replicator -D "$PGDATA" \
      -X stream -c fast --no-password
    chmod 0700 "$PGDATA"
    # The base backup brought the primary's synchronous_standby_names: this
    # node's own replaces it (the last line of the file wins).
    {
      echo "primary_conninfo = 'host=$follow port=5432 user=replicator password=$repl_pw application_name=$name'"
      echo "synchronous_standby_names = '${PG_SYNC_STANDBY:-}'"
    } >>"$PGDATA/postgresql.auto.conf"
    touch "$PGDATA/standby.signal"
  fi
fi

# A primary whose peer is a primary too was failed over while it was down:
# its data is behind the promoted node's and must never take writes beside
# it (two primaries: each web node would write to either).
peer=${PG_PEER:-}
if [ -n "$peer" ] && [ ! -f "$PGDATA/standby.signal" ]; then
  if in_recovery=$(PGPASSWORD=$repl_pw PGCONNECT_TIMEOUT=3 psql -h "$peer" -U replicator -d postgres -Atc \
      'SELECT pg_is_in_recovery()' 2>/dev/null) && [ "$in_recovery" = f ]; then
    fail "$peer is a primary (promoted while this node was down): this node's data must not take writes beside it; rebuild it as $peer's standby: remove its volume and start it with PG_FOLLOW=$peer (README, \"Several web nodes on PostgreSQL\")"
  fi
fi

if [ -f "$PGDATA/standby.signal" ]; then say "starting as a standby"; else say "starting as a primary"; fi
# synchronous_standby_names is not on the command line, which would
# override ALTER SYSTEM: it is set when the node is made (above), and an
# operator changes it with ALTER SYSTEM (README, after a failover).
exec postgres -D "$PGDATA" \
  -c listen_addresses='*' \
  -c unix_socket_directories="$sock" \
  -c max_connections="${PG_MAX_CONNECTIONS:-200}" \
  -c wal_level=replica \
  -c max_wal_senders=10 \
  -c wal_keep_size=256MB \
  -c hot_standby=on \
  -c synchronous_commit=on \
  -c cluster_name="$name"
