#!/usr/bin/env bats
# load.bats: bounded load on loopback through Caddy: many users prompting at
# once (JSON and streamed turns mixed), alone and beside a program that
# holds the write lock nearly all the time, registrations and logins at
# once, and a long conversation read while it is written. Every answer must
# be stored exactly once, no request may fail with a 5xx, and the log must
# not show a database that was locked past its busy timeout. Counts and
# times are bounded: the whole file takes about three minutes on two cores.

load helpers

USERS=${LOAD_USERS:-20}
PROMPTS=${LOAD_PROMPTS:-5}
LOGINS=${LOAD_LOGINS:-30}
# Beside a program that holds the write lock (the second test): fewer users,
# so that the slow queue stays well inside a request's 30 s on a slow machine.
HOLD_USERS=${LOAD_HOLD_USERS:-10}

# The number of lines in the stack's log now, so a test reads only its own.
log_mark() {
  if [ -n "${STACK_DIR:-}" ]; then stack_log | wc -l; else echo 0; fi
}

# log_since MARK: the stack's log lines after MARK.
log_since() {
  [ -n "${STACK_DIR:-}" ] || return 0
  stack_log | tail -n +"$(($1 + 1))"
}

# new_account N: registers user N of this test into jar$N, csrf$N and
# name$N. Safe to run in parallel: it uses no shared file (api() does).
new_account() {
  local n=$1 name code
  name="$(unique_name)x$n"
  echo "$name" >"$BATS_TEST_TMPDIR/name$n"
  rm -f "$BATS_TEST_TMPDIR/jar$n"
  code=$(curl -sk -o /dev/null -w '%{http_code}' -A "$UA" -c "$BATS_TEST_TMPDIR/jar$n" --max-time 30 \
    -H 'Content-Type: application/json' "$BASE_URL/api/register" \
    --data-binary "$(jq -cn --arg u "$name" '{username:$u,password:"correct horse battery"}')")
  [ "$code" = 201 ] || { echo "register $n: $code" >&2; return 1; }
  curl -sk -A "$UA" -b "$BATS_TEST_TMPDIR/jar$n" --max-time 30 "$BASE_URL/api/me" |
    jq -r .csrf_token >"$BATS_TEST_TMPDIR/csrf$n"
}

# prompt_as N TEXT STREAM: one chat turn of user N; appends "code" to codes
# and, when streamed, the name of the last event.
prompt_as() {
  local n=$1 text=$2 stream=$3 out code
  out=$(mktemp "$BATS_TEST_TMPDIR/out.XXXXXX")
  local args=(-sk -o "$out" -w '%{http_code}' -A "$UA" -b "$BATS_TEST_TMPDIR/jar$n" --max-time 40
    -H "X-CSRF-Token: $(cat "$BATS_TEST_TMPDIR/csrf$n")" -H 'Content-Type: application/json'
    --data-binary "$(jq -cn --arg p "$text" '{prompt:$p}')")
  [ "$stream" = 1 ] && args+=(-N -H 'Accept: text/event-stream')
  code=$(curl "${args[@]}" "$BASE_URL/api/chat") || code="curl-failed-$?"
  if [ "$stream" = 1 ]; then
    echo "$code $(awk '/^event:/ {e=$2} END {print e}' "$out")" >>"$BATS_TEST_TMPDIR/codes"
  else
    echo "$code $(jq -r '.message.status // "no-message"' "$out" 2>/dev/null)" >>"$BATS_TEST_TMPDIR/codes"
  fi
  # A failure keeps its body, so the test's output says why it failed.
  [ "$code" = 200 ] || { echo "--- user $n ($([ "$stream" = 1 ] && echo streamed || echo JSON)): $code"; head -c 600 "$out"; echo; } >>"$BATS_TEST_TMPDIR/failures"
}

# new_accounts: registers USERS accounts at once (new_account 1..USERS).
new_accounts() {
  for u in $(seq "$USERS"); do new_account "$u" & done
  wait
  for u in $(seq "$USERS"); do [ -s "$BATS_TEST_TMPDIR/csrf$u" ]; done
}

# prompt_burst: every one of USERS accounts sends PROMPTS prompts at once
# (JSON and streamed turns mixed); every answer must be stored exactly once,
# with no 5xx and no write past the busy timeout in the log since $mark.
prompt_burst() {
  local pids=()
  start=$(date +%s%N)
  for u in $(seq "$USERS"); do
    for p in $(seq "$PROMPTS"); do
      prompt_as "$u" "load user $u prompt $p [[fake:chunks=4]]" $((p % 2)) &
      pids+=($!)
    done
  done
  wait "${pids[@]}" # only these: a test may have a process of its own running
  ms=$((($(date +%s%N) - start) / 1000000))
  total=$((USERS * PROMPTS))
  sort "$BATS_TEST_TMPDIR/codes" | uniq -c
  [ ! -e "$BATS_TEST_TMPDIR/failures" ] || head -c 4000 "$BATS_TEST_TMPDIR/failures"
  # JSON turns answer "200 ok", streamed ones "200 done".
  good=$(grep -cE '^200 (ok|done)$' "$BATS_TEST_TMPDIR/codes")
  lost=0 dup=0 wrong=0
  for u in $(seq "$USERS"); do
    JAR=$BATS_TEST_TMPDIR/jar$u api GET /api/conversations
    assert_equal "$code" 200
    for p in $(seq "$PROMPTS"); do
      n=$(json "[.conversations[] | select(.title | startswith(\"load user $u prompt $p \"))] | length")
      [ "$n" -ge 1 ] || lost=$((lost + 1))
      [ "$n" -le 1 ] || dup=$((dup + 1))
    done
    # Every stored turn is whole and ok; a wrong one is counted and shown, and
    # fails the test once the diagnostics below are printed.
    for cid in $(json '.conversations[].id'); do
      JAR=$BATS_TEST_TMPDIR/jar$u api GET "/api/conversations/$cid"
      if [ "$(json '[.messages[] | .role + ":" + .status] | join(",")')" != "user:ok,assistant:ok" ] ||
        [ "$(json '.messages[1].content')" != "Echo: $(json '.messages[0].content' | sed 's/ \[\[fake:chunks=4\]\]//')" ]; then
        wrong=$((wrong + 1))
        echo "--- user $u, conversation $cid as stored:"
        json '[.messages[] | {role, status, content: .content[0:80], error}] | tojson'
      fi
    done
  done
  echo "load: $USERS users x $PROMPTS prompts = $total turns in $ms ms: $good answered, lost $lost, duplicated $dup, $wrong stored wrong"
  # Writers that waited long for their turn (common/store_sqlite.c logs them): a
  # figure to watch, not a failure; a wait past the busy timeout fails below.
  log_since "$mark" >"$BATS_TEST_TMPDIR/log"
  echo "# load: $(grep -o 'waited [0-9]* ms for its turn' "$BATS_TEST_TMPDIR/log" |
    awk '{n++; if ($2 > m) m = $2} END {printf "%d writes waited over 1 s for their turn (longest %d ms)", n, m}');" \
    "$(grep -c 'a checkpoint took' "$BATS_TEST_TMPDIR/log") checkpoints took over 1 s" >&3
  # A failed turn's cause is in the stack's log: its errors and warnings.
  if [ "$good" != "$total" ] || [ "$wrong" != 0 ]; then
    grep -E ' (error|warn)' "$BATS_TEST_TMPDIR/log" | sort | uniq -c | sort -rn | head -20
  fi
  echo "load: $USERS x $PROMPTS, $((total - good)) errors, $lost lost, $dup duplicated, $ms ms" >>"${BATS_FILE_TMPDIR}/figures"
  assert_equal "$good" "$total"
  assert_equal "$lost" 0
  assert_equal "$dup" 0
  assert_equal "$wrong" 0
  if [ -n "${STACK_DIR:-}" ]; then
    assert_equal "$(sql "SELECT count(*) FROM messages WHERE content LIKE 'load user % prompt % [[fake:chunks=4]]' AND role = 'user' AND conversation_id IN (SELECT c.id FROM conversations c JOIN users u ON u.id = c.user_id WHERE u.username IN ($(for u in $(seq "$USERS"); do printf "'%s'," "$(cat "$BATS_TEST_TMPDIR/name$u")"; done | sed 's/,$//')))")" "$total"
    run cat "$BATS_TEST_TMPDIR/log"
    refute_output --partial 'database is locked'
    refute_output --partial 'busy past the busy timeout'
  fi
}

@test "$USERS users x $PROMPTS prompts at once: every answer stored exactly once, no 5xx, no lock errors" {
  mark=$(log_mark)
  new_accounts
  prompt_burst
}

@test "$HOLD_USERS users x $PROMPTS prompts at once while another program holds the write lock all but 40 ms of every second: no 503" {
  # Writes get through only in the gaps, so the writers' queue moves slowly:
  # a write must wait while it moves, not give up after 5 s (README, "How it
  # is built"). The other program is sqlite3 from Python: it does not queue.
  # With LOAD_HOLD_USERS=20 and a fixed 5 s deadline, 3 and 27 of 100 turns
  # answered 503 here; with a wait that goes on while the queue moves, none,
  # but the longest wait reached 16 s of its 30. At 10 users the fixed
  # deadline passed too: this run guards the burst, test_store's patience
  # test is the one that tells the two apart.
  [ -n "${STACK_DIR:-}" ] || skip "needs the stack's database file; a deployed BASE_URL has none here"
  # The containers' run has the plain burst; this one is the queue's own
  # test and adds nothing there but minutes on a machine that may be slow.
  [ "${STACK_KIND:-local}" != docker ] || skip "the queue is tested by make test-load; the containers run the plain burst"
  USERS=$HOLD_USERS
  mark=$(log_mark)
  new_accounts
  python3 -c '
import sqlite3, sys, time, os
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
n, end = 0, time.time() + 120
while time.time() < end and not os.path.exists(sys.argv[2]):
    c.execute("BEGIN IMMEDIATE")
    time.sleep(float(sys.argv[4]))
    c.execute("COMMIT")
    n += 1
    time.sleep(float(sys.argv[5]))
open(sys.argv[3], "w").write(str(n))
' "$STACK_DIR/instance/aifacade.db" "$BATS_TEST_TMPDIR/stop" "$BATS_TEST_TMPDIR/held" "${LOAD_HOLD:-1.0}" "${LOAD_GAP:-0.04}" 3>&- &
  holder=$!
  prompt_burst
  touch "$BATS_TEST_TMPDIR/stop"
  wait "$holder"
  # It held the lock all through the burst, or the test proved nothing.
  [ "$(cat "$BATS_TEST_TMPDIR/held")" -ge 5 ]
}

@test "$LOGINS logins at once (and wrong passwords among them): every session works, no 5xx" {
  mark=$(log_mark)
  for u in $(seq "$LOGINS"); do new_account "$u" & done
  wait
  start=$(date +%s%N)
  for u in $(seq "$LOGINS"); do
    (
      name=$(cat "$BATS_TEST_TMPDIR/name$u")
      pass="correct horse battery"
      [ $((u % 5)) -ne 0 ] || pass="wrong horse battery"
      rm -f "$BATS_TEST_TMPDIR/jar$u"
      code=$(curl -sk -o /dev/null -w '%{http_code}' -A "$UA" -c "$BATS_TEST_TMPDIR/jar$u" --max-time 30 \
        -H 'Content-Type: application/json' \
        --data-binary "$(jq -cn --arg u "$name" --arg p "$pass" '{username:$u,password:$p}')" "$BASE_URL/api/login")
      echo "$u $code" >>"$BATS_TEST_TMPDIR/logins"
    ) &
  done
  wait
  ms=$((($(date +%s%N) - start) / 1000000))
  ok=0 refused=0
  while read -r u c; do
    if [ $((u % 5)) -eq 0 ]; then
      assert_equal "$c" 401
      refused=$((refused + 1))
    else
      assert_equal "$c" 200
      JAR=$BATS_TEST_TMPDIR/jar$u api GET /api/me
      assert_equal "$code" 200
      assert_equal "$(json .username)" "$(cat "$BATS_TEST_TMPDIR/name$u")"
      ok=$((ok + 1))
    fi
  done <"$BATS_TEST_TMPDIR/logins"
  echo "load: $LOGINS logins at once in $ms ms: $ok sessions, $refused refused as wrong"
  assert_equal "$((ok + refused))" "$LOGINS"
  if [ -n "${STACK_DIR:-}" ]; then
    run log_since "$mark"
    refute_output --partial 'database is locked'
    refute_output --partial 'busy past the busy timeout'
  fi
}

@test "a long conversation read while it is written: every read is whole, pages add up" {
  new_account 1
  CSRF=$(cat "$BATS_TEST_TMPDIR/csrf1")
  JAR=$BATS_TEST_TMPDIR/jar1 api POST /api/conversations '{"title":"long one"}'
  cid=$(json .id)
  turns=30
  # The writer reads its own copy of the jar: api() rewrites jar1 on every read.
  cp "$BATS_TEST_TMPDIR/jar1" "$BATS_TEST_TMPDIR/writer-jar"
  (
    for i in $(seq "$turns"); do
      curl -sk -o /dev/null -w '%{http_code}\n' -A "$UA" -b "$BATS_TEST_TMPDIR/writer-jar" --max-time 30 \
        -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
        --data-binary "$(jq -cn --arg p "turn $i" --argjson c "$cid" '{prompt:$p,conversation_id:$c}')" \
        "$BASE_URL/api/chat" >>"$BATS_TEST_TMPDIR/writes"
    done
    touch "$BATS_TEST_TMPDIR/written"
  ) 3>&- &
  writer=$!
  reads=0 last=0
  deadline=$((SECONDS + 45))
  while [ ! -f "$BATS_TEST_TMPDIR/written" ] && [ $SECONDS -lt $deadline ]; do
    JAR=$BATS_TEST_TMPDIR/jar1 api GET "/api/conversations/$cid?limit=200"
    assert_equal "$code" 200
    n=$(json '.messages | length')
    # A turn's two messages are stored in one transaction: never one alone.
    assert_equal "$((n % 2))" 0
    [ "$n" -ge "$last" ]
    last=$n
    # An answer still being written shows as streaming (README, "Answers in flight").
    [ "$(json '[.messages[] | select(.status != "ok" and .status != "interrupted" and .status != "streaming")] | length')" = 0 ]
    reads=$((reads + 1))
  done
  wait "$writer"
  assert_equal "$(sort -u "$BATS_TEST_TMPDIR/writes")" 200
  # Walk the finished conversation backwards in pages of 7.
  before="" seen=0 ids=""
  while :; do
    JAR=$BATS_TEST_TMPDIR/jar1 api GET "/api/conversations/$cid?limit=7${before:+&before=$before}"
    assert_equal "$code" 200
    got=$(json '.messages | length')
    seen=$((seen + got))
    ids="$ids $(json '[.messages[].id] | join(" ")')"
    [ "$(json .has_more)" = true ] || break
    before=$(json '.messages[0].id')
  done
  echo "load: $reads whole reads while $turns turns were written; $seen messages paged back"
  assert_equal "$seen" $((turns * 2))
  assert_equal "$(tr ' ' '\n' <<<"$ids" | grep -c .)" "$(tr ' ' '\n' <<<"$ids" | grep . | sort -u | wc -l)"
  [ "$reads" -ge 3 ]
}
