#!/usr/bin/env bats
# chat.bats: POST /api/chat against the fake provider: JSON and SSE turns,
# context, every provider failure, disconnects, Markdown safety, concurrency.

load helpers

needs_fake() {
  [ -n "${FAKE_URL:-}" ] || skip "needs the fake provider of a local stack"
}

chat_json() { # prompt [conversation_id]
  local b
  if [ -n "${2:-}" ]; then b=$(jq -cn --arg p "$1" --argjson c "$2" '{prompt:$p,conversation_id:$c}')
  else b=$(jq -cn --arg p "$1" '{prompt:$p}'); fi
  api POST /api/chat "$b"
}

# chat_sse PROMPT [curl args]: streams into $BATS_TEST_TMPDIR/sse with a
# millisecond arrival time before each line.
chat_sse() {
  local p=$1; shift
  curl -sk -N -A "$UA" -b "$BATS_TEST_TMPDIR/jar" -H "X-CSRF-Token: $CSRF" \
    -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
    --data-binary "$(jq -cn --arg p "$p" '{prompt:$p}')" "$@" "$BASE_URL/api/chat" |
    while IFS= read -r line; do echo "$(date +%s%3N) $line"; done >"$BATS_TEST_TMPDIR/sse"
}

sse_events() { awk '$2 == "event:" {print $3}' "$BATS_TEST_TMPDIR/sse" | tr '\n' ' '; }
sse_data() { # event name -> the data lines of that event
  awk -v e="$1" '$2 == "event:" {cur=$3} $2 == "data:" && cur == e {sub(/^[0-9]+ data: /, ""); print}' "$BATS_TEST_TMPDIR/sse"
}
fake_last() { curl -s "$FAKE_URL/_fake/requests" | jq -c '.[-1]'; }

@test "a JSON turn answers 200 with the stored answer and its safe HTML" {
  new_user
  chat_json "Hello there"
  assert_equal "$code" 200
  assert_equal "$(json .message.role)" assistant
  assert_equal "$(json .message.status)" ok
  assert_equal "$(json .message.content)" "Echo: Hello there"
  assert_equal "$(json .message.html)" "<p>Echo: Hello there</p>"
  id=$(json .conversation_id)
  api GET "/api/conversations/$id"
  assert_equal "$(json .title)" "Hello there"
  assert_equal "$(json '[.messages[] | .role + ":" + .status] | join(",")')" "user:ok,assistant:ok"
  assert_equal "$(json '.messages[0].html')" "<p>Hello there</p>"
}

@test "a streamed turn sends start, several deltas and done whose message matches the deltas" {
  new_user
  chat_sse "one two three four five six seven eight [[fake:chunks=6]] [[fake:slow=200]]"
  events=$(sse_events)
  assert_regex "$events" '^start ((delta|html) ){2,}done $'
  joined=$(sse_data delta | jq -rj .content)
  done_content=$(sse_data done | jq -r .message.content)
  assert_equal "$joined" "$done_content"
  assert_equal "$(sse_data done | jq -r .message.status)" ok
  cid=$(sse_data start | jq -r .conversation_id)
  api GET "/api/conversations/$cid"
  assert_equal "$(json '.messages[1].content')" "$done_content"
}

@test "the request that asked gets each of the provider's pieces as a delta of its own, as it arrives" {
  new_user
  # Eight pieces 15 ms apart: read from the saved answer (every 100 ms),
  # they would arrive as one or two deltas; over the generator's pipe
  # (common/turn_pipe.h) each is its own.
  chat_sse "one two three four five six seven eight nine ten eleven twelve [[fake:chunks=8]]"
  assert_equal "$(sse_data delta | jq -s '[.[] | select(.content)] | length')" 8
  assert_equal "$(sse_data delta | jq -rj '.content // empty')" "$(sse_data done | jq -r .message.content)"
  assert_equal "$(sse_data done | jq -r .message.status)" ok
}

@test "deltas reach the client through Caddy while the provider is still writing" {
  new_user
  chat_sse "stream slowly please [[fake:slow=400]] [[fake:chunks=6]]"
  first=$(awk '$2 == "event:" && $3 == "delta" {print $1; exit}' "$BATS_TEST_TMPDIR/sse")
  last=$(awk '$2 == "event:" && $3 == "done" {print $1}' "$BATS_TEST_TMPDIR/sse")
  echo "first delta at $first, done at $last: $((last - first)) ms apart"
  # Six chunks 400 ms apart: buffered output would arrive all at once.
  [ $((last - first)) -ge 1500 ]
}

@test "the second turn sends the first as context, with the system prompt first" {
  needs_fake
  new_user
  chat_json "remember the word banana"
  cid=$(json .conversation_id)
  chat_json "what was the word? [[fake:echo_context]]" "$cid"
  assert_equal "$code" 200
  roles=$(fake_last | jq -r '[.body.messages[].role] | join(",")')
  assert_equal "$roles" "user,assistant,user"
  assert_equal "$(fake_last | jq -r '.body.messages[0].content')" "remember the word banana"
  assert_equal "$(fake_last | jq -r '.body.model')" "fake-model"
}

@test "a chosen model is sent; an unknown one is refused with 400" {
  needs_fake
  new_user
  api POST /api/chat '{"prompt":"hi","model":"fake-reasoner"}'
  assert_equal "$code" 200
  assert_equal "$(fake_last | jq -r .body.model)" "fake-reasoner"
  assert_equal "$(json .message.model)" "fake-reasoner"
  api POST /api/chat '{"prompt":"hi","model":"gpt-unknown"}'
  assert_equal "$code" 400
}

@test "prompt validation: empty, blank, too long, wrong types" {
  new_user
  for bad in '{"prompt":""}' '{"prompt":"   \n\t "}' '{}' '{"prompt":5}' '{"prompt":"x","conversation_id":"1"}' \
             '{"prompt":"x","conversation_id":-3}' '{"prompt":"x","conversation_id":1.5}' '{"prompt":"x","extra":true}'; do
    api POST /api/chat "$bad"
    assert_equal "$code" 400
  done
  api POST /api/chat '{"prompt":"  "}'
  assert_equal "$(json .error)" "Prompt cannot be empty."
  long=$(printf 'ä%.0s' {1..4001})
  api POST /api/chat "{\"prompt\":\"$long\"}"
  assert_equal "$code" 400
  assert_regex "$(json .error)" '4000 characters'
  ok=$(printf 'ä%.0s' {1..4000})
  api POST /api/chat "{\"prompt\":\"$ok\"}"
  assert_equal "$code" 200
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 1
}

@test "every provider failure names its cause, keeps the prompt and records the failed turn" {
  new_user
  declare -A expect=(
    [401]="The AI service rejected the API key."
    [402]="The AI account has insufficient balance."
    [429]="The AI service is busy; try again shortly."
  )
  for s in 400 401 402 422 429 500 503; do
    chat_json "failing with $s [[fake:status=$s]]"
    assert_equal "$code" 502
    err=$(json .error)
    [ -n "$err" ]
    [ -z "${expect[$s]:-}" ] || assert_equal "$err" "${expect[$s]}"
    [[ "$err" != *test-key* ]]
    cid=$(json .conversation_id)
    api GET "/api/conversations/$cid"
    assert_equal "$(json '.messages[0].content')" "failing with $s [[fake:status=$s]]"
    assert_equal "$(json '.messages[1].status')" error
    assert_equal "$(json '.messages[1].error')" "$err"
  done
  chat_json "broken body [[fake:garbage]]"
  assert_equal "$code" 502
  assert_equal "$(json .error)" "The AI service sent an answer we could not read."
  for mode in garbage cut nodone stream_error; do
    chat_sse "broken stream $mode [[fake:$mode]]"
    assert_regex "$(sse_events)" 'error $'
    [ -n "$(sse_data error | jq -r .error)" ]
  done
  # The app stays healthy and a good turn still works.
  chat_json "all good now"
  assert_equal "$code" 200
}

@test "a failed turn is not sent as context later" {
  needs_fake
  new_user
  chat_json "good one"
  cid=$(json .conversation_id)
  chat_json "bad one [[fake:status=500]]" "$cid"
  assert_equal "$code" 502
  chat_json "next [[fake:echo_context]]" "$cid"
  assert_equal "$code" 200
  assert_equal "$(fake_last | jq -r '[.body.messages[].content] | join("|")')" "good one|Echo: good one|next [[fake:echo_context]]"
}

@test "an unreachable provider and an idle provider give plain-words errors" {
  can_start_stacks || skip "needs a stack of its own whose provider is unreachable; a deployed BASE_URL has only its own"
  dir=$BATS_TEST_TMPDIR/stack
  stack_cmd start "$dir" AI_API_URL=http://127.0.0.1:9/v1/chat/completions
  # shellcheck source=/dev/null
  . "$dir/stack.env"
  new_user
  chat_json "anyone there?"
  stack_cmd stop "$dir"
  assert_equal "$code" 502
  assert_equal "$(json .error)" "Could not reach the AI service."
}

@test "a streamed failure ends with an error event and the prompt stays" {
  new_user
  chat_sse "fail while streaming [[fake:status=503]]"
  assert_regex "$(sse_events)" '^start error $'
  [ -n "$(sse_data error | jq -r .error)" ]
  cid=$(sse_data start | jq -r .conversation_id)
  api GET "/api/conversations/$cid"
  assert_equal "$(json '.messages | length')" 2
  assert_equal "$(json '.messages[1].status')" error
}

@test "a stream cut mid-way stores what arrived as interrupted" {
  new_user
  chat_sse "cut me off [[fake:cut]] [[fake:chunks=8]]"
  assert_regex "$(sse_events)" 'error $'
  cid=$(sse_data start | jq -r .conversation_id)
  api GET "/api/conversations/$cid"
  assert_equal "$(json '.messages[1].status')" interrupted
  [ -n "$(json '.messages[1].content')" ]
}

# A client that disconnects no longer stops its answer: turns.bats shows it
# finished and stored ok.

@test "reasoning streams apart, is stored apart and never goes back as context" {
  needs_fake
  new_user
  chat_sse "think first [[fake:reasoning]]"
  [ -n "$(sse_data delta | jq -rj '.reasoning // empty')" ]
  [ -n "$(sse_data delta | jq -rj '.content // empty')" ]
  cid=$(sse_data start | jq -r .conversation_id)
  api GET "/api/conversations/$cid"
  thought=$(json '.messages[1].reasoning')
  [ -n "$thought" ]
  [[ "$(json '.messages[1].content')" != *"$thought"* ]]
  chat_json "again [[fake:echo_context]]" "$cid"
  sent=$(fake_last | jq -r '[.body.messages[].content] | join("\n")')
  [[ "$sent" != *"$thought"* ]]
}

@test "hostile Markdown from the model is rendered without script, raw HTML or javascript: links" {
  new_user
  chat_json "show markdown [[fake:markdown]]"
  assert_equal "$code" 200
  html=$(json .message.html)
  [[ "$html" == *"<table>"* ]]
  [[ "$html" == *"<pre"*"<code"* ]]
  [[ "$html" != *"<script"* ]]
  [[ "$html" != *"javascript:"* ]]
  [[ "$html" != *"<img src=x onerror"* ]]
  [[ "$html" != *" onerror="* ]]
  [[ "$html" != *" onclick="* ]]
}

@test "a user's prompt is escaped, never rendered as HTML" {
  new_user
  chat_json '<img src=x onerror=alert(1)> **not bold**'
  api GET "/api/conversations/$(json .conversation_id)"
  assert_equal "$(json '.messages[0].html')" '<p>&lt;img src=x onerror=alert(1)&gt; **not bold**</p>'
}

@test "parallel prompts from several users are all stored exactly once" {
  users=4 prompts=4
  for u in $(seq $users); do
    JAR=$BATS_TEST_TMPDIR/jar$u new_user
    echo "$CSRF" >"$BATS_TEST_TMPDIR/csrf$u"
  done
  for u in $(seq $users); do
    for p in $(seq $prompts); do
      curl -sk -o "$BATS_TEST_TMPDIR/out$u-$p" -w '%{http_code}\n' -A "$UA" -b "$BATS_TEST_TMPDIR/jar$u" \
        -H "X-CSRF-Token: $(cat "$BATS_TEST_TMPDIR/csrf$u")" -H 'Content-Type: application/json' \
        --data-binary "{\"prompt\":\"user $u prompt $p\"}" "$BASE_URL/api/chat" >>"$BATS_TEST_TMPDIR/codes" &
    done
  done
  wait
  assert_equal "$(sort "$BATS_TEST_TMPDIR/codes" | uniq -c | awk '{print $1":"$2}')" "$((users * prompts)):200"
  for u in $(seq $users); do
    JAR=$BATS_TEST_TMPDIR/jar$u api GET /api/conversations
    assert_equal "$(json '.conversations | length')" "$prompts"
    titles=$(json '[.conversations[].title] | sort | join(",")')
    assert_equal "$titles" "$(for p in $(seq $prompts); do echo "user $u prompt $p"; done | sort | paste -sd,)"
  done
}

# ---- a turn whose conversation goes away (issue 11, section 1) -------------

# bob_stream PROMPT: bob's streamed turn in the background into
# $BATS_TEST_TMPDIR/bob.sse; sets $bob_pid once its start event arrived.
bob_stream() {
  curl -sk -N -A "$UA" -b "$BATS_TEST_TMPDIR/bob" -H "X-CSRF-Token: $BOB_CSRF" --max-time 30 \
    -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
    --data-binary "$(jq -cn --arg p "$1" '{prompt:$p}')" "$BASE_URL/api/chat" >"$BATS_TEST_TMPDIR/bob.sse" 3>&- &
  bob_pid=$!
  for _ in $(seq 200); do grep -q '^event: start' "$BATS_TEST_TMPDIR/bob.sse" 2>/dev/null && break; sleep 0.05; done
  grep -q '^event: start' "$BATS_TEST_TMPDIR/bob.sse"
}
bob_sse() { # event jq-filter
  awk -v e="$1" '/^event:/ {cur=$2} /^data:/ && cur == e {sub(/^data: /, ""); print}' "$BATS_TEST_TMPDIR/bob.sse" |
    jq -r "$2"
}

# late_answer_case HOW: bob deletes his conversation (HOW=delete) or clears
# his history (HOW=clear) while his slow answer streams; alice prompts
# meanwhile. Nothing of bob's may land in alice's conversation or context.
late_answer_case() {
  JAR=$BATS_TEST_TMPDIR/bob new_user
  BOB_CSRF=$CSRF
  JAR=$BATS_TEST_TMPDIR/alice new_user
  ALICE_CSRF=$CSRF
  bob_stream "BOBSECRET one two three four five six [[fake:slow=350]] [[fake:chunks=8]]"
  cid=$(bob_sse start .conversation_id)
  if [ "$1" = delete ]; then
    JAR=$BATS_TEST_TMPDIR/bob CSRF=$BOB_CSRF api DELETE "/api/conversations/$cid"
  else
    JAR=$BATS_TEST_TMPDIR/bob CSRF=$BOB_CSRF api POST /api/clear
  fi
  assert_equal "$code" 204
  # alice's prompts take the ids SQLite would have handed out again.
  JAR=$BATS_TEST_TMPDIR/alice CSRF=$ALICE_CSRF chat_json "alice first"
  assert_equal "$code" 200
  acid=$(json .conversation_id)
  JAR=$BATS_TEST_TMPDIR/alice CSRF=$ALICE_CSRF chat_json "alice second" "$acid"
  assert_equal "$code" 200
  wait "$bob_pid"
  # alice's messages are intact.
  JAR=$BATS_TEST_TMPDIR/alice api GET "/api/conversations/$acid"
  assert_equal "$(json '[.messages[] | .role + ":" + .status + ":" + .content] | join("|")')" \
    "user:ok:alice first|assistant:ok:Echo: alice first|user:ok:alice second|assistant:ok:Echo: alice second"
  # and bob's text never reaches her context.
  JAR=$BATS_TEST_TMPDIR/alice CSRF=$ALICE_CSRF chat_json "what came before? [[fake:echo_context]]" "$acid"
  assert_equal "$code" 200
  if [ -n "${FAKE_URL:-}" ]; then
    sent=$(curl -s "$FAKE_URL/_fake/requests" | jq -c '.[-1].body.messages')
    refute_regex "$sent" BOBSECRET
    assert_regex "$sent" 'alice second'
  fi
  JAR=$BATS_TEST_TMPDIR/alice api GET "/api/conversations/$acid"
  refute_regex "$body" BOBSECRET
  # bob's stream ends with an error event saying why, not done.
  assert_regex "$(awk '/^event:/ {e=$2} END {print e}' "$BATS_TEST_TMPDIR/bob.sse")" '^error$'
  assert_regex "$(bob_sse error .error)" 'conversation was deleted'
  assert_equal "$(bob_sse error .code)" conversation_deleted
  if [ -n "${STACK_DIR:-}" ]; then
    assert_equal "$(sql "SELECT count(*) FROM messages WHERE content LIKE '%BOBSECRET%'")" 0
    refute_regex "$(stack_log)" "could not store the answer"
  fi
}

@test "a conversation deleted while its answer streams: nothing is written, alice's new messages stay hers" {
  late_answer_case delete
}

@test "history cleared while an answer streams: nothing is written, the stream ends with an error event" {
  late_answer_case clear
}

@test "a JSON turn whose conversation is deleted meanwhile answers 404 Conversation not found." {
  new_user
  curl -sk -o "$BATS_TEST_TMPDIR/late.json" -w '%{http_code}' -A "$UA" -b "$BATS_TEST_TMPDIR/jar" \
    -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' --max-time 30 \
    --data-binary '{"prompt":"slow json [[fake:hang=2]]"}' "$BASE_URL/api/chat" >"$BATS_TEST_TMPDIR/late.code" 3>&- &
  late=$!
  for _ in $(seq 100); do
    api GET /api/conversations
    cid=$(json '.conversations[0].id // empty')
    [ -z "$cid" ] || break
    sleep 0.05
  done
  [ -n "$cid" ]
  api DELETE "/api/conversations/$cid"
  assert_equal "$code" 204
  wait "$late"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/late.code")" 404
  assert_equal "$(jq -r .error "$BATS_TEST_TMPDIR/late.json")" "Conversation not found."
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 0
}

# pg_hold_messages URL GO LOCKED READY STREAM: as the SQLite locker of the
# next test, on PostgreSQL: touches READY, waits for GO, takes the messages
# table against writes in a psql session (EXCLUSIVE: reads go on), touches
# LOCKED, and holds it until STREAM has ended (at most 30 s).
pg_hold_messages() {
  local fifo=$BATS_TEST_TMPDIR/psql.in end=$((SECONDS + 30))
  mkfifo "$fifo"
  psql "$1" -qX -v ON_ERROR_STOP=1 <"$fifo" >"$BATS_TEST_TMPDIR/psql.log" 2>&1 &
  exec 7>"$fifo"
  touch "$4"
  until [ -f "$2" ]; do sleep 0.02; done
  printf 'BEGIN;\nLOCK TABLE messages IN EXCLUSIVE MODE;\n\\! touch %s\n' "$3" >&7
  while [ $SECONDS -lt $end ] && ! grep -qE '^event: (error|done)' "$5"; do sleep 0.1; done
  printf 'ROLLBACK;\n' >&7
  exec 7>&-
  wait
}

@test "a stream whose answer cannot be stored ends with an error event naming the storage problem, not done" {
  needs_local
  new_user
  stream_file=$BATS_TEST_TMPDIR/sse
  # A writer that holds the database past ANSWER_STORE_WAIT once told to
  # (started first: it must lock while the answer is still streaming).
  : >"$stream_file"
  local pg
  pg=$(stack_pg)
  if [ -n "$pg" ]; then
    # PostgreSQL: a psql session holds the messages table against writes.
    pg_hold_messages "$pg" "$BATS_TEST_TMPDIR/go" "$BATS_TEST_TMPDIR/locked" "$BATS_TEST_TMPDIR/ready" \
      "$stream_file" 3>&- &
  else
  python3 -c '
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
open(sys.argv[4], "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.02)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[3], "w").close()
# Held until the stream has ended (past ANSWER_STORE_WAIT), at most 30 s.
end = time.time() + 30
while time.time() < end:
    with open(sys.argv[5], "rb") as f:
        text = f.read()
    if b"event: error" in text or b"event: done" in text:
        break
    time.sleep(0.1)
c.execute("ROLLBACK")
' "$STACK_DIR/instance/aifacade.db" "$BATS_TEST_TMPDIR/go" "$BATS_TEST_TMPDIR/locked" "$BATS_TEST_TMPDIR/ready" \
    "$stream_file" 3>&- &
  fi
  locker=$!
  for _ in $(seq 400); do [ -f "$BATS_TEST_TMPDIR/ready" ] && break; sleep 0.05; done
  curl -sk -N -A "$UA" -b "$BATS_TEST_TMPDIR/jar" -H "X-CSRF-Token: $CSRF" --max-time 50 \
    -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
    --data-binary '{"prompt":"stored later [[fake:slow=300]] [[fake:chunks=8]]"}' "$BASE_URL/api/chat" \
    >"$stream_file" 3>&- &
  streamer=$!
  for _ in $(seq 200); do grep -q '^event: start' "$stream_file" 2>/dev/null && break; sleep 0.05; done
  touch "$BATS_TEST_TMPDIR/go"
  for _ in $(seq 100); do [ -f "$BATS_TEST_TMPDIR/locked" ] && break; sleep 0.05; done
  echo "locked with $(grep -c '^event: delta' "$stream_file") deltas received"
  wait "$streamer"
  wait "$locker"
  last=$(awk '/^event:/ {e=$2} END {print e}' "$stream_file")
  assert_equal "$last" error
  data=$(awk '/^event: error/ {f=1; next} f && /^data:/ {sub(/^data: /, ""); print; exit}' "$stream_file")
  assert_equal "$(jq -r .code <<<"$data")" not_saved
  assert_regex "$(jq -r .error <<<"$data")" 'could not be saved completely: the server was busy'
  assert_equal "$(jq -r .message.status <<<"$data")" interrupted
  api GET "/api/conversations/$(awk '/^event: start/ {f=1; next} f && /^data:/ {sub(/^data: /, ""); print; exit}' "$stream_file" | jq -r .conversation_id)"
  assert_equal "$(json '[.messages[] | .status] | join(",")')" "interrupted,interrupted"
}

@test "on PostgreSQL, an answer whose usage cannot be recorded at once is stored all the same, its usage after it" {
  needs_local
  local pg
  pg=$(stack_pg)
  [ -n "$pg" ] || skip "on PostgreSQL only: there a failed statement ends its whole transaction"
  new_user
  # A psql session holds the usage table against writes (reads go on)
  # until told to let go: the answer's usage write gives up busy after
  # ANSWER_STORE_WAIT, inside the transaction that stores the answer.
  local fifo=$BATS_TEST_TMPDIR/usage.in
  mkfifo "$fifo"
  psql "$pg" -qX -v ON_ERROR_STOP=1 <"$fifo" >"$BATS_TEST_TMPDIR/usage.log" 2>&1 3>&- &
  holder=$!
  exec 7>"$fifo"
  printf 'BEGIN;\nLOCK TABLE usage IN EXCLUSIVE MODE;\n\\! touch %s\n' "$BATS_TEST_TMPDIR/locked" >&7
  for _ in $(seq 100); do [ -f "$BATS_TEST_TMPDIR/locked" ] && break; sleep 0.05; done
  [ -f "$BATS_TEST_TMPDIR/locked" ] || { cat "$BATS_TEST_TMPDIR/usage.log"; exec 7>&-; return 1; }
  curl -sk -N -A "$UA" -b "$BATS_TEST_TMPDIR/jar" -H "X-CSRF-Token: $CSRF" --max-time 50 \
    -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
    --data-binary '{"prompt":"usage later"}' "$BASE_URL/api/chat" >"$BATS_TEST_TMPDIR/sse" 3>&- &
  streamer=$!
  local q="SELECT m.status FROM messages m JOIN conversations c ON c.id = m.conversation_id
    JOIN users u ON u.id = c.user_id WHERE u.username = '$USERNAME' AND m.role = 'assistant'"
  status=
  for _ in $(seq 300); do
    status=$(sql "$q")
    [ "$status" = ok ] && break
    grep -qE '^event: (error|done)' "$BATS_TEST_TMPDIR/sse" && break
    sleep 0.1
  done
  printf 'ROLLBACK;\n' >&7
  exec 7>&-
  wait "$holder"
  wait "$streamer"
  assert_equal "$status" ok
  assert_equal "$(awk '/^event:/ {e=$2} END {print e}' "$BATS_TEST_TMPDIR/sse")" done
  # Once the holder let go, the usage was recorded after the answer.
  assert_equal "$(sql "SELECT count(*) FROM usage s JOIN users u ON u.id = s.user_id WHERE u.username = '$USERNAME'")" 1
}

# --- the answer so far, rendered (common/stream_html.h) ---
@test "a streamed turn sends the answer so far as the renderer's safe HTML, at a bounded rate" {
  new_user
  chat_sse "[[fake:markdown]] [[fake:chunks=12]] [[fake:slow=100]]"
  assert_regex "$(sse_events)" '^start delta html .*done $'
  n=$(sse_data html | wc -l)
  [ "$n" -ge 3 ] || { echo "only $n html events"; return 1; }
  # Never the model's raw HTML, even cut mid-tag, in any of them.
  assert_equal "$(sse_data html | jq -r .html | grep -c '<script')" 0
  assert_equal "$(sse_data html | head -1 | jq -r .html | head -c 15)" "<h1>Markdown te"
  # Each is the renderer's output for a prefix: never longer than done's.
  last=$(sse_data html | tail -1 | jq -r .html)
  final=$(sse_data done | jq -r .message.html)
  [ "${#last}" -le "${#final}" ]
  # Eighty pieces in about 1.6 s: a rendering per 200 ms, not one per delta.
  chat_sse "[[fake:long=80]] [[fake:slow=20]]"
  assert_equal "$(sse_data delta | jq -rj .content)" "$(sse_data done | jq -r .message.content)"
  n=$(sse_data html | wc -l)
  [ "$n" -ge 2 ] && [ "$n" -le 12 ] || { echo "$n html events for 80 pieces"; return 1; }
}
