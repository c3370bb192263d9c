#!/usr/bin/env bats
# import.bats: POST /api/import (our own export round trip, ChatGPT's
# conversations.json, malformed files refused whole, the size limit).

load helpers

chat_quick() { # prompt conversation_id
  api POST /api/chat "$(jq -cn --arg p "$1" --argjson c "$2" '{prompt:$p,conversation_id:$c}')"
  [ "$code" = 200 ] || { echo "chat: $code $body" >&2; return 1; }
}

new_conv() { # title; sets conv
  api POST /api/conversations "$(jq -cn --arg t "$1" '{title:$t}')"
  [ "$code" = 201 ] || { echo "new conversation: $code $body" >&2; return 1; }
  conv=$(json .id)
}

upload() { # file
  api POST /api/import '' -H 'Content-Type: application/json' --data-binary "@$1"
}

# The export without what may differ after a round trip: ids and the export time.
without_ids() {
  jq -S 'del(.exported_at) | .conversations |= map(del(.id) | .messages |= map(del(.id)))' "$1"
}

@test "export, clear, import and export again gives the same document except for ids" {
  new_user
  new_conv 'Première "conversation"'
  chat_quick 'Hello <there> & welcome' "$conv"
  chat_quick '[[fake:reasoning]] think first' "$conv"
  new_conv 'Second one'
  chat_quick '[[fake:status=500]] this one fails' "$conv" || true
  new_conv 'Empty'
  api GET /api/account/export
  assert_equal "$code" 200
  printf '%s' "$body" >"$BATS_TEST_TMPDIR/before.json"
  assert_equal "$(jq '[.conversations[].messages | length] | add' "$BATS_TEST_TMPDIR/before.json")" 6
  assert_equal "$(jq -r '.conversations[1].messages[1].status' "$BATS_TEST_TMPDIR/before.json")" error
  api POST /api/clear ''
  assert_equal "$code" 204
  upload "$BATS_TEST_TMPDIR/before.json"
  assert_equal "$code" 201
  assert_equal "$(json .conversations)" 3
  assert_equal "$(json .messages)" 6
  api GET /api/account/export
  printf '%s' "$body" >"$BATS_TEST_TMPDIR/after.json"
  assert_equal "$(without_ids "$BATS_TEST_TMPDIR/after.json")" "$(without_ids "$BATS_TEST_TMPDIR/before.json")"
  # The imported messages render and are found by search.
  id=$(jq '.conversations[0].id' "$BATS_TEST_TMPDIR/after.json")
  api GET "/api/conversations/$id"
  assert_equal "$(json '.messages[0].html')" '<p>Hello &lt;there&gt; &amp; welcome</p>'
  api GET /api/search '' -G --data-urlencode 'q=welcome'
  assert_equal "$(json '.results | map(select(.message_id != null)) | length')" 2
}

@test "ChatGPT's conversations.json comes in along the branch that was shown" {
  new_user
  cat >"$BATS_TEST_TMPDIR/chatgpt.json" <<'JSON'
[
  {"title": "Pasta sauce", "create_time": 1700000000.5, "update_time": 1700000100.25,
   "current_node": "n5",
   "mapping": {
     "root": {"id": "root", "message": null, "parent": null, "children": ["n1"]},
     "n1": {"id": "n1", "parent": "root", "children": ["n2"],
            "message": {"author": {"role": "system"}, "content": {"content_type": "text", "parts": ["You are ChatGPT"]},
                        "create_time": null, "metadata": {"is_visually_hidden_from_conversation": true}}},
     "n2": {"id": "n2", "parent": "n1", "children": ["n3", "n4"],
            "message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["How do I make *tomato* sauce?"]},
                        "create_time": 1700000001.0, "metadata": {}}},
     "n3": {"id": "n3", "parent": "n2", "children": [],
            "message": {"author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["An abandoned draft"]},
                        "create_time": 1700000002.0, "metadata": {"model_slug": "gpt-4"}}},
     "n4": {"id": "n4", "parent": "n2", "children": ["n5"],
            "message": {"author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["Simmer tomatoes.", "Add basil."]},
                        "create_time": 1700000003.0, "metadata": {"model_slug": "gpt-4o"}}},
     "n5": {"id": "n5", "parent": "n4", "children": [],
            "message": {"author": {"role": "tool"}, "content": {"content_type": "text", "parts": ["tool output"]},
                        "create_time": 1700000004.0, "metadata": {}}}
   }},
  {"title": null, "create_time": 1700001000, "update_time": null, "mapping": {
     "a": {"id": "a", "message": null, "parent": null, "children": ["b"]},
     "b": {"id": "b", "parent": "a", "children": [],
           "message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["untitled question"]},
                       "create_time": 1700001001}}}}
]
JSON
  upload "$BATS_TEST_TMPDIR/chatgpt.json"
  assert_equal "$code" 201
  assert_equal "$(json .conversations)" 2
  assert_equal "$(json .messages)" 3
  api GET /api/account/export
  assert_equal "$(json '.conversations | map(.title) | join(",")')" 'Pasta sauce,Imported chat'
  assert_equal "$(json '.conversations[0].created_at')" 2023-11-14T22:13:20.500Z
  assert_equal "$(json '.conversations[0].updated_at')" 2023-11-14T22:15:00.250Z
  assert_equal "$(json '.conversations[0].messages | map(.role) | join(",")')" user,assistant
  assert_equal "$(json '.conversations[0].messages[0].content')" 'How do I make *tomato* sauce?'
  assert_equal "$(json '.conversations[0].messages[1].content')" $'Simmer tomatoes.\n\nAdd basil.'
  assert_equal "$(json '.conversations[0].messages[1].model')" gpt-4o
  assert_equal "$(json '.conversations[0].messages[1].created_at')" 2023-11-14T22:13:23.000Z
  assert_equal "$(json '.conversations[1].messages[0].content')" 'untitled question'
}

@test "a malformed file is refused whole with the reason and leaves everything as it was" {
  new_user
  new_conv 'Keep me'
  chat_quick 'precious words' "$conv"
  api GET /api/account/export
  printf '%s' "$body" >"$BATS_TEST_TMPDIR/mine.json"
  # Conversation 2's second message has a role we do not have.
  jq '.conversations += [{title:"Bad",created_at:"2026-01-01T00:00:00.000Z",updated_at:"2026-01-01T00:00:00.000Z",
      messages:[{role:"user",content:"fine",status:"ok",created_at:"2026-01-01T00:00:00.000Z"},
                {role:"wizard",content:"x",status:"ok",created_at:"2026-01-01T00:00:00.000Z"}]}]' \
    "$BATS_TEST_TMPDIR/mine.json" >"$BATS_TEST_TMPDIR/bad.json"
  upload "$BATS_TEST_TMPDIR/bad.json"
  assert_equal "$code" 400
  assert_equal "$(json .error)" 'Conversation 2, message 2: role must be user or assistant.'
  while IFS='|' read -r content reason; do
    printf '%s' "$content" >"$BATS_TEST_TMPDIR/x.json"
    upload "$BATS_TEST_TMPDIR/x.json"
    assert_equal "$code" 400
    assert_regex "$(json .error)" "$reason"
  done <<'CASES'
{"format":"aifacade-export","version":1,"conversations":[{"title":"t"|ends in the middle
{"format":"aifacade-export","version":1,"conversations":[]} trailing|not valid JSON|more after
{"format":"aifacade-export","version":2,"conversations":[]}|newer AIFacade
{"format":"aifacade-export","conversations":[]}|no version
{"format":"other","version":1}|neither an AIFacade export nor
[]|no conversations
[{"title":"x"}]|no mapping
[{"mapping":{"a":{"parent":"b"},"b":{"parent":"a"}},"current_node":"a"}]|loop
[{"mapping":{},"current_node":"zz"}]|names no node
{"format":"aifacade-export","version":1,"conversations":[{"title":"t","created_at":"yesterday","updated_at":"2026-01-01T00:00:00Z","messages":[]}]}|created_at must be a time
{"format":"aifacade-export","version":1,"conversations":[{"title":"t","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","messages":[{"role":"user","content":"a\u0000b","status":"ok","created_at":"2026-01-01T00:00:00Z"}]}]}|without NUL
{"format":"aifacade-export","version":1,"conversations":[{"title":"","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","messages":[]}]}|Title cannot be empty
{'single': 'quotes'}|not valid JSON
CASES
  printf '' >"$BATS_TEST_TMPDIR/empty.json"
  upload "$BATS_TEST_TMPDIR/empty.json"
  assert_equal "$code" 400
  printf '{"format":"aifacade-export","version":1,"conversations":[{"title":"\xff"}]}' >"$BATS_TEST_TMPDIR/utf8.json"
  upload "$BATS_TEST_TMPDIR/utf8.json"
  assert_equal "$code" 400
  api POST /api/import '' -H 'Content-Type: text/plain' --data-binary "@$BATS_TEST_TMPDIR/mine.json"
  assert_equal "$code" 415
  # Nothing of any refused file was kept; what was there is still there.
  api GET /api/account/export
  assert_equal "$(jq -S 'del(.exported_at)' <<<"$body")" "$(jq -S 'del(.exported_at)' "$BATS_TEST_TMPDIR/mine.json")"
}

@test "import needs a session and the CSRF token; the conversations are the importer's only" {
  new_user
  new_conv 'Shared?'
  chat_quick 'mine alone' "$conv"
  api GET /api/account/export
  printf '%s' "$body" >"$BATS_TEST_TMPDIR/doc.json"
  JAR=$BATS_TEST_TMPDIR/anon CSRF= upload "$BATS_TEST_TMPDIR/doc.json"
  assert_equal "$code" 401
  CSRF= upload "$BATS_TEST_TMPDIR/doc.json"
  assert_equal "$code" 403
  JAR=$BATS_TEST_TMPDIR/other
  export JAR
  new_user
  upload "$BATS_TEST_TMPDIR/doc.json"
  assert_equal "$code" 201
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 1
  JAR=$BATS_TEST_TMPDIR/jar
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 1
}

@test "a file larger than 64 KiB is imported (the import has its own limit)" {
  new_user
  jq -n '{format:"aifacade-export",version:1,conversations:[{title:"Big",created_at:"2026-01-01T00:00:00.000Z",
     updated_at:"2026-01-01T00:00:00.000Z",messages:[range(0;300) | {role:(if . % 2 == 0 then "user" else "assistant" end),
     content:("x" * 1000),status:"ok",created_at:"2026-01-01T00:00:00.000Z"}]}]}' >"$BATS_TEST_TMPDIR/big.json"
  [ "$(stat -c %s "$BATS_TEST_TMPDIR/big.json")" -gt 300000 ]
  upload "$BATS_TEST_TMPDIR/big.json"
  assert_equal "$code" 201
  assert_equal "$(json .messages)" 300
}

# ctl ARGS...: the admin command with only the settings the stack's programs have.
ctl() {
  local pg
  pg=$(stack_pg)
  mkdir -p "$BATS_TEST_TMPDIR/root"
  env -i PATH="$PATH" LANG=C.UTF-8 AIFACADE_ROOT="$BATS_TEST_TMPDIR/root" AIFACADE_INSTANCE="$STACK_DIR/instance" \
    ${pg:+DATABASE_FILE="$STACK_DIR/database.url"} "$BATS_TEST_DIRNAME/../${AIFACADE_BUILD:-build}/tools/aifacadectl" "$@"
}

@test "aifacadectl import: any size for a user, all or nothing, with the reason" {
  needs_local
  new_user
  jq -cn '{format:"aifacade-export",version:1,conversations:[range(0;3) as $c | {title:"From ctl \($c)",
     created_at:"2026-01-01T00:00:00.000Z",updated_at:"2026-01-02T00:00:00.000Z",
     messages:[range(0;400) | {role:(if . % 2 == 0 then "user" else "assistant" end),
     content:("z" * 20000),status:"ok",created_at:"2026-01-01T00:00:00.000Z"}]}]}' >"$BATS_TEST_TMPDIR/huge.json"
  [ "$(stat -c %s "$BATS_TEST_TMPDIR/huge.json")" -gt 20000000 ]
  run ctl import "$USERNAME" "$BATS_TEST_TMPDIR/huge.json"
  assert_success
  assert_output "imported 3 conversations with 1200 messages for '$USERNAME'"
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 3
  jq '.conversations[1].messages[7].status = "maybe"' "$BATS_TEST_TMPDIR/huge.json" >"$BATS_TEST_TMPDIR/bad.json"
  run ctl import "$USERNAME" "$BATS_TEST_TMPDIR/bad.json"
  assert_failure 1
  assert_output --partial 'Conversation 2, message 8: status must be ok, error or interrupted. Nothing was imported.'
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 3
  run ctl import nobody-here "$BATS_TEST_TMPDIR/huge.json"
  assert_failure 1
  assert_output --partial "there is no user 'nobody-here'"
  run ctl import "$USERNAME" "$BATS_TEST_TMPDIR/missing.json"
  assert_failure 1
  assert_output --partial 'cannot read'
  run ctl import "$USERNAME"
  assert_failure 2
}
