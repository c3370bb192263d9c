#!/usr/bin/env bash
# run.sh: the benchmark behind `make bench` (see bench/README.md).
#
#   bench/run.sh [BUILD_DIR]          normally called by `make bench`
#
# Starts a throw-away stack (tests/stack.sh: lighttpd + Caddy on free
# loopback ports) whose CGI directory holds copies of BUILD_DIR/cgi-bin plus
# the floor program, with bench/fakeprov as the AI provider; fills its
# database with bench/seed.sql; measures every endpoint with wrk through
# lighttpd alone and through Caddy (TLS), the streaming delay with
# bench/sseprobe.py, each program's peak RSS with bench/cgirun, and the
# stack's memory at rest; prints one table and writes it, with the raw
# numbers, to bench/results/<time>/ (bench/results/latest points there).
#
# Knobs (environment): BENCH_QUICK=1 (a quick look: below), BENCH_DURATION
# (4, seconds per wrk run), BENCH_ROUNDS (3; the table shows medians over
# rounds, each round measures its own floor), BENCH_THREADS (2) and BENCH_CONNS (8) for wrk, BENCH_STREAMS (200),
# BENCH_KEEP=1 keeps the 90 MB database, BENCH_ONLY="me conv50 ..." limits
# the wrk rows (keys as in bench/report.py), BENCH_MODE (process, the
# default, or persistent: README, "Two ways to run the programs") and
# BENCH_PROCS (4: persistent mode's processes per endpoint), BENCH_DB
# (sqlite, the default; pg: PostgreSQL through PgBouncer; pg-direct:
# PostgreSQL without PgBouncer, each connection a server process of its
# own). On PostgreSQL the run starts its own throw-away cluster
# (tests/pg.sh, in a directory under /tmp, stopped and removed at the end),
# copies the seeded data there with aifacadectl restore, and measures only
# the wrk rows (BENCH_ONLY, default "me conv50 chat"): no streaming, no
# direct runs. bench/both.sh runs both modes on each database and prints
# them side by side (make bench).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${1:-${AIFACADE_BUILD:-build}}
tools=$build/bench
# BENCH_QUICK=1: a look in a few minutes, not a table to rely on: one round
# of 2 s per row, only the rows "me conv50 chat", 20 streams, a tenth of
# the direct runs, prompts spread over 16 chat users instead of 64 (each
# login is an argon2id hash).
quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
  BENCH_ONLY=${BENCH_ONLY:-me conv50 chat}
  duration=${BENCH_DURATION:-2}
  rounds=${BENCH_ROUNDS:-1}
  BENCH_STREAMS=${BENCH_STREAMS:-20}
  chat_users=16
else
  chat_users=64
  duration=${BENCH_DURATION:-4}
  rounds=${BENCH_ROUNDS:-3}
fi
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNS:-8}
streams=${BENCH_STREAMS:-200}
mode=${BENCH_MODE:-process}
procs=${BENCH_PROCS:-4}
dbkind=${BENCH_DB:-sqlite}
case "$dbkind" in
  sqlite) ;;
  pg | pg-direct) BENCH_ONLY=${BENCH_ONLY:-me conv50 chat} ;;
  *) echo "bench: BENCH_DB must be sqlite, pg or pg-direct (got '$dbkind')" >&2; exit 1 ;;
esac
ua="aifacade-bench/1 (wrk)"
password="bench-password-1"
login_body="{\"username\":\"chat01\",\"password\":\"$password\"}"

for t in wrk sqlite3 python3 curl lighttpd caddy; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing; run 'make bench' (it installs it)" >&2; exit 1; }
done
for t in cgirun fakeprov floor-dyn; do
  [ -x "$tools/$t" ] || { echo "bench: $tools/$t is missing; run 'make bench'" >&2; exit 1; }
done
[ -x "$build/cgi-bin/me" ] || { echo "bench: no programs in $build/cgi-bin; run 'make bench'" >&2; exit 1; }
[ -x "$build/tools/aifacadectl" ] || { echo "bench: no $build/tools/aifacadectl; run 'make bench'" >&2; exit 1; }
if [ "$dbkind" != sqlite ]; then
  command -v psql >/dev/null || { echo "bench: psql is missing; run 'make deps' (postgresql)" >&2; exit 1; }
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${BENCH_OUT:-$root/bench/results/$stamp}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Only a full run in the usual place becomes bench/results/latest: a
# BENCH_OUT run (a probe) or a held stack must not hide the last real table.
[ -n "${BENCH_OUT:-}" ] || [ "${BENCH_HOLD:-0}" = 1 ] || ln -sfn "$out" "$root/bench/results/latest" 2>/dev/null || true
# The commit that was built: others may commit while the bench runs.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- common cgi-bin lighttpd.conf Caddyfile 2>/dev/null || echo '+changes')
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- the stack ---------------------------------------------------------------

cgi=$out/cgi-bin
mkdir -p "$cgi"
cp -p "$build"/cgi-bin/* "$cgi"/
cp -p "$tools/floor-dyn" "$cgi"/
# me and conversations under names lighttpd.conf's scgi.server blocks do not
# match (/api/me-cgi), so that mod_cgi runs them: the rows "as a CGI program".
cp -p "$build/cgi-bin/me" "$cgi/me-cgi"
cp -p "$build/cgi-bin/conversations" "$cgi/conversations-cgi"

fake_pid=""
stack=$out/stack
# lighttpd's SCGI sockets live in the stack's instance directory, and a
# Unix socket's path has room for 107 bytes (on PostgreSQL every database
# endpoint has one: account_sessions.sock-N is the longest name): a deep
# checkout gets its stack under /tmp instead, $out/stack pointing there.
stack_tmp=""
suffix_longest=/instance/account_sessions.sock-999
if [ $((${#stack} + ${#suffix_longest})) -gt 107 ]; then
  stack_tmp=$(mktemp -d /tmp/aifbench-stack.XXXXXX)
  ln -sfn "$stack_tmp" "$stack"
  stack=$stack_tmp
fi
pgdir=""
cleanup() {
  set +e
  [ -f "$stack/stack.env" ] && tests/stack.sh stop "$stack"
  if [ -n "$stack_tmp" ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
    rm -f "$out/stack"
    mkdir -p "$out/stack"
    cp -p "$stack_tmp"/*.log "$out/stack/" 2>/dev/null
    rm -rf "$stack_tmp"
  fi
  [ -n "$fake_pid" ] && kill -TERM "$fake_pid" 2>/dev/null
  # the cluster after the stack, which drops its database there
  if [ -n "$pgdir" ]; then
    tests/pg.sh stop "$pgdir"
    rm -rf "$pgdir"
  fi
  if [ "${BENCH_KEEP:-0}" != 1 ]; then
    rm -f "$stack"/instance/aifacade.db "$stack"/instance/aifacade.db-wal "$stack"/instance/aifacade.db-shm
    rm -f "$out"/seed.db "$out"/seed.db-* "$stack"/instance/pre-restore-*.db
    rm -rf "$cgi"
  fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# A reused BENCH_OUT must not hand us the last run's pid and port files
# (tests/stack.sh reads its fake's the same way).
rm -f "$out/fakeprov.port" "$out/fakeprov.pid" "$stack/fake.port" "$stack/fake.pid" "$stack/stack.env"
"$tools/fakeprov" --port 0 --port-file "$out/fakeprov.port" --pid-file "$out/fakeprov.pid" \
  --chunks 5 --gap-us 2000 >"$out/fakeprov.log" 2>&1 &
for _ in $(seq 100); do [ -s "$out/fakeprov.port" ] && [ -s "$out/fakeprov.pid" ] && break; sleep 0.05; done
fake_pid=$(cat "$out/fakeprov.pid")
fake_url="http://127.0.0.1:$(cat "$out/fakeprov.port")/v1/chat/completions"

# PostgreSQL: a throw-away cluster with PgBouncer (tests/pg.sh); the stack
# makes a fresh database in it (tests/stack.sh, AIFACADE_TEST_DATABASE)
# and reaches it through PgBouncer (pg) or PostgreSQL's own socket
# (pg-direct). Under /tmp: a Unix socket's path is short.
pg_pids=""
if [ "$dbkind" != sqlite ]; then
  pgdir=$(mktemp -d /tmp/aifbench-pg.XXXXXX)
  log "starting PostgreSQL and PgBouncer in $pgdir"
  tests/pg.sh start "$pgdir" >&2
  # shellcheck source=/dev/null
  . "$pgdir/pg.env"
  pg_pids="$PG_PID $PGBOUNCER_PID"
  if [ "$dbkind" = pg ]; then
    AIFACADE_TEST_DATABASE=$DATABASE
  else
    AIFACADE_TEST_DATABASE=$DATABASE_DIRECT
  fi
  export AIFACADE_TEST_DATABASE
fi

# Prompts are rate-limited per user (30/hour by default): the bench raises
# the limits so that it measures the check, not the refusal.
log "starting the stack"
AIFACADE_MODE=$mode AIFACADE_PROCS=$procs tests/stack.sh start "$stack" AIFACADE_CGI_DIR="$cgi" AI_API_URL="$fake_url" \
  RATE_LIMIT_PROMPTS=1000000000/hour RATE_LIMIT_LOGIN=1000000000/minute RATE_LIMIT_AUTH_IP=1000000000/minute \
  AI_IDLE_TIMEOUT=30 AI_TIMEOUT=60
# shellcheck source=/dev/null
. "$stack/stack.env"
db=$stack/instance/aifacade.db

# ---- data and sessions -------------------------------------------------------

# Prints the session token a login or register answer sets.
cookie_of() { sed -n 's/^[Ss]et-[Cc]ookie: __Host-aifacade=\([^;]*\);.*/\1/p' "$1" | tail -1; }
csrf_of() { # token
  curl -sf -H "Cookie: __Host-aifacade=$1" -H "User-Agent: $ua" "$LIGHTTPD_URL/api/me" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])'
}

log "registering the bench user and filling the database"
curl -sf -o /dev/null -D "$out/register.head" -H 'Content-Type: application/json' -H "User-Agent: $ua" \
  -d "{\"username\":\"bench\",\"password\":\"$password\"}" "$LIGHTTPD_URL/api/register"
bench_token=$(cookie_of "$out/register.head")
[ -n "$bench_token" ] || { echo "bench: register set no session cookie" >&2; exit 1; }
# On PostgreSQL the data is made in a SQLite file of the same schema (a
# backup of the stack's database, which holds the bench user), seeded and
# rendered there, and restored into PostgreSQL with aifacadectl restore, as
# an operator moves a database between backends.
seed_db=$db
if [ "$dbkind" != sqlite ]; then
  seed_db=$out/seed.db
  rm -f "$seed_db"
  AIFACADE_INSTANCE="$stack/instance" DATABASE="$STACK_DATABASE" "$build/tools/aifacadectl" backup "$seed_db" >&2
fi
sqlite3 "$seed_db" <bench/seed.sql >/dev/null
# seed.sql's plain SQL leaves the messages without the HTML the app stores
# when it writes one (migration 2): render it as an operator would after an
# upgrade, so that the history rows measure reads as they are in use.
AIFACADE_INSTANCE="$stack/instance" DATABASE="$seed_db" "$build/tools/aifacadectl" render-html >&2
# ...except in conversation 3, the bench user's other 50-message one (the
# same texts as 2): its messages keep no HTML, as rows written before
# migration 2 and not yet rendered do, for the "no stored HTML" rows.
sqlite3 "$seed_db" "UPDATE messages SET html = NULL, html_version = NULL WHERE conversation_id = 3"
same=$(sqlite3 "$seed_db" "SELECT (SELECT group_concat(length(content)) FROM (SELECT content FROM messages
  WHERE conversation_id = 2 ORDER BY id)) IS (SELECT group_concat(length(content)) FROM (SELECT content
  FROM messages WHERE conversation_id = 3 ORDER BY id))")
[ "$same" = 1 ] || { echo "bench: conversations 2 and 3 no longer hold the same texts (bench/seed.sql)" >&2; exit 1; }
if [ "$dbkind" != sqlite ]; then
  log "restoring the seeded data into PostgreSQL"
  AIFACADE_INSTANCE="$stack/instance" DATABASE="$STACK_DATABASE" "$build/tools/aifacadectl" restore "$seed_db" --yes >&2
  # Planner statistics for the restored tables now, rather than whenever
  # autovacuum gets to them during a row.
  psql "$STACK_DATABASE" -qX -v ON_ERROR_STOP=1 -c "VACUUM (ANALYZE)" >&2
  rm -f "$seed_db" "$seed_db"-wal "$seed_db"-shm "$seed_db"-queue "$stack"/instance/pre-restore-*.db
fi
# q SQL: one query on the stack's database, sqlite3's output format.
q() {
  if [ "$dbkind" = sqlite ]; then sqlite3 "$db" "$1"; else psql "$STACK_DATABASE" -qXAt -v ON_ERROR_STOP=1 -c "$1"; fi
}
counts=$(q "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM conversations),
  (SELECT count(*) FROM messages), (SELECT count(*) FROM messages WHERE conversation_id = 1),
  (SELECT count(*) FROM messages WHERE conversation_id = 2), (SELECT count(*) FROM conversations WHERE user_id =
  (SELECT id FROM users WHERE username_key = 'bench'))")
log "database: users|conversations|messages|long|short|bench's conversations = $counts"
echo "$counts" >"$out/counts"

# Sessions of the 64 chat users (16 with BENCH_QUICK) (each with its own conversation): the chat
# bench spreads its prompts over them as real users would.
log "logging in the chat users"
login_chat_user() { # NN
  local head=$out/logins/$1.head tok="" csrf="" try
  for try in 1 2 3; do
    curl -s -o "$out/logins/$1.body" -D "$head" -H 'Content-Type: application/json' -H "User-Agent: $ua" \
      -d "{\"username\":\"chat$1\",\"password\":\"$password\"}" "$LIGHTTPD_URL/api/login" || true
    tok=$(cookie_of "$head")
    [ -n "$tok" ] && csrf=$(csrf_of "$tok" 2>/dev/null) && [ -n "$csrf" ] && break
    echo "bench: login of chat$1 failed (try $try): $(head -1 "$head" 2>/dev/null) $(cat "$out/logins/$1.body" 2>/dev/null)" >&2
    sleep 1
  done
  echo "$tok $csrf $((1861 + 10#$1))" >"$out/logins/$1"
}
mkdir -p "$out/logins"
jobs_=()
for i in $(seq -w 1 "$chat_users"); do
  login_chat_user "$i" &
  jobs_+=($!)
  # four argon2id verifications at a time; never a bare wait (fakeprov runs in the background)
  if [ ${#jobs_[@]} -eq 4 ]; then wait "${jobs_[@]}" || true; jobs_=(); fi
done
[ ${#jobs_[@]} -eq 0 ] || wait "${jobs_[@]}" || true
cat "$out"/logins/[0-9][0-9] >"$out/sessions"
[ "$(awk 'NF == 3' "$out/sessions" | wc -l)" -eq "$chat_users" ] || { echo "bench: not every chat user could log in" >&2; exit 1; }

# The OpenAI-compatible API's rows (README, "The OpenAI-compatible API"): an
# API token of the bench user is the key.
bench_csrf=$(csrf_of "$bench_token")
gw_token=$(curl -sf -H "Cookie: __Host-aifacade=$bench_token" -H "X-CSRF-Token: $bench_csrf" -H "User-Agent: $ua" \
  -H 'Content-Type: application/json' -d '{"name":"bench"}' "$LIGHTTPD_URL/api/account/tokens" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
[ -n "$gw_token" ] || { echo "bench: could not create the bench user's API token" >&2; exit 1; }
gw_body='{"model":"fake-model","messages":[{"role":"user","content":"A short answer, please (bench)."}]}'

# ---- memory at rest ----------------------------------------------------------

lighttpd_pid=$(pgrep -P "$SERVE_PID" -x lighttpd || true)
caddy_pid=$(pgrep -P "$SERVE_PID" -x caddy || true)

stack_memory() { # label
  local pids total_rss=0 total_pss=0 names="" p rss pss
  # serve.sh, lighttpd, Caddy, and lighttpd's children (the SCGI servers: chat, me, conversations)
  pids="$SERVE_PID $(pgrep -P "$SERVE_PID" | tr '\n' ' ' || true)"
  for p in $(pgrep -P "$SERVE_PID" || true); do pids+=" $(pgrep -P "$p" | tr '\n' ' ' || true)"; done
  for p in $pids; do
    [ -r "/proc/$p/status" ] || continue
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")
    pss=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    total_rss=$((total_rss + ${rss:-0})); total_pss=$((total_pss + ${pss:-0}))
    names+="$(cat "/proc/$p/comm" 2>/dev/null || echo gone)=${rss:-0} "
  done
  echo "$1 rss_kib=$total_rss pss_kib=$total_pss $names" >>"$out/memory"
}
: >"$out/memory"
stack_memory rest

# ---- direct runs: each program's peak RSS and time without lighttpd ------------

# CGI programs run as lighttpd's mod_cgi runs them (bench/cgirun: fork, exec,
# wait4); the SCGI endpoints (lighttpd.conf: chat, me, conversations) get
# their requests on the socket of the server lighttpd spawned, one at a
# time, and are measured on that server (bench/cgirun -s), since it is the
# server, not cgirun, that forks and reaps each request's child. The same
# binaries also run as CGI programs (keys *-cgi): the cost before they were
# SCGI servers, and what a request costs when mod_cgi runs one.

chat_session=$(head -1 "$out/sessions")
read -r chat_token chat_csrf chat_conv <<<"$chat_session"
cgi_env() { # method path_info query cookie_token csrf content_length
  cat <<EOF
AIFACADE_ROOT=$root
AIFACADE_INSTANCE=$stack/instance
AI_API_URL=$fake_url
AI_API_KEY=test-key
AI_MODEL=fake-model
AI_MODELS=fake-model,fake-reasoner
AI_IDLE_TIMEOUT=30
AI_TIMEOUT=60
RATE_LIMIT_PROMPTS=1000000000/hour
RATE_LIMIT_LOGIN=1000000000/minute
RATE_LIMIT_AUTH_IP=1000000000/minute
GATEWAY_INTERFACE=CGI/1.1
SERVER_PROTOCOL=HTTP/1.1
SERVER_SOFTWARE=aifacade
REQUEST_METHOD=$1
PATH_INFO=$2
QUERY_STRING=$3
REMOTE_ADDR=127.0.0.1
HTTP_HOST=localhost
HTTP_USER_AGENT=$ua
HTTP_COOKIE=__Host-aifacade=$4
HTTP_X_CSRF_TOKEN=$5
CONTENT_TYPE=application/json
CONTENT_LENGTH=$6
EOF
}
: >"$out/rss"
direct() { # key program runs method path_info token csrf [body]
  direct_run cgi "$@"
}
direct_scgi() { # key endpoint runs method path_info token csrf [body]
  direct_run scgi "$@"
}
direct_run() { # cgi|scgi key program runs method path_info token csrf [body]
  local how=$1 key=$2 prog=$3 n=$4 body=${9:-}
  [ "$quick" != 1 ] || n=$((n / 10 > 5 ? n / 10 : 5))
  local envf=$out/direct/$key.env bodyf=$out/direct/$key.body
  mkdir -p "$out/direct"
  printf '%s' "$body" >"$bodyf"
  cgi_env "$5" "$6" "" "$7" "$8" "${#body}" >"$envf"
  [ "${BENCH_HOLD:-0}" = 1 ] && return 0
  local line server sock
  if [ "$how" = scgi ] && [ "$mode" = persistent ]; then
    # bench/cgirun -s counts the CPU of a server that forks a child per
    # request; a persistent server's worker is not reaped per request.
    log "$key: direct SCGI runs measure the process-per-request server; left out in persistent mode"
    return 0
  fi
  if [ "$how" = cgi ]; then
    line=$("$tools/cgirun" -n "$n" -e "$envf" -i "$bodyf" -o "$out/direct/$key.out" "$cgi/$prog")
  else
    server=$(pgrep -P "$lighttpd_pid" -x "$prog" | head -1 || true)
    sock=$(compgen -G "$stack/instance/$prog.sock*" | head -1 || true)
    if [ -z "$server" ] || [ -z "$sock" ]; then
      log "no SCGI server for $prog under lighttpd ($lighttpd_pid) or no socket; $key left out"
      return 0
    fi
    line=$("$tools/cgirun" -s "$sock" -p "$server" -n "$n" -e "$envf" -i "$bodyf" -o "$out/direct/$key.out")
  fi
  local status
  status=$(head -1 "$out/direct/$key.out" | tr -d '\r')
  echo "$key $line http=\"${status#Status: }\"" >>"$out/rss"
  tail -1 "$out/rss" >&2
}
direct_all() {
  local prompt="{\"prompt\":\"How do I check every value? (bench)\",\"conversation_id\":$chat_conv}"
  direct floor-dyn floor-dyn 50 GET "" "" ""
  direct health health 50 GET "" "" ""
  # SCGI: enough requests that the server's CPU counters (1/CLK_TCK s) move
  # by well over a hundred ticks.
  direct_scgi me me 1000 GET "" "$bench_token" ""
  direct_scgi list conversations 500 GET "" "$bench_token" ""
  direct_scgi conv50 conversations 300 GET /2 "$bench_token" ""
  direct_scgi conv5k conversations 300 GET /1 "$bench_token" ""
  direct_scgi conv50-nohtml conversations 200 GET /3 "$bench_token" ""
  direct_scgi chat chat 300 POST "" "$chat_token" "$chat_csrf" "$prompt"
  direct me-cgi me 50 GET "" "$bench_token" ""
  direct conv50-cgi conversations 50 GET /2 "$bench_token" ""
  direct chat-cgi chat 30 POST "" "$chat_token" "$chat_csrf" "$prompt"
  direct login login 5 POST "" "" "" "$login_body"
}

# BENCH_HOLD=1: set everything up, write the direct runs' environments
# (for perf, callgrind, strace: bench/cgirun -e ENV -i BODY PROGRAM) and
# wait until stopped (SIGTERM or Ctrl-C), then clean up as usual.
if [ "${BENCH_HOLD:-0}" = 1 ]; then
  direct_all
  log "holding: stack in $stack, direct-run environments in $out/direct; stop me with SIGTERM"
  trap 'exit 0' TERM INT
  while :; do sleep 1; done
fi

# ---- wrk ---------------------------------------------------------------------

# CPU accounting, so that a row's cost does not depend on what else the
# machine runs: the CPU time of wrk (this shell's reaped children) plus that
# of lighttpd with its reaped CGI children, the SCGI servers with their
# children, and Caddy when the path is Caddy, per request. Read with shell
# builtins only: a fork inside the window would count too.
clk_tck=$(getconf CLK_TCK)
ticks=0
add_ticks() { # pid: adds utime+stime+cutime+cstime of pid to $ticks
  local stat
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] && read -r stat <"/proc/$1/stat" || return 0
  local -a f
  read -r -a f <<<"${stat##*) }"
  ticks=$((ticks + f[11] + f[12] + f[13] + f[14]))
}
children_us=0
read_children_us() { # sets $children_us from the times builtin (user + system of reaped children)
  local cu cs _ t us=0
  times >"$out/.times"
  { read -r _ _; read -r cu cs; } <"$out/.times"
  for t in "$cu" "$cs"; do
    local min=${t%%m*} sec=${t#*m}
    sec=${sec%s}
    local whole=${sec%.*} frac=${sec#*.}000000
    us=$((us + (10#$min * 60 + 10#$whole) * 1000000 + 10#${frac:0:6}))
  done
  children_us=$us
}
stack_cpu_us() { # path server_pids [children_us]: sets $cpu_us, the CPU so far of wrk and the stack's side of the path
  local p
  ticks=0
  add_ticks "$lighttpd_pid"
  for p in $2; do add_ticks "$p"; done
  [ "$1" != caddy ] || add_ticks "$caddy_pid"
  if [ -n "${3:-}" ]; then children_us=$3; else read_children_us; fi
  cpu_us=$((ticks * 1000000 / clk_tck + children_us))
}

# lighttpd's SCGI servers, and in persistent mode their workers; on
# PostgreSQL also PgBouncer, the postmaster (its reaped children: the
# server processes of connections that ended) and its children (the server
# processes of open connections, and its own background workers): the
# database's side of a request is part of its cost.
scgi_servers() {
  local list sup
  list=$(pgrep -P "$lighttpd_pid" | tr '\n' ' ' || true)
  if [ "$mode" = persistent ]; then
    for sup in $list; do list+=" $(pgrep -P "$sup" | tr '\n' ' ' || true)"; done
  fi
  [ -z "$pg_pids" ] || list+=" $(pg_procs)"
  echo "$list"
}
pg_procs() {
  [ -z "$pg_pids" ] || echo "$pg_pids $(pgrep -P "$PG_PID" | tr '\n' ' ' || true)"
}
db_us=0
db_cpu_us() { # pids: sets $db_us, the CPU so far of PostgreSQL's and PgBouncer's processes
  local p
  ticks=0
  for p in $1; do add_ticks "$p"; done
  db_us=$((ticks * 1000000 / clk_tck))
}

# Runs wrk; appends "key path round rps p50_ms p99_ms bad cpu_us_per_request"
# to results.
# Usage: run_wrk KEY PATH ROUND URL [WRK_OPTIONS...] [-- SCRIPT_ARGS...]
run_wrk() { # key path round url [wrk args...]
  local key=$1 path=$2 round=$3 url=$4; shift 4
  local raw=$out/wrk/$key.$path.$round.txt opts=() scgi_pids before after db_pids db_before db_after
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  mkdir -p "$out/wrk"
  # lighttpd's children while idle: its SCGI servers (chat, me, conversations);
  # in persistent mode each one's worker too, which answers the requests
  # and is not reaped while it serves
  # (listed again at the end: a worker replaced meanwhile is counted in its
  # supervisor's reaped children, its successor by its own ticks)
  scgi_pids=$(scgi_servers)
  db_pids=""
  [ -z "$pg_pids" ] || db_pids=$(pg_procs)
  stack_cpu_us "$path" "$scgi_pids"
  before=$cpu_us
  db_cpu_us "$db_pids"
  db_before=$db_us
  # wrk takes the URL before the script's own arguments (after "--").
  wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "${opts[@]}" "$url" "$@" >"$raw" 2>&1 || true
  # requests cut off at the end finish and are reaped (their CPU counts; they
  # are at most -c of thousands, and sleep's own is a millisecond)
  sleep 0.2
  # wrk's CPU is read before the processes are listed again: each pgrep
  # reads all of /proc, which on a busy machine cost more than a whole
  # row's requests (a persistent stack has a server per endpoint to list)
  read_children_us
  local end_children=$children_us
  if [ "$mode" = persistent ] || [ -n "$pg_pids" ]; then scgi_pids=$(scgi_servers); fi
  [ -z "$pg_pids" ] || db_pids=$(pg_procs)
  stack_cpu_us "$path" "$scgi_pids" "$end_children"
  after=$cpu_us
  db_cpu_us "$db_pids"
  db_after=$db_us
  # On PostgreSQL a ninth field: the database's share of the CPU per request.
  awk -v key="$key" -v path="$path" -v round="$round" -v cpu="$((after - before))" \
    -v db="$([ -z "$pg_pids" ] || echo $((db_after - db_before)))" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    / requests in / { n = $1 }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { for (i = 3; i <= NF; i++) { gsub(",", "", $i); if ($i ~ /^[0-9]+$/) bad += $i } }
    END { printf "%s %s %s %s %s %s %d %.0f", key, path, round, rps + 0, p50 + 0, p99 + 0, bad, n ? cpu / n : 0
          if (db != "") printf " %.0f", n ? db / n : 0
          printf "\n" }' \
    "$raw" >>"$out/results"
  tail -1 "$out/results" >&2
}

get_args=(-H "Cookie: __Host-aifacade=$bench_token" -H "User-Agent: $ua")
static_args=(-H "User-Agent: $ua" -H "Accept-Encoding: gzip, deflate, br, zstd")
chat_body='{"prompt":"How do I check every value of a configuration file and report the first bad one? (bench)","conversation_id":@CONV@}'

want() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }

measure_round() { # round
  local r=$1 path base
  for path in lighttpd caddy; do
    if [ "$path" = lighttpd ]; then base=$LIGHTTPD_URL; else base=$BASE_URL; fi
    run_wrk floor-dyn "$path" "$r" "$base/api/floor-dyn"
    # as a browser asks for it: lighttpd sends the UI's files compressed
    # (mod_deflate, cached); and, through Caddy, without Accept-Encoding
    want static && run_wrk static "$path" "$r" "$base/static/app.css" "${static_args[@]}"
    [ "$path" = lighttpd ] || ! want static-plain ||
      run_wrk static-plain "$path" "$r" "$base/static/app.css" -H "User-Agent: $ua"
    want health && run_wrk health "$path" "$r" "$base/api/health"
    want me && run_wrk me "$path" "$r" "$base/api/me" "${get_args[@]}"
    want list && run_wrk list "$path" "$r" "$base/api/conversations" "${get_args[@]}"
    want conv50 && run_wrk conv50 "$path" "$r" "$base/api/conversations/2" "${get_args[@]}"
    want conv5k && run_wrk conv5k "$path" "$r" "$base/api/conversations/1" "${get_args[@]}"
    want chat && run_wrk chat "$path" "$r" "$base/api/chat" -s bench/wrk/post.lua -- \
      "$out/sessions" "$ua" /api/chat "$chat_body"
    want gateway && run_wrk gateway "$path" "$r" "$base/v1/chat/completions" -H "Authorization: Bearer $gw_token" \
      -s bench/wrk/post.lua -- - "$ua" /v1/chat/completions "$gw_body"
    # For comparison, through lighttpd only: the same code as before this
    # round, run by mod_cgi (a copy of the binary under another name), and
    # the history page of a conversation whose messages have no stored HTML.
    if [ "$path" = lighttpd ]; then
      want me-cgi && run_wrk me-cgi "$path" "$r" "$base/api/me-cgi" "${get_args[@]}"
      want conv50-cgi && run_wrk conv50-cgi "$path" "$r" "$base/api/conversations-cgi/2" "${get_args[@]}"
      want conv50-nohtml && run_wrk conv50-nohtml "$path" "$r" "$base/api/conversations/3" "${get_args[@]}"
    fi
    run_wrk floor-dyn "$path" "$r" "$base/api/floor-dyn"
  done
}

# What the static row's answer is through Caddy: its encoding and size.
static_enc=$(curl -sk -o /dev/null -H "Accept-Encoding: gzip, deflate, br, zstd" \
  -w '%{size_download} %header{content-encoding}' "$BASE_URL/static/app.css" || true)
static_plain=$(curl -sk -o /dev/null -w '%{size_download}' "$BASE_URL/static/app.css" || true)

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# Warm-up: page cache, Caddy's TLS sessions, the first WAL frames.
log "warming up"
for u in floor-dyn me conversations conversations/1; do
  wrk -t1 -c2 -d1s -H "Cookie: __Host-aifacade=$bench_token" -H "User-Agent: $ua" "$BASE_URL/api/$u" >/dev/null 2>&1 || true
done
for r in $(seq 1 "$rounds"); do
  log "round $r of $rounds (wrk -t$threads -c$conns -d${duration}s per row)"
  measure_round "$r"
done
if want login; then
  log "login (argon2id)"
  run_wrk login lighttpd 1 "$LIGHTTPD_URL/api/login" -s bench/wrk/post.lua -- - "$ua" /api/login "$login_body"
  run_wrk floor-dyn lighttpd login "$LIGHTTPD_URL/api/floor-dyn"
  run_wrk login caddy 1 "$BASE_URL/api/login" -s bench/wrk/post.lua -- - "$ua" /api/login "$login_body"
  run_wrk floor-dyn caddy login "$BASE_URL/api/floor-dyn"
fi

# ---- streaming ---------------------------------------------------------------

if [ "$dbkind" = sqlite ]; then
log "streaming: $streams answers through Caddy, $((streams / 2)) through lighttpd"
: >"$out/stream"
echo "caddy $(python3 bench/sseprobe.py --url "$BASE_URL" --sessions "$out/sessions" --ua "$ua" --n "$streams")" >>"$out/stream"
# Meanwhile, the peak memory of the chat SCGI server's per-request children
# (no wait4 sees them: bench/rsswatch.py samples /proc).
lighttpd_pid=$(pgrep -P "$SERVE_PID" -x lighttpd || true)
chat_parent=$( [ -z "$lighttpd_pid" ] || pgrep -P "$lighttpd_pid" -x chat || true)
watcher=""
if [ -n "$chat_parent" ]; then
  python3 bench/rsswatch.py "$chat_parent" 8 >"$out/scgi_rss" &
  watcher=$!
fi
echo "lighttpd $(python3 bench/sseprobe.py --url "$LIGHTTPD_URL" --sessions "$out/sessions" --ua "$ua" --n $((streams / 2)))" >>"$out/stream"
[ -z "$watcher" ] || wait "$watcher" || true
# The OpenAI-compatible API's stream through Caddy, against the provider
# asked directly (the same request, no AIFacade in between).
log "streaming: $((streams / 2)) answers through /v1/chat/completions, as many from the provider directly"
echo "gateway $(python3 bench/sseprobe.py --url "$BASE_URL" --gateway "$gw_token" --ua "$ua" --n $((streams / 2)))" >>"$out/stream"
echo "provider $(python3 bench/sseprobe.py --url "$fake_url" --direct --ua "$ua" --n $((streams / 2)))" >>"$out/stream"
cat "$out/stream" >&2

log "peak RSS and CPU per program (direct runs, without lighttpd)"
direct_all
else
  # The direct runs' environments name SQLite's file, and the streaming
  # rows do not read the database between deltas: the SQLite run has them.
  log "$dbkind: no streaming rows and no direct runs (the SQLite run has them)"
fi
stack_memory "after-load"

# ---- the table ---------------------------------------------------------------

{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "cpus=$(nproc)"
  echo "mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "load_before=$load_before"
  echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "wrk=-t$threads -c$conns -d${duration}s, $rounds rounds"
  echo "commit=$commit"
  echo "mode=$mode"
  echo "db=$dbkind"
  echo "procs=$procs"
  echo "counts=$counts"
  echo "static_bytes=$static_plain"
  echo "static_sent=$static_enc"
} >"$out/meta"
python3 bench/report.py "$out" | tee "$out/table.txt"
python3 bench/report.py --markdown "$out" >"$out/table.md"
log "results in $out (table.txt, table.md, raw wrk output in wrk/)"
