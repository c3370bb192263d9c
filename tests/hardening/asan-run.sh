#!/usr/bin/env bash
# asan-run.sh: runs the bats suites (and the unit tests) against programs
# built with AddressSanitizer and UndefinedBehaviorSanitizer, then fails on
# any sanitizer report.
#   tests/hardening/asan-run.sh BUILD_DIR [bats files...]
# Every sanitized process (CGI programs under lighttpd, aifacadectl, unit
# tests) writes its reports to $ASAN_LOGS/asan.<pid> and ubsan.<pid>
# (log_path): the stacks' own serve.log files live in temporary directories
# that tests/run.sh removes, so the reports are kept apart where they
# survive. verbosity=1 makes each process leave a file, which counts them.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 2
build=${1:-build-asan}
shift || true
logs=${ASAN_LOGS:-$(mktemp -d /tmp/aifacade-asan.XXXXXX)}
mkdir -p "$logs"
export AIFACADE_BUILD=$build
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:log_path=$logs/asan:verbosity=1:check_initialization_order=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
# A forked SCGI child opens its report file (asan.<pid>) only when it has
# something to report, by then inside its sandbox, where $logs is not
# writable: the sanitized runs leave the sandbox out (README,
# AIFACADE_SANDBOX), and tests/unit/test_sandbox.c checks the sandbox itself.
export AIFACADE_SANDBOX=off

rc=0
if [ $# -eq 0 ]; then
  tests/run.sh unit || rc=1
  # docker.bats and deploy.bats check how release trees are linked and
  # packaged, which a sanitizer build changes on purpose.
  for f in tests/*.bats; do
    case $f in tests/docker.bats | tests/deploy.bats) ;; *) set -- "$@" "$f" ;; esac
  done
fi
# Counted from this run's own output: tests/run.sh reads its verdict from
# tests/artifacts/bats.tap, which any concurrent run overwrites.
tests/run.sh bats "$@" | tee "$logs/bats.out"
not_ok=$(grep -c '^not ok' "$logs/bats.out")
ok=$(grep -c '^ok' "$logs/bats.out")
echo "asan: bats $ok ok, $not_ok not ok"
[ "$not_ok" -eq 0 ] || rc=1

processes=$(find "$logs" -name 'asan.*' | wc -l)
reports=$(grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$logs"/asan.* "$logs"/ubsan.* 2>/dev/null)
echo
if [ -n "$reports" ]; then
  echo "asan: sanitizer reports in $(wc -l <<<"$reports") of $processes processes:"
  for f in $reports; do
    echo "--- $f"
    grep -E -A30 'ERROR: |runtime error:' "$f" | head -60
  done
  rc=1
else
  echo "asan: $processes sanitized processes (CGI requests, aifacadectl, unit tests), no AddressSanitizer, LeakSanitizer or UBSan report"
  [ -n "${ASAN_LOGS:-}" ] || [ "$rc" -ne 0 ] || rm -rf "$logs"
fi
exit "$rc"
