#!/usr/bin/env bash
# run.sh: runs the C unit tests and the bats suites and prints one closing
# line "N passed, N failed". With BASE_URL set, the bats suites run against
# that deployed stack; otherwise a throw-away stack is started and stopped.
#   tests/run.sh [unit|bats|e2e|valgrind|persistent|all] [bats files...]
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

run_unit() {
  local t out
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
}

stack_dir=""
cleanup() { [ -z "$stack_dir" ] || { tests/stack.sh stop "$stack_dir"; rm -rf "$stack_dir"; }; }
trap cleanup EXIT

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

run_bats() {
  ensure_stack || return
  local files=("$@")
  if [ ${#files[@]} -eq 0 ]; then
    # cd.bats deploys over SSH to an sshd of its own, release after release:
    # it has its own target (make test-cd), which .ci/run runs after make test.
    local f
    for f in tests/*.bats; do [ "$f" = tests/cd.bats ] || files+=("$f"); done
  fi
  # One file at a time, so the run ends with what each costs of the
  # twelve minutes `make test` may take (README, "Tests").
  local f t0 times=() any_failed=0
  for f in "${files[@]}"; do
    t0=$SECONDS
    run_tap bats bats --tap --timing "$f"
    [ "$tap_failed" = 0 ] || any_failed=1
    times+=("$((SECONDS - t0)) s  $f")
  done
  echo "--- bats files by time ---"
  printf '%s\n' "${times[@]}" | sort -rn
  if [ "$any_failed" = 1 ] && [ -n "$stack_dir" ]; then
    echo "--- stack log (last 60 lines) ---"; tail -60 "$stack_dir/serve.log"
  fi
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
  all)
    phases=()
    for phase in unit bats persistent e2e valgrind; do
      t0=$SECONDS
      "run_$phase"
      phases+=("$phase $((SECONDS - t0)) s")
    done
    echo "--- phases: ${phases[*]} ---" ;;
  *) echo "usage: tests/run.sh [unit|bats|e2e|valgrind|persistent|all] [files]" >&2; exit 2 ;;
esac

echo
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
