#!/usr/bin/env bash
# run.sh: runs the C unit tests and the bats suites and prints one closing
# line "N passed, N failed". With BASE_URL set, the bats suites run against
# that deployed stack; otherwise a throw-away stack is started and stopped.
#   tests/run.sh [unit|bats|e2e|valgrind|all] [bats files...]
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

run_bats() {
  ensure_stack || return
  local files=("$@")
  [ ${#files[@]} -gt 0 ] || files=(tests/*.bats)
  # One TAP file per run: two runs side by side must not count each other.
  local tap
  tap=$(mktemp "$artifacts/bats.XXXXXX.tap")
  bats --tap "${files[@]}" | tee "$tap"
  count_tap "$tap"
  if grep -q '^not ok' "$tap" && [ -n "$stack_dir" ]; then
    echo "--- stack log (last 60 lines) ---"; tail -60 "$stack_dir/serve.log"
  fi
  rm -f "$tap"
}

run_e2e() {
  [ -f tests/e2e/run.sh ] || return 0
  ensure_stack || return
  local tap
  tap=$(mktemp "$artifacts/e2e.XXXXXX.tap")
  tests/e2e/run.sh | tee "$tap"
  count_tap "$tap"
  rm -f "$tap"
}

# Every program under valgrind for a dozen requests, and the three SCGI
# servers (chat, me, conversations) with their children (make
# test-valgrind runs the full set).
run_valgrind() {
  [ -z "${BASE_URL:-}" ] || [ -n "$stack_dir" ] || return 0  # a deployed stack has no programs here
  local tap rc
  tap=$(mktemp "$artifacts/valgrind.XXXXXX.tap")
  tests/hardening/valgrind-run.sh "$build" scgi | tee "$tap"
  rc=${PIPESTATUS[0]}
  count_tap "$tap"
  if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$tap"; then
    echo "valgrind: the run failed (status $rc) without a failed check"; failed=$((failed + 1))
  fi
  rm -f "$tap"
}

case "$what" in
  unit) run_unit ;;
  bats) run_bats "$@" ;;
  e2e) run_e2e ;;
  valgrind) run_valgrind ;;
  all) run_unit; run_bats; run_e2e; run_valgrind ;;
  *) echo "usage: tests/run.sh [unit|bats|e2e|valgrind|all] [files]" >&2; exit 2 ;;
esac

echo
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
