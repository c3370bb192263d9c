#!/usr/bin/env bash
# soak.sh: `make soak`: proves that a long-lived persistent process stays
# clean (README, "Two ways to run the programs").
#   tests/hardening/soak.sh ASAN_BUILD BUILD
#
# 1. A stack in persistent mode built with ASan+LSan+UBSan, one process per
#    endpoint that is never replaced for age (AIFACADE_MAX_REQUESTS is
#    higher than the run), takes SOAK_N (10,000) mixed requests from
#    tests/hardening/soak.py: every route, every failure path it can cause
#    from outside, streams cut by the client; every answer checked. Then
#    the stack stops, each worker runs LeakSanitizer as it ends, and any
#    AddressSanitizer, LeakSanitizer or UBSan report fails the run. The
#    workers that served are listed, with how many were replaced (a request
#    that failed in a way that could leave state behind replaces its process;
#    the soak's requests should replace none).
# 2. The same with the normal build: each endpoint's process's RSS after
#    1,000 requests and after SOAK_LONG (100,000), which must be within
#    SOAK_RSS_SLACK_KIB (1024) of each other, by the same process.
#    SOAK_LONG=0 leaves this phase out.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 2
asan_build=${1:-build-asan}
build=${2:-build}
n=${SOAK_N:-10000}
long=${SOAK_LONG:-100000}
slack=${SOAK_RSS_SLACK_KIB:-1024}
rc=0
work=$(mktemp -d /tmp/aifacade-soak.XXXXXX)
stack=""
# shellcheck disable=SC2317  # called from the trap
cleanup() { [ -z "$stack" ] || tests/stack.sh stop "$stack"; }
trap cleanup EXIT
log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# workers: "name pid rss_kib" of each endpoint's persistent worker
# (lighttpd's children are the supervisors; their one child is the worker).
workers() {
  local serve lighttpd sup w
  serve=$(cat "$stack/serve.pid" 2>/dev/null || true)
  lighttpd=$(pgrep -P "${SERVE_PID:-$serve}" -x lighttpd | head -1 || true)
  [ -n "$lighttpd" ] || return 0
  for sup in $(pgrep -P "$lighttpd"); do
    for w in $(pgrep -P "$sup"); do
      [ -r "/proc/$w/status" ] || continue
      echo "$(cat "/proc/$w/comm") $w $(awk '/^VmRSS:/ {print $2}' "/proc/$w/status")"
    done
  done | sort
}

start_stack() { # build dir extra settings...
  local b=$1 dir=$2; shift 2
  stack=$dir
  # Copies: a rebuild meanwhile would replace the workers (a new binary).
  mkdir -p "$dir/cgi-bin"
  cp -p "$b"/cgi-bin/* "$dir/cgi-bin/"
  AIFACADE_BUILD=$b AIFACADE_MODE=persistent AIFACADE_PROCS=1 AIFACADE_MAX_REQUESTS=100000000 \
    tests/stack.sh start "$dir" RATE_LIMIT_LOGIN=1000000/minute AIFACADE_CGI_DIR="$dir/cgi-bin" "$@" || return 1
  # shellcheck source=/dev/null
  . "$dir/stack.env"
}

stop_stack() {
  tests/stack.sh stop "$stack"
  stack=""
}

# ---- 1. sanitizers ---------------------------------------------------------
[ -x "$asan_build/cgi-bin/me" ] || { echo "soak: no $asan_build; run 'make asan-build'" >&2; exit 2; }
logs=$work/asan
mkdir -p "$logs"
log "phase 1: $n mixed requests to persistent servers built with ASan+LSan+UBSan ($asan_build)"
# A worker opens its report file inside its sandbox, where $logs is not
# writable: the sanitized run leaves the sandbox out, as make test-asan does.
if ! ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:log_path=$logs/asan:verbosity=1:detect_stack_use_after_return=1" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan" AIFACADE_SANDBOX=off \
  start_stack "$asan_build" "$work/asan-stack"; then
  echo "soak: the sanitized stack did not start" >&2
  exit 1
fi
workers >"$work/workers.before"
python3 tests/hardening/soak.py --url "$LIGHTTPD_URL" --state "$work/users.json" --n "$n" --setup || rc=1
workers >"$work/workers.after"
log "workers after: $(awk '{print $1 "=" $2}' "$work/workers.after" | tr '\n' ' ')"
replaced=$(join -j1 <(awk '{print $1, $2}' "$work/workers.before") <(awk '{print $1, $2}' "$work/workers.after") |
  awk '$2 != $3' | wc -l)
log "workers replaced during the run: $replaced of $(wc -l <"$work/workers.after")"
cp "$stack/serve.log" "$work/asan-serve.log"
stop_stack
# Each worker runs LeakSanitizer as it ends, after its supervisor told it to.
for _ in $(seq 100); do
  alive=0
  while read -r _ p _; do kill -0 "$p" 2>/dev/null && alive=1; done <"$work/workers.after"
  [ "$alive" = 1 ] || break
  sleep 0.1
done
processes=$(find "$logs" -name 'asan.*' | wc -l)
reports=$(grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$logs"/asan.* "$logs"/ubsan.* 2>/dev/null)
if [ -n "$reports" ]; then
  echo "soak: sanitizer reports in $(wc -l <<<"$reports") of $processes processes:"
  for f in $reports; do
    echo "--- $f"
    grep -E -A30 'ERROR: |runtime error:' "$f" | head -60
  done
  rc=1
else
  log "phase 1: $processes sanitized processes, no AddressSanitizer, LeakSanitizer or UBSan report"
fi

# ---- 2. memory ---------------------------------------------------------------
if [ "$long" -eq 0 ]; then
  [ "$rc" -ne 0 ] || rm -rf "$work"
  exit "$rc"
fi
log "phase 2: RSS of each endpoint's process after 1,000 and after $long requests ($build)"
if ! start_stack "$build" "$work/rss-stack"; then
  echo "soak: the stack did not start" >&2
  exit 1
fi
python3 tests/hardening/soak.py --url "$LIGHTTPD_URL" --state "$work/users2.json" --n 1000 --setup || rc=1
workers >"$work/rss.1000"
python3 tests/hardening/soak.py --url "$LIGHTTPD_URL" --state "$work/users2.json" --n $((long - 1000)) \
  --heavy-every 10 --rare-every 40 || rc=1
workers >"$work/rss.long"
stop_stack
printf '%-14s %8s %12s %12s %8s\n' endpoint pid "rss@1000" "rss@$long" growth
while read -r name pid rss; do
  read -r _ pid2 rss2 < <(grep "^$name " "$work/rss.long" || echo "$name - 0")
  growth=$((rss2 - rss))
  verdict=ok
  if [ "$pid2" != "$pid" ]; then
    verdict="replaced (pid $pid2): not comparable"
    rc=1
  elif [ "$growth" -gt "$slack" ]; then
    verdict="grew more than $slack KiB"
    rc=1
  fi
  printf '%-14s %8s %10s K %10s K %6s K  %s\n' "$name" "$pid" "$rss" "$rss2" "$growth" "$verdict"
done <"$work/rss.1000"
[ "$rc" -ne 0 ] || rm -rf "$work"
if [ "$rc" -eq 0 ]; then log "soak passed"; else log "soak FAILED (kept $work)"; fi
exit "$rc"
