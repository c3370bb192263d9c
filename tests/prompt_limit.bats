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
