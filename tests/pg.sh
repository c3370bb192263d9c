#!/usr/bin/env bash
# pg.sh: starts and stops a throw-away PostgreSQL cluster with PgBouncer in
# front of it, for the tests of the PostgreSQL backend (docs/issue14-plan.md).
#
#   tests/pg.sh start DIR   initdb, start PostgreSQL and PgBouncer; writes DIR/pg.env
#   tests/pg.sh standby DIR PRIMARY_DIR   a streaming hot standby of that cluster
#   tests/pg.sh promote DIR                 makes that standby the primary
#   tests/pg.sh stop DIR    stop both by the pids that start recorded
#
# Both listen only on Unix sockets in DIR (no TCP port at all): PostgreSQL's
# socket in DIR/run, PgBouncer's (transaction pooling, as in production) in
# DIR/bouncer. DIR/pg.env defines
#   DATABASE         postgresql:// URL through PgBouncer (what the app uses)
#   DATABASE_DIRECT  postgresql:// URL of PostgreSQL itself (migrations, admin)
#   PG_PID, PGBOUNCER_PID
# The servers run as the invoking user, or as PG_USER (default: postgres)
# when invoked as root: neither PostgreSQL nor PgBouncer runs as root. Only
# that user and root can open the sockets (mode 0700), so local connections
# are trusted without a password.
set -euo pipefail

PG_WAIT=${PG_WAIT:-30}    # seconds for initdb's cluster to accept connections
DB_NAME=aifacade
DB_USER=aifacade
PG_PORT=5432              # names the socket file (.s.PGSQL.5432), not a TCP port
BOUNCER_PORT=6432

die() { echo "pg.sh: $*" >&2; exit 1; }

find_bindir() {
  local d
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

# as_owner CMD...: runs CMD as the user that owns the cluster.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$owner" -- "$@"
  else
    "$@"
  fi
}

# wait_pidfile FILE SECONDS: waits for FILE to name a live process.
wait_pidfile() {
  local file=$1 deadline=$((SECONDS + $2)) pid
  while [ $SECONDS -lt "$deadline" ]; do
    if [ -s "$file" ]; then
      pid=$(head -n 1 "$file")
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; return 0; fi
    fi
    sleep 0.1
  done
  return 1
}

# wait_socket BINDIR SOCKETDIR PORT SECONDS: waits until a server answers there.
wait_socket() {
  local bindir=$1 sockdir=$2 port=$3 deadline=$((SECONDS + $4))
  until "$bindir/pg_isready" -q -h "$sockdir" -p "$port" -d "$DB_NAME" -U "$DB_USER" -t 1; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# find_owner: sets owner, the user the servers run as: the invoking user,
# or PG_USER (postgres) when that is root.
find_owner() {
  owner=$(id -un)
  if [ "$(id -u)" -eq 0 ]; then
    owner=${PG_USER:-postgres}
    id "$owner" >/dev/null 2>&1 || die "user '$owner' does not exist; PostgreSQL will not run as root:" \
      "install Debian's postgresql package (it creates 'postgres') or set PG_USER to an unprivileged user"
  fi
}

# run_postgres DIR BINDIR WHAT: starts PostgreSQL on DIR/data (its socket in
# DIR/run) and waits until it answers; sets pg_pid. WHAT names it in errors.
run_postgres() {
  local dir=$1 bindir=$2 what=$3
  as_owner "$bindir/postgres" -D "$dir/data" >"$dir/postgres.log" 2>&1 3>&- </dev/null &
  if ! pg_pid=$(wait_pidfile "$dir/data/postmaster.pid" "$PG_WAIT") \
    || ! wait_socket "$bindir" "$dir/run" "$PG_PORT" "$PG_WAIT"; then
    tail -n 20 "$dir/postgres.log" >&2 || true
    stop "$dir"
    die "$what did not accept connections within ${PG_WAIT}s (log above, in $dir/postgres.log);" \
      "raise PG_WAIT on a slow machine"
  fi
}

start() {
  local dir=$1 bindir
  bindir=$(find_bindir) || die "no PostgreSQL server found under /usr/lib/postgresql/*/bin;" \
    "install it with tools/install-deps.sh (Debian's postgresql package)"
  command -v pgbouncer >/dev/null || die "pgbouncer not found; install it with tools/install-deps.sh"
  find_owner
  # DIR goes into URLs and configuration files unquoted.
  case "$dir" in *[!A-Za-z0-9/._-]*) die "DIR '$dir' has characters other than letters, digits and /._-; use one made by mktemp -d" ;; esac
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  case "$dir" in *[!A-Za-z0-9/._-]*) die "DIR '$dir' has characters other than letters, digits and /._-; use one made by mktemp -d" ;; esac
  [ ! -e "$dir/data" ] || die "$dir/data exists: stop that cluster first (tests/pg.sh stop $dir) and remove it"
  # A Unix socket's path has room for 107 bytes (sockaddr_un).
  local longest="$dir/bouncer/.s.PGSQL.$BOUNCER_PORT"
  [ ${#longest} -le 100 ] || die "DIR is too long for a Unix socket path ($longest); use a shorter one, e.g. under /tmp"

  # DIR may be root's mode-0700 temporary directory: the owner needs to pass through it.
  [ "$owner" = "$(id -un)" ] || chmod o+x "$dir"
  mkdir -p "$dir/data" "$dir/run" "$dir/bouncer"
  chmod 700 "$dir/data" "$dir/run" "$dir/bouncer"
  [ "$owner" = "$(id -un)" ] || chown "$owner" "$dir/data" "$dir/run" "$dir/bouncer"

  if ! as_owner "$bindir/initdb" -D "$dir/data" -U "$DB_USER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed (log above, also in $dir/initdb.log)"
  fi
  # Unix socket only; a small cluster that starts fast. fsync off: the cluster
  # is thrown away after the tests, and nothing here measures durability.
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
port = $PG_PORT
unix_socket_directories = '$dir/run'
unix_socket_permissions = 0700
max_connections = 100
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF
  local pg_pid
  run_postgres "$dir" "$bindir" PostgreSQL
  if ! as_owner "$bindir/psql" -X -q -h "$dir/run" -p "$PG_PORT" -U "$DB_USER" -d postgres \
    -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >"$dir/createdb.log" 2>&1; then
    cat "$dir/createdb.log" >&2
    stop "$dir"
    die "could not create database $DB_NAME (above)"
  fi

  # PgBouncer in transaction pooling: a server connection is lent for one
  # transaction, so the app may use neither session state nor named prepared
  # statements (PgBouncer 1.18 does not carry them across connections).
  cat >"$dir/bouncer/pgbouncer.ini" <<EOF
[databases]
$DB_NAME = host=$dir/run port=$PG_PORT dbname=$DB_NAME user=$DB_USER
; Any other database of the cluster by its own name (tests/stack.sh makes
; one per stack).
* = host=$dir/run port=$PG_PORT user=$DB_USER

[pgbouncer]
listen_addr =
listen_port = $BOUNCER_PORT
unix_socket_dir = $dir/bouncer
unix_socket_mode = 0700
auth_type = trust
auth_file = $dir/bouncer/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 500
logfile = $dir/bouncer/pgbouncer.log
pidfile = $dir/bouncer/pgbouncer.pid
EOF
  printf '"%s" ""\n' "$DB_USER" >"$dir/bouncer/userlist.txt"
  [ "$owner" = "$(id -un)" ] || chown "$owner" "$dir/bouncer/pgbouncer.ini" "$dir/bouncer/userlist.txt"
  if ! as_owner pgbouncer -d -q "$dir/bouncer/pgbouncer.ini" >"$dir/bouncer/start.log" 2>&1 </dev/null 3>&-; then
    cat "$dir/bouncer/start.log" >&2
    stop "$dir"
    die "pgbouncer did not start (above)"
  fi
  local bouncer_pid
  if ! bouncer_pid=$(wait_pidfile "$dir/bouncer/pgbouncer.pid" "$PG_WAIT") \
    || ! wait_socket "$bindir" "$dir/bouncer" "$BOUNCER_PORT" "$PG_WAIT"; then
    tail -n 20 "$dir/bouncer/pgbouncer.log" >&2 || true
    stop "$dir"
    die "PgBouncer did not accept connections within ${PG_WAIT}s (log above, in $dir/bouncer/pgbouncer.log)"
  fi
  cat >"$dir/pg.env" <<EOF
DATABASE='postgresql://$DB_USER@/$DB_NAME?host=$dir/bouncer&port=$BOUNCER_PORT'
DATABASE_DIRECT='postgresql://$DB_USER@/$DB_NAME?host=$dir/run&port=$PG_PORT'
PG_PID=$pg_pid
PGBOUNCER_PID=$bouncer_pid
PG_BINDIR=$bindir
EOF
}

# standby DIR PRIMARY_DIR: a hot standby of the cluster in PRIMARY_DIR
# (started by `start`), streaming from it: pg_basebackup of its data, then
# PostgreSQL on a socket of its own in DIR/run. No PgBouncer: the failover
# test (tests/failover.bats) names both servers in one libpq URL. DIR/pg.env
# defines DATABASE_DIRECT, PG_PID and PG_BINDIR.
standby() {
  local dir=$1 primary bindir
  primary=$(cd "$2" && pwd)
  [ -f "$primary/pg.env" ] || die "$primary/pg.env is missing: start that cluster first (tests/pg.sh start $primary)"
  bindir=$(find_bindir) || die "no PostgreSQL server found; install it with tools/install-deps.sh"
  find_owner
  case "$dir" in *[!A-Za-z0-9/._-]*) die "DIR '$dir' has characters other than letters, digits and /._-; use one made by mktemp -d" ;; esac
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ ! -e "$dir/data" ] || die "$dir/data exists: stop that server first (tests/pg.sh stop $dir) and remove it"
  [ "$owner" = "$(id -un)" ] || chmod o+x "$dir"
  mkdir -p "$dir/data" "$dir/run"
  chmod 700 "$dir/data" "$dir/run"
  [ "$owner" = "$(id -un)" ] || chown "$owner" "$dir/data" "$dir/run"
  # -R writes standby.signal and primary_conninfo (the primary's socket);
  # -c fast: a spread checkpoint would take most of checkpoint_timeout.
  if ! as_owner "$bindir/pg_basebackup" -h "$primary/run" -p "$PG_PORT" -U "$DB_USER" -D "$dir/data" -R \
    -c fast -X stream --no-sync >"$dir/basebackup.log" 2>&1; then
    cat "$dir/basebackup.log" >&2
    die "pg_basebackup from $primary failed (above, also in $dir/basebackup.log)"
  fi
  echo "unix_socket_directories = '$dir/run'" >>"$dir/data/postgresql.conf"
  local pg_pid
  run_postgres "$dir" "$bindir" "the standby"
  cat >"$dir/pg.env" <<EOF2
DATABASE_DIRECT='postgresql://$DB_USER@/$DB_NAME?host=$dir/run&port=$PG_PORT'
PG_PID=$pg_pid
PG_BINDIR=$bindir
EOF2
}

# promote DIR: makes the standby in DIR a primary (pg_ctl promote, waiting
# until it takes writes).
promote() {
  local dir bindir
  dir=$(cd "$1" && pwd)
  bindir=$(find_bindir) || die "no PostgreSQL server found"
  find_owner
  as_owner "$bindir/pg_ctl" promote -w -t "$PG_WAIT" -D "$dir/data" >/dev/null
}

# stop_pid PIDFILE MARK SIGNAL: stops the process the file names, if its
# command line mentions MARK (a pid file outlives its process; the pid may
# have been handed to another since), waiting at most 10 s before SIGKILL.
stop_pid() {
  local file=$1 mark=$2 sig=$3 pid
  [ -s "$file" ] || return 0
  pid=$(head -n 1 "$file")
  case "$pid" in '' | *[!0-9]*) return 0 ;; esac
  [ -r "/proc/$pid/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$mark" || return 0
  kill "-$sig" "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge "$deadline" ]; then
      echo "pg.sh: pid $pid ($mark) did not stop in 10 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  # PgBouncer first, so that no client gets through to a closing server.
  stop_pid "$dir/bouncer/pgbouncer.pid" "$dir/bouncer/pgbouncer.ini" TERM
  # SIGINT is PostgreSQL's fast shutdown: ends the sessions, writes a checkpoint.
  stop_pid "$dir/data/postmaster.pid" "$dir/data" INT
}

usage="usage: tests/pg.sh start DIR | standby DIR PRIMARY_DIR | promote DIR | stop DIR"
case "${1:-}" in
  start) [ $# -eq 2 ] || die "$usage"; start "$2" ;;
  standby) [ $# -eq 3 ] || die "$usage"; standby "$2" "$3" ;;
  promote) [ $# -eq 2 ] || die "$usage"; promote "$2" ;;
  stop) [ $# -eq 2 ] || die "$usage"; stop "$2" ;;
  *) die "$usage" ;;
esac
