#!/usr/bin/env bats
# streams.bats: answers in flight are bounded per user (MAX_STREAMS_PER_USER)
# and in all (MAX_STREAMS_TOTAL) across processes, a killed process holds no
# slot, and a provider sending only keep-alives meets AI_FIRST_TOKEN_TIMEOUT;
# on a private stack with small limits.

load helpers

setup_file() {
  # In persistent mode a streamed answer holds a chat process for its whole
  # length (README, "Two ways to run the programs"): with the test stacks' 2
  # a third request would wait for one instead of meeting the limit.
  private_stack_start MAX_STREAMS_PER_USER=2 MAX_STREAMS_TOTAL=3 AI_FIRST_TOKEN_TIMEOUT=2 AIFACADE_PROCS=5
}

teardown_file() {
  private_stack_stop
}

setup() {
  needs_private_stack
}

# as NAME: switches the cookie jar and CSRF token to user NAME (made by new_as).
as() {
  JAR=$BATS_TEST_TMPDIR/jar-$1
  CSRF=$(cat "$BATS_TEST_TMPDIR/csrf-$1")
  export JAR CSRF
}
new_as() {
  JAR=$BATS_TEST_TMPDIR/jar-$1 new_user
  echo "$CSRF" >"$BATS_TEST_TMPDIR/csrf-$1"
}

# slow_stream NAME N PROMPT: user NAME's streamed turn number N in the
# background into $BATS_TEST_TMPDIR/NAME-N.sse; waits for its start event.
slow_stream() {
  local f=$BATS_TEST_TMPDIR/$1-$2.sse
  as "$1"
  curl -sk -N -A "$UA" -b "$JAR" -H "X-CSRF-Token: $CSRF" --max-time 30 \
    -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
    --data-binary "$(jq -cn --arg p "$3" '{prompt:$p}')" "$BASE_URL/api/chat" >"$f" 3>&- &
  echo $! >>"$BATS_TEST_TMPDIR/streams"
  for _ in $(seq 200); do grep -q '^event: start' "$f" 2>/dev/null && break; sleep 0.05; done
  grep -q '^event: start' "$f"
}

wait_streams() {
  local pid
  while read -r pid; do wait "$pid" || true; done <"$BATS_TEST_TMPDIR/streams"
  rm -f "$BATS_TEST_TMPDIR/streams"
}

last_event() { awk '/^event:/ {e=$2} END {print e}' "$1"; }

@test "a user's answers in flight are bounded; the next is refused with 429 and Retry-After, others go on" {
  new_as ann
  new_as ben
  new_as cat
  slow_stream ann 1 "one [[fake:slow=500]] [[fake:long=16]]"
  slow_stream ann 2 "two [[fake:slow=500]] [[fake:long=16]]"
  as ann
  api POST /api/chat '{"prompt":"a third at once"}' -H 'Accept: text/event-stream'
  assert_equal "$code" 429
  [ "$(header Retry-After)" -ge 1 ]
  assert_regex "$(json .error)" '^You already have 2 answers being written, the most allowed at once; wait for one to finish; try again in [0-9]+ seconds\.$'
  api POST /api/chat '{"prompt":"a JSON one too"}'
  assert_equal "$code" 429
  # Nothing of a refused turn is stored.
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 2
  # Another user still gets the last of the three slots...
  slow_stream ben 1 "ben's [[fake:slow=500]] [[fake:long=16]]"
  # ...and after it the total bound refuses everyone.
  as cat
  api POST /api/chat '{"prompt":"too many in all"}'
  assert_equal "$code" 429
  assert_regex "$(json .error)" 'as many answers as it can'
  wait_streams
  for f in ann-1 ann-2 ben-1; do
    assert_equal "$(last_event "$BATS_TEST_TMPDIR/$f.sse")" done
  done
  # The slots are given back when the answers end.
  as ann
  api POST /api/chat '{"prompt":"later"}'
  assert_equal "$code" 200
  assert_equal "$(sql 'SELECT count(*) FROM turns')" 0
}

@test "a chat process killed mid-answer does not hold its slot" {
  new_as dan
  slow_stream dan 1 "first [[fake:slow=400]] [[fake:chunks=40]]"
  slow_stream dan 2 "second [[fake:slow=400]] [[fake:chunks=40]]"
  pids=$(sql 'SELECT pid FROM turns')
  assert_equal "$(wc -w <<<"$pids")" 2
  # The pids are the web container's own under Docker: killed from inside it.
  if [ "${STACK_KIND:-local}" = docker ]; then
    docker_cli exec "$(web_container)" sh -c "kill -KILL $(tr '\n' ' ' <<<"$pids")"
  else
    # shellcheck disable=SC2086  # two pids
    kill -KILL $pids
  fi
  wait_streams
  as dan
  api POST /api/chat '{"prompt":"after the kill"}'
  assert_equal "$code" 200
  assert_equal "$(sql 'SELECT count(*) FROM turns')" 0
  stack_log | grep -q 'ended without releasing its slot'
}

@test "a provider that sends only keep-alive comments is stopped at AI_FIRST_TOKEN_TIMEOUT" {
  new_as eve
  as eve
  start=$(date +%s%N)
  curl -sk -N -A "$UA" -b "$JAR" -H "X-CSRF-Token: $CSRF" --max-time 30 \
    -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
    --data-binary '{"prompt":"say something [[fake:keepalive_only=15]]"}' "$BASE_URL/api/chat" \
    >"$BATS_TEST_TMPDIR/ka.sse"
  ms=$((($(date +%s%N) - start) / 1000000))
  echo "ended after $ms ms"
  assert_equal "$(last_event "$BATS_TEST_TMPDIR/ka.sse")" error
  assert_regex "$(cat "$BATS_TEST_TMPDIR/ka.sse")" 'did not start answering in time'
  # The keep-alives alone would have kept it open for 15 s.
  [ "$ms" -lt 10000 ]
  cid=$(awk '/^event: start/ {f=1; next} f && /^data:/ {sub(/^data: /, ""); print; exit}' "$BATS_TEST_TMPDIR/ka.sse" |
    jq -r .conversation_id)
  api GET "/api/conversations/$cid"
  assert_equal "$(json '[.messages[] | .status] | join(",")')" "error,error"
  stack_log | grep -q 'AI_FIRST_TOKEN_TIMEOUT'
  assert_equal "$(curl -s "$FAKE_URL/_fake/requests" | jq '.[-1].disconnected')" true
}
