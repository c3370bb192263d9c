#!/usr/bin/env bash
# fuzz-run.sh: runs each libFuzzer target for a bounded time and prints one
# summary line per target (executions, corpus size, crashes).
#   tests/hardening/fuzz-run.sh BUILD_DIR SECONDS TARGET...
# The committed seeds (fuzz/corpus/<target>/) are read, never written: new
# inputs go to BUILD_DIR/corpus/<target>, crashes to BUILD_DIR/crashes/.
# Exits non-zero when any target crashed or broke a property.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$1 seconds=$2
shift 2
failed=0 total_execs=0
summary=()
mkdir -p "$build/crashes" "$build/logs"
for t in "$@"; do
  work=$build/corpus/$t
  seeds=$root/fuzz/corpus/$t
  mkdir -p "$work"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192
    -print_final_stats=1 -artifact_prefix="$build/crashes/$t-")
  [ -f "$root/fuzz/$t.dict" ] && args+=(-dict="$root/fuzz/$t.dict")
  dirs=("$work")
  [ -d "$seeds" ] && dirs+=("$seeds")
  log=$build/logs/$t.log
  echo "fuzz: $t for ${seconds}s"
  if "$build/$t" "${args[@]}" "${dirs[@]}" >"$log" 2>&1; then
    result=ok
  else
    result=CRASH
    failed=$((failed + 1))
    grep -E 'ERROR: |fuzz property broken|runtime error|Test unit written' "$log" | head -8
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(find "$work" -type f | wc -l)
  total_execs=$((total_execs + ${execs:-0}))
  summary+=("$(printf '%-22s %10s execs  %5s corpus  %s' "$t" "${execs:-?}" "$corpus" "$result")")
done
echo
printf '%s\n' "${summary[@]}"
echo "fuzz: $total_execs executions in all; $failed target(s) failed"
[ "$failed" -eq 0 ]
