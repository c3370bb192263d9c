#!/usr/bin/env bats
# controls.bats: self-hosting controls (README, "Accounts and administration"):
# REGISTRATION=approval and the first admin, the admin API (approve, disable,
# roles, last-admin guard, delete, reset links), account self-service
# (password, sessions, deletion), API tokens, budgets, single sign-on
# through the trusted proxy and the audit log. One private stack: the first
# account registered on it must be this suite's admin.

load helpers

# The address the app saw for this machine's requests: loopback for a local
# stack; the Docker network's gateway against the containers.
CLIENT_ADDR_RE='127\.0\.0\.1'
[ "${STACK_KIND:-local}" != docker ] || CLIENT_ADDR_RE='[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+'
assert_client_addr() {
  if [ "${STACK_KIND:-local}" = docker ]; then
    assert_regex "$1" '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'
  else
    assert_equal "$1" 127.0.0.1
  fi
}

PASS='correct horse battery'

setup_file() {
  private_stack_start REGISTRATION=approval QUOTA_PROMPTS_DAY=4 QUOTA_TOKENS_MONTH=100000 \
    AUTH_TRUSTED_HEADER=Remote-User
  can_start_stacks || return 0
  # The first account ever: the admin, active at once despite approval mode.
  export ADMIN_JAR=$BATS_FILE_TMPDIR/admin.jar
  local code
  code=$(curl -sk -A "$UA" -c "$ADMIN_JAR" -o "$BATS_FILE_TMPDIR/first" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data "{\"username\":\"boss\",\"password\":\"$PASS\"}" \
    "$BASE_URL/api/register")
  [ "$code" = 201 ] || { echo "first register: $code $(cat "$BATS_FILE_TMPDIR/first")" >&2; return 1; }
  ADMIN_CSRF=$(curl -sk -A "$UA" -b "$ADMIN_JAR" "$BASE_URL/api/me" | jq -r .csrf_token)
  export ADMIN_CSRF
}

teardown_file() {
  private_stack_stop
}

setup() {
  needs_private_stack
}

# as_admin METHOD PATH [JSON] [curl args]: an api call with the admin's session.
as_admin() {
  JAR=$ADMIN_JAR CSRF=$ADMIN_CSRF api "$@"
}

# signup NAME: registers NAME (it waits for approval) in jar $JAR.
signup() {
  api POST /api/register "$(jq -cn --arg u "$1" --arg p "$PASS" '{username:$u,password:$p}')"
}

user_id() {
  sql "SELECT id FROM users WHERE username = '$1'"
}

# active_user: a fresh approved user logged in in $JAR, with $CSRF, $USERNAME, $UID_.
active_user() {
  USERNAME=$(unique_name)
  signup "$USERNAME"
  [ "$code" = 202 ] || { echo "signup: $code $body" >&2; return 1; }
  UID_=$(user_id "$USERNAME")
  as_admin PATCH "/api/admin/users/$UID_" '{"status":"active"}'
  [ "$code" = 204 ] || { echo "approve: $code $body" >&2; return 1; }
  login "$USERNAME"
  [ "$code" = 200 ] || { echo "login: $code $body" >&2; return 1; }
  fetch_csrf
}

@test "the first account is the admin; later ones wait for approval, and approval lets them in" {
  as_admin GET /api/me
  assert_equal "$(json .role)" admin
  name=$(unique_name)
  signup "$name"
  assert_equal "$code" 202
  assert_equal "$(json .status)" pending
  [ -z "$(header Set-Cookie)" ]
  login "$name"
  assert_equal "$code" 403
  assert_regex "$(json .error)" "waiting for an administrator's approval"
  as_admin GET /api/admin/users
  assert_equal "$code" 200
  assert_equal "$(json ".users[] | select(.username == \"$name\") | .status")" pending
  as_admin PATCH "/api/admin/users/$(user_id "$name")" '{"status":"active"}'
  assert_equal "$code" 204
  login "$name"
  assert_equal "$code" 200
  api GET /api/me
  assert_equal "$code" 200
  assert_equal "$(json .role)" user
}

@test "the admin API is for admins only: 401 without a login, 403 for a user" {
  JAR=$BATS_TEST_TMPDIR/nobody api GET /api/admin/users
  assert_equal "$code" 401
  active_user
  api GET /api/admin/users
  assert_equal "$code" 403
  api POST /api/admin/invites
  assert_equal "$code" 403
  api GET /api/admin/audit
  assert_equal "$code" 403
}

@test "disabling a user ends their live session and tokens at once; enabling lets them log in again" {
  active_user
  api POST /api/account/tokens '{"name":"cron"}'
  token=$(json .token)
  api GET /api/conversations
  assert_equal "$code" 200
  as_admin PATCH "/api/admin/users/$UID_" '{"status":"disabled"}'
  assert_equal "$code" 204
  api GET /api/conversations
  assert_equal "$code" 401
  code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$BASE_URL/api/me")
  assert_equal "$code" 401
  login "$USERNAME"
  assert_equal "$code" 403
  assert_regex "$(json .error)" disabled
  as_admin PATCH "/api/admin/users/$UID_" '{"status":"active"}'
  login "$USERNAME"
  assert_equal "$code" 200
}

@test "the last active admin cannot be demoted, disabled or deleted; with a second admin it can" {
  boss=$(user_id boss)
  as_admin PATCH "/api/admin/users/$boss" '{"role":"user"}'
  assert_equal "$code" 409
  as_admin PATCH "/api/admin/users/$boss" '{"status":"disabled"}'
  assert_equal "$code" 409
  as_admin DELETE "/api/admin/users/$boss"
  assert_equal "$code" 409
  assert_equal "$(sql "SELECT role || status FROM users WHERE id = $boss")" adminactive
  active_user
  as_admin PATCH "/api/admin/users/$UID_" '{"role":"admin"}'
  assert_equal "$code" 204
  api GET /api/admin/users
  assert_equal "$code" 200
  # The new admin demotes themself: boss is still there.
  api PATCH "/api/admin/users/$UID_" '{"role":"user"}'
  assert_equal "$code" 204
  api PATCH "/api/admin/users/$UID_" '{"role":"superuser"}'
  assert_equal "$code" 403
  as_admin PATCH "/api/admin/users/$UID_" '{"role":"superuser"}'
  assert_equal "$code" 400
  as_admin PATCH /api/admin/users/999999 '{"status":"active"}'
  assert_equal "$code" 404
}

@test "an admin deletes a user with all their data; the user's session is gone" {
  active_user
  api POST /api/chat '{"prompt":"keep me"}'
  assert_equal "$code" 200
  api POST /api/account/tokens '{"name":"x"}'
  as_admin DELETE "/api/admin/users/$UID_"
  assert_equal "$code" 204
  api GET /api/me
  assert_equal "$code" 401
  for t in sessions conversations api_tokens usage turns; do
    assert_equal "$(sql "SELECT count(*) FROM $t WHERE user_id = $UID_")" 0
  done
  assert_equal "$(sql "SELECT count(*) FROM users WHERE id = $UID_")" 0
}

@test "a password reset link works once, sets the password and ends the user's sessions" {
  active_user
  as_admin POST "/api/admin/users/$UID_/password-reset"
  assert_equal "$code" 201
  token=$(json .token)
  assert_regex "$(json .path)" "^/reset#"
  [ "$(sql "SELECT count(*) FROM password_resets WHERE token_hash = '$token'")" = 0 ]
  JAR=$BATS_TEST_TMPDIR/anon api POST /api/password-reset "$(jq -cn --arg t "$token" '{token:$t,password:"a brand new secret"}')"
  assert_equal "$code" 200
  assert_equal "$(json .username)" "$USERNAME"
  api GET /api/me
  assert_equal "$code" 401
  JAR=$BATS_TEST_TMPDIR/anon api POST /api/password-reset "$(jq -cn --arg t "$token" '{token:$t,password:"yet another one"}')"
  assert_equal "$code" 403
  login "$USERNAME" "a brand new secret"
  assert_equal "$code" 200
}

@test "changing the password needs the current one and ends the other sessions, not this one" {
  active_user
  JAR=$BATS_TEST_TMPDIR/other login "$USERNAME"
  assert_equal "$code" 200
  api POST /api/account/password '{"current":"wrong password","new":"a new password"}'
  assert_equal "$code" 403
  JAR=$BATS_TEST_TMPDIR/other api GET /api/me
  assert_equal "$code" 200
  api POST /api/account/password '{"current":"correct horse battery","new":"short"}'
  assert_equal "$code" 400
  api POST /api/account/password '{"current":"correct horse battery","new":"a new password"}'
  assert_equal "$code" 200
  assert_equal "$(json .sessions_ended)" 1
  JAR=$BATS_TEST_TMPDIR/other api GET /api/me
  assert_equal "$code" 401
  api GET /api/me
  assert_equal "$code" 200
  login "$USERNAME" "a new password"
  assert_equal "$code" 200
}

@test "sessions are listed with where they came from, and end one by one or all but this one" {
  active_user
  JAR=$BATS_TEST_TMPDIR/b UA=other-browser/2 login "$USERNAME"
  JAR=$BATS_TEST_TMPDIR/c login "$USERNAME"
  api GET /api/account/sessions
  assert_equal "$code" 200
  assert_equal "$(json '.sessions | length')" 3
  assert_equal "$(json '[.sessions[] | select(.current)] | length')" 1
  assert_equal "$(json '[.sessions[] | select(.user_agent == "other-browser/2")] | length')" 1
  assert_client_addr "$(json '.sessions[0].addr')"
  other=$(json '.sessions[] | select(.user_agent == "other-browser/2") | .id')
  api DELETE "/api/account/sessions/$other"
  assert_equal "$code" 204
  JAR=$BATS_TEST_TMPDIR/b UA=other-browser/2 api GET /api/me
  assert_equal "$code" 401
  JAR=$BATS_TEST_TMPDIR/c api GET /api/me
  assert_equal "$code" 200
  api DELETE "/api/account/sessions/$other"
  assert_equal "$code" 404
  api DELETE /api/account/sessions
  assert_equal "$code" 200
  assert_equal "$(json .sessions_ended)" 1
  JAR=$BATS_TEST_TMPDIR/c api GET /api/me
  assert_equal "$code" 401
  api GET /api/me
  assert_equal "$code" 200
}

@test "deleting one's account needs the password, and then leaves no row of the user" {
  active_user
  api POST /api/chat '{"prompt":"something to delete"}'
  assert_equal "$code" 200
  api POST /api/account/tokens '{"name":"x"}'
  api DELETE /api/account '{"password":"not it at all"}'
  assert_equal "$code" 403
  assert_equal "$(sql "SELECT count(*) FROM conversations WHERE user_id = $UID_")" 1
  api DELETE /api/account '{"password":"correct horse battery"}'
  assert_equal "$code" 204
  for t in sessions conversations api_tokens usage turns password_resets; do
    assert_equal "$(sql "SELECT count(*) FROM $t WHERE user_id = $UID_")" 0
  done
  assert_equal "$(sql "SELECT count(*) FROM users WHERE id = $UID_")" 0
  # SQLite's search index too (PostgreSQL's indexes live in messages itself).
  [ -n "$(stack_pg)" ] || assert_equal "$(sql "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'something'")" 0
  login "$USERNAME"
  assert_equal "$code" 401
}

@test "an API token works without a cookie or CSRF token, is stored hashed, and fails once revoked" {
  active_user
  api POST /api/account/tokens '{"name":"backup script"}'
  assert_equal "$code" 201
  token=$(json .token)
  id=$(json .id)
  assert_regex "$token" '^aif_[A-Za-z0-9_-]{43}$'
  assert_equal "$(sql "SELECT count(*) FROM api_tokens WHERE token_hash = '$token' OR name = '$token'")" 0
  # No cookie jar, no CSRF header: a write through the bearer token.
  code=$(curl -sk -o "$BATS_TEST_TMPDIR/out" -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' --data '{"title":"from a script"}' "$BASE_URL/api/conversations")
  assert_equal "$code" 201
  assert_equal "$(sql "SELECT count(*) FROM conversations WHERE user_id = $UID_ AND title = 'from a script'")" 1
  api GET /api/account/tokens
  assert_equal "$(json '.tokens[0].name')" "backup script"
  [ "$(json '.tokens[0].token')" = null ]
  api DELETE "/api/account/tokens/$id"
  assert_equal "$code" 204
  code=$(curl -sk -o "$BATS_TEST_TMPDIR/out" -w '%{http_code}' -H "Authorization: Bearer $token" "$BASE_URL/api/me")
  assert_equal "$code" 401
  assert_regex "$(cat "$BATS_TEST_TMPDIR/out")" "revoked"
}

@test "the daily prompt budget refuses with 429 naming it and its reset; an admin can give one user more" {
  active_user
  for i in 1 2 3 4; do
    api POST /api/chat "{\"prompt\":\"budget $i\"}"
    assert_equal "$code" 200
  done
  api GET /api/me
  assert_equal "$(json .usage.prompts_day.used)" 4
  assert_equal "$(json .usage.prompts_day.left)" 0
  api POST /api/chat '{"prompt":"one too many"}'
  assert_equal "$code" 429
  assert_regex "$(json .error)" "daily budget of 4 prompts.*midnight UTC"
  [ "$(header Retry-After)" -ge 1 ]
  [ "$(header Retry-After)" -le 86400 ]
  as_admin PATCH "/api/admin/users/$UID_" '{"quota_prompts_day":5}'
  assert_equal "$code" 204
  api POST /api/chat '{"prompt":"one more"}'
  assert_equal "$code" 200
  as_admin GET /api/admin/users
  assert_equal "$(json ".users[] | select(.id == $UID_) | .prompts_today")" 5
  assert_equal "$(json ".users[] | select(.id == $UID_) | .quota_prompts_day")" 5
}

@test "the monthly token budget counts the provider's usage, streamed too, or an estimate it says is one" {
  active_user
  as_admin PATCH "/api/admin/users/$UID_" '{"quota_tokens_month":1000}'
  api POST /api/chat '{"prompt":"count me [[fake:tokens=400]]"}'
  assert_equal "$code" 200
  api POST /api/chat '{"prompt":"stream me [[fake:tokens=500]]"}' -H 'Accept: text/event-stream'
  assert_equal "$code" 200
  api GET /api/me
  assert_equal "$(json .usage.tokens_month.used)" 900
  assert_equal "$(json .usage.tokens_month.estimated)" false
  api POST /api/chat "{\"prompt\":\"$(printf 'x%.0s' {1..400}) [[fake:nousage]]\"}"
  assert_equal "$code" 200
  api GET /api/me
  [ "$(json .usage.tokens_month.used)" -gt 1000 ]
  assert_equal "$(json .usage.tokens_month.estimated)" true
  api POST /api/chat '{"prompt":"over"}'
  assert_equal "$code" 429
  assert_regex "$(json .error)" "monthly budget of 1000 tokens"
}

@test "the trusted header is honoured from the proxy (subject to approval) and ignored from anyone else" {
  name=$(unique_name)
  # Through Caddy, the trusted proxy: the user is created on first sight and waits.
  api GET /api/me "" -H "Remote-User: $name"
  assert_equal "$code" 403
  assert_regex "$(json .error)" approval
  as_admin PATCH "/api/admin/users/$(user_id "$name")" '{"status":"active"}'
  api GET /api/me "" -H "Remote-User: $name"
  assert_equal "$code" 200
  assert_equal "$(json .username)" "$name"
  # A client that is not itself a trusted address, through Caddy: lighttpd
  # has put the client's address in REMOTE_ADDR, and the header still counts
  # (against the containers every client is such a one).
  if [ "${STACK_KIND:-local}" != docker ]; then
    code=$(curl -sk -4 -o "$BATS_TEST_TMPDIR/out" -w '%{http_code}' --interface 127.0.0.3 -A "$UA" \
      -H "Remote-User: $name" "$BASE_URL/api/me")
    assert_equal "$code" 200
    assert_equal "$(jq -r .username "$BATS_TEST_TMPDIR/out")" "$name"
  fi
  # Straight to lighttpd from 127.0.0.2, which is not in TRUSTED_PROXIES
  # (the containers' lighttpd is not reachable from here at all).
  [ -n "${LIGHTTPD_URL:-}" ] || return 0
  code=$(curl -s -o "$BATS_TEST_TMPDIR/out" -w '%{http_code}' --interface 127.0.0.2 -H "Remote-User: $name" \
    "$LIGHTTPD_URL/api/me")
  assert_equal "$code" 401
  code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H "Remote-User: boss" \
    "$LIGHTTPD_URL/api/admin/users")
  assert_equal "$code" 401
  # Nor from 127.0.0.2 claiming, in X-Forwarded-For, to be Caddy.
  code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H "Remote-User: boss" \
    -H 'X-Forwarded-For: 127.0.0.1' "$LIGHTTPD_URL/api/admin/users")
  assert_equal "$code" 401
}

@test "the audit log records who did what from where, on the API and with aifacadectl audit" {
  name=$(unique_name)
  JAR=$BATS_TEST_TMPDIR/x login "$name" "no such password"
  as_admin GET /api/admin/audit
  assert_equal "$code" 200
  assert_client_addr "$(json ".entries[] | select(.action == \"login-failed\" and .target == \"$name\") | .addr")"
  assert_equal "$(json '[.entries[] | select(.action == "register" and .actor == "boss")] | length')" 1
  assert_equal "$(json '[.entries[] | select(.action == "approve")] | length >= 1')" true
  needs_local
  local pg
  pg=$(stack_pg)
  run env -i PATH="$PATH" AIFACADE_ROOT="$BATS_TEST_TMPDIR" AIFACADE_INSTANCE="$STACK_DIR/instance" \
    ${pg:+DATABASE_FILE="$STACK_DIR/database.url"} "$BATS_TEST_DIRNAME/../${AIFACADE_BUILD:-build}/tools/aifacadectl" audit
  assert_success
  assert_line --index 0 "time	who	what	whom	from	detail"
  assert_line --regexp "^[0-9T:.-]+Z	$name	login-failed	$name	$CLIENT_ADDR_RE	-$"
}

@test "aifacadectl set-role makes an admin (active again) and keeps the last one" {
  needs_local
  active_user
  PG=$(stack_pg)
  ctl() {
    env -i PATH="$PATH" AIFACADE_ROOT="$BATS_TEST_TMPDIR" AIFACADE_INSTANCE="$STACK_DIR/instance" \
      ${PG:+DATABASE_FILE="$STACK_DIR/database.url"} "$BATS_TEST_DIRNAME/../${AIFACADE_BUILD:-build}/tools/aifacadectl" "$@"
  }
  as_admin PATCH "/api/admin/users/$UID_" '{"status":"disabled"}'
  run ctl set-role "$USERNAME" admin
  assert_success
  assert_output --partial "is now an admin (and active)"
  login "$USERNAME"
  assert_equal "$code" 200
  run ctl set-role "$USERNAME" user
  assert_success
  run ctl set-role boss user
  assert_failure
  assert_output --partial "no active admin"
  run ctl set-role boss emperor
  assert_failure 2
}
