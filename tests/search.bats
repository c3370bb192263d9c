#!/usr/bin/env bats
# search.bats: GET /api/search (ranking, isolation, hostile queries, the
# index following writes, deletes and clears) and ?around= on a conversation.

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

# new_conv: a conversation with a title no test searches for; sets conv.
new_conv() {
  api POST /api/conversations '{"title":"Untitled"}'
  [ "$code" = 201 ] || { echo "new conversation: $code $body" >&2; return 1; }
  conv=$(json .id)
}

# search Q [LIMIT]: GET /api/search with q (and limit) URL-encoded by curl.
search() {
  local extra=()
  [ -z "${2:-}" ] || extra=(--data-urlencode "limit=$2")
  api GET /api/search '' -G --data-urlencode "q=$1" "${extra[@]}"
}

@test "search finds the user's messages by word, with the match marked in a safe snippet" {
  new_user
  new_conv
  chat_quick "Tell me about the zanzibar archipelago <b>please</b>" "$conv"
  search zanzibar
  assert_equal "$code" 200
  # The prompt and the fake provider's echo of it both match.
  assert_equal "$(json '.results | length')" 2
  assert_equal "$(json '[.results[].conversation_id] | unique | .[0]')" "$conv"
  assert_equal "$(json '[.results[].role] | sort | join(",")')" "assistant,user"
  assert_equal "$(json '.results[0] | keys | join(",")')" "conversation_id,conversation_title,created_at,message_id,role,snippet"
  snippet=$(json '.results[] | select(.role == "user") | .snippet')
  assert_equal "$snippet" 'Tell me about the <mark>zanzibar</mark> archipelago &lt;b&gt;please&lt;/b&gt;'
}

@test "a long message's snippet is cut around the match with a real ellipsis" {
  new_user
  new_conv
  chat_quick "$(printf 'word%d ' $(seq 40)) quokka $(printf 'tail%d ' $(seq 40))" "$conv"
  search quokka
  snippet=$(json '.results[] | select(.role == "user") | .snippet')
  assert_regex "$snippet" '^…word[0-9]+ .*<mark>quokka</mark> .*tail[0-9]+…$'
  refute_regex "$snippet" 'â'
}

@test "search matches titles, phrases, prefixes and ignores case and accents" {
  new_user
  api POST /api/conversations '{"title":"Quarterly Café budget"}'
  conv=$(json .id)
  search cafe
  assert_equal "$(json '.results | length')" 1
  assert_equal "$(json '.results[0].conversation_id')" "$conv"
  assert_equal "$(json '.results[0].message_id')" null
  assert_equal "$(json '.results[0].snippet')" 'Quarterly <mark>Café</mark> budget'
  chat_quick "the purple elephant dances slowly" "$conv"
  search '"purple elephant"'
  assert_equal "$(json '.results | length')" 2
  search '"elephant purple"'
  assert_equal "$(json '.results | length')" 0
  search 'eleph*'
  assert_equal "$(json '.results | length')" 2
  search 'eleph'
  assert_equal "$(json '.results | length')" 0
  search 'PURPLE dances'
  assert_equal "$(json '.results | length')" 2
  search 'purple giraffe'
  assert_equal "$(json '.results | length')" 0
}

@test "results are ranked: the closer match first, newest first among equals" {
  new_user
  new_conv
  older=$conv
  chat_quick "walrus" "$conv"
  new_conv
  # One "walrus" in a longer message: bm25 weighs a repeated word against the
  # index's average message length, which every test on the stack shares,
  # so only an equal count ranks by length whatever else is stored.
  chat_quick "the walrus and the carpenter went walking on the long sandy beach" "$conv"
  new_conv
  newest=$conv
  chat_quick "walrus" "$conv"
  search walrus 20
  assert_equal "$code" 200
  assert_equal "$(json '.results | length')" 6
  # The one-word prompts match best, the newest first; the long ones last.
  assert_equal "$(json '.results[0] | "\(.conversation_id) \(.role)"')" "$newest user"
  assert_equal "$(json '.results[1] | "\(.conversation_id) \(.role)"')" "$older user"
  assert_equal "$(json '[.results[4,5].snippet] | map(test("carpenter")) | all')" true
  assert_equal "$(json '[.results[0:4][].snippet] | map(test("carpenter")) | any')" false
  search walrus 1
  assert_equal "$(json '.results | length')" 1
}

@test "search sees only the user's own conversations" {
  new_user
  chat_quick "my secret ocelot recipe"
  JAR=$BATS_TEST_TMPDIR/other
  export JAR
  new_user
  search ocelot
  assert_equal "$code" 200
  assert_equal "$(json '.results | length')" 0
  JAR=$BATS_TEST_TMPDIR/anon api GET '/api/search?q=ocelot'
  assert_equal "$code" 401
}

@test "hostile queries are a 400 or a plain search, never a 500" {
  new_user
  new_conv
  chat_quick 'NEAR the AND gate, column content: with "quotes" and stars *' "$conv"
  for q in 'NEAR' 'NEAR(a b)' 'AND' 'OR OR' 'NOT x' '"' '""' '"unclosed phrase' '***' '*' 'a*b' '^start' \
           'content:gate' 'messages_fts:gate' '(' ')' '{content}: gate' 'gate -' '- gate' "gate'" \
           '"a" OR "b" NOT "c"' 'x"y' ':' '+' '✓ ünïcödé' 'rank' 'bm25(messages_fts)' 'gate*' 'ga**'; do
    search "$q"
    case "$code" in 200 | 400) ;; *) echo "q=$q gave $code $body" >&2; false ;; esac
  done
  search 'NEAR'
  assert_equal "$code" 200
  assert_equal "$(json '.results | length')" 2
  search 'content: gate'
  assert_equal "$(json '.results | length')" 2
  search '"quotes" AND'
  assert_equal "$(json '.results | length')" 2
  search '***'
  assert_equal "$code" 400
  assert_equal "$(json .error)" "Type a word or two to search for."
  search ''
  assert_equal "$code" 400
  search "$(printf 'word %.0s' {1..101})"
  assert_equal "$code" 400
  assert_regex "$(json .error)" 'too long'
  search "$(printf 'w%d ' {1..17})"
  assert_equal "$code" 400
  assert_regex "$(json .error)" 'too many words'
  for bad in 'limit=0' 'limit=51' 'limit=1x' 'limit=-1' 'limit=+2' 'q=a&q=b' 'q=a&x=1' 'x=1' ''; do
    api GET "/api/search?q=gate&$bad"
    [ "$bad" = '' ] && { assert_equal "$code" 200; continue; }
    assert_equal "$code" 400
  done
  api GET '/api/search?limit=5'
  assert_equal "$code" 400
  api GET '/api/search?q=%FF'
  assert_equal "$code" 400
}

@test "the index follows deletes and clears" {
  new_user
  new_conv
  first=$conv
  chat_quick "the narwhal tusk" "$conv"
  new_conv
  chat_quick "a second narwhal" "$conv"
  search narwhal
  assert_equal "$(json '.results | length')" 4
  api DELETE "/api/conversations/$first"
  assert_equal "$code" 204
  search narwhal
  assert_equal "$(json '.results | length')" 2
  assert_equal "$(json '[.results[].snippet] | map(test("second")) | all')" true
  api POST /api/conversations '{"title":"narwhal notes"}'
  conv=$(json .id)
  api PATCH "/api/conversations/$conv" '{"title":"whale notes"}'
  search narwhal
  assert_equal "$(json '.results | length')" 2
  search whale
  assert_equal "$(json '.results | length')" 1
  api POST /api/clear ''
  assert_equal "$code" 204
  search narwhal
  assert_equal "$code" 200
  assert_equal "$(json '.results | length')" 0
  # The index itself holds none of the deleted rows (not only the answers:
  # a stale entry would be hidden by the join to messages). SQLite's FTS5
  # tables are copies to check; PostgreSQL's index is an expression index on
  # the rows themselves, which cannot go stale.
  if [ -n "${STACK_DIR:-}" ] && [ -z "$(stack_pg)" ]; then
    assert_equal "$(sql "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'narwhal'")" 0
    assert_equal "$(sql "SELECT count(*) FROM conversations_fts WHERE conversations_fts MATCH 'whale'")" 0
  fi
  search whale
  assert_equal "$(json '.results | length')" 0
}

@test "the index has the answer once it is written, not the empty placeholder" {
  new_user
  chat_quick "xylophone lesson"
  search 'echo'
  assert_equal "$(json '.results | length')" 1
  assert_equal "$(json '.results[0].role')" assistant
}

@test "?around= returns the page holding the message, with has_newer" {
  new_user
  chat_quick "message number 1"
  conv=$(json .conversation_id)
  for i in $(seq 2 15); do chat_quick "message number $i" "$conv"; done
  api GET "/api/conversations/$conv?limit=200"
  assert_equal "$(json '.messages | length')" 30
  target=$(json '.messages[4].id')
  api GET "/api/conversations/$conv?around=$target&limit=6"
  assert_equal "$code" 200
  assert_equal "$(json '.messages | length')" 6
  assert_equal "$(json "[.messages[].id] | index($target)")" 2
  assert_equal "$(json .has_more)" true
  assert_equal "$(json .has_newer)" true
  newest=$(jq -r '.messages[-1].id' <<<"$(api GET "/api/conversations/$conv?limit=1"; echo "$body")")
  api GET "/api/conversations/$conv?around=$newest&limit=6"
  assert_equal "$(json '.messages[-1].id')" "$newest"
  assert_equal "$(json .has_newer)" false
  # A message of another conversation, another user's, or none at all: 404.
  chat_quick "elsewhere"
  other=$(json .conversation_id)
  api GET "/api/conversations/$other?limit=1"
  elsewhere=$(json '.messages[0].id')
  api GET "/api/conversations/$conv?around=$elsewhere"
  assert_equal "$code" 404
  for bad in 'around=0' 'around=x' 'around=1&before=2' 'around=-3'; do
    api GET "/api/conversations/$conv?$bad"
    assert_equal "$code" 400
  done
  JAR=$BATS_TEST_TMPDIR/other new_user
  JAR=$BATS_TEST_TMPDIR/other api GET "/api/conversations/$conv?around=$target"
  assert_equal "$code" 404
}
