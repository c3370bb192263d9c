#!/usr/bin/env bats
# cluster.bats: several web nodes on PostgreSQL, in the real containers
# (docker-compose.cluster.yml; tools/docker-test.sh starts the cluster and
# runs this file: make test-docker, or tools/docker-test.sh cluster).
#
# Under a load of prompts and history reads from many users (through Caddy):
# a web node is killed, the others go on, no prompt answered 2xx is lost and
# none is stored twice, and the node rejoins when started again; a login
# limit reached through the nodes holds on each of them; the primary
# PostgreSQL is killed, its synchronous standby promoted and the PgBouncers
# pointed at it: the app answers 503 for a few seconds, then works again with no answered prompt lost; the
# old primary is rebuilt as the new one's standby (README, "Several web
# nodes on PostgreSQL"). Each test prints its counts ("# cluster: ...").
# Bounded: each wait has a limit, the load runs at most 90 s.

load helpers

setup() {
  [ -n "${CLUSTER_DIR:-}" ] || skip "needs the cluster of make test-docker (make test-cluster), which sets CLUSTER_DIR"
}
ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
PGDATA_DIR=/var/lib/postgresql/data/pgdata
LOAD_USERS=${CLUSTER_LOAD_USERS:-12}

dc() { "$ROOT/tools/docker-test.sh" cluster-compose "$CLUSTER_DIR" "$@"; }
docker_() { "${DOCKER_TEST_CLIENT:-docker}" "$@"; }
# container SERVICE: its container's id (compose is slow to ask: once per
# container, kept in CLUSTER_DIR; docker itself kills, starts and execs).
container() {
  [ -s "$CLUSTER_DIR/id.$1" ] || dc ps -q "$1" >"$CLUSTER_DIR/id.$1"
  cat "$CLUSTER_DIR/id.$1"
}
now() { date +%s.%N; }
# stuck_processes: the web nodes' answer generators (chat processes that
# lead a session of their own: they leave their request with setsid) older
# than 20 s, with what each waits in (wchan), and how often the store gave up a
# statement or found its connection lost: what a request left unanswered
# waits for (README, "Deviations from the specification").
stuck_processes() {
  local w pid age args
  for w in web1 web2 web3; do
    docker_ top "$(container "$w")" -eo pid,sid,etimes,args 2>/dev/null |
      awk 'NR > 1 && $1 == $2 && $3 >= 20 && $4 ~ /chat$/ { print $1, $3, $4 }' | while read -r pid age args; do
        echo "# $w: generator pid $pid, ${age} s: $args, waiting in $(cat "/proc/$pid/wchan" 2>/dev/null)"
      done
    docker_ logs "$(container "$w")" >"$BATS_TEST_TMPDIR/log.$w" 2>&1
    echo "# $w: $(grep -c 'no answer in' "$BATS_TEST_TMPDIR/log.$w") statements given up," \
      "$(grep -c 'connection was lost' "$BATS_TEST_TMPDIR/log.$w") connections found lost," \
      "$(grep -c 'cannot reconnect' "$BATS_TEST_TMPDIR/log.$w") reconnections and" \
      "$(grep -c 'cannot connect to PostgreSQL' "$BATS_TEST_TMPDIR/log.$w") connections failed," \
      "$(grep -c 'busy past' "$BATS_TEST_TMPDIR/log.$w") lock waits past their limit"
  done
}
# watch_processes SECONDS: every 2.5 s, the web nodes' chat processes that
# are busy (a request in a persistent worker, an answer generator: not a
# worker waiting for its next request, nor a supervisor waiting for its
# worker), with the system call each waits in and its TCP connections, into
# $BATS_TEST_TMPDIR/watch: what holds a request that gets no answer, seen
# while it waits (stuck_processes runs after the load, when it may be over).
watch_processes() {
  local end=$((SECONDS + $1)) w pid ppid age args call
  while [ "$SECONDS" -lt "$end" ]; do
    sleep 2.5
    for w in web1 web2 web3; do
      docker_ top "$(container "$w")" -eo pid,ppid,etimes,args 2>/dev/null |
        awk 'NR > 1 && $4 ~ /chat$/ { print $1, $2, $3, $4 }' |
        while read -r pid ppid age args; do
          call=$(cut -d' ' -f1-5 "/proc/$pid/syscall" 2>/dev/null) || continue
          # poll(fd 0, 1 fd, 1000 ms): a worker between requests; wait4: a supervisor
          case "$call" in "7 "*" 0x1 0x3e8 "* | "61 "*) continue ;; esac
          echo "$(date +%T) $w pid $pid (parent $ppid) ${age} s $args: syscall $call;" \
            "$(nsenter -t "$pid" -n ss -tnpo 2>/dev/null | awk -v p="pid=$pid," 'index($0, p) { printf "%s->%s %s ", $4, $5, $NF }')"
        done
    done
  done >"$BATS_TEST_TMPDIR/watch" 2>&1
}
# slow_requests: the web nodes' POSTs that took more than 15 s (lighttpd's
# access log: status, bytes, then microseconds).
slow_requests() {
  local w
  for w in web1 web2 web3; do
    docker_ logs "$(container "$w")" 2>&1 | awk -F'"' -v w="$w" '/"POST / { split($3, a, " "); if (a[3] > 15000000) print "# " w ": " $0 }'
  done
}
# pgsql NODE QUERY: psql as postgres on the node's socket, unaligned, "|" between fields.
pgsql() { docker_ exec "$(container "$1")" psql -h /tmp -U postgres -d aifacade -At -v ON_ERROR_STOP=1 -c "$2"; }
primary() { cat "$CLUSTER_DIR/primary" 2>/dev/null || echo pg1; }

# load_start TAG USERS: the load in the background until load_stop (90 s at most).
load_start() {
  out=$BATS_TEST_TMPDIR/load.jsonl
  rm -f "$out" "$out.ready" "$BATS_TEST_TMPDIR/stop"
  python3 "$ROOT/tests/cluster_load.py" "$BASE_URL" "$1" "$2" 90 "$BATS_TEST_TMPDIR/stop" "$out" \
    2>"$BATS_TEST_TMPDIR/load.err" 3>&- &
  load_pid=$!
  for _ in $(seq 240); do
    [ -e "$out.ready" ] && return 0
    kill -0 "$load_pid" 2>/dev/null || break
    sleep 0.25
  done
  cat "$BATS_TEST_TMPDIR/load.err"
  return 1
}
load_stop() {
  touch "$BATS_TEST_TMPDIR/stop"
  wait "$load_pid"
}

# answered_since T: prompts answered 2xx that were sent at or after T.
answered_since() {
  jq -s --argjson t "$1" '[.[] | select(.kind == "prompt" and .code >= 200 and .code < 300 and .start >= $t)] | length' "$out"
}

# wait_answered N T LIMIT: until N prompts sent after T are answered, LIMIT seconds at most.
wait_answered() {
  local end=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$end" ]; do
    [ "$(answered_since "$2")" -ge "$1" ] && return 0
    sleep 0.5
  done
  echo "fewer than $1 prompts sent after $2 were answered within $3 s: $(answered_since "$2")"
  jq -c 'select(.code < 200 or .code >= 300)' "$out" | tail -5
  return 1
}

# counts TAG NODE [SINCE]: the load's counts against the rows on NODE, as shell variables.
counts() {
  pgsql "$2" "SELECT m.content, (SELECT count(*) FROM messages a WHERE a.conversation_id = m.conversation_id
      AND a.role = 'assistant' AND a.status = 'ok') FROM messages m
      WHERE m.role = 'user' AND m.content LIKE '$1 %'" >"$BATS_TEST_TMPDIR/db"
  local line
  line=$(python3 "$ROOT/tests/cluster_load.py" count "$out" "$BATS_TEST_TMPDIR/db" "${3:-0}")
  echo "$line"
  # shellcheck disable=SC2086
  set -- $line
  while [ $# -ge 2 ]; do printf -v "c_$1" '%s' "$2"; shift 2; done
}

wait_healthy_node() { # SERVICE LIMIT
  local end=$((SECONDS + $2)) id
  id=$(container "$1")
  while [ "$SECONDS" -lt "$end" ]; do
    [ "$(docker_ inspect --format '{{.State.Health.Status}}' "$id")" = healthy ] && return 0
    sleep 0.5
  done
  echo "$1 was not healthy within $2 s"
  return 1
}

@test "one SQLite machine's database copied into the cluster with the README's command: its user logs in through Caddy" {
  # README, "Several web nodes on PostgreSQL", step 3, while the cluster's
  # database is still empty (copy-db refuses one that holds any user).
  # The old instance: a SQLite database with a user and a conversation
  # (made by the image's aifacadectl from a Flask app's database).
  old=$BATS_TEST_TMPDIR/old
  mkdir -p "$old"
  name=m$(date +%s%N | tail -c 7)
  python3 - "$old/flask.db" "$name" <<'PY'
import hashlib, sqlite3, sys
path, name = sys.argv[1:3]
h = "pbkdf2:sha256:1000$salt$" + hashlib.pbkdf2_hmac("sha256", b"old machine pass", b"salt", 1000).hex()
db = sqlite3.connect(path)
db.execute("CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(150) UNIQUE NOT NULL, password VARCHAR(256))")
db.execute("CREATE TABLE chats (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, timestamp DATETIME,"
           " prompt TEXT NOT NULL, response TEXT NOT NULL)")
db.execute("INSERT INTO user VALUES (1, ?, ?)", (name, h))
db.execute("INSERT INTO chats VALUES (1, 1, '2024-03-01 09:30:00', 'moved question', '<p>moved answer</p>')")
db.commit()
PY
  as=$(stat -c %u:%g "$old")
  run dc run --rm --no-deps --user "$as" -e DATABASE=/old/aifacade.db -e TMPDIR=/old -v "$old:/old" web1 \
    sh -c 'aifacadectl init-db && aifacadectl import-flask /old/flask.db'
  echo "$output"
  assert_success
  # The README's command.
  run dc run --rm --no-deps --user "$as" -e TMPDIR=/old -v "$old:/old" web1 \
    sh -c 'aifacadectl copy-db /old/aifacade.db "$(cat /run/secrets/database_url)"'
  echo "$output"
  assert_success
  refute_output --partial DIFFERS
  login "$name" "old machine pass"
  assert_equal "$code" 200
  fetch_csrf
  api GET /api/conversations
  assert_equal "$(json '[.conversations[].title] | length')" 1
  cid=$(json '.conversations[0].id')
  api GET "/api/conversations/$cid"
  assert_equal "$(json '[.messages[].content] | join("|")')" "moved question|moved answer"
  echo "# cluster: a SQLite database copied in with copy-db (README): its user logged in, its conversation read" >&3
}

@test "a web node killed under load: the others go on, no answered prompt lost or stored twice, and it rejoins" {
  tag=k$RANDOM
  load_start "$tag" "$LOAD_USERS"
  wait_answered 10 0 60
  web2=$(container web2)
  t_kill0=$(now)
  docker_ kill "$web2" >/dev/null
  # Docker may take seconds to return on a loaded machine: the node died
  # between these two times.
  t_kill=$(now)
  # The two others answer on, Caddy skipping the dead node.
  wait_answered 15 "$t_kill" 60
  t_down=$(now)
  down_answered=$(answered_since "$t_kill")
  t_back=$(now)
  docker_ start "$(container web2)" >/dev/null
  wait_healthy_node web2 60
  t_healthy=$(now)
  # Caddy's active check sees it again and sends it requests of the load
  # (its access log: the requests after its start, not /api/health).
  served=0
  for _ in $(seq 60); do
    served=$(docker_ logs --since "${t_back%.*}" "$web2" 2>/dev/null |
      grep -cE '"(POST /api/chat|GET /api/conversations)' || true)
    [ "$served" -ge 3 ] && break
    sleep 0.5
  done
  t_served=$(now)
  load_stop
  counts "$tag" "$(primary)" "$t_kill"
  awk -v k0="$t_kill0" -v k="$t_kill" -v d="$t_down" -v b="$t_back" -v h="$t_healthy" -v s="$t_served" -v f="$c_first_fail" \
    'BEGIN { printf "docker kill took %.1f s; after it: 15 answered %.1f s, start %.1f s, healthy %.1f s, served %.1f s; first failure %.1f s\n", k - k0, d - k, b - k, h - k, s - k, f - k }'
  jq -c 'select(.code < 200 or .code >= 300) | {kind, code, start, body}' "$out" | head -20
  echo "# cluster: a web node killed under load: $c_requests requests ($c_prompts prompts, $c_reads history reads)," \
    "$c_answered answered, $c_stored answers stored, lost: $c_lost, duplicated: $c_duplicated;" \
    "$c_failed failed ($c_failed_codes) as web2 died, $down_answered answered while it was down," \
    "$served served by web2 after its restart" >&3
  [ "$c_lost" -eq 0 ]
  [ "$c_duplicated" -eq 0 ]
  [ "$c_stored" -ge "$c_answered" ]
  [ "$served" -ge 3 ]
  # Only what was in flight on web2 as it died may fail (one request per
  # user at a time), and nothing that was sent a few seconds after it.
  [ "$c_failed" -le "$LOAD_USERS" ]
  # Each failure ended after the kill began and had started before it
  # ended (5 s of grace: Caddy's passive check marks the node at once).
  jq -e -s --argjson k0 "$t_kill0" --argjson k "$t_kill" \
    '[.[] | select((.code < 200 or .code >= 300) and (.end < $k0 or .start > $k + 5))] | length == 0' "$out"
}

@test "a login limit reached through the web nodes holds on each of them" {
  name=$(unique_name)
  register "$name"
  other=$(unique_name)
  JAR=$BATS_TEST_TMPDIR/jar2 register "$other"
  # Each login goes to one node itself (web1 reaches the others over the
  # compose network); one docker exec for them all, as each costs seconds
  # on a loaded machine. RATE_LIMIT_LOGIN=5/minute: five wrong passwords
  # spread over the nodes, then the right one on each node, then another
  # account's (not limited: the nodes answer, and not 429).
  run docker_ exec "$(container web1)" sh -c '
    login() { curl -s -o /dev/null -w "%{http_code} " --max-time 20 -H "Content-Type: application/json" \
      --data-binary "{\"username\":\"$2\",\"password\":\"$3\"}" "http://$1:8080/api/login"; }
    for n in web1 web2 web3 web1 web2; do login "$n" "$0" "wrong horse battery"; done; echo
    for n in web3 web1 web2; do login "$n" "$0" "correct horse battery"; done; echo
    login web3 "$1" "correct horse battery"' "$name" "$other"
  echo "$output"
  wrong=${lines[0]} after=${lines[1]} control=${lines[2]}
  [ "$wrong" = "401 401 401 401 401 " ]
  echo "# cluster: a login limit of 5/minute reached through web1, web2, web3: then $after(another account: $control)" >&3
  [ "$after" = "429 429 429 " ]
  [ "$control" = "200 " ]
}

@test "the primary killed and the standby promoted: 503 for a few seconds, then writes again, no answered prompt lost" {
  [ "$(primary)" = pg1 ]
  # Synchronous replication: the primary's commits wait for pg2.
  run pgsql pg1 "SELECT application_name, state, sync_state FROM pg_stat_replication"
  assert_output "pg2|streaming|sync"
  tag=f$RANDOM
  load_start "$tag" "$LOAD_USERS"
  wait_answered 15 0 60
  watch_processes 45 3>&- &
  watch_pid=$!
  t_fail=$(now)
  # The primary dies at once (no shutdown); the operator's failover
  # (README): the standby is promoted and both PgBouncers serve it.
  docker_ kill "$(container pg1)" >/dev/null
  docker_ exec "$(container pg2)" pg_ctl promote -D "$PGDATA_DIR" -w -t 30
  docker_ exec "$(container bouncer1)" bouncer-target.sh pg2 &
  docker_ exec "$(container bouncer2)" bouncer-target.sh pg2
  wait $!
  t_promoted=$(now)
  echo pg2 >"$CLUSTER_DIR/primary"
  wait_answered 20 "$t_promoted" 60
  load_stop
  [ "$(pgsql pg2 'SELECT pg_is_in_recovery()')" = f ]
  counts "$tag" pg2 "$t_fail"
  jq -c 'select(.code < 200 or .code >= 300) | {kind, code, error_code, start, body}' "$out" | sort -u -t, -k2,3 | head -10
  # The 503 window: from the first failed request to the end of the last.
  window=$(awk -v a="$c_first_fail" -v b="$c_last_fail" 'BEGIN { printf "%.1f", (b > a ? b - a : 0) }')
  promote=$(awk -v a="$t_fail" -v b="$t_promoted" 'BEGIN { printf "%.1f", b - a }')
  echo "# cluster: the primary killed, pg2 promoted ${promote} s later: $c_requests requests ($c_prompts prompts," \
    "$c_reads history reads), $c_answered answered, $c_stored answers stored, lost: $c_lost, duplicated: $c_duplicated;" \
    "$c_failed failed ($c_failed_codes), 503 window: $window s" >&3
  [ "$c_lost" -eq 0 ]
  [ "$c_duplicated" -eq 0 ]
  [ "$c_answered_after" -ge 20 ]
  # The app says the database is unavailable (503), and not for long; a
  # turn in flight as the primary died may end 502 "not_saved" instead (its
  # prompt kept, the answer interrupted: README, "Answers in flight").
  # Nothing else fails.
  jq -e -s --argjson p "$t_promoted" '[.[] | select((.code < 200 or .code >= 300) and .code != 503 and
    (.code != 502 or .kind != "prompt" or .start > $p or .error_code != "not_saved"))] | length == 0' "$out" ||
    { stuck_processes; slow_requests; kill "$watch_pid" 2>/dev/null; sed 's/^/# watch: /' "$BATS_TEST_TMPDIR/watch"; false; }
  kill "$watch_pid" 2>/dev/null || true
  awk -v w="$window" 'BEGIN { exit !(w <= 20) }'
}

@test "the old primary refuses to start beside the promoted one, and rebuilt as its standby: streaming, then synchronous, and a prompt reaches it" {
  [ "$(primary)" = pg2 ] || skip "needs the failover of the test before"
  # Started again on its old data, the old primary refuses: pg2 is the
  # primary now, and two would split the writes (pg-node.sh).
  pg1=$(container pg1)
  docker_ start "$pg1" >/dev/null
  for _ in $(seq 60); do
    [ "$(docker_ inspect --format '{{.State.Running}}' "$pg1")" = false ] && break
    sleep 0.5
  done
  assert_equal "$(docker_ inspect --format '{{.State.Running}} {{.State.ExitCode}}' "$pg1")" "false 1"
  run docker_ logs --tail 5 "$pg1"
  assert_output --partial "pg2 is a primary (promoted while this node was down)"
  # README, "Several web nodes on PostgreSQL", after a failover: its old
  # data goes, and it starts again as a standby of pg2.
  vol=$(docker_ inspect --format '{{range .Mounts}}{{if eq .Destination "/var/lib/postgresql/data"}}{{.Name}}{{end}}{{end}}' "$(container pg1)")
  [ -n "$vol" ]
  dc rm -f -s pg1
  docker_ volume rm "$vol"
  PG1_FOLLOW=pg2 dc up -d --no-deps pg1
  rm -f "$CLUSTER_DIR/id.pg1"
  state=""
  for _ in $(seq 120); do
    state=$(pgsql pg2 "SELECT application_name || ' ' || state FROM pg_stat_replication" 2>/dev/null || true)
    [ "$state" = "pg1 streaming" ] && break
    sleep 0.5
  done
  assert_equal "$state" "pg1 streaming"
  pgsql pg2 "ALTER SYSTEM SET synchronous_standby_names = 'pg1'"
  pgsql pg2 "SELECT pg_reload_conf()"
  for _ in $(seq 20); do
    [ "$(pgsql pg2 "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'pg1'")" = sync ] && break
    sleep 0.25
  done
  run pgsql pg2 "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'pg1'"
  assert_output sync
  name=$(unique_name)
  register "$name"
  api POST /api/chat '{"prompt":"after the rebuild [[fake:chunks=2]]"}'
  assert_equal "$code" 200
  # Synchronous: the standby has the answer once the prompt is answered.
  run pgsql pg1 "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
    JOIN users u ON u.id = c.user_id WHERE u.username = '$name' AND m.status = 'ok'"
  assert_output 2
  run pgsql pg1 "SELECT pg_is_in_recovery()"
  assert_output t
  echo "# cluster: pg1 on its old data refused to start beside pg2; rebuilt as pg2's standby: streaming, synchronous, a prompt answered and on pg1" >&3
}
