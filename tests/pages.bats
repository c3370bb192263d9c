#!/usr/bin/env bats
# pages.bats: how the UI's files travel: compressed (by lighttpd, once), within the
# page-weight budget the README states; API answers and streams never
# compressed (a compressor would hold back the deltas).

load helpers

# The chat page and everything it loads at once (chat.js imports api.js;
# theme.js sets the chosen theme before the first paint). highlight.js and
# KaTeX (www/vendor/) load only when an answer has code or math: they are
# outside this weight, and their own test is below.
# settings.js holds the account controls' hooks; the dialog itself
# (settings-dialog.js, settings.css) loads on first use.
CHAT_FILES=(/ /static/app.css /static/chat.js /static/api.js /static/theme.js /static/settings.js)

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

@test "the chat page weighs under 84 KB, and under 28 KB as sent compressed" {
  plain_total=0 wire_total=0
  for path in "${CHAT_FILES[@]}"; do
    fetch "$path" identity
    plain_total=$((plain_total + size))
    fetch "$path" "gzip"
    wire_total=$((wire_total + size))
  done
  echo "# chat page: $plain_total bytes of HTML+CSS+JS, $wire_total gzip-compressed" >&3
  [ "$plain_total" -lt 86016 ]
  [ "$wire_total" -lt 28672 ]
}

@test "highlight.js and KaTeX come from our origin, compressed, and cost what the README says" {
  total=0
  for path in /vendor/highlight.min.js /vendor/katex.min.js /vendor/katex.min.css /vendor/fonts/KaTeX_Main-Regular.woff2; do
    fetch "$path" gzip
    echo "# $path: $size bytes${enc:+ as $enc}" >&3
    total=$((total + size))
  done
  # JavaScript and CSS travel compressed; the font is compressed already.
  fetch /vendor/katex.min.js gzip
  [ "$enc" = gzip ]
  [ "$total" -lt 250000 ]
  out=$(curl -sk -A "$UA" -D - -o /dev/null "$BASE_URL/vendor/fonts/KaTeX_Main-Regular.woff2")
  grep -qi '^content-type: font/woff2' <<<"$out"
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
