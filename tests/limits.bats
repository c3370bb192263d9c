#!/usr/bin/env bats
# limits.bats: rate limits of login and register, on a private stack with small limits.

load helpers

setup_file() {
  private_stack_start RATE_LIMIT_AUTH_IP=8/minute RATE_LIMIT_LOGIN=3/minute
}

teardown_file() {
  private_stack_stop
}

# Every test starts with no attempts counted: all requests come from one
# address, so what one test spent would otherwise limit the next (and a
# test run alone with -f would see other counts).
setup() {
  needs_private_stack
  sql_write "DELETE FROM rate_events"
}

@test "failed logins are limited per username with 429 and Retry-After, and count only failures" {
  name=$(unique_name)
  register "$name"
  # Successful logins are not failures: three of them spend nothing.
  for i in 1 2 3; do
    JAR=$BATS_TEST_TMPDIR/ok login "$name"
    assert_equal "$code" 200
  done
  for i in 1 2 3; do
    JAR=$BATS_TEST_TMPDIR/x login "$name" "wrong $i"
    assert_equal "$code" 401
  done
  JAR=$BATS_TEST_TMPDIR/x login "$name"
  assert_equal "$code" 429
  retry=$(header Retry-After)
  [ "$retry" -ge 1 ]
  [ "$retry" -le 60 ]
  assert_regex "$(json .error)" '^Too many failed logins for this account; try again in [0-9]+ seconds?\.$'
  # Another account is not limited by this one's failures (the attempts
  # this address made so far are forgotten: that limit is the next test's).
  sql_write "DELETE FROM rate_events WHERE bucket LIKE 'auth-ip:%'"
  JAR=$BATS_TEST_TMPDIR/other new_user
  JAR=$BATS_TEST_TMPDIR/other2 login "$USERNAME"
  assert_equal "$code" 200
}

@test "login and register attempts are limited per client address" {
  # RATE_LIMIT_AUTH_IP=8/minute: seven failed logins and a registration
  # are answered; the ninth attempt is refused.
  for i in 1 2 3 4 5 6 7; do
    JAR=$BATS_TEST_TMPDIR/y login "nobody$i" "wrong password"
    assert_equal "$code" 401
  done
  JAR=$BATS_TEST_TMPDIR/y api POST /api/register "{\"username\":\"$(unique_name)\",\"password\":\"longenough\"}"
  assert_equal "$code" 201
  refused=$(unique_name)
  JAR=$BATS_TEST_TMPDIR/z api POST /api/register "{\"username\":\"$refused\",\"password\":\"longenough\"}"
  assert_equal "$code" 429
  [ "$(header Retry-After)" -ge 1 ]
  assert_regex "$(json .error)" '^Too many attempts from your address; try again in [0-9]+ seconds?\.$'
  # A refused registration created nothing.
  assert_equal "$(sql "SELECT count(*) FROM users WHERE username = '$refused'")" 0
  # Page views and health checks are neither refused nor counted.
  before=$(sql "SELECT count(*) FROM rate_events")
  api GET /api/health
  assert_equal "$code" 200
  api GET /login
  assert_equal "$code" 200
  assert_equal "$(sql "SELECT count(*) FROM rate_events")" "$before"
}
