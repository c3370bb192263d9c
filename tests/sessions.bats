#!/usr/bin/env bats
# sessions.bats: idle and absolute session expiry, on a private stack with short limits.

load helpers

setup_file() {
  private_stack_start SESSION_IDLE_TIMEOUT=2 SESSION_MAX_AGE=6
}

teardown_file() {
  private_stack_stop
}

setup() {
  needs_private_stack
}

@test "a session expires after the idle limit and is deleted" {
  new_user
  api GET /api/me
  assert_equal "$code" 200
  sleep 3
  api GET /api/me
  assert_equal "$code" 401
  run sql "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = '$USERNAME'"
  assert_output 0
}

@test "a session in use still ends at the absolute limit" {
  new_user
  for _ in 1 2 3; do
    sleep 1.2
    api GET /api/me
    assert_equal "$code" 200
  done
  # 3.6 s and more have passed in use; go past the 6 s limit while staying active.
  sleep 1.2
  api GET /api/me
  sleep 1.5
  api GET /api/me
  assert_equal "$code" 401
}
