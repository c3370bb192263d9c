# helpers.bash: shared helpers for the bats suites: HTTP calls through Caddy,
# accounts, and a private stack for suites that need special settings.
# shellcheck shell=bash

load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

: "${BASE_URL:?BASE_URL is set by tests/run.sh (or by you, for a deployed stack)}"
UA=${UA:-aifacade-tests/1.0}

# api METHOD PATH [JSON] [curl args...]: sets $code, $body, $headers_file.
# Uses the cookie jar $JAR (one per test by default).
api() {
  local method=$1 path=$2 data=${3:-}
  shift 3 2>/dev/null || shift $#
  local jar=${JAR:-$BATS_TEST_TMPDIR/jar}
  headers_file=$BATS_TEST_TMPDIR/headers
  local args=(-sk -X "$method" -o "$BATS_TEST_TMPDIR/body" -D "$headers_file" -w '%{http_code}'
    -b "$jar" -c "$jar" -A "$UA" --max-time 30)
  if [ -n "$data" ]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$data")
  fi
  if [ -n "${CSRF:-}" ]; then
    args+=(-H "X-CSRF-Token: $CSRF")
  fi
  code=$(curl "${args[@]}" "$@" "$BASE_URL$path")
  body=$(cat "$BATS_TEST_TMPDIR/body")
}

# header NAME: the value of a response header of the last api call.
header() {
  grep -i "^$1:" "$headers_file" | head -1 | cut -d' ' -f2- | tr -d '\r'
}

# json FILTER: applies jq to the last body.
json() {
  jq -r "$1" <<<"$body"
}

unique_name() {
  echo "u$(date +%s%N | tail -c 9)${BATS_TEST_NUMBER:-0}$RANDOM"
}

# register NAME [PASSWORD]: registers and keeps the session in $JAR; sets CSRF.
register() {
  local name=$1 pass=${2:-correct horse battery}
  api POST /api/register "$(jq -cn --arg u "$name" --arg p "$pass" '{username:$u,password:$p}')"
  [ "$code" = 201 ] || { echo "register $name: $code $body" >&2; return 1; }
  fetch_csrf
}

login() {
  local name=$1 pass=${2:-correct horse battery}
  api POST /api/login "$(jq -cn --arg u "$name" --arg p "$pass" '{username:$u,password:$p}')"
}

fetch_csrf() {
  api GET /api/me
  [ "$code" = 200 ] || { echo "me: $code $body" >&2; return 1; }
  CSRF=$(json .csrf_token)
  export CSRF
}

# new_user: registers a fresh user; sets USERNAME, CSRF and the cookie jar.
new_user() {
  USERNAME=$(unique_name)
  register "$USERNAME"
}

# Suites that need settings of their own start a private stack in setup_file.
# They are skipped against a deployed stack (BASE_URL given from outside).
# private_stack_start [NAME=VALUE ...]: starts a stack of the suite's own
# (call it from setup_file). Against a deployed BASE_URL it starts nothing:
# the suite's setup() calls needs_private_stack, which skips each test
# (bats 1.8.2, Debian 12's, reports a skip in setup_file as a failure).
private_stack_start() {
  [ -z "${DEPLOYED:-}" ] || return 0
  PRIVATE_DIR=$BATS_FILE_TMPDIR/stack
  "$BATS_TEST_DIRNAME/stack.sh" start "$PRIVATE_DIR" "$@"
  # shellcheck source=/dev/null
  . "$PRIVATE_DIR/stack.env"
  export BASE_URL FAKE_URL LIGHTTPD_URL STACK_DIR
}

needs_private_stack() {
  [ -z "${DEPLOYED:-}" ] || skip "needs its own stack; not run against a deployed BASE_URL"
}

private_stack_stop() {
  [ -z "${PRIVATE_DIR:-}" ] || "$BATS_TEST_DIRNAME/stack.sh" stop "$PRIVATE_DIR"
}

# needs_local: skips a test that reads the stack's files (database, logs).
needs_local() {
  [ -n "${STACK_DIR:-}" ] || skip "needs the local stack's files"
}

# sqlite3: the suites' SQLite shell waits for a lock as the programs do
# (5 s) instead of failing at once with "database is locked" while the
# stack writes or checkpoints.
sqlite3() {
  command sqlite3 -cmd '.timeout 5000' "$@"
}

# sql QUERY: runs a read-only query on the stack's database.
sql() {
  sqlite3 -readonly "$STACK_DIR/instance/aifacade.db" "$1"
}
