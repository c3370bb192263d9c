#!/usr/bin/env bash
# stack.sh: starts and stops a throw-away AIFacade stack for the tests:
# the fake AI provider, lighttpd and Caddy (TLS) on free loopback ports,
# with its own instance directory.
#
#   tests/stack.sh start DIR [NAME=VALUE ...]   start; writes DIR/stack.env
#   tests/stack.sh stop DIR                     stop what start started
#
# DIR/stack.env defines BASE_URL, FAKE_URL and the pids; NAME=VALUE pairs
# override application settings (e.g. RATE_LIMIT_AUTH_IP=3/minute).
#
# PostgreSQL: AIFACADE_TEST_DATABASE (or a DATABASE=postgresql://... pair)
# names a scratch cluster's database, such as tests/pg.sh's DIR/pg.env
# DATABASE; the stack starts no server of its own but makes a fresh
# database beside that one (as each stack has a fresh SQLite file), drops
# it at stop, and its programs run warm (tools/cgi-env.sh). Never point it
# at a database that holds anything of value.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for() { # url seconds
  local url=$1 deadline=$((SECONDS + $2))
  until curl -skf -o /dev/null --max-time 2 "$url"; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# pg_fresh URL NAME: creates database NAME in URL's cluster; prints URL
# with NAME as its database.
pg_fresh() {
  local url=$1 name=$2
  command -v psql >/dev/null || { echo "stack: psql is missing; run 'make deps' (postgresql)" >&2; return 1; }
  [[ "$url" =~ ^(postgres(ql)?://[^/?]*/)([^?]*)(\?.*)?$ ]] ||
    { echo "stack: cannot read the database name in $url" >&2; return 1; }
  psql "$url" -v ON_ERROR_STOP=1 -qXc "CREATE DATABASE $name" >&2 ||
    { echo "stack: cannot create database $name beside $url (above)" >&2; return 1; }
  echo "${BASH_REMATCH[1]}$name${BASH_REMATCH[4]}"
}

start() {
  local dir=$1; shift
  mkdir -p "$dir/instance"
  dir=$(cd "$dir" && pwd)
  local database=${AIFACADE_TEST_DATABASE:-} arg pg_name="" pg_base=""
  for arg in "$@"; do
    case "$arg" in DATABASE=*) database=${arg#DATABASE=} ;; esac
  done
  case "$database" in
    postgresql://* | postgres://*)
      pg_base=$database
      pg_name=stack_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
      database=$(pg_fresh "$pg_base" "$pg_name") || return 1
      # Through DATABASE_FILE, as an operator keeps a URL with a password.
      printf '%s\n' "$database" >"$dir/database.url"
      chmod 0600 "$dir/database.url" ;;
  esac
  local fake_port="" fake_pid=""
  if [ -f "$root/tests/fake_provider.py" ]; then
    # A reused DIR must not hand us the last run's port or pid.
    rm -f "$dir/fake.port" "$dir/fake.pid"
    # 3>&-: bats waits on fd 3; a background server must not hold it open.
    python3 "$root/tests/fake_provider.py" --port 0 --port-file "$dir/fake.port" --pid-file "$dir/fake.pid" \
      >"$dir/fake.log" 2>&1 3>&- &
    for _ in $(seq 100); do [ -s "$dir/fake.port" ] && [ -s "$dir/fake.pid" ] && break; sleep 0.05; done
    # The provider's own pid: "python3" may be a wrapper that forks.
    fake_pid=$(cat "$dir/fake.pid")
    fake_port=$(cat "$dir/fake.port")
  fi
  local https_port http_port caddy_http
  https_port=$(free_port); http_port=$(free_port); caddy_http=$(free_port)
  (
    # Only what the test suite sets: nothing from the developer's shell or .env.
    exec env -i PATH="$PATH" HOME="$dir" LANG=C.UTF-8 \
      AIFACADE_INSTANCE="$dir/instance" AIFACADE_BUILD="${AIFACADE_BUILD:-build}" \
      HTTPS_PORT="$https_port" HTTP_PORT="$http_port" CADDY_HTTP_PORT="$caddy_http" \
      AIFACADE_ACCESSLOG="$dir/access.log" AIFACADE_PIDFILE="$dir/serve.pid" \
      AI_API_URL="http://127.0.0.1:${fake_port:-9}/v1/chat/completions" AI_API_KEY="test-key" \
      AI_MODEL="fake-model" AI_MODELS="fake-model,fake-reasoner" \
      AI_IDLE_TIMEOUT=15 AI_TIMEOUT=20 AI_TITLES=0 ANSWER_STORE_WAIT=10 \
      RATE_LIMIT_AUTH_IP="100000/minute" RATE_LIMIT_LOGIN="10/minute" RATE_LIMIT_PROMPTS="1000/hour" \
      MAX_STREAMS_PER_USER=100 MAX_STREAMS_TOTAL=1000 REGISTRATION=open PASSWORD_HASH_COST=minimum \
      ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
      AIFACADE_SANDBOX="${AIFACADE_SANDBOX:-on}" \
      AIFACADE_MODE="${AIFACADE_MODE:-process}" AIFACADE_PROCS="${AIFACADE_PROCS:-2}" \
      AIFACADE_MAX_REQUESTS="${AIFACADE_MAX_REQUESTS:-1000}" \
      "$@" ${pg_name:+DATABASE= DATABASE_FILE="$dir/database.url"} "$root/tools/serve.sh" >"$dir/serve.log" 2>&1
  ) </dev/null 3>&- &
  local serve_pid=$!
  {
    echo "BASE_URL=https://localhost:$https_port"
    echo "LIGHTTPD_URL=http://127.0.0.1:$http_port"
    echo "FAKE_URL=${fake_port:+http://127.0.0.1:$fake_port}"
    echo "SERVE_PID=$serve_pid"
    echo "FAKE_PID=$fake_pid"
    echo "STACK_DIR=$dir"
    printf 'PG_BASE=%q\n' "$pg_base"
    [ -z "$pg_name" ] || printf 'STACK_DATABASE=%q\n' "$database"
    echo "PG_NAME=$pg_name"
  } >"$dir/stack.env"
  if ! wait_for "https://localhost:$https_port/api/health" 30; then
    echo "stack: the stack did not answer /api/health within 30 s; its log:" >&2
    cat "$dir/serve.log" >&2
    stop "$dir"
    return 1
  fi
}

stop() {
  local dir=$1
  [ -f "$dir/stack.env" ] || return 0
  # shellcheck source=/dev/null
  . "$dir/stack.env"
  for pid in ${SERVE_PID:-} ${FAKE_PID:-}; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in ${SERVE_PID:-} ${FAKE_PID:-}; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -n "${PG_NAME:-}" ] && [ -n "${PG_BASE:-}" ]; then
    psql "$PG_BASE" -qXc "DROP DATABASE IF EXISTS $PG_NAME WITH (FORCE)" >/dev/null ||
      echo "stack: could not drop database $PG_NAME (above)" >&2
  fi
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: tests/stack.sh start|stop DIR [NAME=VALUE ...]" >&2; exit 2 ;;
esac
