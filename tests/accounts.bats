#!/usr/bin/env bats
# accounts.bats: POST /api/register, /api/login, /api/logout and GET /api/me.

load helpers

@test "register creates an account, sets a hardened session cookie and answers 201" {
  name=$(unique_name)
  api POST /api/register "{\"username\":\"  $name  \",\"password\":\"correct horse battery\"}"
  assert_equal "$code" 201
  assert_equal "$(json .username)" "$name"
  cookie=$(header Set-Cookie)
  assert_regex "$cookie" '^__Host-aifacade=[A-Za-z0-9_-]{43};'
  assert_regex "$cookie" 'HttpOnly'
  assert_regex "$cookie" 'Secure'
  assert_regex "$cookie" 'SameSite=Lax'
  assert_regex "$cookie" 'Path=/'
  api GET /api/me
  assert_equal "$code" 200
  assert_equal "$(json .username)" "$name"
  assert_regex "$(json .csrf_token)" '^[A-Za-z0-9_-]{43}$'
}

@test "register refuses a taken name, whatever its case, with 409" {
  name=$(unique_name)
  register "$name"
  JAR=$BATS_TEST_TMPDIR/other api POST /api/register "{\"username\":\"${name^^}\",\"password\":\"another password\"}"
  assert_equal "$code" 409
  assert_equal "$(json .error)" "User already exists."
}

@test "register validates username and password with 400 and stores nothing" {
  for bad in '{"username":"ab","password":"longenough"}' \
             '{"username":"   ab   ","password":"longenough"}' \
             "{\"username\":\"$(printf 'x%.0s' {1..81})\",\"password\":\"longenough\"}" \
             '{"username":"valid_name","password":"short"}' \
             "{\"username\":\"valid_name\",\"password\":\"$(printf 'p%.0s' {1..129})\"}" \
             '{"username":"bad\u0007name","password":"longenough"}' \
             '{"username":"bad\u202ename","password":"longenough"}' \
             '{"username":"valid_name"}' \
             '{"password":"longenough"}' \
             '{"username":12345,"password":"longenough"}' \
             '{"username":"valid_name","password":"longenough","admin":true}' \
             '{"username":"valid_name","password":"longenough","username":"other"}' \
             '{"username":"valid_name","password":"longenough"} trailing' \
             '["valid_name","longenough"]' \
             '{"username":"x\ud800y","password":"longenough"}'; do
    api POST /api/register "$bad"
    assert_equal "$code" 400
    [ -n "$(json .error)" ]
  done
  api POST /api/login '{"username":"valid_name","password":"longenough"}'
  assert_equal "$code" 401
}

# name_of N PREFIX HEX: PREFIX padded with U+HEX to exactly N code points.
name_of() {
  python3 -c 'import sys; n, s, c = int(sys.argv[1]), sys.argv[2], chr(int(sys.argv[3], 16)); print(s + c * (n - len(s)))' "$@"
}

# cjk_name N: N random CJK ideographs (three UTF-8 bytes each, no case): a
# name of exactly N code points that no earlier run has taken.
cjk_name() {
  python3 -c 'import random, sys; print("".join(chr(random.randint(0x4E00, 0x9FFF)) for _ in range(int(sys.argv[1]))))' "$1"
}

# register_as NAME: POST /api/register with NAME in a jar of its own.
register_as() {
  JAR=$BATS_TEST_TMPDIR/jar-$RANDOM api POST /api/register \
    "$(jq -cn --arg u "$1" '{username:$u,password:"longenough"}')"
}

@test "register accepts 3 and 80 characters and refuses 2 and 81, counted as code points" {
  prefix=$(unique_name)
  # Accepted, and stored as sent: 3 code points in 9 and 10 bytes, 80
  # code points in ASCII and in twice as many bytes, nearly.
  for name in "$(cjk_name 3)" "$(printf '\xf0\x9f\x98\x80')$(cjk_name 2)" \
              "$(name_of 80 "$prefix" 78)" "$(name_of 80 "${prefix}b" e9)"; do
    n=$(jq -rn --arg s "$name" '$s | length')
    register_as "$name"
    echo "$n code points, $(printf %s "$name" | wc -c) bytes: $code $body"
    [ "$n" = 3 ] || [ "$n" = 80 ]
    assert_equal "$code" 201
    assert_equal "$(json .username)" "$name"
  done
  # Refused: 2 code points in 6 bytes (a byte count would pass it), and 81
  # code points in ASCII and in nearly twice as many bytes. Nothing is stored (seen in the
  # database of a local stack).
  for name in "$(cjk_name 2)" "$(name_of 81 "${prefix}c" 78)" "$(name_of 81 "${prefix}d" e9)"; do
    n=$(jq -rn --arg s "$name" '$s | length')
    register_as "$name"
    echo "$n code points, $(printf %s "$name" | wc -c) bytes: $code $body"
    [ "$n" = 2 ] || [ "$n" = 81 ]
    assert_equal "$code" 400
    assert_equal "$(json .error)" "Username must be 3 to 80 characters long."
    if [ -n "${STACK_DIR:-}" ]; then
      assert_equal "$(sql "SELECT count(*) FROM users WHERE username = '$name'")" 0
    fi
  done
}

@test "login answers 200 with the username and a new session" {
  name=$(unique_name)
  register "$name"
  JAR=$BATS_TEST_TMPDIR/fresh login "$name"
  assert_equal "$code" 200
  assert_equal "$(json .username)" "$name"
  assert_regex "$(header Set-Cookie)" '^__Host-aifacade='
  JAR=$BATS_TEST_TMPDIR/fresh api GET /api/me
  assert_equal "$code" 200
}

@test "login ignores case and surrounding spaces in the username" {
  name=$(unique_name)
  register "$name"
  JAR=$BATS_TEST_TMPDIR/fresh login " ${name^^} "
  assert_equal "$code" 200
  assert_equal "$(json .username)" "$name"
}

@test "login answers the same 401 for a wrong password and an unknown user" {
  name=$(unique_name)
  register "$name"
  JAR=$BATS_TEST_TMPDIR/a login "$name" "wrong password"
  assert_equal "$code" 401
  wrong=$body
  JAR=$BATS_TEST_TMPDIR/b login "nobody-$(unique_name)" "wrong password"
  assert_equal "$code" 401
  assert_equal "$body" "$wrong"
  assert_equal "$(json .error)" "Invalid username or password"
  [ -z "$(header Set-Cookie)" ]
}

@test "me without a session answers 401 JSON" {
  JAR=$BATS_TEST_TMPDIR/none api GET /api/me
  assert_equal "$code" 401
  assert_equal "$(json .error)" "You are not logged in."
}

@test "logout deletes the session on the server and expires the cookie" {
  new_user
  stolen=$(grep -o '__Host-aifacade\s[A-Za-z0-9_-]*' "$BATS_TEST_TMPDIR/jar" | awk '{print $2}')
  [ -n "$stolen" ]
  api POST /api/logout
  assert_equal "$code" 204
  assert_regex "$(header Set-Cookie)" 'Max-Age=0'
  # The old cookie, replayed, is worthless: the server forgot it.
  code=$(curl -sk -o /dev/null -w '%{http_code}' -A "$UA" -b "__Host-aifacade=$stolen" "$BASE_URL/api/me")
  assert_equal "$code" 401
}

@test "logout needs the CSRF token" {
  new_user
  CSRF= api POST /api/logout
  assert_equal "$code" 403
  api GET /api/me
  assert_equal "$code" 200
}

@test "a session is bound to the User-Agent it was created with" {
  new_user
  UA="another browser/2.0" api GET /api/me
  assert_equal "$code" 401
  api GET /api/me
  assert_equal "$code" 200
}

@test "a forged or malformed session cookie is refused" {
  for c in "__Host-aifacade=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "__Host-aifacade=../../etc" \
           "__Host-aifacade=" "__Host-aifacade=$(printf 'A%.0s' {1..5000})"; do
    code=$(curl -sk -o /dev/null -w '%{http_code}' -A "$UA" -H "Cookie: $c" "$BASE_URL/api/me")
    assert_equal "$code" 401
  done
}

@test "two session cookies of the same name are treated as none" {
  new_user
  real=$(grep -o '__Host-aifacade\s[A-Za-z0-9_-]*' "$BATS_TEST_TMPDIR/jar" | awk '{print $2}')
  code=$(curl -sk -o /dev/null -w '%{http_code}' -A "$UA" \
    -H "Cookie: __Host-aifacade=$real; __Host-aifacade=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$BASE_URL/api/me")
  assert_equal "$code" 401
}

@test "register and login refuse other methods with 405 and an Allow header" {
  api GET /api/register
  assert_equal "$code" 405
  assert_equal "$(header Allow)" "POST"
  api DELETE /api/login
  assert_equal "$code" 405
  api POST /api/me ''
  assert_equal "$code" 405
}
