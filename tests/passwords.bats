#!/usr/bin/env bats
# passwords.bats: argon2id at the cost users get (PASSWORD_HASH_COST's
# default, interactive). The other suites' stacks hash at "minimum" to
# spare the machine (tests/stack.sh), so what depends on the real cost is
# checked here, on a stack of this suite's own.

load helpers

setup_file() {
  # The shared stack (minimum cost) stays up: the rehash test takes a hash from it.
  export MAIN_BASE_URL=$BASE_URL MAIN_STACK_DIR=${STACK_DIR:-} MAIN_COMPOSE_PROJECT=${COMPOSE_PROJECT:-}
  private_stack_start PASSWORD_HASH_COST=interactive
}

teardown_file() {
  private_stack_stop
}

setup() {
  needs_private_stack
}

@test "the password is stored only as an argon2id hash of the default cost" {
  needs_local
  name=$(unique_name)
  register "$name" "plain text secret 123"
  hash=$(sql "SELECT password_hash FROM users WHERE username = '$name'")
  assert_regex "$hash" '^\$argon2id\$v=19\$m=65536,t=2,p=1\$'
  run grep -r "plain text secret 123" "$STACK_DIR"
  assert_failure
}

@test "login spends about the same time for an unknown user as for a wrong password" {
  name=$(unique_name)
  register "$name"
  t() { curl -sk -o /dev/null -w '%{time_total}' -H 'Content-Type: application/json' \
          --data-binary "$1" "$BASE_URL/api/login"; }
  known=0 unknown=0
  for i in 1 2 3; do
    known=$(echo "$known + $(t "{\"username\":\"$name\",\"password\":\"wrong password $i\"}")" | bc -l)
    unknown=$(echo "$unknown + $(t "{\"username\":\"ghost$i$name\",\"password\":\"wrong password\"}")" | bc -l)
  done
  # The unknown user must cost at least half of the real verification.
  ratio=$(echo "$unknown / $known" | bc -l)
  echo "known=$known unknown=$unknown ratio=$ratio"
  [ "$(echo "$ratio > 0.5 && $ratio < 2" | bc -l)" = 1 ]
}

@test "a hash of another cost logs in and is replaced by one of the configured cost" {
  needs_local
  [ -n "$MAIN_STACK_DIR" ] || skip "needs the shared stack's database for a minimum-cost hash"
  name=$(unique_name)
  # A hash made at the minimum cost, by the shared stack.
  BASE_URL=$MAIN_BASE_URL JAR=$BATS_TEST_TMPDIR/main register "$name"
  weak=$(STACK_DIR=$MAIN_STACK_DIR sql "SELECT password_hash FROM users WHERE username = '$name'")
  assert_regex "$weak" '^\$argon2id\$v=19\$m=8,t=1,p=1\$'
  register "$name"
  sql_write "UPDATE users SET password_hash = '$weak' WHERE username = '$name'"
  JAR=$BATS_TEST_TMPDIR/wrong login "$name" "not the password"
  assert_equal "$code" 401
  assert_equal "$(sql "SELECT password_hash FROM users WHERE username = '$name'")" "$weak"
  JAR=$BATS_TEST_TMPDIR/again login "$name"
  assert_equal "$code" 200
  strong=$(sql "SELECT password_hash FROM users WHERE username = '$name'")
  assert_regex "$strong" '^\$argon2id\$v=19\$m=65536,t=2,p=1\$'
  JAR=$BATS_TEST_TMPDIR/third login "$name"
  assert_equal "$code" 200
}

@test "init-db warns of the minimum cost at start, and only then" {
  needs_local
  run stack_log
  refute_output --partial "PASSWORD_HASH_COST=minimum"
  COMPOSE_PROJECT=$MAIN_COMPOSE_PROJECT STACK_DIR=$MAIN_STACK_DIR run stack_log
  assert_output --partial "warning: PASSWORD_HASH_COST=minimum hashes passwords for test suites"
}
