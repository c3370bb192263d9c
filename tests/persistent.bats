#!/usr/bin/env bats
# persistent.bats: the request path in both modes (README, "Two ways to run
# the programs"). tests/run.sh runs it against the default stack and again,
# with conversations.bats, against a stack in persistent mode with one
# process per endpoint (AIFACADE_PROCS=1), where one process answers both
# users' requests one after the other: every endpoint is visited, and every
# answer is checked to be its own user's. Also: declared query parameters
# (a bad or unknown one is 400 on every route), and an API key rotated in
# its *_FILE while the stack runs.

load helpers

# as USER: the cookie jar and CSRF token of user A or B for the next api call.
as() {
  JAR=$BATS_FILE_TMPDIR/jar.$1
  CSRF=$(cat "$BATS_FILE_TMPDIR/csrf.$1" 2>/dev/null || true)
}

setup_file() {
  local u
  for u in a b; do
    JAR=$BATS_FILE_TMPDIR/jar.$u
    CSRF=
    export BATS_TEST_TMPDIR=$BATS_FILE_TMPDIR
    name=$(unique_name)$u
    register "$name"
    echo "$name" >"$BATS_FILE_TMPDIR/name.$u"
    echo "$CSRF" >"$BATS_FILE_TMPDIR/csrf.$u"
  done
}

@test "two users' requests, interleaved, each see only their own data on every endpoint" {
  local a b
  a=$(cat "$BATS_FILE_TMPDIR/name.a"); b=$(cat "$BATS_FILE_TMPDIR/name.b")
  for round in 1 2 3; do
    for u in a b; do
      as $u
      api GET /api/me
      assert_equal "$code" 200
      assert_equal "$(json .username)" "$(cat "$BATS_FILE_TMPDIR/name.$u")"
      api POST /api/conversations "{\"title\":\"$u-title-$round\"}"
      assert_equal "$code" 201
      echo "$(json .id)" >>"$BATS_FILE_TMPDIR/convs.$u"
      cid=$(json .id)
      api POST /api/chat "{\"prompt\":\"word$u$round secret\",\"conversation_id\":$cid}"
      assert_equal "$code" 200
      assert_equal "$(json .message.content)" "Echo: word$u$round secret"
    done
    for u in a b; do
      as $u
      other=$([ $u = a ] && echo b || echo a)
      api GET /api/conversations
      assert_equal "$code" 200
      assert_equal "$(json '[.conversations[].title | select(startswith("'"$u"'-"))] | length')" "$round"
      assert_equal "$(json '[.conversations[].title | select(startswith("'"$other"'-"))] | length')" 0
      cid=$(tail -1 "$BATS_FILE_TMPDIR/convs.$u")
      api GET "/api/conversations/$cid?limit=10"
      assert_equal "$code" 200
      assert_equal "$(json '.messages | map(.content) | join("|")')" "word$u$round secret|Echo: word$u$round secret"
      # The other user's conversation does not exist for this one.
      ocid=$(tail -1 "$BATS_FILE_TMPDIR/convs.$other")
      api GET "/api/conversations/$ocid"
      assert_equal "$code" 404
      api GET "/api/search?q=word${other}$round"
      assert_equal "$code" 200
      assert_equal "$(json '.results | length')" 0
      api GET "/api/search?q=word$u$round"
      assert_equal "$code" 200
      [ "$(json '.results | length')" -ge 1 ]
    done
  done
  # A streamed answer, then the exports, an import, a rename, a delete.
  as a
  cid=$(head -1 "$BATS_FILE_TMPDIR/convs.a")
  api POST /api/chat "{\"prompt\":\"streamed for a\",\"conversation_id\":$cid}" -H 'Accept: text/event-stream'
  assert_equal "$code" 200
  assert_regex "$body" 'event: done'
  assert_regex "$body" 'Echo: streamed for a|"streamed for a"'
  api GET /api/account/export
  assert_equal "$code" 200
  assert_equal "$(json '.username')" "$a"
  assert_equal "$(json '[.conversations[].title | select(startswith("b-"))] | length')" 0
  cp "$BATS_TEST_TMPDIR/body" "$BATS_FILE_TMPDIR/export.a.json"
  api GET "/api/conversations/$cid/export?format=md"
  assert_equal "$code" 200
  assert_regex "$body" 'streamed for a'
  as b
  api POST /api/import '' -H 'Content-Type: application/json' --data-binary "@$BATS_FILE_TMPDIR/export.a.json"
  assert_equal "$code" 201
  assert_equal "$(json .conversations)" 3
  bcid=$(head -1 "$BATS_FILE_TMPDIR/convs.b")
  api PATCH "/api/conversations/$bcid" '{"title":"b renamed"}'
  assert_equal "$code" 200
  api DELETE "/api/conversations/$bcid"
  assert_equal "$code" 204
  # Clear and log out A: B keeps everything and stays logged in.
  as a
  api POST /api/clear ''
  assert_equal "$code" 204
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 0
  api POST /api/logout ''
  assert_equal "$code" 204
  api GET /api/me
  assert_equal "$code" 401
  as b
  api GET /api/me
  assert_equal "$code" 200
  assert_equal "$(json .username)" "$b"
  api GET /api/conversations
  assert_equal "$(json '[.conversations[].title | select(startswith("b-"))] | length')" 2
  as a
  api POST /api/login "$(jq -cn --arg u "$a" '{username:$u,password:"correct horse battery"}')"
  assert_equal "$code" 200
  api GET /api/health
  assert_equal "$code" 200
  api GET /api/nothing-here
  assert_equal "$code" 404
}

@test "query parameters are declared: an unknown or bad one is 400 on every route" {
  as b
  api GET '/api/conversations?limit=abc'
  assert_equal "$code" 400
  assert_regex "$(json .error)" "Unknown query parameter 'limit'; this address takes none"
  cid=$(tail -1 "$BATS_FILE_TMPDIR/convs.b")
  api GET "/api/conversations/$cid?limit=abc"
  assert_equal "$code" 400
  assert_equal "$(json .error)" "limit must be a whole number from 1 to 200."
  api GET "/api/conversations/$cid?limit=201"
  assert_equal "$code" 400
  api GET "/api/conversations/$cid?colour=red"
  assert_equal "$code" 400
  assert_equal "$(json .error)" "Unknown query parameter 'colour'; this address takes before, around, leaf and limit."
  api GET "/api/conversations/$cid?limit=2"
  assert_equal "$code" 200
  api GET '/api/me?x=1'
  assert_equal "$code" 400
  api GET "/api/conversations/$cid/export?format=pdf"
  assert_equal "$code" 400
  assert_equal "$(json .error)" "format must be md or json."
  api GET '/api/search?q=x&limit=0'
  assert_equal "$code" 400
  # Nothing was lost on the way.
  api GET /api/conversations
  assert_equal "$code" 200
  assert_equal "$(json '[.conversations[].title | select(startswith("b-"))] | length')" 2
}

@test "an API key rotated in its AI_API_KEY_FILE is used at the next prompt, without a restart" {
  needs_private_stack
  needs_local
  [ "${STACK_KIND:-local}" != docker ] || skip "the key file is on this machine; the containers read their own"
  local dir=$BATS_FILE_TMPDIR/rot
  mkdir -p "$dir"
  echo "stale-key" >"$dir/key"
  PRIVATE_DIR=$dir/stack
  stack_cmd start "$PRIVATE_DIR" AI_API_KEY= AI_API_KEY_FILE="$dir/key" AIFACADE_MODE="${AIFACADE_MODE:-process}" \
    AIFACADE_PROCS=1
  # shellcheck source=/dev/null
  . "$PRIVATE_DIR/stack.env"
  local saved_jar=${JAR:-}
  JAR=$dir/jar CSRF=
  new_user
  api POST /api/chat '{"prompt":"before the rotation"}'
  assert_equal "$code" 502
  # The key file is replaced as a secret manager does: a new file renamed over it.
  echo "test-key" >"$dir/key.new"
  mv "$dir/key.new" "$dir/key"
  api POST /api/chat '{"prompt":"after the rotation"}'
  assert_equal "$code" 200
  assert_equal "$(json .message.content)" "Echo: after the rotation"
  # The conversation of the failed prompt is still there, with its prompt.
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 2
  stack_cmd stop "$PRIVATE_DIR"
  JAR=$saved_jar
}

teardown_file() {
  [ ! -d "$BATS_FILE_TMPDIR/rot/stack" ] || stack_cmd stop "$BATS_FILE_TMPDIR/rot/stack"
}

@test "serve.sh and the programs read .env with one parser: an inline comment is not part of a value" {
  needs_local
  local ctl=${AIFACADE_BUILD:-build}/tools/aifacadectl
  [ -x "$BATS_TEST_DIRNAME/../$ctl" ] || skip "no $ctl built here"
  printf 'AI_MODEL=deepseek-chat  # cheap\nexport AI_SYSTEM_PROMPT="Be brief # really"\nbad line\n' \
    >"$BATS_TEST_TMPDIR/env"
  run bash -c "'$BATS_TEST_DIRNAME/../$ctl' dotenv '$BATS_TEST_TMPDIR/env' | tr '\\0' '|'"
  assert_success
  assert_output "AI_MODEL|deepseek-chat|AI_SYSTEM_PROMPT|Be brief # really|"
  # serve.sh takes its .env through that command.
  run grep -c 'dotenv .env' "$BATS_TEST_DIRNAME/../tools/serve.sh"
  assert_output 1
}

@test "persistent mode: a process answers many requests, and a new binary takes over at the next request" {
  [ "${AIFACADE_MODE:-process}" = persistent ] || skip "persistent mode only (tests/run.sh runs this suite in both modes)"
  needs_processes
  [ "${STACK_KIND:-local}" = local ] || skip "touches the stack's programs on this machine"
  local lighttpd sup worker bin
  lighttpd=$(lighttpd_pid)
  # One supervisor (AIFACADE_PROCS=1, as make test's persistent phase runs
  # it): with more, the request after the replace may go to another one.
  [ "$(pgrep -P "$lighttpd" -x me | wc -l)" = 1 ] || skip "needs one process per endpoint (AIFACADE_PROCS=1)"
  sup=$(pgrep -P "$lighttpd" -x me | head -1)
  worker=$(pgrep -P "$sup" | head -1)
  as b
  for _ in 1 2 3 4 5; do api GET /api/me; assert_equal "$code" 200; done
  # AIFACADE_PROCS=1: the same worker answered all five.
  assert_equal "$(pgrep -P "$sup" | head -1)" "$worker"
  # A deploy copies a new binary in (here: the same bytes, a new file).
  bin=$(readlink -f "/proc/$sup/exe")
  cp -p "$bin" "$bin.new" && touch "$bin.new" && mv -f "$bin.new" "$bin"
  api GET /api/me
  assert_equal "$code" 200
  assert_equal "$(json .username)" "$(cat "$BATS_FILE_TMPDIR/name.b")"
  # The supervisor re-executed itself (same pid, new program), with a new worker.
  [ "$(pgrep -P "$sup" | head -1)" != "$worker" ]
  grep -q "was replaced; restarting it" "$STACK_DIR/serve.log"
}

# spawned MODE [NAME=VALUE ...]: "endpoint:mode:procs" per SCGI server that
# tools/cgi-env.sh writes into lighttpd's configuration, sorted.
spawned() {
  local mode=$1; shift
  env -i PATH="$PATH" AIFACADE_MODE="$mode" AIFACADE_PROCS=3 "$@" "$BATS_TEST_DIRNAME/../tools/cgi-env.sh" scgi |
    awk -F'"' '/"bin-path"/ {sub(/.*\//, "", $4); e = $4} /"bin-environment"/ {m = $6} /"max-procs"/ {
      n = $0; gsub(/[^0-9]/, "", n); print e ":" m ":" n}' | sort
}

@test "on PostgreSQL every database endpoint runs warm in both modes; SQLite keeps its lists" {
  # The Makefile's endpoints but notfound (which opens no database).
  mapfile -t endpoints < <(sed -n '/^ENDPOINTS = /,/[^\\]$/p' "$BATS_TEST_DIRNAME/../Makefile" |
    sed 's/ENDPOINTS = //; s/\\//' | tr ' ' '\n' | grep -v '^notfound$' | grep . | sort)
  [ "${#endpoints[@]}" -ge 20 ]
  everyday=" register login logout me health conversations chat clear search export import "
  echo 'postgresql://u@/db?host=/nowhere' >"$BATS_TEST_TMPDIR/url"
  for how in "DATABASE=postgres://u@/db" "DATABASE_FILE=$BATS_TEST_TMPDIR/url"; do
    assert_equal "$(spawned process "$how" | tr '\n' ' ')" "$(printf '%s:process:1 ' "${endpoints[@]}")"
    want=""
    for e in "${endpoints[@]}"; do
      if [[ "$everyday" == *" $e "* ]]; then want+="$e:persistent:3 "; else want+="$e:process:1 "; fi
    done
    assert_equal "$(spawned persistent "$how" | tr '\n' ' ')" "$want"
  done
  assert_equal "$(spawned process DATABASE=/srv/a.db | tr '\n' ' ')" "chat:process:1 conversations:process:1 me:process:1 "
  assert_equal "$(spawned persistent | cut -d: -f2 | sort -u)" persistent
  assert_equal "$(spawned persistent | wc -l)" 11
  run spawned process DATABASE_FILE=/nonexistent/url
  assert_output --partial "DATABASE_FILE names a file that cannot be read"
}

@test "no endpoint maps libpq: it is loaded only when DATABASE names PostgreSQL" {
  local bin bins=()
  for bin in "$BATS_TEST_DIRNAME/../${AIFACADE_BUILD:-build}"/cgi-bin/*; do
    [ -x "$bin" ] && bins+=("$bin")
  done
  [ "${#bins[@]}" -ge 20 ]
  run ldd "${bins[@]}"
  assert_success
  refute_output --partial libpq
}
