#!/usr/bin/env bats
# conversations.bats: /api/conversations (list, create, read, rename, delete) and /api/clear.

load helpers

chat_quick() { # prompt [conversation_id]
  local req
  if [ -n "${2:-}" ]; then
    req=$(jq -cn --arg p "$1" --argjson c "$2" '{prompt:$p,conversation_id:$c}')
  else
    req=$(jq -cn --arg p "$1" '{prompt:$p}')
  fi
  api POST /api/chat "$req"
  [ "$code" = 200 ] || { echo "chat: $code $body" >&2; return 1; }
}

@test "a new user has no conversations" {
  new_user
  api GET /api/conversations
  assert_equal "$code" 200
  assert_equal "$(json '.conversations | length')" 0
}

@test "create answers 201 with the conversation; the list shows it newest first" {
  new_user
  api POST /api/conversations '{"title":"First"}'
  assert_equal "$code" 201
  first=$(json .id)
  assert_equal "$(json .title)" "First"
  assert_regex "$(json .created_at)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z$'
  api POST /api/conversations ''
  assert_equal "$code" 201
  assert_equal "$(json .title)" "New chat"
  second=$(json .id)
  api GET /api/conversations
  assert_equal "$(json '.conversations | map(.id) | join(",")')" "$second,$first"
  assert_equal "$(json '.conversations[0] | keys | join(",")')" "created_at,id,title,updated_at"
}

@test "create, rename and read need a session; writes need the CSRF token" {
  JAR=$BATS_TEST_TMPDIR/anon api GET /api/conversations
  assert_equal "$code" 401
  new_user
  CSRF= api POST /api/conversations '{"title":"x"}'
  assert_equal "$code" 403
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 0
}

@test "rename validates the title and answers 200 with the new one" {
  new_user
  api POST /api/conversations '{"title":"Old"}'
  id=$(json .id)
  api PATCH "/api/conversations/$id" '{"title":"  New name  "}'
  assert_equal "$code" 200
  assert_equal "$(json .title)" "New name"
  for bad in '{"title":""}' '{"title":"   "}' '{"title":"a\nb"}' '{"title":5}' '{}' '{"title":"x","extra":1}' \
             "{\"title\":\"$(printf 't%.0s' {1..201})\"}"; do
    api PATCH "/api/conversations/$id" "$bad"
    assert_equal "$code" 400
  done
  api GET "/api/conversations/$id"
  assert_equal "$(json .title)" "New name"
}

@test "another user's conversation is 404 for read, rename, delete and chat" {
  new_user
  api POST /api/conversations '{"title":"Mine"}'
  id=$(json .id)
  JAR=$BATS_TEST_TMPDIR/intruder new_user
  for m in GET DELETE; do
    JAR=$BATS_TEST_TMPDIR/intruder api "$m" "/api/conversations/$id"
    assert_equal "$code" 404
  done
  JAR=$BATS_TEST_TMPDIR/intruder api PATCH "/api/conversations/$id" '{"title":"Stolen"}'
  assert_equal "$code" 404
  JAR=$BATS_TEST_TMPDIR/intruder api POST /api/chat "{\"prompt\":\"hi\",\"conversation_id\":$id}"
  assert_equal "$code" 404
  api GET "/api/conversations/$id"
  assert_equal "$code" 200
  assert_equal "$(json .title)" "Mine"
  assert_equal "$(json '.messages | length')" 0
}

@test "another user's conversation is 404 for a paged read and a streamed chat, and gains no message" {
  new_user
  chat_quick "owner's prompt"
  id=$(json .conversation_id)
  answer=$(json .message.id)
  JAR=$BATS_TEST_TMPDIR/intruder new_user
  JAR=$BATS_TEST_TMPDIR/intruder api GET "/api/conversations/$id?before=$((answer + 1))&limit=5"
  assert_equal "$code" 404
  JAR=$BATS_TEST_TMPDIR/intruder api POST /api/chat "{\"prompt\":\"intruder\",\"conversation_id\":$id}" \
    -H 'Accept: text/event-stream'
  assert_equal "$code" 404
  assert_equal "$(json .error)" "Conversation not found."
  # A message id of the owner's, given as a conversation id, is no way in either.
  JAR=$BATS_TEST_TMPDIR/intruder api POST /api/chat "{\"prompt\":\"intruder\",\"conversation_id\":$answer}"
  assert_equal "$code" 404
  JAR=$BATS_TEST_TMPDIR/intruder api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 0
  api GET "/api/conversations/$id"
  assert_equal "$(json '[.messages[].content] | join("|")')" "owner's prompt|Echo: owner's prompt"
}

@test "unknown, malformed and out-of-range ids answer 404 or 400" {
  new_user
  for p in /api/conversations/999999999 /api/conversations/0 /api/conversations/-1 /api/conversations/abc \
           /api/conversations/1.5 /api/conversations/99999999999999999999999 /api/conversations/01; do
    api GET "$p"
    assert_equal "$code" 404
  done
  api POST /api/conversations '{"title":"x"}'
  id=$(json .id)
  for q in 'limit=0' 'limit=201' 'limit=abc' 'before=x' 'before=-1' 'limit=5&limit=6' 'foo=1' 'limit=%zz'; do
    api GET "/api/conversations/$id?$q"
    assert_equal "$code" 400
  done
}

@test "delete answers 204 and removes the conversation with its messages" {
  new_user
  chat_quick "delete me"
  id=$(json .conversation_id)
  api DELETE "/api/conversations/$id"
  assert_equal "$code" 204
  api GET "/api/conversations/$id"
  assert_equal "$code" 404
  api DELETE "/api/conversations/$id"
  assert_equal "$code" 404
  if [ -n "${STACK_DIR:-}" ]; then
    run sql "SELECT count(*) FROM messages WHERE conversation_id = $id"
    assert_output 0
  fi
}

@test "pages of history go back without overlap or gaps" {
  new_user
  chat_quick "turn 1"
  id=$(json .conversation_id)
  for i in $(seq 2 13); do chat_quick "turn $i" "$id"; done
  # 13 turns = 26 messages; read them 10 at a time from the newest.
  api GET "/api/conversations/$id?limit=10"
  assert_equal "$(json '.messages | length')" 10
  assert_equal "$(json .has_more)" true
  all=$(json '[.messages[].id] | join(" ")')
  before=$(json '.messages[0].id')
  api GET "/api/conversations/$id?limit=10&before=$before"
  assert_equal "$(json '.messages | length')" 10
  assert_equal "$(json .has_more)" true
  all="$(json '[.messages[].id] | join(" ")') $all"
  before=$(json '.messages[0].id')
  api GET "/api/conversations/$id?limit=10&before=$before"
  assert_equal "$(json '.messages | length')" 6
  assert_equal "$(json .has_more)" false
  all="$(json '[.messages[].id] | join(" ")') $all"
  assert_equal "$(json '.messages[0].content')" "turn 1"
  # 26 distinct ids in ascending order: no overlap, no gap.
  sorted=$(tr ' ' '\n' <<<"$all" | sort -n | uniq | tr '\n' ' ')
  assert_equal "$(wc -w <<<"$sorted")" 26
  assert_equal "${sorted% }" "$all"
  api GET "/api/conversations/$id"
  assert_equal "$(json '.messages | length')" 26
  assert_equal "$(json '.messages[-1].role')" assistant
}

@test "clear removes every conversation of this user and nothing of others" {
  new_user
  chat_quick "mine 1"
  chat_quick "mine 2"
  JAR=$BATS_TEST_TMPDIR/other new_user
  other_csrf=$CSRF
  JAR=$BATS_TEST_TMPDIR/other chat_quick "theirs"
  fetch_csrf
  api POST /api/clear
  assert_equal "$code" 204
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 0
  JAR=$BATS_TEST_TMPDIR/other CSRF=$other_csrf api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 1
  id=$(json '.conversations[0].id')
  JAR=$BATS_TEST_TMPDIR/other CSRF=$other_csrf api GET "/api/conversations/$id"
  assert_equal "$(json '.messages | length')" 2
}

@test "clear needs the CSRF token and keeps everything without it" {
  new_user
  chat_quick "keep me"
  CSRF= api POST /api/clear
  assert_equal "$code" 403
  api GET /api/conversations
  assert_equal "$(json '.conversations | length')" 1
}
