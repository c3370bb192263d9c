#!/usr/bin/env bash
# both.sh: `make bench`: bench/run.sh once per mode (README, "Two ways to run
# the programs"), then both tables side by side with the targets of
# bench/README.md (bench/compare.py), and the time to the first delta of a
# second prompt over TLS with and without kept connections (bench/ttfd.sh).
#   bench/both.sh [BUILD_DIR]     BENCH_MODES="process persistent" (the default)
# Writes bench/results/<time>/{process,persistent}/ and compare.txt there
# (bench/results/latest points at it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${1:-${AIFACADE_BUILD:-build}}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$root/bench/results/$stamp
mkdir -p "$out"
for mode in ${BENCH_MODES:-process persistent}; do
  echo "[bench] mode $mode" >&2
  BENCH_MODE=$mode BENCH_OUT=$out/$mode bench/run.sh "$build" >"$out/$mode.log" 2>&1 ||
    { echo "bench: the $mode run failed; its log: $out/$mode.log" >&2; tail -20 "$out/$mode.log" >&2; exit 1; }
  cat "$out/$mode/table.txt"
  echo
done
bench/ttfd.sh "$build" "${BENCH_TTFD_RUNS:-30}" >"$out/ttfd" || echo "bench: the TLS first-delta run failed" >&2
python3 bench/compare.py "$out" | tee "$out/compare.txt"
ln -sfn "$out" "$root/bench/results/latest" 2>/dev/null || true
echo "[bench] results in $out" >&2
