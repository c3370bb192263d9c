#!/usr/bin/env bats
# export.bats: GET /api/conversations/{id}/export?format=md|json and GET /api/account/export.

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

@test "a conversation exports as JSON with everything needed to restore it, as a download" {
  new_user
  new_conv 'Trip to "Zürich" / plans'
  chat_quick 'Which trains <go> there?' "$conv"
  chat_quick '[[fake:reasoning]] and back?' "$conv"
  api GET "/api/conversations/$conv/export?format=json"
  assert_equal "$code" 200
  assert_regex "$(header Content-Type)" '^application/json'
  assert_equal "$(header Content-Disposition)" 'attachment; filename="aifacade-trip-to-z-rich-plans.json"'
  assert_equal "$(header Cache-Control)" no-store
  assert_equal "$(json .format)" aifacade-export
  assert_equal "$(json .version)" 1
  assert_equal "$(json .username)" "$USERNAME"
  assert_equal "$(json '.conversations | length')" 1
  assert_equal "$(json '.conversations[0].title')" 'Trip to "Zürich" / plans'
  assert_equal "$(json '.conversations[0].id')" "$conv"
  assert_equal "$(json '.conversations[0].messages | map(.role) | join(",")')" user,assistant,user,assistant
  assert_equal "$(json '.conversations[0].messages[0].content')" 'Which trains <go> there?'
  assert_equal "$(json '.conversations[0].messages[1] | [.status, .model] | join(",")')" ok,fake-model
  assert_equal "$(json '.conversations[0].messages[3].reasoning | length > 0')" true
  # The same messages, times and contents as the conversation itself.
  export_body=$body
  api GET "/api/conversations/$conv?limit=200"
  assert_equal "$(jq -c '[.conversations[0].messages[] | {id,role,content,created_at,status}]' <<<"$export_body")" \
               "$(jq -c '[.messages[] | {id,role,content,created_at,status}]' <<<"$body")"
  # format defaults to json.
  api GET "/api/conversations/$conv/export"
  assert_equal "$code" 200
  assert_equal "$(json '.conversations[0].messages | length')" 4
}

@test "a conversation exports as Markdown that reads as the chat did" {
  new_user
  new_conv 'Cooking'
  chat_quick 'How do I boil an egg?' "$conv"
  api GET "/api/conversations/$conv/export?format=md"
  assert_equal "$code" 200
  assert_regex "$(header Content-Type)" '^text/markdown; charset=utf-8'
  assert_equal "$(header Content-Disposition)" 'attachment; filename="aifacade-cooking.md"'
  assert_equal "$(head -1 <<<"$body")" '# Cooking'
  assert_regex "$body" $'## You — [0-9T:.-]+Z\n\nHow do I boil an egg\\?'
  assert_regex "$body" $'## Assistant \\(fake-model\\) — [0-9T:.-]+Z\n\nEcho: How do I boil an egg\\?'
}

@test "export refuses others' conversations, bad formats and anonymous callers" {
  new_user
  new_conv 'Mine'
  mine=$conv
  for bad in 'format=html' 'format=' 'format=md&format=json' 'x=1' 'format=MD'; do
    api GET "/api/conversations/$mine/export?$bad"
    assert_equal "$code" 400
  done
  api GET "/api/conversations/999999999/export"
  assert_equal "$code" 404
  api GET "/api/account/export?format=md"
  assert_equal "$code" 400
  JAR=$BATS_TEST_TMPDIR/other new_user
  JAR=$BATS_TEST_TMPDIR/other api GET "/api/conversations/$mine/export"
  assert_equal "$code" 404
  JAR=$BATS_TEST_TMPDIR/anon api GET "/api/conversations/$mine/export"
  assert_equal "$code" 401
  JAR=$BATS_TEST_TMPDIR/anon api GET "/api/account/export"
  assert_equal "$code" 401
  api POST "/api/account/export" ''
  assert_equal "$code" 405
}

@test "the account export holds every conversation of the user, oldest first, and no one else's" {
  JAR=$BATS_TEST_TMPDIR/other new_user
  JAR=$BATS_TEST_TMPDIR/other new_conv 'Not yours'
  new_user
  new_conv 'First'
  chat_quick 'one' "$conv"
  new_conv 'Second'
  chat_quick 'two' "$conv"
  chat_quick 'three' "$conv"
  new_conv 'Empty'
  api GET /api/account/export
  assert_equal "$code" 200
  assert_equal "$(header Content-Disposition)" "attachment; filename=\"aifacade-$USERNAME-export.json\""
  assert_equal "$(json '.conversations | map(.title) | join(",")')" First,Second,Empty
  assert_equal "$(json '.conversations | map(.messages | length) | join(",")')" 2,4,0
  assert_equal "$(json '[.conversations[].messages[].content] | join(",")')" 'one,Echo: one,two,Echo: two,three,Echo: three'
}

@test "a large account streams out whole" {
  needs_local
  new_user
  new_conv 'Big'
  uid=$(sql "SELECT id FROM users WHERE username = '$USERNAME'")
  # 1,500 messages of 1 KiB written straight into the database.
  pad="hex(zeroblob(500))"
  [ -z "$(stack_pg)" ] || pad="repeat('00', 500)"
  sql_write "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)
    INSERT INTO messages (conversation_id, role, content, status, created_at)
    SELECT $conv, CASE i % 2 WHEN 1 THEN 'user' ELSE 'assistant' END, 'm' || i || ' ' || $pad, 'ok', 1700000000000 + i FROM n;"
  [ "$uid" -gt 0 ]
  api GET /api/account/export
  assert_equal "$code" 200
  assert_equal "$(json '.conversations[0].messages | length')" 1500
  assert_equal "$(json '.conversations[0].messages[1499].content | split(" ")[0]')" m1500
  assert_equal "$(header Content-Length)" ''
}
