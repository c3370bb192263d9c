#!/usr/bin/env bash
# shellcheck disable=SC2030,SC2031  # phases in subshells on purpose (their counts return through files)
# run.sh: runs the C unit tests and the bats suites and prints one closing
# line "N passed, N failed". With BASE_URL set, the bats suites run against
# that deployed stack; otherwise a throw-away stack is started and stopped.
#   tests/run.sh [unit|bats|e2e|valgrind|persistent|pg|all] [bats files...]
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2
what=${1:-all}
[ $# -gt 0 ] && shift
build=${AIFACADE_BUILD:-build}
passed=0 failed=0 skipped=0
artifacts=$root/tests/artifacts
mkdir -p "$artifacts"

count_tap() { # file
  local p f s
  p=$(grep -cE '^ok ' "$1")
  s=$(grep -cE '^ok .* # skip' "$1")
  f=$(grep -cE '^not ok ' "$1")
  passed=$((passed + p - s)); failed=$((failed + f)); skipped=$((skipped + s))
}

# The store's contract test (test_store_contract) runs against PostgreSQL
# too: a throw-away cluster behind PgBouncer (tests/pg.sh), unless
# AIFACADE_TEST_PG already names a scratch database, or is "off".
pg_dir=""
start_pg() {
  [ -z "${AIFACADE_TEST_PG:-}" ] || return 0
  pg_dir=$(mktemp -d /tmp/aifacade-pg.XXXXXX)
  if ! tests/pg.sh start "$pg_dir"; then
    echo "unit: tests/pg.sh could not start PostgreSQL (above); AIFACADE_TEST_PG=off skips its tests"
    failed=$((failed + 1))
    return 1
  fi
  local DATABASE
  # shellcheck source=/dev/null
  DATABASE=$(. "$pg_dir/pg.env" && echo "$DATABASE")
  export AIFACADE_TEST_PG=$DATABASE
}
# Stops the cluster start_pg started, if any (at the end of the run, or of
# the unit tests when they run alone).
stop_pg() {
  [ -n "$pg_dir" ] || return 0
  tests/pg.sh stop "$pg_dir"
  rm -rf "$pg_dir"
  pg_dir=""
  unset AIFACADE_TEST_PG
}

run_unit() {
  local t out own=""
  # In `all` the cluster is the run's (its PostgreSQL suites use it too).
  if [ -z "${AIFACADE_TEST_PG:-}" ]; then start_pg && own=1; fi
  if [ "${AIFACADE_TEST_PG:-}" = off ]; then
    echo "unit: AIFACADE_TEST_PG=off: the store's contract runs on SQLite only"
    unset AIFACADE_TEST_PG
  fi
  for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    out=$(mktemp)
    if ! timeout 120 "$t" >"$out" 2>&1; then
      echo "FAILED: $t"; cat "$out"
    fi
    grep -E '^not ok' "$out" || true
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
    if [ -z "$line" ]; then
      echo "$t printed no summary line"; failed=$((failed + 1))
    else
      passed=$((passed + $(cut -d' ' -f1 <<<"$line")))
      failed=$((failed + $(cut -d' ' -f3 <<<"$line")))
      echo "unit: $(basename "$t"): $line"
    fi
    rm -f "$out"
  done
  [ -z "$own" ] || stop_pg
}

stack_dir=""
cleanup() {
  [ -z "$stack_dir" ] || { tests/stack.sh stop "$stack_dir"; rm -rf "$stack_dir"; }
  # The lanes' stacks, when the run was cut short (a lane stops its own).
  if [ -n "${queue_dir:-}" ] && [ -f "$queue_dir/stacks" ]; then
    local d
    while read -r d; do
      [ ! -f "$d/stack.env" ] || tests/stack.sh stop "$d" >/dev/null 2>&1
      rm -rf "$d"
    done <"$queue_dir/stacks"
    rm -rf "$queue_dir"
  fi
  stop_pg
}
trap cleanup EXIT
# A CI timeout or Ctrl-C stops the stacks and the cluster too (EXIT runs).
trap "exit 130" INT TERM

ensure_stack() {
  if [ -n "${BASE_URL:-}" ] && [ -z "$stack_dir" ]; then
    export DEPLOYED=1
    return 0
  fi
  [ -n "$stack_dir" ] && return 0
  stack_dir=$(mktemp -d /tmp/aifacade-test.XXXXXX)
  if ! tests/stack.sh start "$stack_dir"; then
    failed=$((failed + 1)); return 1
  fi
  # shellcheck source=/dev/null
  . "$stack_dir/stack.env"
  export BASE_URL FAKE_URL LIGHTTPD_URL STACK_DIR
}

# run_tap NAME COMMAND...: runs COMMAND, shows its TAP and adds it to the
# counts, from a TAP file of this run's own (two runs side by side must not
# count each other). Returns COMMAND's status; sets tap_failed to 1 when a
# check failed.
run_tap() {
  local tap rc
  tap=$(mktemp "$artifacts/$1.XXXXXX.tap")
  shift
  "$@" | tee "$tap"
  rc=${PIPESTATUS[0]}
  count_tap "$tap"
  tap_failed=0
  if grep -q '^not ok' "$tap"; then tap_failed=1; fi
  rm -f "$tap"
  return "$rc"
}

# Seconds each job took on a quiet 2-core machine, alone: the lanes below
# take the heaviest first, so that none is left with a long one at the
# end; a job not listed counts 10.
job_cost() {
  case "$1" in
    tests/faults.bats) echo 110 ;; tests/chat.bats) echo 90 ;; e2e) echo 84 ;; valgrind) echo 75 ;;
    unit) echo 44 ;; tests/controls.bats) echo 45 ;; persistent) echo 20 ;;
    tests/admin.bats | tests/import.bats) echo 35 ;; tests/search.bats | tests/deploy.bats) echo 30 ;;
    tests/conversations.bats | tests/persistent.bats | tests/edge.bats) echo 28 ;;
    tests/turns.bats | tests/streams.bats | tests/gateway.bats) echo 25 ;;
    tests/security.bats | tests/copy_db.bats) echo 22 ;; tests/sessions.bats | tests/titles.bats) echo 20 ;;
    tests/accounts.bats | tests/registration.bats) echo 15 ;; *) echo 10 ;;
  esac
}

# The suite that visits every endpoint as two users interleaved, again
# against a SQLite stack in persistent mode (README, "Two ways to run the
# programs"), one process per endpoint so that one process answers every
# user's requests in turn, and a new binary is seen to take over. Lean on
# purpose: the PostgreSQL suites below run every other suite in persistent
# mode.
PERSISTENT_SUITES=(tests/persistent.bats)
run_persistent() {
  [ -z "${BASE_URL:-}" ] || [ -n "$stack_dir" ] || return 0  # a deployed stack runs in its own mode
  local dir rc=0
  dir=$(mktemp -d /tmp/aifacade-test-persistent.XXXXXX)
  if ! AIFACADE_MODE=persistent AIFACADE_PROCS=1 tests/stack.sh start "$dir"; then
    failed=$((failed + 1)); rm -rf "$dir"; return 1
  fi
  (
    # shellcheck source=/dev/null
    . "$dir/stack.env"
    export BASE_URL FAKE_URL LIGHTTPD_URL STACK_DIR
    export AIFACADE_MODE=persistent
    run_tap persistent bats --tap "${PERSISTENT_SUITES[@]}"
    echo "$passed $failed $skipped $tap_failed" >"$dir/counts"
  ) || rc=$?
  read -r passed failed skipped tap_failed <"$dir/counts" || failed=$((failed + 1))
  if [ "$tap_failed" = 1 ]; then
    echo "--- persistent stack log (last 60 lines) ---"; tail -60 "$dir/serve.log"
  fi
  tests/stack.sh stop "$dir"
  rm -rf "$dir"
  return "$rc"
}

# The suites that reach the store through HTTP, again against PostgreSQL
# (README, "Tests"): on stacks in persistent mode (on PostgreSQL both modes
# are warm) whose programs each get a fresh database in tests/pg.sh's
# cluster, behind PgBouncer. Left out: faults (SQLite's files, locks and
# disk), edge, pages, deploy, check_output and flask (no store operation of
# their own), copy_db (both backends already).
PG_SUITES=(tests/accounts.bats tests/admin.bats tests/chat.bats tests/controls.bats tests/passwords.bats
  tests/conversations.bats tests/export.bats tests/gateway.bats tests/import.bats
  tests/import_limit.bats tests/limits.bats tests/persistent.bats tests/prompt_limit.bats
  tests/registration.bats tests/search.bats tests/security.bats tests/sessions.bats
  tests/streams.bats tests/titles.bats tests/turns.bats)
run_e2e() {
  [ -f tests/e2e/run.sh ] || return 0
  ensure_stack || return
  run_tap e2e tests/e2e/run.sh
}

# Every program under valgrind for a dozen requests, and the three SCGI
# servers (chat, me, conversations) with their children (make
# test-valgrind runs the full set).
run_valgrind() {
  [ -z "${BASE_URL:-}" ] || [ -n "$stack_dir" ] || return 0  # a deployed stack has no programs here
  local rc=0
  run_tap valgrind tests/hardening/valgrind-run.sh "$build" scgi || rc=$?
  if [ "$rc" -ne 0 ] && [ "$tap_failed" = 0 ]; then
    echo "valgrind: the run failed (status $rc) without a failed check"; failed=$((failed + 1))
  fi
}


# The queue: every job of the run, one line each ("COST KIND ARG": KIND is
# sqlite or pg for a bats file against a stack on that backend, or
# unit, persistent, e2e, valgrind), taken by the lanes heaviest first.
# Most of a job's time is waiting (on answers, timeouts, other processes),
# so several lanes side by side fit both backends in `make test`'s twelve
# minutes (README, "Tests"). Each lane starts its stacks when its first job
# needs one (one on SQLite in the default mode, one on PostgreSQL) and runs
# its jobs one at a time; a job's output and counts go to files of its own,
# shown in the queue's order at the end.
queue_add() { # KIND ARG
  echo "$(job_cost "${2:-$1}") $1 ${2:-}" >>"$queue_dir/queue.unsorted"
}

queue_take() { # prints the next job, or nothing
  (
    flock 9
    head -1 "$queue_dir/queue"
    sed -i 1d "$queue_dir/queue"
  ) 9>"$queue_dir/queue.lock"
}

# lane_stack sqlite|pg: starts the lane's stack of that backend once
# (lane_sqlite, lane_pg name its directory).
lane_stack() {
  local var=lane_$1 dir
  [ -z "${!var:-}" ] || return 0
  dir=$(mktemp -d /tmp/aifacade-test.XXXXXX)
  echo "$dir" >>"$queue_dir/stacks"
  if [ "$1" = pg ]; then
    AIFACADE_TEST_DATABASE=$AIFACADE_TEST_PG AIFACADE_MODE=persistent tests/stack.sh start "$dir" || return 1
  else
    (unset AIFACADE_TEST_DATABASE; tests/stack.sh start "$dir") || return 1
  fi
  printf -v "$var" %s "$dir"
}

# run_job KIND ARG: one job, in a subshell of its own (its environment is
# its stack's), its counts to $out.counts.
run_job() {
  local kind=$1 arg=$2 out=$3 dir=""
  (
    passed=0 failed=0 skipped=0 tap_failed=0
    unset AIFACADE_TEST_DATABASE
    case "$kind" in
      sqlite | pg | e2e)
        local backend=$kind
        [ "$kind" = e2e ] && backend=sqlite
        if [ -n "${DEPLOYED:-}" ]; then
          :
        elif lane_stack "$backend"; then
          dir=lane_$backend
          dir=${!dir}
          # shellcheck source=/dev/null
          . "$dir/stack.env"
          export BASE_URL FAKE_URL LIGHTTPD_URL STACK_DIR
          stack_dir=$dir
          if [ "$backend" = pg ]; then
            export AIFACADE_TEST_DATABASE=$AIFACADE_TEST_PG AIFACADE_MODE=persistent
          fi
        else
          echo "not ok - $arg: the lane's $backend stack did not start (above)"
          failed=1
        fi ;;
    esac
    if [ "$failed" = 0 ]; then
      case "$kind" in
        sqlite | pg) run_tap bats bats --tap --timing "$arg" ;;
        *) "run_$kind" ;;
      esac
    fi
    if [ "$tap_failed" = 1 ] && [ -n "$dir" ]; then
      echo "--- $kind stack log (last 60 lines) ---"; tail -60 "$dir/serve.log"
    fi
    echo "$passed $failed $skipped" >"$out.counts"
    # The stacks outlive the job: hand their directories back to the lane.
    printf '%s\n%s\n' "${lane_sqlite:-}" "${lane_pg:-}" >"$out.stacks"
  ) >"$out.log" 2>&1
  { read -r lane_sqlite; read -r lane_pg; } <"$out.stacks" || true
}

run_lane() { # NAME
  local name=$1 line cost kind arg t0 out dir
  lane_sqlite="" lane_pg=""
  while line=$(queue_take) && [ -n "$line" ]; do
    read -r cost kind arg <<<"$line"
    out=$queue_dir/job.$(echo "$kind ${arg:-}" | tr -c 'A-Za-z0-9_\n' _)
    t0=$SECONDS
    run_job "$kind" "${arg:-}" "$out"
    echo "$((SECONDS - t0)) s  $kind ${arg:-}  (lane $name, estimated $cost s)" >>"$queue_dir/times"
  done
  for dir in ${lane_sqlite:-} ${lane_pg:-}; do
    tests/stack.sh stop "$dir" >/dev/null 2>&1
    rm -rf "$dir"
  done
}

# run_queue: runs the queued jobs in TEST_LANES lanes (3; 1 against a
# deployed BASE_URL), then shows each job's output and adds up the counts.
run_queue() {
  local lanes=${TEST_LANES:-3} i pids=() line kind arg out p f s any_failed=0
  [ -z "${DEPLOYED:-}" ] || lanes=1
  sort -rn -k1,1 "$queue_dir/queue.unsorted" >"$queue_dir/queue"
  cp "$queue_dir/queue" "$queue_dir/order"
  for i in $(seq "$lanes"); do
    run_lane "$i" &
    pids+=($!)
  done
  wait "${pids[@]}"
  while read -r _ kind arg; do
    out=$queue_dir/job.$(echo "$kind ${arg:-}" | tr -c 'A-Za-z0-9_\n' _)
    echo "# --- $kind ${arg:-} ---"
    cat "$out.log" 2>/dev/null
    if read -r p f s <"$out.counts" 2>/dev/null; then
      passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
      [ "$f" = 0 ] || any_failed=1
    else
      echo "not ok - $kind ${arg:-} ended without counts (killed?)"; failed=$((failed + 1)); any_failed=1
    fi
  done <"$queue_dir/order"
  echo "--- jobs by time ($lanes lanes) ---"
  sort -rn "$queue_dir/times"
  tap_failed=$any_failed
}

# The bats files of a plain run: cd.bats deploys over SSH to an sshd of
# its own, release after release, and load.bats floods the machine with
# prompts: each has its own target (make test-cd, make test-load), which
# .ci/run runs after make test; cluster.bats needs the cluster of make
# test-docker (make test-cluster).
default_suites() {
  local f
  for f in tests/*.bats; do
    case "$f" in tests/cd.bats | tests/load.bats | tests/cluster.bats) ;; *) echo "$f" ;; esac
  done
}

new_queue() {
  queue_dir=$(mktemp -d /tmp/aifacade-queue.XXXXXX)
  : >"$queue_dir/queue.unsorted"
  : >"$queue_dir/times"
}

pg_wanted() {
  [ -z "${BASE_URL:-}" ] || return 1  # a deployed stack has its own database
  if [ "${AIFACADE_TEST_PG:-}" = off ]; then
    echo "pg: AIFACADE_TEST_PG=off: the suites run on SQLite only"; return 1
  fi
}

if [ -n "${BASE_URL:-}" ]; then export DEPLOYED=1; fi
case "$what" in
  unit) run_unit ;;
  e2e) run_e2e ;;
  valgrind) run_valgrind ;;
  persistent) run_persistent ;;
  bats | pg | all)
    new_queue
    t0=$SECONDS
    if [ "$what" = bats ]; then
      if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(default_suites); fi
      for f in "${files[@]}"; do queue_add sqlite "$f"; done
    fi
    if [ "$what" != bats ] && pg_wanted && start_pg; then
      for f in "${PG_SUITES[@]}"; do queue_add pg "$f"; done
    fi
    if [ "$what" = all ]; then
      queue_add unit
      while read -r f; do queue_add sqlite "$f"; done < <(default_suites)
      for job in persistent e2e valgrind; do queue_add "$job"; done
    fi
    run_queue
    rm -rf "$queue_dir"
    queue_dir=""
    stop_pg
    echo "--- $what: $((SECONDS - t0)) s ---" ;;
  *) echo "usage: tests/run.sh [unit|bats|e2e|valgrind|persistent|pg|all] [files]" >&2; exit 2 ;;
esac

echo
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
