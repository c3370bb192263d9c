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
# The later phases do not use the cluster: stop it when the unit tests end
# (make test-pg starts one of its own).
stop_pg() {
  [ -n "$pg_dir" ] || return 0
  tests/pg.sh stop "$pg_dir"
  rm -rf "$pg_dir"
  pg_dir=""
  unset AIFACADE_TEST_PG
}

run_unit() {
  local t out
  start_pg || true
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
  stop_pg
}

stack_dir=""
cleanup() {
  [ -z "$stack_dir" ] || { tests/stack.sh stop "$stack_dir"; rm -rf "$stack_dir"; }
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

# Seconds each suite took on a quiet 2-core machine: the two lanes below
# are filled greedily, heaviest first; a suite not listed counts 10.
suite_cost() {
  case "$1" in
    tests/faults.bats) echo 86 ;; tests/chat.bats) echo 69 ;; tests/controls.bats) echo 37 ;;
    tests/admin.bats) echo 33 ;; tests/search.bats) echo 24 ;; tests/accounts.bats) echo 23 ;;
    tests/import.bats) echo 22 ;; tests/turns.bats | tests/conversations.bats) echo 21 ;;
    tests/streams.bats | tests/persistent.bats | tests/edge.bats) echo 17 ;;
    tests/sessions.bats) echo 16 ;; tests/deploy.bats) echo 15 ;; tests/security.bats) echo 14 ;;
    tests/copy_db.bats) echo 19 ;; tests/registration.bats) echo 13 ;; *) echo 10 ;;
  esac
}

# run_lane NAME FILE...: the files one at a time against the stack in the
# environment, TAP to $lane_dir/NAME.tap, each file's time to NAME.times.
run_lane() {
  local name=$1 f t0
  shift
  : >"$lane_dir/$name.tap"
  for f in "$@"; do
    t0=$SECONDS
    bats --tap --timing "$f" >>"$lane_dir/$name.tap" 2>&1
    echo "$((SECONDS - t0)) s  $f" >>"$lane_dir/$name.times"
  done
}

run_bats() {
  ensure_stack || return
  local files=("$@")
  if [ ${#files[@]} -eq 0 ]; then
    # cd.bats deploys over SSH to an sshd of its own, release after release,
    # and load.bats floods the machine with prompts: each has its own target
    # (make test-cd, make test-load), which .ci/run runs after make test;
    # cluster.bats needs the cluster of make test-docker (make test-cluster).
    local f
    for f in tests/*.bats; do
      case "$f" in tests/cd.bats | tests/load.bats | tests/cluster.bats) ;; *) files+=("$f") ;; esac
    done
  fi
  lane_dir=$(mktemp -d /tmp/aifacade-lanes.XXXXXX)
  # Most of a suite's time is waiting (on answers, timeouts, other
  # processes), so two lanes, each with a stack of its own, fit `make
  # test` in its twelve minutes (README, "Tests"). A deployed stack
  # (BASE_URL) or a few files given by name run in one lane.
  local one=() two=() w1=0 w2=0 c
  if [ -n "$stack_dir" ] && [ ${#files[@]} -gt 3 ] && [ "${TEST_LANES:-2}" = 2 ]; then
    while read -r c f; do
      if [ "$w1" -le "$w2" ]; then one+=("$f"); w1=$((w1 + c)); else two+=("$f"); w2=$((w2 + c)); fi
    done < <(for f in "${files[@]}"; do echo "$(suite_cost "$f") $f"; done | sort -rn)
  else
    one=("${files[@]}")
  fi
  local lane2_dir="" lane2_pid=""
  if [ ${#two[@]} -gt 0 ]; then
    lane2_dir=$(mktemp -d /tmp/aifacade-test.XXXXXX)
    if tests/stack.sh start "$lane2_dir"; then
      (
        # shellcheck source=/dev/null
        . "$lane2_dir/stack.env"
        export BASE_URL FAKE_URL LIGHTTPD_URL STACK_DIR
        run_lane two "${two[@]}"
      ) &
      lane2_pid=$!
    else
      echo "could not start the second lane's stack; its suites run in the first"
      one+=("${two[@]}"); two=()
    fi
  fi
  run_lane one "${one[@]}"
  [ -z "$lane2_pid" ] || wait "$lane2_pid"
  local any_failed=0 lane
  for lane in one two; do
    [ -f "$lane_dir/$lane.tap" ] || continue
    run_tap bats cat "$lane_dir/$lane.tap"
    [ "$tap_failed" = 0 ] || any_failed=1
  done
  if [ ${#two[@]} -gt 0 ]; then
    echo "--- bats files by time (two lanes, estimated $w1 s and $w2 s) ---"
  else
    echo "--- bats files by time ---"
  fi
  cat "$lane_dir"/*.times | sort -rn
  if [ "$any_failed" = 1 ]; then
    echo "--- stack log (last 60 lines) ---"; tail -60 "$stack_dir/serve.log"
    [ -z "$lane2_dir" ] || { echo "--- second lane's stack log (last 60 lines) ---"; tail -60 "$lane2_dir/serve.log"; }
  fi
  if [ -n "$lane2_dir" ]; then tests/stack.sh stop "$lane2_dir"; rm -rf "$lane2_dir"; fi
  rm -rf "$lane_dir"
  tap_failed=$any_failed
}

# The suites that visit every endpoint, again against a stack in persistent
# mode (README, "Two ways to run the programs"), one process per endpoint so
# that one process answers every user's requests in turn. Lean on purpose:
# the full suites run once, against the default mode, above.
PERSISTENT_SUITES=(tests/persistent.bats tests/conversations.bats)
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
# (make test-pg; README, "Tests"): stacks in persistent mode (on PostgreSQL both modes
# are warm) whose programs each get a fresh database in tests/pg.sh's
# cluster, behind PgBouncer, in two lanes. Left out: faults (SQLite's
# files, locks and disk), edge, pages, deploy, check_output and flask (no
# store operation of their own), copy_db (both backends already).
PG_SUITES=(tests/accounts.bats tests/admin.bats tests/chat.bats tests/controls.bats tests/passwords.bats
  tests/conversations.bats tests/export.bats tests/gateway.bats tests/import.bats
  tests/import_limit.bats tests/limits.bats tests/persistent.bats tests/prompt_limit.bats
  tests/registration.bats tests/search.bats tests/security.bats tests/sessions.bats
  tests/streams.bats tests/titles.bats tests/turns.bats)
run_pg() {
  [ -z "${BASE_URL:-}" ] || [ -n "$stack_dir" ] || return 0  # a deployed stack has its own database
  if [ "${AIFACADE_TEST_PG:-}" = off ]; then
    echo "pg: AIFACADE_TEST_PG=off: the suites run on SQLite only"; return 0
  fi
  start_pg || return 1
  # A subshell of its own: its stacks, lanes and URLs are not the SQLite
  # phases' (which may run beside it, in `all`).
  (
    trap - EXIT
    unset BASE_URL FAKE_URL LIGHTTPD_URL STACK_DIR DEPLOYED
    stack_dir=""
    export AIFACADE_TEST_DATABASE=$AIFACADE_TEST_PG AIFACADE_MODE=persistent
    run_bats "${PG_SUITES[@]}"
    rc=$?
    [ -z "$stack_dir" ] || { tests/stack.sh stop "$stack_dir"; rm -rf "$stack_dir"; }
    echo "$passed $failed $skipped" >"$artifacts/pg.counts.$$"
    exit "$rc"
  )
  local rc=$?
  read -r passed failed skipped <"$artifacts/pg.counts.$$" || failed=$((failed + 1))
  rm -f "$artifacts/pg.counts.$$"
  stop_pg
  return "$rc"
}

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

case "$what" in
  unit) run_unit ;;
  bats) run_bats "$@" ;;
  e2e) run_e2e ;;
  valgrind) run_valgrind ;;
  persistent) run_persistent ;;
  pg) run_pg ;;
  all)
    phases=()
    for phase in unit bats persistent e2e valgrind; do
      t0=$SECONDS
      "run_$phase"
      phases+=("$phase $((SECONDS - t0)) s")
    done
    echo "--- phases: ${phases[*]} ---" ;;
  *) echo "usage: tests/run.sh [unit|bats|e2e|valgrind|persistent|pg|all] [files]" >&2; exit 2 ;;
esac

echo
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
