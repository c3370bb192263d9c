#!/usr/bin/env bats
# prompt_limit.bats: the per-user prompt limit, shared by all processes, on a private stack.

load helpers

setup_file() {
  private_stack_start RATE_LIMIT_PROMPTS=3/hour
}

teardown_file() {
  private_stack_stop
}

setup() {
  needs_private_stack
}

@test "prompts over the limit answer 429 with Retry-After and store nothing" {
  new_user
  # Three at once from separate processes: the limit is counted in the database.
  for i in 1 2 3; do
    curl -sk -o /dev/null -w '%{http_code}\n' -A "$UA" -b "$BATS_TEST_TMPDIR/jar" -H "X-CSRF-Token: $CSRF" \
      -H 'Content-Type: application/json' --data-binary "{\"prompt\":\"p$i\"}" "$BASE_URL/api/chat" \
      >>"$BATS_TEST_TMPDIR/codes" &
  done
  wait
  assert_equal "$(sort -u "$BATS_TEST_TMPDIR/codes")" 200
  api POST /api/chat '{"prompt":"one too many"}'
  assert_equal "$code" 429
  retry=$(header Retry-After)
  [ "$retry" -gt 3000 ]
  [ "$retry" -le 3600 ]
  assert_regex "$(json .error)" 'too many prompts; try again in [0-9]+ minutes'
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 3
  # Another user has a limit of their own.
  JAR=$BATS_TEST_TMPDIR/other new_user
  JAR=$BATS_TEST_TMPDIR/other api POST /api/chat '{"prompt":"my first"}'
  assert_equal "$code" 200
}

@test "the OpenAI-compatible API counts against the same limit, and its 429 is OpenAI's rate_limit_exceeded" {
  new_user
  api POST /api/account/tokens '{"name":"limit script","store_conversations":true}'
  assert_equal "$code" 201
  token=$(json .token)
  gw() {
    curl -sk -o "$BATS_TEST_TMPDIR/gw.out" -D "$BATS_TEST_TMPDIR/gw.head" -w '%{http_code}' \
      -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      --data "$(jq -cn --arg c "$1" '{model:"fake-model",messages:[{role:"user",content:$c}]}')" \
      "$BASE_URL/v1/chat/completions"
  }
  # Two prompts in the app and one through the API: the limit of three is spent.
  api POST /api/chat '{"prompt":"app one"}'
  assert_equal "$code" 200
  api POST /api/chat '{"prompt":"app two"}'
  assert_equal "$code" 200
  assert_equal "$(gw "api one")" 200
  assert_equal "$(gw "api two")" 429
  jq . "$BATS_TEST_TMPDIR/gw.out"
  assert_equal "$(jq -r .error.type "$BATS_TEST_TMPDIR/gw.out")" rate_limit_error
  assert_equal "$(jq -r .error.code "$BATS_TEST_TMPDIR/gw.out")" rate_limit_exceeded
  assert_regex "$(jq -r .error.message "$BATS_TEST_TMPDIR/gw.out")" 'too many prompts; try again in [0-9]+ minutes'
  retry=$(tr -d '\r' <"$BATS_TEST_TMPDIR/gw.head" | awk -F': ' 'tolower($1) == "retry-after" {print $2}')
  [ "$retry" -gt 3000 ]
  [ "$retry" -le 3600 ]
  # The app's next prompt is refused too, and only the three answered turns were kept.
  api POST /api/chat '{"prompt":"app three"}'
  assert_equal "$code" 429
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 3
  assert_equal "$(json '[.conversations[].title | select(test("api two"))] | length')" 0
}
