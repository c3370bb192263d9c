#!/usr/bin/env bats
# registration.bats: REGISTRATION=invite (single-use, expiring codes an admin
# makes) and REGISTRATION=closed. open is what every other suite's stack
# runs; approval is controls.bats'.

load helpers

PASS='correct horse battery'

setup_file() {
  private_stack_start REGISTRATION=invite
}

teardown_file() {
  private_stack_stop
}

setup() {
  needs_private_stack
}

# signup NAME [CODE]: POST /api/register, with an invitation code when given.
signup() {
  api POST /api/register "$(jq -cn --arg u "$1" --arg p "$PASS" --arg c "${2:-}" \
    '{username:$u,password:$p} + (if $c == "" then {} else {invite:$c} end)')"
}

@test "invite: the first account needs no code; later ones need an admin's code, which works once" {
  JAR=$BATS_FILE_TMPDIR/admin signup "first$(unique_name)"
  assert_equal "$code" 201
  assert_equal "$(json .role)" admin
  JAR=$BATS_FILE_TMPDIR/admin fetch_csrf
  name=$(unique_name)
  signup "$name"
  assert_equal "$code" 403
  assert_regex "$(json .error)" "needs an invitation code"
  signup "$name" "not-a-real-code"
  assert_equal "$code" 403
  assert_regex "$(json .error)" "unknown, used or expired"
  JAR=$BATS_FILE_TMPDIR/admin api POST /api/admin/invites
  assert_equal "$code" 201
  invite=$(json .code)
  assert_regex "$invite" '^[A-Za-z0-9_-]{22}$'
  signup "$name" "$invite"
  assert_equal "$code" 201
  assert_equal "$(json .status)" active
  JAR=$BATS_TEST_TMPDIR/second signup "$(unique_name)" "$invite"
  assert_equal "$code" 403
  assert_equal "$(sql "SELECT count(*) FROM users")" 2
}

@test "invite: an expired code is refused and creates no account" {
  needs_local
  JAR=$BATS_FILE_TMPDIR/admin fetch_csrf
  JAR=$BATS_FILE_TMPDIR/admin api POST /api/admin/invites
  assert_equal "$code" 201
  invite=$(json .code)
  sql_write "UPDATE invites SET expires_at = 1 WHERE used_at IS NULL"
  name=$(unique_name)
  signup "$name" "$invite"
  assert_equal "$code" 403
  assert_equal "$(sql "SELECT count(*) FROM users WHERE username = '$name'")" 0
}

@test "closed: nobody registers, not even the first account" {
  can_start_stacks || skip "needs a stack of its own"
  dir=$BATS_TEST_TMPDIR/closed
  stack_cmd start "$dir" REGISTRATION=closed
  # shellcheck source=/dev/null
  BASE_URL=$(. "$dir/stack.env" && echo "$BASE_URL")
  signup "$(unique_name)"
  stack_cmd stop "$dir"
  assert_equal "$code" 403
  assert_regex "$(json .error)" "Registration is closed"
}
