# helpers.bash: shared helpers for the bats suites: HTTP calls through Caddy,
# accounts, and a private stack for suites that need special settings.
# shellcheck shell=bash

load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

: "${BASE_URL:?BASE_URL is set by tests/run.sh (or by you, for a deployed stack)}"
UA=${UA:-aifacade-tests/1.0}

# api METHOD PATH [JSON] [curl args...]: sets $code, $body, $headers_file.
# Uses the cookie jar $JAR (one per test by default). A call gives up after
# API_MAX_TIME seconds (60: a loaded 2-core machine may queue a password
# hash behind the dozens another test left in flight).
api() {
  local method=$1 path=$2 data=${3:-}
  shift 3 2>/dev/null || shift $#
  local jar=${JAR:-$BATS_TEST_TMPDIR/jar}
  headers_file=$BATS_TEST_TMPDIR/headers
  local args=(-sk -X "$method" -o "$BATS_TEST_TMPDIR/body" -D "$headers_file" -w '%{http_code}'
    -b "$jar" -c "$jar" -A "$UA" --max-time "${API_MAX_TIME:-60}")
  if [ -n "$data" ]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$data")
  fi
  if [ -n "${CSRF:-}" ]; then
    args+=(-H "X-CSRF-Token: $CSRF")
  fi
  code=$(curl "${args[@]}" "$@" "$BASE_URL$path")
  body=$(<"$BATS_TEST_TMPDIR/body")
}

# header NAME: the value of a response header of the last api call (the
# first, when it came twice). In bash itself: the suites ask often, and a
# pipeline of four programs per question cost more than the request.
header() {
  local line start want=${1,,}:
  while IFS= read -r line || [ -n "$line" ]; do
    start=${line:0:${#want}}
    if [ "${start,,}" = "$want" ]; then
      line=${line:${#want}}
      line=${line%$'\r'}
      printf '%s\n' "${line# }"
      return 0
    fi
  done <"$headers_file"
}

# json FILTER: applies jq to the last body.
json() {
  jq -r "$1" <<<"$body"
}

unique_name() {
  local now=${EPOCHREALTIME/./}
  echo "u${now: -8}${BATS_TEST_NUMBER:-0}$RANDOM"
}

# credentials NAME PASSWORD: sets $credentials to the JSON body of a
# register or login. Plain names and passwords are written by bash itself
# (every test registers someone); anything else goes through jq.
credentials() {
  local plain='^[][A-Za-z0-9 _.,:;!?@#%&*()+=/<>^~|{}$-]*$'
  if [[ $1 =~ $plain && $2 =~ $plain ]]; then
    credentials="{\"username\":\"$1\",\"password\":\"$2\"}"
  else
    credentials=$(jq -cn --arg u "$1" --arg p "$2" '{username:$u,password:$p}')
  fi
}

# register NAME [PASSWORD]: registers and keeps the session in $JAR; sets CSRF.
register() {
  local name=$1 pass=${2:-correct horse battery} credentials
  credentials "$name" "$pass"
  api POST /api/register "$credentials"
  [ "$code" = 201 ] || { echo "register $name: $code $body" >&2; return 1; }
  fetch_csrf
}

login() {
  local name=$1 pass=${2:-correct horse battery} credentials
  credentials "$name" "$pass"
  api POST /api/login "$credentials"
}

fetch_csrf() {
  api GET /api/me
  [ "$code" = 200 ] || { echo "me: $code $body" >&2; return 1; }
  local token='"csrf_token": ?"([A-Za-z0-9_.:+/=-]+)"'
  if [[ $body =~ $token ]]; then
    CSRF=${BASH_REMATCH[1]}
  else
    CSRF=$(json .csrf_token)
  fi
  export CSRF
}

# new_user: registers a fresh user; sets USERNAME, CSRF and the cookie jar.
new_user() {
  USERNAME=$(unique_name)
  register "$USERNAME"
}

# The stacks a suite may run against (tests/run.sh sets them up):
#   local    tests/stack.sh: STACK_DIR holds instance/ and serve.log.
#   docker   tools/docker-test.sh (make test-docker): the containers;
#            STACK_DIR holds instance/ (the web container's volume), the
#            log comes from `docker logs`, and suites that need settings
#            of their own get a compose project of their own
#            (AIFACADE_STACK_CMD names the script that starts one).
#   deployed only BASE_URL (a stack elsewhere): no files, no second stack.
# Against docker the suites run as against a local stack; only what needs
# this machine's processes or files skips, and says so.

# stack_cmd start|stop DIR [NAME=VALUE ...]: starts or stops a stack of the
# current kind (tests/stack.sh, or the Docker one's stack-start/stack-stop).
stack_cmd() {
  local action=$1; shift
  if [ -n "${AIFACADE_STACK_CMD:-}" ]; then
    "$AIFACADE_STACK_CMD" "stack-$action" "$@" 3>&-
  else
    "$BATS_TEST_DIRNAME/stack.sh" "$action" "$@" 3>&-
  fi
}

# can_start_stacks: true unless only a deployed BASE_URL is at hand.
can_start_stacks() {
  [ -z "${DEPLOYED:-}" ] || [ -n "${AIFACADE_STACK_CMD:-}" ]
}

# private_stack_start [NAME=VALUE ...]: starts a stack of the suite's own
# (call it from setup_file). With only a deployed BASE_URL it starts
# nothing: the suite's setup() calls needs_private_stack, which skips each
# test (bats 1.8.2, Debian 12's, reports a skip in setup_file as a failure).
private_stack_start() {
  can_start_stacks || return 0
  PRIVATE_DIR=$BATS_FILE_TMPDIR/stack
  stack_cmd start "$PRIVATE_DIR" "$@"
  # shellcheck source=/dev/null
  . "$PRIVATE_DIR/stack.env"
  export BASE_URL FAKE_URL LIGHTTPD_URL STACK_DIR STACK_KIND COMPOSE_PROJECT PRIVATE_DIR
}

needs_private_stack() {
  can_start_stacks || skip "needs a stack with settings of its own; a deployed BASE_URL has only its own settings"
}

private_stack_stop() {
  [ -z "${PRIVATE_DIR:-}" ] || stack_cmd stop "$PRIVATE_DIR"
}

# needs_local: skips a test that reads the stack's files (database, logs).
needs_local() {
  [ -n "${STACK_DIR:-}" ] || skip "needs the stack's files (database, log); a deployed BASE_URL has none here"
}

# needs_processes: skips a test that signals the stack's processes, which a
# stack elsewhere does not show this machine.
needs_processes() {
  [ -n "${STACK_DIR:-}" ] || skip "signals the stack's processes; a deployed BASE_URL runs elsewhere"
}

# docker_cli ARGS...: the docker client tools/docker-test.sh found talking to the daemon.
docker_cli() {
  "${DOCKER_TEST_CLIENT:-docker}" "$@"
}

# compose_service NAME: the id of the docker stack's container of service NAME.
compose_service() {
  docker_cli ps -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -1
}

# web_container: the id of the docker stack's web container.
web_container() {
  compose_service web
}

# stack_log: the stack's server log so far (lighttpd's, the programs' and
# the access log): serve.log of a local stack, `docker logs` of the web container.
stack_log() {
  if [ "${STACK_KIND:-local}" = docker ]; then
    docker_cli logs "$(web_container)" 2>&1
  else
    cat "$STACK_DIR/serve.log"
  fi
}

# access_log_has ERE [COUNT]: waits until at least COUNT (1) lines of the
# stack's access log match ERE, for at most 5 s (lighttpd writes its access
# log about once a second), and fails if they never do.
access_log_has() {
  local want=${2:-1} log
  for _ in $(seq 50); do
    if [ "${STACK_KIND:-local}" = docker ]; then log=$(stack_log); else log=$(<"$STACK_DIR/access.log"); fi
    [ "$(grep -cE -- "$1" <<<"$log")" -ge "$want" ] && return 0
    sleep 0.1
  done
  echo "the access log has fewer than $want lines matching $1" >&2
  return 1
}

# lighttpd_pid: the pid (on this machine) of the stack's lighttpd: a child
# of serve.sh locally, the web container's first process under Docker.
lighttpd_pid() {
  if [ "${STACK_KIND:-local}" = docker ]; then
    docker_cli inspect --format '{{.State.Pid}}' "$(web_container)"
  else
    local serve
    # shellcheck source=/dev/null
    serve=$(. "$STACK_DIR/stack.env" && echo "$SERVE_PID")
    pgrep -P "$serve" -x lighttpd
  fi
}

# sqlite3: the suites' SQLite shell waits for a lock as the programs do
# (5 s) instead of failing at once with "database is locked" while the
# stack writes or checkpoints.
sqlite3() {
  command sqlite3 -cmd '.timeout 5000' "$@"
}

# stack_pg: prints the PostgreSQL database of the stack (tests/stack.sh,
# AIFACADE_TEST_DATABASE), or nothing when it runs on SQLite.
stack_pg() {
  [ -f "$STACK_DIR/stack.env" ] || return 0
  # shellcheck source=/dev/null
  (. "$STACK_DIR/stack.env" && echo "${STACK_DATABASE:-}")
}

# sql QUERY: runs a read-only query on the stack's database (the web
# container's volume under Docker: the same file, read from here; psql,
# printing as sqlite3 does, when the stack runs on PostgreSQL).
sql() {
  local pg
  pg=$(stack_pg)
  if [ -n "$pg" ]; then
    psql "$pg" -AtqX -v ON_ERROR_STOP=1 -c 'BEGIN TRANSACTION READ ONLY' -c "$1" -c 'ROLLBACK'
  else
    sqlite3 -readonly "$STACK_DIR/instance/aifacade.db" "$1"
  fi
}

# sql_write STATEMENTS: changes the stack's database behind the app's back
# (an expired invitation, a row as an older build left it), on either backend.
sql_write() {
  local pg
  pg=$(stack_pg)
  if [ -n "$pg" ]; then
    psql "$pg" -AtqX -v ON_ERROR_STOP=1 -c "$1"
  else
    sqlite3 "$STACK_DIR/instance/aifacade.db" "$1"
  fi
}

# needs_sqlite REASON: skips a test that only means something on SQLite
# (its file, its lock, its backup) when the stack runs on PostgreSQL.
needs_sqlite() {
  [ -z "$(stack_pg)" ] || skip "on SQLite only: $1"
}
