#!/usr/bin/env bats
# limits.bats: rate limits of login and register, on a private stack with small limits.

load helpers

setup_file() {
  private_stack_start RATE_LIMIT_AUTH_IP=8/minute RATE_LIMIT_LOGIN=3/minute
}

teardown_file() {
  private_stack_stop
}

setup() {
  needs_private_stack
}

@test "failed logins are limited per username with 429 and Retry-After, and count only failures" {
  name=$(unique_name)
  register "$name"
  for i in 1 2 3; do
    JAR=$BATS_TEST_TMPDIR/x login "$name" "wrong $i"
    assert_equal "$code" 401
  done
  JAR=$BATS_TEST_TMPDIR/x login "$name"
  assert_equal "$code" 429
  retry=$(header Retry-After)
  [ "$retry" -ge 1 ] && [ "$retry" -le 60 ]
  assert_regex "$(json .error)" 'try again in [0-9]+ seconds?'
}

@test "login and register attempts are limited per client address" {
  # The previous test spent 5 of this address's 8 attempts (1 register + 4 logins).
  for i in 1 2 3; do
    JAR=$BATS_TEST_TMPDIR/y login "nobody$i" "wrong password"
  done
  JAR=$BATS_TEST_TMPDIR/y api POST /api/register "{\"username\":\"$(unique_name)\",\"password\":\"longenough\"}"
  assert_equal "$code" 429
  [ "$(header Retry-After)" -ge 1 ]
  # Page views and health checks are never counted.
  api GET /api/health
  assert_equal "$code" 200
  api GET /login
  assert_equal "$code" 200
  # A refused registration created nothing.
  run sql "SELECT count(*) FROM users"
  assert_output 1
}
