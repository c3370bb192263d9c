#!/usr/bin/env bats
# pages.bats: how the UI's files travel: compressed (by lighttpd, once), within the
# page-weight budget the README states; API answers and streams never
# compressed (a compressor would hold back the deltas).

load helpers

# The chat page and everything it loads (chat.js imports api.js).
CHAT_FILES=(/ /static/app.css /static/chat.js /static/api.js)

fetch() { # PATH ENCODING -> sets $size (bytes on the wire) and $enc
  local out
  out=$(curl -sk -A "$UA" -H "Accept-Encoding: $2" -o /dev/null \
    -w '%{http_code} %{size_download} %header{content-encoding}' "$BASE_URL$1")
  read -r status size enc <<<"$out"
  [ "$status" = 200 ] || { echo "$1 answered $status" >&2; return 1; }
}

@test "the UI's files come compressed when the browser accepts it, and whole when not" {
  for path in "${CHAT_FILES[@]}" /login /register; do
    fetch "$path" identity
    [ -z "$enc" ] || { echo "$path came as $enc without asking" >&2; return 1; }
    plain=$size
    fetch "$path" "gzip, deflate, br, zstd"
    [ -n "$enc" ] || { echo "$path came uncompressed" >&2; return 1; }
    echo "$path: $plain bytes, $size as $enc"
    [ "$size" -lt "$plain" ]
  done
}

@test "the chat page weighs under 50 KB, and under 20 KB as sent compressed" {
  plain_total=0 wire_total=0
  for path in "${CHAT_FILES[@]}"; do
    fetch "$path" identity
    plain_total=$((plain_total + size))
    fetch "$path" "gzip"
    wire_total=$((wire_total + size))
  done
  echo "# chat page: $plain_total bytes of HTML+CSS+JS, $wire_total gzip-compressed" >&3
  [ "$plain_total" -lt 51200 ]
  [ "$wire_total" -lt 20480 ]
}

@test "API answers and streamed answers are never compressed" {
  new_user
  long=$(printf 'compressible words %.0s' $(seq 100))
  api POST /api/chat "$(jq -cn --arg p "$long" '{prompt:$p}')"
  assert_equal "$code" 200
  id=$(json .conversation_id)
  api GET "/api/conversations/$id" "" -H 'Accept-Encoding: gzip, zstd'
  assert_equal "$code" 200
  [ "${#body}" -gt 4000 ]
  assert_equal "$(header Content-Encoding)" ""
  curl -sk -N -A "$UA" -b "$BATS_TEST_TMPDIR/jar" -H "X-CSRF-Token: $CSRF" -H 'Accept-Encoding: gzip, zstd' \
    -H 'Content-Type: application/json' -H 'Accept: text/event-stream' -D "$BATS_TEST_TMPDIR/sse-headers" \
    --data-binary '{"prompt":"hello"}' -o "$BATS_TEST_TMPDIR/sse" "$BASE_URL/api/chat"
  grep -qi '^content-type: text/event-stream' "$BATS_TEST_TMPDIR/sse-headers"
  run grep -i '^content-encoding' "$BATS_TEST_TMPDIR/sse-headers"
  assert_failure
  grep -q '^event: done' "$BATS_TEST_TMPDIR/sse"
}
