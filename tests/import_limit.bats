#!/usr/bin/env bats
# import_limit.bats: IMPORT_MAX_BYTES bounds POST /api/import, on a private stack.

load helpers

setup_file() {
  private_stack_start IMPORT_MAX_BYTES=4096
}

teardown_file() {
  private_stack_stop
}

setup() {
  needs_private_stack
}

doc_of_size() { # approximate bytes, file
  jq -cn --argjson n "$1" '{format:"aifacade-export",version:1,conversations:[{title:"Sized",
    created_at:"2026-01-01T00:00:00.000Z",updated_at:"2026-01-01T00:00:00.000Z",
    messages:[{role:"user",content:("y" * ($n - 250)),status:"ok",created_at:"2026-01-01T00:00:00.000Z"}]}]}' >"$2"
}

@test "a file over IMPORT_MAX_BYTES is a 413 that says what to do, and nothing is kept" {
  new_user
  doc_of_size 5000 "$BATS_TEST_TMPDIR/big.json"
  api POST /api/import '' -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/big.json"
  assert_equal "$code" 413
  assert_equal "$(json .error)" 'The file is larger than the import limit of 4096 bytes; ask the operator to raise IMPORT_MAX_BYTES or to run aifacadectl import.'
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 0
  doc_of_size 4000 "$BATS_TEST_TMPDIR/small.json"
  [ "$(stat -c %s "$BATS_TEST_TMPDIR/small.json")" -le 4096 ]
  api POST /api/import '' -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/small.json"
  assert_equal "$code" 201
}

@test "an upload is spooled to an unlinked file: nothing is left in the instance directory" {
  needs_local
  new_user
  doc_of_size 3000 "$BATS_TEST_TMPDIR/doc.json"
  api POST /api/import '' -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/doc.json"
  assert_equal "$code" 201
  run bash -c "ls '$STACK_DIR/instance' | grep -c '^import-'"
  assert_output 0
}
