#!/usr/bin/env bats
# sessions.bats: idle and absolute session expiry, on a private stack with short limits.

load helpers

setup_file() {
  private_stack_start SESSION_IDLE_TIMEOUT=4 SESSION_MAX_AGE=8
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
  sleep 5
  api GET /api/me
  assert_equal "$code" 401
  run sql "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = '$USERNAME'"
  assert_output 0
}

@test "a session in use still ends at the absolute limit" {
  new_user
  born=$(date +%s%N)
  elapsed_ms() { echo $((($(date +%s%N) - born) / 1000000)); }
  # In use every second (well inside the 4 s idle limit, with room for a
  # slow machine, where a registration alone may take seconds): it works
  # until the 8 s absolute limit, then not at all.
  seen=0
  while [ "$(elapsed_ms)" -lt 8500 ]; do
    sleep 1
    t=$(elapsed_ms)
    api GET /api/me
    [ "$t" -ge 7000 ] || { assert_equal "$code" 200; seen=$((seen + 1)); }
  done
  [ "$seen" -ge 2 ]
  while [ "$(elapsed_ms)" -lt 8500 ]; do
    sleep 1
    api GET /api/me
  done
  assert_equal "$code" 401
}
