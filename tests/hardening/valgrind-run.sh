#!/usr/bin/env bash
# valgrind-run.sh: runs the CGI programs directly, each request in its own
# process under valgrind, with a CGI environment and a body on stdin,
# against a throw-away database and the fake AI provider. Any memory error
# or definite/indirect leak fails the run.
#   tests/hardening/valgrind-run.sh BUILD_DIR [quick|full|scgi]
# quick: a dozen requests, one per endpoint plus a streamed and a failed
# chat turn; full: every route and failure path, and chat, me and
# conversations served through SCGI as lighttpd runs them; scgi: quick and
# that SCGI part (what make test runs).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$root/${1:-build}
mode=${2:-full}
command -v valgrind >/dev/null || { echo "valgrind-run: valgrind is not installed (make deps)" >&2; exit 2; }
[ -x "$build/cgi-bin/chat" ] || { echo "valgrind-run: no programs in $build (make)" >&2; exit 2; }

work=$(mktemp -d /tmp/aifacade-valgrind.XXXXXX)
fake_pid=""
cleanup() {
  [ -z "$fake_pid" ] || kill -TERM "$fake_pid" 2>/dev/null
  [ -n "${VALGRIND_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/instance" "$work/vg"

python3 "$root/tests/fake_provider.py" --port 0 --port-file "$work/fake.port" --pid-file "$work/fake.pid" \
  --exit-with-parent >"$work/fake.log" 2>&1 &
for _ in $(seq 100); do [ -s "$work/fake.pid" ] && [ -s "$work/fake.port" ] && break; sleep 0.05; done
fake_pid=$(cat "$work/fake.pid")
fake_url="http://127.0.0.1:$(cat "$work/fake.port")/v1/chat/completions"

# shellcheck disable=SC2054  # commas inside option values
VG=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect
  --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=yes)
# shellcheck disable=SC2054
base_env=(PATH=/usr/bin:/bin LANG=C.UTF-8 AIFACADE_ROOT="$work" AIFACADE_INSTANCE="$work/instance"
  AI_API_URL="$fake_url" AI_API_KEY=test-key AI_MODEL=fake-model AI_MODELS=fake-model,fake-reasoner
  AI_IDLE_TIMEOUT=2 AI_TIMEOUT=20 RATE_LIMIT_PROMPTS=1000/hour RATE_LIMIT_LOGIN=10/minute
  RATE_LIMIT_AUTH_IP=1000/minute HTTP_USER_AGENT=valgrind-run/1 HTTP_HOST=localhost:8443 REMOTE_ADDR=127.0.0.1
  SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1)

checked=0 failures=0
cookie="" csrf=""
status="" out=""

# cgi NAME METHOD PATH_INFO BODY EXPECTED_STATUS [NAME=VALUE...]
cgi() {
  local name=$1 method=$2 path=$3 body=$4 want=$5
  shift 5
  checked=$((checked + 1))
  local log=$work/vg/$checked-$name.log
  out=$work/out.$checked
  local env_args=("${base_env[@]}" REQUEST_METHOD="$method" PATH_INFO="$path" SCRIPT_NAME="/api/$name")
  [ -z "$body" ] || env_args+=(CONTENT_LENGTH="${#body}" CONTENT_TYPE=application/json)
  [ -z "$cookie" ] || env_args+=(HTTP_COOKIE="__Host-aifacade=$cookie")
  [ -z "$csrf" ] || env_args+=(HTTP_X_CSRF_TOKEN="$csrf")
  local rc=0 t0=$SECONDS
  printf '%s' "$body" | env -i "${env_args[@]}" "$@" "${VG[@]}" --log-file="$log" "$build/cgi-bin/$name" \
    >"$out" 2>"$out.stderr" || rc=$?
  status=$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$out")
  if [ "$rc" -eq 99 ] || grep -q 'are \(definitely\|indirectly\) lost\|Invalid \(read\|write\|free\)\|uninitialised\|Syscall param' "$log"; then
    echo "not ok $checked - $method /api/$name$path: valgrind found errors"; sed 's/^/#   /' "$log" | head -40
    failures=$((failures + 1))
  elif [ "$status" != "$want" ]; then
    echo "not ok $checked - $method /api/$name$path: status $status, wanted $want"; head -c 600 "$out" | sed 's/^/#   /'
    failures=$((failures + 1))
  else
    echo "ok $checked - $method /api/$name$path $status (valgrind clean, $((SECONDS - t0)) s)"
  fi
}

body_json() { sed '1,/^\r$/d' "$out"; }

"${VG[@]}" --log-file="$work/vg/0-init-db.log" env -i "${base_env[@]}" "$build/tools/aifacadectl" init-db >/dev/null 2>&1 ||
  { echo "not ok 0 - aifacadectl init-db under valgrind"; cat "$work/vg/0-init-db.log"; exit 1; }

user=vg$RANDOM$RANDOM
cred=$(jq -cn --arg u "$user" '{username:$u,password:"correct horse battery"}')
cgi health GET "" "" 200
cgi notfound GET "/nothing" "" 404
cgi register POST "" "$cred" 201
cookie=$(sed -n 's/^Set-Cookie: __Host-aifacade=\([^;]*\);.*/\1/p' "$out" | tr -d '\r')
[ -n "$cookie" ] || { echo "not ok - no session cookie from register"; exit 1; }
cgi me GET "" "" 200
csrf=$(body_json | jq -r .csrf_token)
cgi conversations POST "" '{"title":"valgrind"}' 201
cid=$(body_json | jq -r .id)
cgi conversations GET "" "" 200
cgi chat POST "" "$(jq -cn --argjson c "$cid" '{prompt:"hello valgrind",conversation_id:$c}')" 200
# A regenerated answer keeps its message's model: that string must outlive
# the message it was read from (it was once read after being freed).
cgi chat POST "" "$(jq -cn --argjson m "$(body_json | jq .message.id)" '{regenerate:$m}')" 200
cgi chat POST "" '{"prompt":"stream me [[fake:chunks=5]] [[fake:reasoning]]"}' 200 HTTP_ACCEPT=text/event-stream
grep -q '^event: done' "$out" || { echo "not ok - the streamed turn did not end with done"; failures=$((failures + 1)); }
cgi chat POST "" '{"prompt":"fail [[fake:status=401]]"}' 502
cgi login POST "" "$(jq -cn --arg u "$user" '{username:$u,password:"wrong password!"}')" 401
# Accounts and administration (README): the first account is the admin; an
# API token is the user without the cookie.
cgi account_tokens POST "" '{"name":"valgrind","store_conversations":true}' 201
token=$(body_json | jq -r .token)
saved_cookie=$cookie cookie=""
cgi me GET "" "" 200 HTTP_AUTHORIZATION="Bearer $token"
# The OpenAI-compatible API (README): the token is the key; a JSON answer
# kept as a conversation, a stream, a refusal and a provider failure.
gw_chat='{"model":"fake-model","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi gateway"}]}'
cgi gateway_models GET "" "" 200 HTTP_AUTHORIZATION="Bearer $token"
cgi gateway_chat POST "" "$gw_chat" 200 HTTP_AUTHORIZATION="Bearer $token"
cgi gateway_chat POST "" '{"model":"fake-model","stream":true,"messages":[{"role":"user","content":"s [[fake:chunks=4]]"}]}' \
  200 HTTP_AUTHORIZATION="Bearer $token"
grep -q '^data: \[DONE\]' "$out" || { echo "not ok - the gateway's stream did not end with [DONE]"; failures=$((failures + 1)); }
cgi gateway_chat POST "" '{"model":"fake-model","messages":[{"role":"user","content":"[[fake:status=500]]"}]}' 502 \
  HTTP_AUTHORIZATION="Bearer $token"
cookie=$saved_cookie
cgi admin_users GET "" "" 200

# scgi_checks: chat, me and conversations as lighttpd's mod_scgi runs them
# (a warm parent forking a child per request, common/scgi.h), under valgrind,
# which follows the forks. Each parent ends by SIGTERM as under lighttpd;
# every process must be free of memory errors, every child of leaks.
scgi_checks() {
  local logs=$work/vg/scgi py log bad=0 procs=0 out requests
  mkdir -p "$logs"
  py=$(python3 -c 'import sys; print(sys.executable)')
  out=$logs/requests.out
  env -i "${base_env[@]}" SESSION_COOKIE="$cookie" CSRF_TOKEN="$csrf" CONV_ID="$cid" CGI_DIR="$build/cgi-bin" VG="${VG[*]}" \
    VG_LOG="$logs/vg.%p.log" "$py" "$root/tests/hardening/scgi_valgrind.py" >"$out" || bad=1
  cat "$out"
  requests=$(sed -n 's/^scgi: \([0-9]*\) requests.*/\1/p' "$out")
  # With --quiet, valgrind writes only what it found: memory errors, and
  # leak records ("... are definitely lost in loss record ...").
  local errors='Invalid \(read\|write\|free\)\|uninitialised\|Syscall param\|Mismatched free\|overlap\|Process terminating with default action of signal \(6\|11\|7\|8\)'
  local leaks='are \(definitely\|indirectly\) lost'
  local pid
  for log in "$logs"/vg.*.log; do
    procs=$((procs + 1))
    pid=${log##*/vg.}; pid=${pid%.log}
    if grep -q "$errors" "$log" || { ! grep -qx "$pid" "$logs/parents.pid" && grep -q "$leaks" "$log"; }; then
      echo "not ok - under SCGI: valgrind found errors ($log)"; sed 's/^/#   /' "$log" | head -40
      bad=1
    fi
  done
  echo "scgi: $procs processes (3 SCGI parents and a child per request) checked under valgrind"
  checked=$((checked + ${requests:-0}))
  failures=$((failures + bad))
}

if [ "$mode" = scgi ]; then
  scgi_checks
elif [ "$mode" = full ]; then
  scgi_checks
  cgi register POST "" "$cred" 409
  cgi register POST "" '{"username":"x","password":"short"}' 400
  cgi register POST "" '{"username":"abc","password":"long enough","username":"y"}' 400
  cgi register POST "" '{"username":"abc"' 400
  cgi register POST "" "" 413 CONTENT_LENGTH=99999999
  cgi register POST "" '{}' 415 CONTENT_TYPE=text/plain
  cgi login POST "" "$cred" 200
  cgi me GET "" "" 401 HTTP_USER_AGENT=another-agent/2
  cgi conversations GET "/$cid" "" 200 QUERY_STRING="limit=1"
  cgi conversations GET "/$cid" "" 400 QUERY_STRING="limit=abc"
  cgi conversations GET "/$cid" "" 400 QUERY_STRING="a=1&a=2"
  cgi conversations GET "/999999" "" 404
  cgi conversations PATCH "/$cid" '{"title":"renamed"}' 200
  cgi conversations PATCH "/$cid" '{"title":""}' 400
  cgi conversations PUT "/$cid" "" 405
  cgi conversations GET "/0012" "" 404
  cgi conversations PATCH "/$cid" '{"title":"x"}' 403 HTTP_X_CSRF_TOKEN=wrong
  cgi conversations PATCH "/$cid" '{"title":"x"}' 403 HTTP_ORIGIN=https://evil.example
  cgi chat POST "" '{"prompt":"   "}' 400
  cgi chat POST "" '{"prompt":"x","conversation_id":999999}' 404
  cgi chat POST "" '{"prompt":"x","model":"nope"}' 400
  cgi chat POST "" "$(jq -cn --argjson c "$cid" '{prompt:"again [[fake:echo_context]]",conversation_id:$c}')" 200
  cgi chat POST "" '{"prompt":"think [[fake:reasoning]]","model":"fake-reasoner"}' 200
  cgi chat POST "" '{"prompt":"garbage [[fake:garbage]]"}' 502
  cgi chat POST "" '{"prompt":"garbage [[fake:garbage]]"}' 200 HTTP_ACCEPT=text/event-stream
  cgi chat POST "" '{"prompt":"cut [[fake:cut]] [[fake:chunks=6]]"}' 200 HTTP_ACCEPT=text/event-stream
  cgi chat POST "" '{"prompt":"err [[fake:stream_error]]"}' 200 HTTP_ACCEPT=text/event-stream
  cgi chat POST "" '{"prompt":"hang [[fake:hang=5]]"}' 502
  cgi chat POST "" '{"prompt":"split [[fake:splitutf8]]"}' 200 HTTP_ACCEPT=text/event-stream
  cgi chat POST "" '{"prompt":"markdown [[fake:markdown]]"}' 200
  cgi chat POST "" '{"prompt":"nobody home"}' 502 AI_API_URL=http://127.0.0.1:9/v1/chat/completions
  cgi chat POST "" '{"prompt":"demo please"}' 200 AI_API_KEY=
  cgi chat POST "" '{"prompt":"demo stream"}' 200 AI_API_KEY= HTTP_ACCEPT=text/event-stream
  cgi chat POST "" '{"prompt":"limited"}' 429 RATE_LIMIT_PROMPTS=1/hour
  cgi health GET "" "" 503 DATABASE=/nonexistent/dir/aifacade.db
  cgi me GET "" "" 503 DATABASE=/nonexistent/dir/aifacade.db
  cgi me GET "" "" 500 AI_TIMEOUT=soon
  cgi account_sessions GET "" "" 200
  cgi admin_invites POST "" "" 201
  cgi admin_audit GET "" "" 200 QUERY_STRING=limit=5
  cgi conversations DELETE "/$cid" "" 204
  cgi conversations DELETE "/$cid" "" 404
  cgi clear POST "" "" 204
  cgi logout POST "" "" 204
  cgi me GET "" "" 401
else
  cgi clear POST "" "" 204
  cgi logout POST "" "" 204
fi

echo
echo "valgrind: $checked requests checked, $failures with errors or a wrong status"
[ "$failures" -eq 0 ]
