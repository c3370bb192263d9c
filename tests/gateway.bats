#!/usr/bin/env bats
# gateway.bats: the OpenAI-compatible API (README, "The OpenAI-compatible API"):
# POST /v1/chat/completions and GET /v1/models behind personal API tokens,
# budgets and the audit log, against the fake provider. The wire details and
# hostile input with curl; the official `openai` client (tests/sdk, Debian's
# node) for what OpenAI tools see.

load helpers

PASS='correct horse battery'

# register_user NAME JAR: a fresh account, its cookie jar and CSRF token.
register_user() {
  local name=$1 jar=$2
  curl -sk -A "$UA" -c "$jar" -o /dev/null -H 'Content-Type: application/json' \
    --data "$(jq -cn --arg u "$name" --arg p "$PASS" '{username:$u,password:$p}')" "$BASE_URL/api/register"
  curl -sk -A "$UA" -b "$jar" "$BASE_URL/api/me" | jq -r .csrf_token
}

# new_token JAR CSRF NAME [KEEP]: creates an API token; prints it.
new_token() {
  curl -sk -A "$UA" -b "$1" -H "X-CSRF-Token: $2" -H 'Content-Type: application/json' \
    --data "$(jq -cn --arg n "$3" --argjson k "${4:-false}" '{name:$n,store_conversations:$k}')" \
    "$BASE_URL/api/account/tokens" | jq -r .token
}

setup_file() {
  # Its own stack: the first account is the admin that sets a budget.
  private_stack_start
  can_start_stacks || return 0
  local d=$BATS_FILE_TMPDIR
  export ADMIN_JAR=$d/admin.jar USER_JAR=$d/user.jar BROKE_JAR=$d/broke.jar
  ADMIN_CSRF=$(register_user gwboss "$ADMIN_JAR")
  USER_CSRF=$(register_user gwuser "$USER_JAR")
  local broke_csrf
  broke_csrf=$(register_user gwbroke "$BROKE_JAR")
  GW_TOKEN=$(new_token "$USER_JAR" "$USER_CSRF" "editor plugin")
  GW_KEEP_TOKEN=$(new_token "$USER_JAR" "$USER_CSRF" "notebook" true)
  GW_BROKE_TOKEN=$(new_token "$BROKE_JAR" "$broke_csrf" "broke script")
  [[ "$GW_TOKEN" == aif_* && "$GW_KEEP_TOKEN" == aif_* && "$GW_BROKE_TOKEN" == aif_* ]] ||
    { echo "setup: no tokens ($GW_TOKEN)" >&2; return 1; }
  # A budget of one prompt a day for gwbroke, used up at once.
  local broke_id
  broke_id=$(curl -sk -A "$UA" -b "$ADMIN_JAR" "$BASE_URL/api/admin/users" | jq -r '.users[] | select(.username=="gwbroke") | .id')
  curl -sk -A "$UA" -b "$ADMIN_JAR" -H "X-CSRF-Token: $ADMIN_CSRF" -H 'Content-Type: application/json' -X PATCH \
    --data '{"quota_prompts_day":1}' -o /dev/null "$BASE_URL/api/admin/users/$broke_id"
  curl -sk -o /dev/null -H "Authorization: Bearer $GW_BROKE_TOKEN" -H 'Content-Type: application/json' \
    --data '{"model":"fake-model","messages":[{"role":"user","content":"the one prompt"}]}' "$BASE_URL/v1/chat/completions"
  export ADMIN_CSRF USER_CSRF GW_TOKEN GW_KEEP_TOKEN GW_BROKE_TOKEN
}

teardown_file() {
  private_stack_stop
}

setup() {
  needs_private_stack
}

# gw METHOD PATH [JSON] [curl args...]: a call with the user's token, no cookie.
gw() {
  local method=$1 path=$2 data=${3:-}
  shift 3 2>/dev/null || shift $#
  JAR=/dev/null api "$method" "$path" "$data" -H "Authorization: Bearer ${TOKEN:-$GW_TOKEN}" "$@"
}

chat_body() { # prompt [extra jq object]
  jq -cn --arg p "$1" --argjson x "${2:-{\}}" '{model:"fake-model",messages:[{role:"user",content:$p}]} + $x'
}

# The official client's case $1 (tests/sdk/gateway.test.mjs) on Debian's
# node: one node run for every case (its start costs a second), at the first
# case; each case's line is then one test's verdict.
sdk() {
  local results=$BATS_FILE_TMPDIR/sdk.out
  command -v node >/dev/null && command -v npm >/dev/null ||
    fail "node and npm are missing: AIFACADE_DEPS=browser tools/install-deps.sh"
  local dir=$BATS_TEST_DIRNAME/sdk
  if [ ! -f "$dir/node_modules/openai/package.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2 || fail "npm ci failed in tests/sdk"
  fi
  # Caddy's certificate is its own internal CA's.
  [ -f "$results" ] || env BASE_URL="$BASE_URL" FAKE_URL="$FAKE_URL" GW_TOKEN="$GW_TOKEN" \
    GW_BROKE_TOKEN="$GW_BROKE_TOKEN" NODE_TLS_REJECT_UNAUTHORIZED=0 NODE_NO_WARNINGS=1 \
    timeout 120 node "$dir/gateway.test.mjs" all >"$results" 2>&1 || true
  grep -q "^ok $1\$" "$results" || fail "$(grep -E "^not ok $1:" "$results" || cat "$results")"
}

@test "GET /v1/models lists AI_MODELS in OpenAI's shape" {
  gw GET /v1/models
  assert_equal "$code" 200
  assert_equal "$(json '[.object, (.data | map(.id) | join(",")), .data[0].object] | join(" ")')" "list fake-model,fake-reasoner model"
}

@test "only a bearer token counts: none, a wrong one or a session cookie is OpenAI's 401" {
  JAR=/dev/null api GET /v1/models
  assert_equal "$code" 401
  assert_equal "$(json '.error.type + " " + .error.code')" "authentication_error invalid_api_key"
  assert_equal "$(header WWW-Authenticate)" Bearer
  TOKEN=aif_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx gw POST /v1/chat/completions "$(chat_body hi)"
  assert_equal "$code" 401
  assert_regex "$(json .error.message)" "unknown or revoked"
  # The browser's session is no key: a page on another site cannot spend it.
  JAR=$USER_JAR api POST /v1/chat/completions "$(chat_body hi)" -H "Origin: https://evil.example"
  assert_equal "$code" 401
  JAR=$USER_JAR api GET /v1/models
  assert_equal "$code" 401
}

@test "a completion passes on the provider's answer and is recorded per user and per token" {
  gw POST /v1/chat/completions "$(chat_body 'plain question' '{"max_tokens":20,"temperature":0.5,"top_p":1,"stop":["zz"]}')"
  assert_equal "$code" 200
  assert_equal "$(json '.object + " " + .choices[0].message.content')" "chat.completion Echo: plain question"
  [ "$(json .usage.total_tokens)" -gt 0 ]
  [[ "$body$(cat "$headers_file")" != *test-key* ]]
  # What reached the provider: the accepted fields, with our key.
  local sent
  sent=$(curl -s "$FAKE_URL/_fake/requests" | jq -c '[.[] | select(.body.messages[-1].content == "plain question")][-1]')
  assert_equal "$(jq -c '[.auth_ok, .body.max_tokens, .body.temperature, .body.stop]' <<<"$sent")" '[true,20,0.5,["zz"]]'
  needs_local
  local tid
  tid=$(sql "SELECT id FROM api_tokens WHERE name = 'editor plugin'")
  [ "$(sql "SELECT count(*) FROM gateway_calls WHERE token_id = $tid AND refused IS NULL AND tokens > 0")" -ge 1 ]
  [ "$(sql "SELECT count(*) FROM audit WHERE action = 'gateway-call' AND actor = 'gwuser' AND target = 'editor plugin'")" -ge 1 ]
  # Nothing kept: the token did not ask for it.
  assert_equal "$(sql "SELECT count(*) FROM conversations c JOIN users u ON u.id = c.user_id WHERE u.username = 'gwuser' AND c.title LIKE 'editor plugin:%'")" 0
}

@test "a stream is passed on chunk by chunk and ends with [DONE]; usage only when asked" {
  gw POST /v1/chat/completions "$(chat_body '[[fake:chunks=3]] alpha beta gamma' '{"stream":true}')" -N
  assert_equal "$code" 200
  assert_regex "$(header Content-Type)" '^text/event-stream'
  local data
  data=$(grep '^data: ' <<<"$body" | sed 's/^data: //')
  assert_equal "$(tail -1 <<<"$data")" '[DONE]'
  assert_equal "$(grep -v DONE <<<"$data" | jq -rj '.choices[0].delta.content // ""')" "Echo: alpha beta gamma"
  assert_equal "$(grep -v DONE <<<"$data" | jq -s 'map(select(.usage)) | length')" 0
  gw POST /v1/chat/completions "$(chat_body 'count me' '{"stream":true,"stream_options":{"include_usage":true}}')" -N
  data=$(grep '^data: ' <<<"$body" | sed 's/^data: //' | grep -v DONE)
  [ "$(jq -s 'map(select(.usage and (.choices | length) == 0)) | .[0].usage.total_tokens' <<<"$data")" -gt 0 ]
}

@test "hostile input is refused with 400 and a message naming the field, before the provider" {
  curl -s -X POST -d '' "$FAKE_URL/_fake/reset" >/dev/null
  gw POST /v1/chat/completions '{"model":'
  assert_equal "$code" 400
  assert_equal "$(json .error.code)" invalid_json
  gw POST /v1/chat/completions '[1,2]'
  assert_equal "$(json .error.code)" invalid_json
  gw POST /v1/chat/completions '{"model":"fake-model","messages":"hi"}'
  assert_equal "$code" 400
  assert_regex "$(json .error.message)" '^messages must be'
  gw POST /v1/chat/completions '{"model":"fake-model","messages":[{"role":"tool","content":"x"}]}'
  assert_regex "$(json .error.message)" 'role must be system, user or assistant'
  gw POST /v1/chat/completions '{"model":"fake-model","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}'
  assert_equal "$code" 400
  assert_equal "$(json .error.code)" unsupported_content
  gw POST /v1/chat/completions "$(chat_body hi '{"n":2}')"
  assert_equal "$code" 400
  assert_regex "$(json .error.message)" '^n must be 1'
  gw POST /v1/chat/completions "$(chat_body hi '{"tools":[]}')"
  assert_equal "$code" 400
  assert_equal "$(json '.error.type + " " + .error.code')" "invalid_request_error unsupported_parameter"
  assert_regex "$(json .error.message)" "'tools' is not supported"
  gw POST /v1/chat/completions "$(chat_body hi '{"temperature":"hot"}')"
  assert_regex "$(json .error.message)" '^temperature must be a number'
  gw POST /v1/chat/completions "$(chat_body hi '{"stream":"yes"}')"
  assert_regex "$(json .error.message)" '^stream must be true or false'
  gw POST /v1/chat/completions "$(chat_body hi '{"stream_options":{"include_usage":true}}')"
  assert_regex "$(json .error.message)" 'only allowed with stream'
  gw POST /v1/chat/completions '{"messages":[{"role":"user","content":"x"}]}'
  assert_regex "$(json .error.message)" '^model is required'
  gw POST /v1/chat/completions '{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}'
  assert_equal "$code" 404
  assert_equal "$(json .error.code)" model_not_found
  gw POST /v1/chat/completions "$(chat_body "$(head -c 70000 /dev/zero | tr '\0' a)")"
  assert_equal "$code" 413
  code=$(curl -sk -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' -H "Authorization: Bearer $GW_TOKEN" \
    -H 'Content-Type: text/plain' --data "$(chat_body hi)" "$BASE_URL/v1/chat/completions")
  body=$(cat "$BATS_TEST_TMPDIR/body")
  assert_equal "$code" 415
  assert_equal "$(json .error.type)" invalid_request_error
  gw GET /v1/chat/completions
  assert_equal "$code" 405
  gw GET /v1/embeddings
  assert_equal "$code" 404
  assert_equal "$(json .error.type)" not_found_error
  assert_regex "$(json .error.message)" 'offers POST /v1/chat/completions and GET /v1/models'
  gw GET /v1/models/fake-model
  assert_equal "$code" 404
  # None of it reached the provider.
  assert_equal "$(curl -s "$FAKE_URL/_fake/requests" | jq length)" 0
}

@test "a client that leaves mid-stream stops the provider's request" {
  local mark
  mark="leave-$RANDOM$RANDOM"
  gw POST /v1/chat/completions "$(chat_body "[[fake:long=200]] [[fake:slow=100]] $mark" '{"stream":true}')" -N --max-time 1 || true
  # The client left after 1 s; the whole answer would take 20 s (AI_TIMEOUT
  # too): the provider must see the close within a few seconds.
  local entry deadline=$((SECONDS + 8))
  while [ $SECONDS -lt $deadline ]; do
    entry=$(curl -s "$FAKE_URL/_fake/requests" | jq -c --arg m "$mark" '[.[] | select(.body.messages[-1].content | contains($m))][0]')
    [ "$(jq -r .disconnected <<<"$entry")" = true ] && break
    sleep 0.1
  done
  assert_equal "$(jq -c '[.disconnected, .completed, (.ended - .started < 6)]' <<<"$entry")" '[true,false,true]'
}

@test "a provider failure is OpenAI's error and never shows the provider's key" {
  gw POST /v1/chat/completions "$(chat_body '[[fake:status=401]] hi')"
  # The provider refused our key, not the client's: 502, not 401.
  assert_equal "$code" 502
  assert_equal "$(json .error.type)" api_error
  [[ "$body" != *test-key* ]]
  gw POST /v1/chat/completions "$(chat_body '[[fake:stream_error]] hi' '{"stream":true}')" -N
  assert_equal "$code" 200
  # The provider's own error event is passed on, and nothing after it.
  assert_equal "$(grep -c '^data: {"error"' <<<"$body")" 1
  assert_equal "$(grep '^data: {"error"' <<<"$body" | sed 's/^data: //' | jq -r .error.type)" server_error
}

@test "an exhausted budget is a 429 insufficient_quota with Retry-After, counted as a refusal of the token" {
  TOKEN=$GW_BROKE_TOKEN gw POST /v1/chat/completions "$(chat_body 'one more')"
  assert_equal "$code" 429
  assert_equal "$(json '.error.type + " " + .error.code')" "insufficient_quota insufficient_quota"
  assert_regex "$(json .error.message)" 'daily budget of 1 prompts'
  [ "$(header Retry-After)" -ge 1 ]
  # The admin page's figures: per user and per token, this month.
  JAR=$ADMIN_JAR api GET /api/admin/users
  local g
  g=$(json '.users[] | select(.username=="gwbroke") | .api_this_month')
  assert_equal "$(jq -c '[.calls >= 2, .refusals >= 1, .tokens > 0]' <<<"$g")" '[true,true,true]'
  assert_equal "$(jq -c '.tokens_by_token[0] | [.name, .refusals >= 1]' <<<"$g")" '["broke script",true]'
}

@test "a token that asks for it keeps its calls as conversations titled with its name" {
  TOKEN=$GW_KEEP_TOKEN gw POST /v1/chat/completions \
    '{"model":"fake-model","messages":[{"role":"system","content":"s"},{"role":"user","content":"first"},{"role":"assistant","content":"Echo: first"},{"role":"user","content":"keep this one"}]}'
  assert_equal "$code" 200
  JAR=$USER_JAR api GET /api/conversations
  local id
  id=$(json '.conversations[] | select(.title == "notebook: keep this one") | .id')
  [ -n "$id" ]
  JAR=$USER_JAR api GET "/api/conversations/$id"
  assert_equal "$(json '[.messages[] | .role + ":" + .content] | join("|")')" \
    "user:first|assistant:Echo: first|user:keep this one|assistant:Echo: keep this one"
  JAR=$USER_JAR api GET /api/account/tokens
  assert_equal "$(json '[.tokens[] | "\(.name)=\(.store_conversations)"] | join(",")')" "editor plugin=false,notebook=true"
  [ "$(json '.tokens[] | select(.name=="notebook") | .gateway_this_month.calls')" -ge 1 ]
}

@test "openai client: a completion" {
  sdk completion
}

@test "openai client: a stream read chunk by chunk, with usage" {
  sdk stream
}

@test "openai client: an aborted stream closes the provider's connection" {
  sdk abort
}

@test "openai client: a wrong token is its AuthenticationError" {
  sdk wrong_token
}

@test "openai client: an exhausted budget is its RateLimitError, without retries the server advised against" {
  sdk budget
}

@test "openai client: its retry waits the Retry-After the gateway sent" {
  sdk retry_after
}

@test "openai client: models.list()" {
  sdk models
}
