#!/usr/bin/env bats
# security.bats: headers, CSRF and cross-site refusals, request limits, and
# that nothing outside www/ and the API is reachable.

load helpers

security_headers_present() {
  assert_equal "$(header Content-Security-Policy)" "default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
  assert_equal "$(header X-Content-Type-Options)" "nosniff"
  assert_equal "$(header X-Frame-Options)" "DENY"
  assert_equal "$(header Referrer-Policy)" "no-referrer"
  assert_regex "$(header Strict-Transport-Security)" '^max-age=[0-9]+'
}

@test "pages carry the security headers" {
  for p in / /login /register /static/app.css /does-not-exist; do
    api GET "$p"
    security_headers_present
  done
}

@test "API answers carry the security headers and Cache-Control: no-store" {
  for p in /api/health /api/me /api/nope; do
    api GET "$p"
    security_headers_present
    assert_equal "$(header Cache-Control)" "no-store"
    assert_regex "$(header Content-Type)" '^application/json'
  done
}

@test "a state-changing call without or with a wrong CSRF token answers 403" {
  new_user
  saved=$CSRF
  CSRF= api POST /api/logout
  assert_equal "$code" 403
  CSRF=${saved:0:42}x api POST /api/logout
  assert_equal "$code" 403
  CSRF="$saved$saved" api POST /api/logout
  assert_equal "$code" 403
  api GET /api/me
  assert_equal "$code" 200
}

@test "the CSRF token of one session does not work for another" {
  new_user
  first=$CSRF
  JAR=$BATS_TEST_TMPDIR/second new_user
  JAR=$BATS_TEST_TMPDIR/second CSRF=$first api POST /api/logout
  assert_equal "$code" 403
}

@test "a cross-site Origin or Sec-Fetch-Site is refused with 403 even with a valid token" {
  new_user
  api POST /api/logout '' -H 'Origin: https://evil.example'
  assert_equal "$code" 403
  api POST /api/logout '' -H 'Origin: null'
  assert_equal "$code" 403
  api POST /api/logout '' -H 'Sec-Fetch-Site: cross-site'
  assert_equal "$code" 403
  api POST /api/login '{"username":"x","password":"y"}' -H 'Origin: https://evil.example'
  assert_equal "$code" 403
  api POST /api/register '{"username":"xyz123","password":"longenough"}' -H 'Sec-Fetch-Site: cross-site'
  assert_equal "$code" 403
  # The same origin is fine.
  host=${BASE_URL#https://}
  api POST /api/logout '' -H "Origin: https://$host" -H 'Sec-Fetch-Site: same-origin'
  assert_equal "$code" 204
}

@test "request bodies over 64 KiB answer 413" {
  big=$(head -c 70000 /dev/zero | tr '\0' 'a')
  api POST /api/register "{\"username\":\"$big\",\"password\":\"longenough\"}"
  assert_equal "$code" 413
  [ -n "$(json .error)" ]
}

@test "malformed JSON, wrong types and invalid UTF-8 answer 400 JSON" {
  for bad in '{' '{"username":' 'null' '"text"' '{"username":"a"' '{"username":["x"],"password":"y"}' \
             '{"username":{"a":1},"password":"longenough"}' '{"username":"abc","password":"longenough",}'; do
    api POST /api/register "$bad"
    assert_equal "$code" 400
    [ -n "$(json .error)" ]
  done
  printf '{"username":"ab\xff\xfecd","password":"longenough"}' >"$BATS_TEST_TMPDIR/bad.json"
  api POST /api/register '' --data-binary "@$BATS_TEST_TMPDIR/bad.json" -H 'Content-Type: application/json'
  assert_equal "$code" 400
  assert_equal "$(json .error)" "The request body is not valid UTF-8."
}

@test "a body that is not JSON by its Content-Type answers 415" {
  api POST /api/login '' --data-binary 'username=a&password=b' -H 'Content-Type: application/x-www-form-urlencoded'
  assert_equal "$code" 415
}

@test "unknown API paths answer JSON 404, other paths the 404 page" {
  api GET /api/does-not-exist
  assert_equal "$code" 404
  assert_equal "$(json .error)" "Not found."
  api GET /api/me/123/extra
  assert_equal "$code" 404
  api GET /nowhere/at/all
  assert_equal "$code" 404
  assert_regex "$(header Content-Type)" '^text/html'
  [[ "$body" == *"href=\"/\""* ]]
}

@test "the database, sources, configuration and dot files are not reachable" {
  for p in /instance/aifacade.db /aifacade.db /../instance/aifacade.db /%2e%2e/instance/aifacade.db \
           /.env /.git/config /common/app.c /cgi-bin/login.c /Makefile /lighttpd.conf \
           /static/../../instance/secret_key /api/../instance/secret_key /api/..%2f..%2finstance%2fsecret_key \
           /%2e%2e%2f%2e%2e%2finstance/secret_key /api/%2e%2e/%2e%2e/Makefile; do
    code=$(curl -sk --path-as-is -o "$BATS_TEST_TMPDIR/out" -w '%{http_code}' "$BASE_URL$p")
    [[ "$code" =~ ^(400|403|404)$ ]] || { echo "$p answered $code"; false; }
    ! grep -qa 'SQLite format\|CREATE TABLE\|#include\|SECRET' "$BATS_TEST_TMPDIR/out"
  done
}

@test "health answers ok" {
  api GET /api/health
  assert_equal "$code" 200
  assert_equal "$(json .status)" "ok"
}

@test "bad requests leave the database exactly as it was" {
  needs_local
  new_user
  api POST /api/chat '{"prompt":"a turn to keep"}'
  assert_equal "$code" 200
  cid=$(json .conversation_id)
  snapshot() {
    sqlite3 -readonly "$STACK_DIR/instance/aifacade.db" \
      "SELECT * FROM users; SELECT token_hash, user_id, ua_hash, created_at FROM sessions;
       SELECT * FROM conversations; SELECT * FROM messages;" | sha256sum
  }
  before=$(snapshot)
  api POST /api/chat '{"prompt":""}'
  api POST /api/chat '{"prompt":"x","conversation_id":999999}'
  api POST /api/chat '{"prompt":"x","model":"nope"}'
  api POST /api/chat '{"prompt":"x","extra":1}'
  api POST /api/chat '{"prompt":"x"' 
  CSRF= api POST /api/chat '{"prompt":"no token"}'
  CSRF= api POST /api/clear
  CSRF= api DELETE "/api/conversations/$cid"
  api PATCH "/api/conversations/$cid" '{"title":""}'
  api POST /api/chat '{"prompt":"x"}' -H 'Origin: https://evil.example'
  api POST /api/register '{"username":"a","password":"b"}'
  api POST /api/register "{\"username\":\"$USERNAME\",\"password\":\"another one\"}"
  api POST /api/login "{\"username\":\"$USERNAME\",\"password\":\"wrong password\"}" 
  JAR=$BATS_TEST_TMPDIR/none api POST /api/conversations '{"title":"anon"}'
  assert_equal "$(snapshot)" "$before"
}
