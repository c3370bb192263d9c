#!/usr/bin/env bats
# faults.bats: the stack under failure, through Caddy: a provider that
# refuses, stalls, trickles, dies or answers garbage at the HTTP level; the
# database locked, full or read-only; a CGI process killed with SIGKILL;
# lighttpd stopped while answers stream. Each fault must end in a clean
# answer (a JSON error or an SSE error event), an honest stored status and a
# working app afterwards. chat.bats covers the provider's HTTP error codes,
# garbage bodies and cut streams; this suite does not repeat them. Idle
# timeouts are tested here, on a stack with AI_IDLE_TIMEOUT=2: the shared
# stack's is longer, so that a burst of turns on a slow machine is not taken
# for a silent provider.
#
# Two private stacks: "main" (the fake provider; its instance directory on
# a small tmpfs when one can be mounted, for the disk-full and read-only
# tests) and "hostile" (tests/hardening/hostile_provider.py, started only
# after the connection-refused test has run against its empty port).

load helpers

setup_file() {
  can_start_stacks || return 0
  mkdir -p "$BATS_FILE_TMPDIR/stack/instance"
  if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=24m,mode=0700 tmpfs "$BATS_FILE_TMPDIR/stack/instance" 2>/dev/null; then
    touch "$BATS_FILE_TMPDIR/tmpfs"
  fi
  private_stack_start AI_IDLE_TIMEOUT=2 AI_TIMEOUT=8
  if [ "${STACK_KIND:-local}" = docker ]; then
    # The hostile provider runs in the hostile stack's fake-provider
    # container (port 8098, published on this machine), once hostile_up starts it.
    stack_cmd start "$BATS_FILE_TMPDIR/hostile" \
      AI_API_URL="http://fake:8098/v1/chat/completions" AI_IDLE_TIMEOUT=2 AI_TIMEOUT=5 \
      RATE_LIMIT_AUTH_IP=30/minute
    HOSTILE_PORT=$(. "$BATS_FILE_TMPDIR/hostile/stack.env" && echo "${HOSTILE_URL##*:}")
    HOSTILE_BASE=$(. "$BATS_FILE_TMPDIR/hostile/stack.env" && echo "$BASE_URL")
    HOSTILE_PROJECT=$(. "$BATS_FILE_TMPDIR/hostile/stack.env" && echo "$COMPOSE_PROJECT")
    export HOSTILE_PORT HOSTILE_BASE HOSTILE_PROJECT
    return 0
  fi
  HOSTILE_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  "$BATS_TEST_DIRNAME/stack.sh" start "$BATS_FILE_TMPDIR/hostile" \
    AI_API_URL="http://127.0.0.1:$HOSTILE_PORT/v1/chat/completions" AI_IDLE_TIMEOUT=2 AI_TIMEOUT=5 \
    RATE_LIMIT_AUTH_IP=30/minute
  HOSTILE_BASE=$(. "$BATS_FILE_TMPDIR/hostile/stack.env" && echo "$BASE_URL")
  export HOSTILE_PORT HOSTILE_BASE
}

teardown_file() {
  can_start_stacks || return 0
  [ ! -s "$BATS_FILE_TMPDIR/hostile.pid" ] || kill -TERM "$(cat "$BATS_FILE_TMPDIR/hostile.pid")" 2>/dev/null || true
  [ -z "${HOSTILE_BASE:-}" ] || stack_cmd stop "$BATS_FILE_TMPDIR/hostile"
  private_stack_stop
  if [ -f "$BATS_FILE_TMPDIR/tmpfs" ]; then
    mount -o remount,rw "$BATS_FILE_TMPDIR/stack/instance" 2>/dev/null || true
    umount "$BATS_FILE_TMPDIR/stack/instance" || umount -l "$BATS_FILE_TMPDIR/stack/instance"
  fi
}

setup() {
  needs_private_stack
}

# lighttpd_pid (helpers.bash): the main stack's lighttpd.

# The chat processes serving a request right now: the chat programs below
# lighttpd that have no chat child. Run by mod_cgi, chat is lighttpd's child;
# spawned through mod_scgi, a warm chat parent forks one child per request
# (common/scgi.h), and only the child serves it.
chat_pids() {
  local p c lt sid
  lt=$(lighttpd_pid)
  sid=$(ps -o sid= -p "$lt" | tr -d ' ')
  for p in $(pgrep -P "$lt" -x chat); do
    # Not a generator (common/turn.h): it runs in a session of its own, and
    # in a container, where lighttpd is PID 1, it becomes lighttpd's child.
    [ "$(ps -o sid= -p "$p" | tr -d ' ')" = "$sid" ] || continue
    c=$(pgrep -P "$p" -x chat || true)
    echo "${c:-$p}"
  done
}

# stream_bg PROMPT: starts a streamed turn in the background into
# $BATS_TEST_TMPDIR/sse; sets $curl_pid.
stream_bg() {
  curl -sk -N -A "$UA" -b "$BATS_TEST_TMPDIR/jar" -H "X-CSRF-Token: $CSRF" --max-time 30 \
    -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
    --data-binary "$(jq -cn --arg p "$1" '{prompt:$p}')" "$BASE_URL/api/chat" >"$BATS_TEST_TMPDIR/sse" &
  curl_pid=$!
}

# wait_grep PATTERN FILE SECONDS
wait_grep() {
  local deadline=$((SECONDS + $3))
  until grep -q "$1" "$2" 2>/dev/null; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

# wait_gone PID SECONDS: waits for a process (not necessarily our child) to end.
wait_gone() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

sse_field() { # event jq-filter
  awk -v e="$1" '/^event:/ {cur=$2} /^data:/ && cur == e {sub(/^data: /, ""); print}' "$BATS_TEST_TMPDIR/sse" | jq -r "$2"
}
sse_events() { awk '/^event:/ {print $2}' "$BATS_TEST_TMPDIR/sse" | tr '\n' ' '; }

chat_json() {
  api POST /api/chat "$(jq -cn --arg p "$1" '{prompt:$p}')"
}

chat_sse() {
  curl -sk -N -A "$UA" -b "$BATS_TEST_TMPDIR/jar" -H "X-CSRF-Token: $CSRF" --max-time 30 \
    -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
    --data-binary "$(jq -cn --arg p "$1" '{prompt:$p}')" "$BASE_URL/api/chat" >"$BATS_TEST_TMPDIR/sse"
}

use_hostile_stack() {
  BASE_URL=$HOSTILE_BASE
  STACK_DIR=$BATS_FILE_TMPDIR/hostile
}

hostile_up() {
  [ -s "$BATS_FILE_TMPDIR/hostile.pid" ] && return 0
  if [ -n "${HOSTILE_PROJECT:-}" ]; then
    [ -f "$BATS_FILE_TMPDIR/hostile.up" ] && return 0
    docker_cli exec -d "$(COMPOSE_PROJECT=$HOSTILE_PROJECT compose_service fake)" python3 /fake/hostile_provider.py \
      --host 0.0.0.0 --port 8098 --port-file /tmp/hostile.port --pid-file /tmp/hostile.pid
    for _ in $(seq 100); do
      curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$HOSTILE_PORT/_hostile/stolen" && break
      sleep 0.1
    done
    touch "$BATS_FILE_TMPDIR/hostile.up"
    return 0
  fi
  python3 "$BATS_TEST_DIRNAME/hardening/hostile_provider.py" --port "$HOSTILE_PORT" \
    --port-file "$BATS_FILE_TMPDIR/hostile.port" --pid-file "$BATS_FILE_TMPDIR/hostile.pid" \
    >"$BATS_FILE_TMPDIR/hostile.log" 2>&1 3>&- &
  wait_grep . "$BATS_FILE_TMPDIR/hostile.port" 10
}

# ---- the provider ------------------------------------------------------------

@test "a provider refusing connections: a streamed turn ends with an error event, and the next turn works once it is back" {
  use_hostile_stack
  new_user
  chat_sse "is anyone there?"
  assert_equal "$(sse_events)" "start error "
  assert_equal "$(sse_field error .error)" "Could not reach the AI service."
  cid=$(sse_field start .conversation_id)
  api GET "/api/conversations/$cid"
  assert_equal "$(json '[.messages[] | .role + ":" + .status] | join(",")')" "user:error,assistant:error"
  assert_equal "$(json '.messages[0].content')" "is anyone there?"
  hostile_up
  api POST /api/chat "$(jq -cn --argjson c "$cid" '{prompt:"and now?",conversation_id:$c}')"
  assert_equal "$code" 200
  assert_equal "$(json .message.content)" "plain answer"
}

@test "a provider silent past AI_IDLE_TIMEOUT ends a JSON turn with a timeout error" {
  new_user
  start=$SECONDS
  chat_json "think forever [[fake:hang=8]]"
  took=$((SECONDS - start))
  echo "took $took s with AI_IDLE_TIMEOUT=2"
  assert_equal "$code" 502
  assert_equal "$(json .error)" "The AI service stopped responding."
  assert_equal "$(json .message.status)" error
  [ "$took" -lt 8 ]
}

@test "a provider that goes silent mid-stream past AI_IDLE_TIMEOUT: error event, partial answer kept as interrupted, upstream closed" {
  new_user
  curl -s -X POST "$FAKE_URL/_fake/reset" >/dev/null
  start=$SECONDS
  chat_sse "say a little then stall [[fake:hangafter=10]] [[fake:chunks=4]]"
  took=$((SECONDS - start))
  echo "took $took s with AI_IDLE_TIMEOUT=2"
  [ "$took" -lt 8 ]
  assert_regex "$(sse_events)" '^start delta .*error $'
  assert_equal "$(sse_field error .error)" "The AI service stopped responding."
  cid=$(sse_field start .conversation_id)
  api GET "/api/conversations/$cid"
  assert_equal "$(json '.messages[1].status')" interrupted
  [ -n "$(json '.messages[1].content')" ]
  for _ in $(seq 50); do
    [ "$(curl -s "$FAKE_URL/_fake/requests" | jq -r '.[-1].disconnected')" = true ] && break
    sleep 0.1
  done
  assert_equal "$(curl -s "$FAKE_URL/_fake/requests" | jq -r '.[-1].disconnected')" true
}

@test "a provider that trickles a byte a second is stopped at AI_TIMEOUT" {
  use_hostile_stack
  hostile_up
  new_user
  start=$SECONDS
  chat_sse "never finish [[hostile:trickle]]"
  took=$((SECONDS - start))
  echo "took $took s with AI_TIMEOUT=5"
  [ "$took" -ge 4 ]
  [ "$took" -lt 10 ]
  assert_equal "$(sse_field error .error)" "The AI service took too long to answer."
  cid=$(sse_field start .conversation_id)
  api GET "/api/conversations/$cid"
  assert_equal "$(json '.messages[1].status')" interrupted
  assert_equal "$(json '.messages[1].content')" "slow "
}

@test "a provider dying in the middle of a JSON answer gives 502 and a failed turn that is not context later" {
  use_hostile_stack
  hostile_up
  new_user
  chat_json "answer then die [[hostile:truncate]]"
  assert_equal "$code" 502
  [ -n "$(json .error)" ]
  assert_equal "$(json .message.status)" error
  cid=$(json .conversation_id)
  api GET "/api/conversations/$cid"
  assert_equal "$(json '[.messages[].status] | join(",")')" "error,error"
}

@test "hostile answer bodies: too large, nested too deep, wrongly typed, NUL and lone surrogates" {
  use_hostile_stack
  hostile_up
  new_user
  chat_sse "flood me [[hostile:huge]]"
  assert_equal "$(sse_field error .error)" "The AI service sent an answer we could not read."
  cid=$(sse_field start .conversation_id)
  api GET "/api/conversations/$cid"
  len=$(json '.messages[1].content | length')
  echo "stored $len characters of a 5 MiB answer"
  [ "$len" -le $((4 * 1024 * 1024)) ]
  for m in nested wrongtype; do
    chat_json "bad body [[hostile:$m]]"
    assert_equal "$code" 502
    assert_equal "$(json .error)" "The AI service sent an answer we could not read."
  done
  chat_sse "control bytes [[hostile:nul]]"
  assert_regex "$(sse_events)" 'done $'
  cid=$(sse_field start .conversation_id)
  api GET "/api/conversations/$cid"
  content=$(json '.messages[1].content')
  # NUL is dropped; the lone surrogate arrives as U+FFFD or is dropped, never as raw bytes.
  assert_regex "$content" '^ab.*c$'
  [ "$(json '.messages[1].content | test("\u0000")')" = false ]
  iconv -f UTF-8 -t UTF-8 <<<"$content" >/dev/null
  # Event-stream lines inside the content stay content: one done event, ours.
  chat_sse "inject [[hostile:inject]]"
  assert_equal "$(sse_events | tr ' ' '\n' | grep -c '^done$')" 1
  assert_equal "$(sse_field done .message.content)" "$(printf 'x\n\nevent: done\ndata: {"message":{"content":"forged"}}')"
}

@test "a provider redirect is not followed: the API key never travels to another address" {
  use_hostile_stack
  hostile_up
  new_user
  chat_json "go elsewhere [[hostile:redirect]]"
  assert_equal "$code" 502
  assert_equal "$(json .message.status)" error
  assert_equal "$(curl -s "http://127.0.0.1:$HOSTILE_PORT/_hostile/stolen" | jq -c .)" '{"requests":0,"with_authorization":0}'
}

@test "the API key never reaches the log or the user, even when the provider echoes it back" {
  new_user
  mark=$(stack_log | wc -l)
  chat_json "who am I? [[fake:status=401]]"
  assert_equal "$code" 502
  assert_equal "$(json .error)" "The AI service rejected the API key."
  [[ "$body" != *test-key* ]]
  # The fake provider's 401 repeats the key it was sent; the log line keeps the rest.
  sleep 0.2
  stack_log | tail -n +"$((mark + 1))" | grep -q 'Your api key: \[redacted\]'
  run grep -c 'test-key' <(stack_log)
  assert_output 0
}

# ---- the database ------------------------------------------------------------

@test "the database locked by a long writer: a clean 503 after the busy timeout, then the retry is stored once" {
  new_user
  db=$STACK_DIR/instance/aifacade.db
  python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(7.5)
c.execute("ROLLBACK")
' "$db" "$BATS_TEST_TMPDIR/locked" 3>&- &
locker=$!
for _ in $(seq 200); do [ -f "$BATS_TEST_TMPDIR/locked" ] && break; sleep 0.05; done
[ -f "$BATS_TEST_TMPDIR/locked" ]
start=$(date +%s%N)
# A chat turn waits in parallel: nothing of it may be stored.
curl -sk -o "$BATS_TEST_TMPDIR/chat.out" -w '%{http_code}' -A "$UA" -b "$BATS_TEST_TMPDIR/jar" \
  -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' --max-time 20 \
  --data-binary '{"prompt":"written under lock"}' "$BASE_URL/api/chat" >"$BATS_TEST_TMPDIR/chat.code" &
chatter=$!
api POST /api/conversations '{"title":"under lock"}'
ms=$((($(date +%s%N) - start) / 1000000))
wait "$chatter"
echo "answered $code after $ms ms: $body"
assert_equal "$code" 503
assert_equal "$(json .error)" "The server is busy; try again in a moment."
[ "$ms" -ge 4500 ]
[ "$ms" -lt 7500 ]
assert_equal "$(cat "$BATS_TEST_TMPDIR/chat.code")" 503
jq -e '.error | length > 0' "$BATS_TEST_TMPDIR/chat.out"
wait "$locker"
stack_log | grep -q 'busy past the busy timeout'
api POST /api/conversations '{"title":"under lock"}'
assert_equal "$code" 201
chat_json "written under lock"
assert_equal "$code" 200
api GET /api/conversations
assert_equal "$(json '[.conversations[] | select(.title == "under lock")] | length')" 1
assert_equal "$(json '[.conversations[] | select(.title == "written under lock")] | length')" 1
assert_equal "$(sql "SELECT count(*) FROM messages WHERE content = 'written under lock'")" 1
}

@test "a writer holding the lock past a request's busy timeout as an answer ends: the answer still waits and is stored" {
  new_user
  stream_bg "answer under a long lock [[fake:slow=300]] [[fake:chunks=4]]"
  wait_grep '^event: delta' "$BATS_TEST_TMPDIR/sse" 10
  # The lock outlasts the 5 s a request waits, but not the wait of an
  # answer that has arrived: without that longer wait the answer is lost.
  python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(7)
c.execute("ROLLBACK")
' "$STACK_DIR/instance/aifacade.db" "$BATS_TEST_TMPDIR/locked" 3>&- &
  locker=$!
  wait "$curl_pid"
  wait "$locker"
  [ -f "$BATS_TEST_TMPDIR/locked" ]
  events=$(sse_events)
  echo "events: $events"
  [[ "$events" == "start "*" done " ]]
  [[ "$events" != *error* ]]
  cid=$(sse_field start .conversation_id)
  assert_equal "$(sql "SELECT group_concat(role || ':' || status, ',') FROM (SELECT * FROM messages WHERE conversation_id = $cid ORDER BY id)")" \
    "user:ok,assistant:ok"
  assert_equal "$(sql "SELECT content FROM messages WHERE conversation_id = $cid AND role = 'assistant'")" \
    "Echo: answer under a long lock"
}

@test "a chat request process killed with SIGKILL mid-stream: database intact, the answer still written to the end" {
  # The answer belongs to the server (common/turn.h): killing the request
  # that follows it ends only that client's stream. turns.bats kills the
  # generator itself.
  new_user
  stream_bg "stream for a while [[fake:slow=250]] [[fake:chunks=12]]"
  wait_grep '^event: delta' "$BATS_TEST_TMPDIR/sse" 10
  pids=$(chat_pids)
  [ -n "$pids" ]
  # shellcheck disable=SC2086  # one or more pids
  kill -KILL $pids
  wait "$curl_pid" || true
  cid=$(sse_field start .conversation_id)
  [ -n "$(stack_pg)" ] || assert_equal "$(sql 'PRAGMA integrity_check')" ok # SQLite's file
  for _ in $(seq 100); do
    [ "$(sql "SELECT count(*) FROM turns t JOIN messages m ON m.id = t.message_id WHERE m.conversation_id = $cid")" = 0 ] && break
    sleep 0.1
  done
  assert_equal "$(sql "SELECT group_concat(role || ':' || status, ',') FROM (SELECT * FROM messages WHERE conversation_id = $cid ORDER BY id)")" \
    "user:ok,assistant:ok"
  assert_equal "$(sql "SELECT content FROM messages WHERE conversation_id = $cid AND role = 'assistant'")" \
    "Echo: stream for a while"
  chat_json "still alive?"
  assert_equal "$code" 200
}

@test "a full disk: 503 with a plain message and an operator line, and writes work again once space is back" {
  [ -f "$BATS_FILE_TMPDIR/tmpfs" ] || skip "no tmpfs could be mounted for the instance directory"
  new_user
  sqlite3 "$STACK_DIR/instance/aifacade.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
  dd if=/dev/zero of="$STACK_DIR/instance/filler" bs=64k 2>/dev/null || true
  dd if=/dev/zero of="$STACK_DIR/instance/filler2" bs=512 2>/dev/null || true
  api POST /api/conversations '{"title":"no room"}'
  got=$code answer=$body
  rm -f "$STACK_DIR/instance/filler" "$STACK_DIR/instance/filler2"
  echo "answered $got: $answer"
  stack_log | grep 'aifacade\[' | tail -3
  assert_equal "$got" 503
  [ -n "$(jq -r .error <<<"$answer")" ]
  assert_regex "$(jq -r .error <<<"$answer")" '^The (server cannot save data right now|database is unavailable)'
  # The operator learns what to check, whether opening or writing failed.
  stack_log | grep -q 'check free disk space'
  api POST /api/conversations '{"title":"room again"}'
  assert_equal "$code" 201
  [ -n "$(stack_pg)" ] || assert_equal "$(sql 'PRAGMA integrity_check')" ok # SQLite's file
}

@test "a read-only database: writes answer 503 with an operator line, and all works again once writable" {
  [ -f "$BATS_FILE_TMPDIR/tmpfs" ] || skip "no tmpfs could be mounted for the instance directory"
  new_user
  mount -o remount,ro "$STACK_DIR/instance"
  api POST /api/conversations '{"title":"read only"}'
  got=$code answer=$body
  chat_json "read only chat"
  chat_code=$code
  mount -o remount,rw "$STACK_DIR/instance"
  echo "answered $got: $answer; chat $chat_code"
  stack_log | grep 'aifacade\[' | tail -3
  assert_equal "$got" 503
  assert_equal "$chat_code" 503
  [ -n "$(jq -r .error <<<"$answer")" ]
  stack_log | grep -q 'check free disk space and that the file and its directory are writable'
  api POST /api/conversations '{"title":"writable again"}'
  assert_equal "$code" 201
  api GET /api/conversations
  assert_equal "$(json '[.conversations[] | select(.title == "read only")] | length')" 0
}

# ---- the servers ------------------------------------------------------------

@test "POSTs that arrive as lighttpd drops idle keep-alive connections never get a 502 from Caddy" {
  # lighttpd closes a keep-alive connection after 5 s idle; a proxy that keeps
  # it longer may send a request down it just as it closes, and answers 502.
  run "$BATS_TEST_DIRNAME/hardening/keepalive-probe.sh" "$BASE_URL" 1
  echo "requests and 502s: $output"
  assert_success
}

@test "lighttpd stopped while an answer streams: the stream ends, what arrived is kept, the restarted stack serves it" {
  # On a machine the answer's own process (common/turn.h) outlives
  # lighttpd and writes it to the end; in the web container lighttpd is
  # PID 1 and the kernel ends every process with it, and what was saved as
  # it arrived is kept, marked interrupted.
  new_user
  stream_bg "a long answer [[fake:slow=250]] [[fake:chunks=16]]"
  wait_grep '^event: delta' "$BATS_TEST_TMPDIR/sse" 10
  chat=$(chat_pids)
  [ -n "$chat" ]
  kill -TERM "$(lighttpd_pid)"
  start=$SECONDS
  wait "$curl_pid" || true
  echo "the stream ended $((SECONDS - start)) s after lighttpd was stopped"
  [ $((SECONDS - start)) -lt 10 ]
  for pid in $chat; do wait_gone "$pid" 10; done
  cid=$(sse_field start .conversation_id)
  want=interrupted
  if [ "${STACK_KIND:-local}" != docker ]; then
    want=ok
    for _ in $(seq 150); do
      [ "$(sql "SELECT status FROM messages WHERE conversation_id = $cid AND role = 'assistant'")" = ok ] && break
      sleep 0.1
    done
  fi
  assert_equal "$(sql "SELECT status FROM messages WHERE conversation_id = $cid AND role = 'assistant'")" "$want"
  [ -n "$(sql "SELECT content FROM messages WHERE conversation_id = $cid AND role = 'assistant'")" ]
  [ -n "$(stack_pg)" ] || assert_equal "$(sql 'PRAGMA integrity_check')" ok # SQLite's file
  # The same instance directory (database, key, sessions) serves again.
  dir=$BATS_FILE_TMPDIR/stack
  stack_cmd stop "$dir"
  # stack.sh start waits for these files: stale ones would name the old fake.
  rm -f "$dir/fake.pid" "$dir/fake.port"
  stack_cmd start "$dir" AI_IDLE_TIMEOUT=2 AI_TIMEOUT=8
  BASE_URL=$(. "$dir/stack.env" && echo "$BASE_URL")
  # A restarted container hands out the same small pids again: the turn's
  # row names the run before (common/inflight.h), so it is over once its
  # heartbeat is INFLIGHT_STALE_MS (6 s) old, whatever pid lives now.
  for _ in $(seq 40); do
    api GET "/api/conversations/$cid"
    [ "$code" = 200 ] && [ "$(json '.messages[1].status')" != streaming ] && break
    sleep 0.25
  done
  assert_equal "$code" 200
  assert_equal "$(json '.messages[1].status')" "$want"
}

# ---- spoofing ------------------------------------------------------------------

@test "a client-supplied X-Forwarded-For cannot dodge the per-address limit on login attempts" {
  # Last: it uses up the hostile stack's RATE_LIMIT_AUTH_IP for this minute.
  use_hostile_stack
  limited=0
  for i in $(seq 45); do
    code=$(curl -sk -o /dev/null -w '%{http_code}' -A "$UA" -H 'Content-Type: application/json' \
      -H "X-Forwarded-For: 198.51.100.$i" -H "X-Real-IP: 198.51.100.$i" --max-time 10 \
      --data-binary "{\"username\":\"nobody$i\",\"password\":\"wrong password\"}" "$BASE_URL/api/login")
    if [ "$code" = 429 ]; then limited=$i; break; fi
    assert_equal "$code" 401
  done
  echo "limited after $limited attempts, each from a different claimed address"
  [ "$limited" -gt 0 ]
}
