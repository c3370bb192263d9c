#!/usr/bin/env bats
# failover.bats: DATABASE naming two PostgreSQL servers, a primary and its
# streaming standby, with target_session_attrs=read-write (README, "Moving
# from SQLite to PostgreSQL"): the programs write to the primary only; when
# it dies they answer 503 with a log line naming why each server was passed
# over, and once the standby is promoted they find it by themselves, with
# every write they had answered. Commits wait for the standby
# (synchronous_standby_names), as in the cluster's compose file.
#
# Its own two servers (tests/pg.sh start, standby) and a private stack in
# persistent mode: its workers hold their connections across the failover.

load helpers

setup_file() {
  can_start_stacks || return 0
  [ -z "${AIFACADE_STACK_CMD:-}" ] || return 0   # the containers cannot reach these sockets
  [ "${AIFACADE_TEST_PG:-}" != off ] || return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || return 0
  FO_DIR=$(mktemp -d /tmp/aifacade-fo.XXXXXX)
  export FO_DIR
  chmod o+x "$FO_DIR"   # the servers run as postgres when the tests run as root
  "$BATS_TEST_DIRNAME/pg.sh" start "$FO_DIR/p" 3>&-
  "$BATS_TEST_DIRNAME/pg.sh" standby "$FO_DIR/s" "$FO_DIR/p" 3>&-
  # A commit returns once the standby has it (pg.sh's own cluster does not
  # wait: nothing else there measures durability).
  primary_sql "ALTER SYSTEM SET synchronous_standby_names = '*'"
  primary_sql "ALTER SYSTEM SET synchronous_commit = on"
  primary_sql "SELECT pg_reload_conf()" >/dev/null
  AIFACADE_MODE=persistent private_stack_start \
    "DATABASE=postgresql://aifacade@/aifacade?host=$FO_DIR/p/run,$FO_DIR/s/run&target_session_attrs=read-write&connect_timeout=2"
}

teardown_file() {
  [ -n "${FO_DIR:-}" ] || return 0
  private_stack_stop
  "$BATS_TEST_DIRNAME/pg.sh" stop "$FO_DIR/s" 3>&-
  "$BATS_TEST_DIRNAME/pg.sh" stop "$FO_DIR/p" 3>&-
  rm -rf "$FO_DIR"
}

setup() {
  needs_private_stack
  [ -z "${AIFACADE_STACK_CMD:-}" ] || skip "starts PostgreSQL servers on this machine's Unix sockets, which the containers cannot reach"
  [ "${AIFACADE_TEST_PG:-}" != off ] || skip "AIFACADE_TEST_PG=off: no PostgreSQL here"
  [ -n "${FO_DIR:-}" ] || skip "PostgreSQL is not installed (tools/install-deps.sh installs it)"
}

# primary_sql / standby_sql QUERY: psql straight to one server (the stack's
# own database, or aifacade before the stack made one).
primary_sql() { psql "$(server_url p)" -AtqX -v ON_ERROR_STOP=1 -c "$1"; }
standby_sql() { psql "$(server_url s)" -AtqX -v ON_ERROR_STOP=1 -c "$1"; }
server_url() {
  local db=aifacade
  [ ! -f "${STACK_DIR:-/nonexistent}/database.url" ] || { db=$(<"$STACK_DIR/database.url"); db=${db#*@/}; db=${db%%\?*}; }
  echo "postgresql://aifacade@/$db?host=$FO_DIR/$1/run"
}

@test "a DATABASE naming a primary and its standby writes to the primary, and the standby has every answered write" {
  [ "$(standby_sql 'SELECT pg_is_in_recovery()')" = t ]
  new_user
  api POST /api/chat '{"prompt":"written before the failover"}'
  assert_equal "$code" 200
  cid=$(json .conversation_id)
  # Synchronous commit: answered means on the standby, with no wait here.
  assert_equal "$(standby_sql "SELECT count(*) FROM messages WHERE conversation_id = $cid")" 2
  assert_equal "$(primary_sql "SELECT count(*) FROM messages WHERE conversation_id = $cid")" 2
}

@test "a primary that stops answering mid-statement: 503 within the bound, with a log line, then it serves again" {
  new_user
  api POST /api/chat '{"prompt":"written before the pause"}'
  assert_equal "$code" 200
  cid=$(json .conversation_id)
  # Every worker of the endpoint holds its connection (persistent mode).
  for _ in $(seq 12); do
    api GET "/api/conversations/$cid"
    assert_equal "$code" 200
  done
  # SIGSTOP: the server keeps its sockets open and answers nothing, as a
  # server that died behind PgBouncer can leave a client waiting. (runuser,
  # its parent, stops with it: it is continued too.)
  local pm pids
  pm=$(head -1 "$FO_DIR/p/data/postmaster.pid")
  pids="$pm $(pgrep -P "$pm" | tr '\n' ' ')"
  # shellcheck disable=SC2086
  kill -STOP $pids
  local t0=$SECONDS
  api GET "/api/conversations/$cid"
  local took=$((SECONDS - t0))
  # shellcheck disable=SC2086
  kill -CONT $pids "$(ps -o ppid= -p "$pm" | tr -d ' ')"
  echo "answered $code after $took s"
  assert_equal "$code" 503
  # The store's patience (5 s) and 5 s more, then a reconnect that finds
  # no primary: well under a client's patience.
  [ "$took" -le 20 ]
  grep -q 'no answer in [0-9]* ms; the connection is given up' "$STACK_DIR/serve.log"
  for _ in $(seq 100); do
    api GET "/api/conversations/$cid"
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  assert_equal "$code" 200
  assert_equal "$(json '[.messages[] | .content] | join("|")')" "written before the pause|Echo: written before the pause"
}

@test "the primary dies: 503 naming why, then the promoted standby serves every answered write and new ones" {
  new_user
  local name=$USERNAME cids=() i
  for i in 1 2 3; do
    api POST /api/chat "{\"prompt\":\"answered before the failover $i\"}"
    assert_equal "$code" 200
    cids+=("$(json .conversation_id)")
  done
  last_id=$(primary_sql 'SELECT max(id) FROM messages')
  local pid
  pid=$(head -1 "$FO_DIR/p/data/postmaster.pid")
  kill -KILL "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  # Only a read-only standby is left: every request that needs the database
  # answers 503 in plain words, and the log says why each server was skipped.
  api GET /api/conversations
  assert_equal "$code" 503
  assert_regex "$(json .error)" '[Dd]atabase'
  api POST /api/chat '{"prompt":"refused while no primary"}'
  assert_equal "$code" 503
  grep -qE '(cannot connect to PostgreSQL|cannot reconnect).*read-only' "$STACK_DIR/serve.log"
  "$BATS_TEST_DIRNAME/pg.sh" promote "$FO_DIR/s" 3>&-
  # The programs find it by themselves (no restart), within a few seconds.
  local t0=$SECONDS
  for _ in $(seq 100); do
    api GET /api/conversations
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  echo "answered 200 again $((SECONDS - t0)) s after the promotion"
  assert_equal "$code" 200
  # Every answered write, once each.
  for i in 0 1 2; do
    api GET "/api/conversations/${cids[$i]}"
    assert_equal "$code" 200
    assert_equal "$(json '[.messages[] | select(.role == "user")] | length')" 1
    assert_equal "$(json '[.messages[] | .content] | join("|")')" \
      "answered before the failover $((i + 1))|Echo: answered before the failover $((i + 1))"
  done
  # New writes go to the new primary, with ids past every old one.
  api POST /api/chat '{"prompt":"written after the failover"}'
  assert_equal "$code" 200
  [ "$(json .message.id)" -gt "$last_id" ]
  JAR=$BATS_TEST_TMPDIR/again login "$name"
  assert_equal "$code" 200
  assert_equal "$(standby_sql "SELECT count(*) FROM messages WHERE content = 'written after the failover'")" 1
}
