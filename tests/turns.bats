#!/usr/bin/env bats
# turns.bats: answers the server owns (common/turn.h): they go on without a
# client, are saved as they arrive, can be attached to (with Last-Event-ID)
# and stopped from another session; a killed generator leaves what
# arrived; regenerate, edit and continue grow the message tree with the
# right context (README, "Answers in flight", "Regenerate, edit, continue").

load helpers

needs_fake() {
  [ -n "${FAKE_URL:-}" ] || skip "needs the fake provider of a local stack"
}

# sse_bg FILE URL [JSON]: a streamed request in the background into FILE
# (POST with JSON, else GET); sets $bg_pid.
sse_bg() {
  local f=$1 url=$2 data=${3:-}
  local args=(-sk -N -A "$UA" -b "${JAR:-$BATS_TEST_TMPDIR/jar}" -H "X-CSRF-Token: $CSRF" --max-time 30
    -H 'Accept: text/event-stream')
  [ -z "$data" ] || args+=(-H 'Content-Type: application/json' --data-binary "$data")
  curl "${args[@]}" "$BASE_URL$url" >"$f" 3>&- &
  bg_pid=$!
}

wait_grep() { # PATTERN FILE
  for _ in $(seq 300); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done
  grep -q "$1" "$2"
}

sse_data() { # FILE EVENT
  awk -v e="$2" '/^event:/ {cur=$2} /^data:/ && cur == e {sub(/^data: /, ""); print}' "$1"
}
# the text of every content delta of FILE, exactly
deltas() { sse_data "$1" delta | jq -rj '.content // empty'; }
last_event() { awk '/^event:/ {e=$2} END {print e}' "$1"; }

# message_when_done ID: polls GET /api/messages/ID until it is no longer streaming.
message_when_done() {
  for _ in $(seq 300); do
    api GET "/api/messages/$1"
    [ "$(json .message.status)" != streaming ] && return 0
    sleep 0.05
  done
  return 1
}

fake_request_with() { # TEXT: the fake's last chat request whose messages hold TEXT
  curl -s "$FAKE_URL/_fake/requests" |
    jq -c --arg t "$1" '[.[] | select(.body.messages | tostring | contains($t))] | last'
}

chat() { # JSON body: a JSON turn
  api POST /api/chat "$1"
}

@test "a client that leaves after the first delta comes back to the whole answer, stored ok" {
  needs_fake
  new_user
  sse_bg "$BATS_TEST_TMPDIR/a.sse" /api/chat '{"prompt":"walk away 1 2 3 4 5 6 7 8 [[fake:slow=120]] [[fake:chunks=16]]"}'
  wait_grep '^event: delta' "$BATS_TEST_TMPDIR/a.sse"
  kill "$bg_pid"
  wait "$bg_pid" || true
  mid=$(sse_data "$BATS_TEST_TMPDIR/a.sse" start | jq -r .message_id)
  api GET "/api/messages/$mid"
  assert_equal "$(json .message.status)" streaming
  message_when_done "$mid"
  assert_equal "$(json .message.status)" ok
  assert_equal "$(json .message.content)" "Echo: walk away 1 2 3 4 5 6 7 8"
  # The fake marks its request completed after its last write, which the
  # answer may be stored before: wait for the mark, not for a race.
  for _ in $(seq 40); do
    req=$(fake_request_with "walk away 1 2 3")
    [ "$(jq -r .completed <<<"$req")" = true ] && break
    sleep 0.05
  done
  assert_equal "$(jq -r .completed <<<"$req")" true
  assert_equal "$(jq -r .disconnected <<<"$req")" false
  # Nobody else's: 404, as for a message that does not exist.
  JAR=$BATS_TEST_TMPDIR/other new_user
  JAR=$BATS_TEST_TMPDIR/other api GET "/api/messages/$mid"
  assert_equal "$code" 404
  JAR=$BATS_TEST_TMPDIR/other api GET "/api/messages/$mid/stream" '' -H 'Accept: text/event-stream'
  assert_equal "$code" 404
}

@test "two clients attached to one answer get the same bytes; Last-Event-ID resumes with none missing or repeated" {
  new_user
  sse_bg "$BATS_TEST_TMPDIR/a.sse" /api/chat \
    '{"prompt":"twice ünïcödé 🙂 text, and again: ünïcödé 🙂 ünïcödé 🙂 ünïcödé 🙂 [[fake:slow=60]] [[fake:chunks=30]]"}'
  a=$bg_pid
  wait_grep '^event: start' "$BATS_TEST_TMPDIR/a.sse"
  mid=$(sse_data "$BATS_TEST_TMPDIR/a.sse" start | jq -r .message_id)
  sse_bg "$BATS_TEST_TMPDIR/b.sse" "/api/messages/$mid/stream"
  b=$bg_pid
  wait "$a"
  wait "$b"
  assert_equal "$(last_event "$BATS_TEST_TMPDIR/a.sse")" done
  assert_equal "$(last_event "$BATS_TEST_TMPDIR/b.sse")" done
  api GET "/api/messages/$mid"
  stored=$(json .message.content)
  [ "${#stored}" -gt 60 ]
  assert_equal "$(deltas "$BATS_TEST_TMPDIR/a.sse")" "$stored"
  assert_equal "$(deltas "$BATS_TEST_TMPDIR/b.sse")" "$stored"
  # Each delta's id is where it ends: resuming after the third gives the rest.
  id=$(grep '^id: ' "$BATS_TEST_TMPDIR/a.sse" | sed -n 3p | cut -d' ' -f2)
  [ -n "$id" ]
  head=$(awk -v id="$id" '/^id: / {n=$2} /^data:/ && cur == "delta" {sub(/^data: /, ""); print} /^event:/ {cur=$2} n == id && /^$/ {exit}' \
    "$BATS_TEST_TMPDIR/a.sse" | jq -rj '.content // empty')
  curl -sk -N -A "$UA" -b "$BATS_TEST_TMPDIR/jar" -H 'Accept: text/event-stream' -H "Last-Event-ID: $id" \
    --max-time 10 "$BASE_URL/api/messages/$mid/stream" >"$BATS_TEST_TMPDIR/c.sse"
  assert_equal "$head$(deltas "$BATS_TEST_TMPDIR/c.sse")" "$stored"
  assert_equal "$(last_event "$BATS_TEST_TMPDIR/c.sse")" done
  # An id it never sent (past the end, or inside a character) is refused.
  for bad in 999999.0 abc 1 -1.0; do
    api GET "/api/messages/$mid/stream" '' -H 'Accept: text/event-stream' -H "Last-Event-ID: $bad"
    assert_equal "$code" 400
  done
  cut=$(printf 'Echo: twice \xc3' | wc -c)
  api GET "/api/messages/$mid/stream" '' -H 'Accept: text/event-stream' -H "Last-Event-ID: $cut.0"
  assert_equal "$code" 400
}

@test "stop from a second session of the same user ends the answer within a second, keeping what arrived" {
  needs_fake
  new_user
  name=$USERNAME
  sse_bg "$BATS_TEST_TMPDIR/a.sse" /api/chat '{"prompt":"stop me please [[fake:slow=200]] [[fake:long=60]]"}'
  wait_grep '^event: delta' "$BATS_TEST_TMPDIR/a.sse"
  mid=$(sse_data "$BATS_TEST_TMPDIR/a.sse" start | jq -r .message_id)
  # Another user cannot stop it.
  JAR=$BATS_TEST_TMPDIR/mallory new_user
  JAR=$BATS_TEST_TMPDIR/mallory api POST "/api/messages/$mid/stop"
  assert_equal "$code" 404
  # The owner's second session (another browser) can.
  JAR=$BATS_TEST_TMPDIR/second login "$name"
  JAR=$BATS_TEST_TMPDIR/second fetch_csrf
  t0=$(date +%s.%N)
  JAR=$BATS_TEST_TMPDIR/second api POST "/api/messages/$mid/stop"
  assert_equal "$code" 204
  wait "$bg_pid"
  req=$(fake_request_with "stop me please")
  assert_equal "$(jq -r .disconnected <<<"$req")" true
  ended=$(jq -r .ended <<<"$req")
  echo "upstream closed $(echo "$ended - $t0" | bc) s after the stop"
  [ "$(echo "$ended - $t0 < 1" | bc)" = 1 ]
  assert_equal "$(last_event "$BATS_TEST_TMPDIR/a.sse")" error
  assert_equal "$(sse_data "$BATS_TEST_TMPDIR/a.sse" error | jq -r .code)" stopped
  api GET "/api/messages/$mid"
  assert_equal "$(json .message.status)" interrupted
  assert_equal "$(json .message.content)" "$(deltas "$BATS_TEST_TMPDIR/a.sse")"
  [ -n "$(json .message.content)" ]
  # Stopping what has ended changes nothing.
  JAR=$BATS_TEST_TMPDIR/second api POST "/api/messages/$mid/stop"
  assert_equal "$code" 204
}

@test "a SIGKILL of the generator leaves an interrupted answer holding what had arrived" {
  needs_processes
  new_user
  sse_bg "$BATS_TEST_TMPDIR/a.sse" /api/chat '{"prompt":"kill the writer [[fake:slow=150]] [[fake:long=60]]"}'
  for _ in $(seq 100); do [ "$(grep -c '^event: delta' "$BATS_TEST_TMPDIR/a.sse")" -ge 4 ] && break; sleep 0.05; done
  mid=$(sse_data "$BATS_TEST_TMPDIR/a.sse" start | jq -r .message_id)
  pid=$(sql "SELECT pid FROM turns WHERE message_id = $mid")
  [ -n "$pid" ]
  # The generator saves what arrived every 100 ms (README, "Answers in
  # flight"): kill it once more than 20 characters are on disk, so that the
  # check below is about the kill, not about how many deltas a fast
  # machine had saved by the fourth.
  for _ in $(seq 100); do
    [ "$(sql "SELECT length(content) FROM messages WHERE id = $mid")" -gt 20 ] && break
    sleep 0.05
  done
  if [ "${STACK_KIND:-local}" = docker ]; then
    docker_cli exec "$(web_container)" sh -c "kill -KILL $pid" # the image has no kill binary
  else
    kill -KILL "$pid"
  fi
  wait "$bg_pid"
  assert_equal "$(last_event "$BATS_TEST_TMPDIR/a.sse")" error
  message_when_done "$mid"
  assert_equal "$(json .message.status)" interrupted
  saved=$(json .message.content)
  # What was saved is what the client had seen, give or take the last second.
  [ "${#saved}" -gt 20 ]
  seen=$(deltas "$BATS_TEST_TMPDIR/a.sse")
  assert_equal "${seen:0:${#saved}}" "$saved"
  # SQLite's file is whole (PostgreSQL's own recovery is not ours to test).
  [ -n "$(stack_pg)" ] || assert_equal "$(sql 'PRAGMA integrity_check')" ok
  # The slot is free again and the conversation goes on.
  cid=$(sse_data "$BATS_TEST_TMPDIR/a.sse" start | jq -r .conversation_id)
  chat "{\"prompt\":\"after the kill\",\"conversation_id\":$cid}"
  assert_equal "$code" 200
}

# block_move UID / unblock_move UID: a trigger that makes the generator's
# taking over of UID's turns (its pid written in the row) fail, as it does
# while the database is out of reach.
block_move() {
  if [ -n "$(stack_pg)" ]; then
    local body='BEGIN RAISE EXCEPTION '"'"'test: the move is blocked'"'"'; END'
    sql_write "CREATE FUNCTION no_move_$1() RETURNS trigger LANGUAGE plpgsql AS \$f\$ $body \$f\$;
      CREATE TRIGGER no_move_$1 BEFORE UPDATE OF pid ON turns FOR EACH ROW WHEN (OLD.user_id = $1)
      EXECUTE FUNCTION no_move_$1();"
  else
    sql_write "CREATE TRIGGER no_move_$1 BEFORE UPDATE OF pid ON turns WHEN OLD.user_id = $1
      BEGIN SELECT RAISE(ABORT, 'test: the move is blocked'); END;"
  fi
}
unblock_move() {
  if [ -n "$(stack_pg)" ]; then
    sql_write "DROP TRIGGER IF EXISTS no_move_$1 ON turns; DROP FUNCTION IF EXISTS no_move_$1();"
  else
    sql_write "DROP TRIGGER IF EXISTS no_move_$1;"
  fi
}

teardown() {
  [ -z "${blocked_uid:-}" ] || unblock_move "$blocked_uid"
}

@test "a generator killed before it took its turn over: the request ends within seconds, the answer interrupted, the slot free" {
  needs_processes
  new_user
  blocked_uid=$(sql "SELECT id FROM users WHERE username = '$USERNAME'")
  [ -n "$blocked_uid" ]
  block_move "$blocked_uid"
  sse_bg "$BATS_TEST_TMPDIR/a.sse" /api/chat '{"prompt":"never moved [[fake:slow=150]] [[fake:long=60]]"}'
  wait_grep '^event: delta' "$BATS_TEST_TMPDIR/a.sse"
  mid=$(sse_data "$BATS_TEST_TMPDIR/a.sse" start | jq -r .message_id)
  tid=$(sql "SELECT id FROM turns WHERE message_id = $mid")
  [ -n "$tid" ]
  # The row still names the request; the generator said who it is.
  pid=$(stack_log | sed -n "s/.*turn $tid: not yet taken over by process \([0-9]*\),.*/\1/p" | tail -1)
  [ -n "$pid" ]
  [ "$(sql "SELECT pid FROM turns WHERE id = $tid")" != "$pid" ]
  if [ "${STACK_KIND:-local}" = docker ]; then
    docker_cli exec "$(web_container)" sh -c "kill -KILL $pid"
  else
    kill -KILL "$pid"
  fi
  killed=$SECONDS
  # only now: a live generator would take the turn over at its next beat
  unblock_move "$blocked_uid"
  blocked_uid=
  # The request, alive (a persistent worker, or the CGI program following
  # the answer), must not keep it "streaming": once the heartbeat is stale
  # (6 s) it is not, though curl would wait 30 s.
  wait "$bg_pid"
  [ $((SECONDS - killed)) -le 15 ]
  assert_equal "$(last_event "$BATS_TEST_TMPDIR/a.sse")" error
  message_when_done "$mid"
  assert_equal "$(json .message.status)" interrupted
  cid=$(sse_data "$BATS_TEST_TMPDIR/a.sse" start | jq -r .conversation_id)
  chat "{\"prompt\":\"after the lost generator\",\"conversation_id\":$cid}"
  assert_equal "$code" 200
  assert_equal "$(sql "SELECT count(*) FROM turns WHERE message_id = $mid")" 0
}

@test "regenerate, edit and continue grow the tree and send only the branch as context" {
  needs_fake
  new_user
  chat '{"prompt":"alpha one"}'
  assert_equal "$code" 200
  cid=$(json .conversation_id)
  a1=$(json .message.id)
  chat "{\"prompt\":\"beta two\",\"conversation_id\":$cid}"
  b1=$(json .message.id)
  beta=$(json .message.parent_id)
  # regenerate: a sibling answer to the same prompt; the old one stays.
  chat "{\"regenerate\":$b1}"
  assert_equal "$code" 200
  b2=$(json .message.id)
  assert_equal "$(json .message.parent_id)" "$beta"
  assert_equal "$(json '.message.siblings | tostring')" "[$b1,$b2]"
  sent=$(fake_request_with "beta two" | jq -c '[.body.messages[] | select(.role != "system") | .content]')
  assert_equal "$sent" '["alpha one","Echo: alpha one","beta two"]'
  # edit: a sibling prompt; the context is the new branch only.
  chat "{\"edit\":$beta,\"prompt\":\"gamma three\"}"
  assert_equal "$code" 200
  g1=$(json .message.id)
  gamma=$(json .message.parent_id)
  sent=$(fake_request_with "gamma three" | jq -c '[.body.messages[] | select(.role != "system") | .content]')
  assert_equal "$sent" '["alpha one","Echo: alpha one","gamma three"]'
  api GET "/api/messages/$gamma"
  assert_equal "$(json '.message.siblings | tostring')" "[$beta,$gamma]"
  # The conversation shows the branch last looked at: the new one...
  api GET "/api/conversations/$cid"
  assert_equal "$(json '[.messages[].id] | tostring')" "[$((a1 - 1)),$a1,$gamma,$g1]"
  # ...or the one through ?leaf=, which is then the one shown next time.
  api GET "/api/conversations/$cid?leaf=$b1"
  assert_equal "$(json '[.messages[].id] | tostring')" "[$((a1 - 1)),$a1,$beta,$b1]"
  api GET "/api/conversations/$cid"
  assert_equal "$(json '[.messages[].id] | tostring')" "[$((a1 - 1)),$a1,$beta,$b1]"
  # Paging stays within the branch.
  api GET "/api/conversations/$cid?limit=2&before=$beta"
  assert_equal "$(json '[.messages[].id] | tostring')" "[$((a1 - 1)),$a1]"
  assert_equal "$(json .has_more)" false
  # A new prompt goes at the end of the branch shown.
  chat "{\"prompt\":\"delta four\",\"conversation_id\":$cid}"
  assert_equal "$(json .message.parent_id)" "$(($(json .message.id) - 1))"
  sent=$(fake_request_with "delta four" | jq -c '[.body.messages[] | select(.role != "system") | .content]')
  assert_equal "$(jq -r '.[2], .[-1]' <<<"$sent" | paste -sd,)" "beta two,delta four"
  refute_regex "$sent" "gamma three"
  # continue: a cut answer goes on in the same message.
  sse_bg "$BATS_TEST_TMPDIR/e.sse" /api/chat \
    "{\"prompt\":\"epsilon five six seven [[fake:cut]] [[fake:chunks=8]]\",\"conversation_id\":$cid}"
  wait "$bg_pid"
  e1=$(sse_data "$BATS_TEST_TMPDIR/e.sse" start | jq -r .message_id)
  api GET "/api/messages/$e1"
  cut=$(json .message.content)
  assert_equal "$(json .message.status)" interrupted
  [ -n "$cut" ]
  chat "{\"continue\":$e1}"
  assert_equal "$code" 200
  assert_equal "$(json .message.id)" "$e1"
  assert_equal "$(json .message.status)" ok
  assert_equal "$(json .message.content)" "${cut}Echo: epsilon five six seven"
  last=$(fake_request_with "epsilon five" | jq -c '.body.messages[-1]')
  assert_equal "$(jq -r .role <<<"$last")" assistant
  assert_equal "$(jq -r .content <<<"$last")" "$cut"
  # Mistakes get plain 4xx answers; others' messages are not found.
  chat "{\"regenerate\":$beta}"
  assert_equal "$code" 400
  chat "{\"edit\":$b1,\"prompt\":\"x\"}"
  assert_equal "$code" 400
  chat "{\"regenerate\":$b1,\"edit\":$beta,\"prompt\":\"x\"}"
  assert_equal "$code" 400
  JAR=$BATS_TEST_TMPDIR/eve new_user
  JAR=$BATS_TEST_TMPDIR/eve api POST /api/chat "{\"regenerate\":$b1}"
  assert_equal "$code" 404
  JAR=$BATS_TEST_TMPDIR/eve api GET "/api/conversations/$cid?leaf=$b1"
  assert_equal "$code" 404
}
