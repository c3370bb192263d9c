#!/usr/bin/env bats
# titles.bats: a new conversation's title, asked from the provider after the
# first answer (common/title.h), on a private stack with AI_TITLES=1 (the
# shared test stack turns titles off so that other suites see one provider
# request per prompt).

load helpers

setup_file() {
  private_stack_start AI_TITLES=1
}

teardown_file() {
  private_stack_stop
}

setup() {
  needs_private_stack
  new_user
}

chat_sse() { # prompt: streams into $BATS_TEST_TMPDIR/sse
  curl -sk -N -A "$UA" -b "$BATS_TEST_TMPDIR/jar" -H "X-CSRF-Token: $CSRF" \
    -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
    --data-binary "$(jq -cn --arg p "$1" '{prompt:$p}')" -o "$BATS_TEST_TMPDIR/sse" "$BASE_URL/api/chat"
}
sse_data() { awk -v e="$1" '/^event:/ {cur=$2} /^data:/ && cur == e {sub(/^data: /, ""); print}' "$BATS_TEST_TMPDIR/sse"; }
title_of() { api GET "/api/conversations/$1"; json .title; }

@test "after the first answer the provider's title replaces the prompt's, cleaned of quotes and Markdown" {
  api POST /api/chat '{"prompt":"**Explain** the `malloc` function"}'
  assert_equal "$code" 200
  id=$(json .conversation_id)
  assert_equal "$(title_of "$id")" "Fake title: Explain the malloc"
  # The title request carried the instruction, the prompt and the answer.
  req=$(curl -s "$FAKE_URL/_fake/requests" | jq -c '[.[] | select(.body.messages[0].content | startswith("Write a short title"))] | last')
  assert_equal "$(jq -r '.body.stream // false' <<<"$req")" false
  assert_regex "$(jq -r '.body.messages[1].content' <<<"$req")" $'^Prompt:\n\\*\\*Explain\\*\\* the `malloc` function\n\nAnswer:\nEcho: '
}

@test "a streamed first turn ends with the event title; later turns ask for none" {
  chat_sse "Streamed and titled"
  assert_equal "$(grep '^event:' "$BATS_TEST_TMPDIR/sse" | tail -2 | cut -d' ' -f2 | paste -sd,)" "done,title"
  id=$(sse_data title | jq -r .conversation.id)
  assert_equal "$(sse_data title | jq -r .conversation.title)" "Fake title: Streamed and titled"
  assert_equal "$(title_of "$id")" "Fake title: Streamed and titled"
  before=$(curl -s "$FAKE_URL/_fake/requests" | jq length)
  api POST /api/chat "$(jq -cn --argjson c "$id" '{prompt:"second turn",conversation_id:$c}')"
  assert_equal "$code" 200
  assert_equal "$(curl -s "$FAKE_URL/_fake/requests" | jq length)" $((before + 1))
  assert_equal "$(title_of "$id")" "Fake title: Streamed and titled"
}

@test "when the title request fails, the prompt's first words stay, Markdown stripped, and the answer is kept" {
  api POST /api/chat '{"prompt":"## Sort a *list* in `C` [[fake:notitle]]"}'
  assert_equal "$code" 200
  assert_equal "$(json .message.status)" ok
  id=$(json .conversation_id)
  assert_equal "$(title_of "$id")" "Sort a list in C [[fake:notitle]]"
  api GET "/api/conversations/$id"
  assert_equal "$(json '.messages[1].content')" "Echo: ## Sort a *list* in \`C\`"
}

@test "a failed first answer asks for no title" {
  before=$(curl -s "$FAKE_URL/_fake/requests" | jq length)
  api POST /api/chat '{"prompt":"broken [[fake:status=503]]"}'
  assert_equal "$code" 502
  assert_equal "$(curl -s "$FAKE_URL/_fake/requests" | jq length)" $((before + 1))
}
