#!/usr/bin/env bash
# both.sh: `make bench`: bench/run.sh once per mode (README, "Two ways to run
# the programs") and database, then the tables side by side with the
# targets of bench/README.md (bench/compare.py), and the time to the first
# delta of a second prompt over TLS with and without kept connections
# (bench/ttfd.sh).
#   bench/both.sh [BUILD_DIR]     BENCH_MODES="process persistent" (the default)
#                                 BENCH_DBS="sqlite pg pg-direct" (the default)
# sqlite runs every row; pg (PostgreSQL through PgBouncer) the database rows
# BENCH_PG_ONLY ("me conv50 chat") in every mode; pg-direct (PostgreSQL
# without PgBouncer) the same rows in the modes of BENCH_DIRECT_MODES
# ("process": where each request opens its own connection).
# Writes bench/results/<time>/{process,persistent}/ (SQLite),
# {process,persistent}-pg/, process-pg-direct/ and compare.txt there
# (bench/results/latest points at it). BENCH_QUICK=1 (bench/run.sh): a
# look in a few minutes, and 5 TLS first-delta runs instead of 30.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${1:-${AIFACADE_BUILD:-build}}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$root/bench/results/$stamp
mkdir -p "$out"
dbs=${BENCH_DBS:-sqlite pg pg-direct}
for db in $dbs; do
  case "$db" in
    sqlite | pg | pg-direct) ;;
    *) echo "bench: BENCH_DBS may name sqlite, pg and pg-direct (got '$db')" >&2; exit 1 ;;
  esac
done
has() { [[ " $dbs " == *" $1 "* ]]; }

run_one() { # mode db dir [BENCH_ONLY]
  local mode=$1 db=$2 dir=$3
  echo "[bench] mode $mode, database $db" >&2
  if [ $# -gt 3 ]; then
    BENCH_ONLY=$4 BENCH_DB=$db BENCH_MODE=$mode BENCH_OUT=$out/$dir bench/run.sh "$build" >"$out/$dir.log" 2>&1
  else
    BENCH_DB=$db BENCH_MODE=$mode BENCH_OUT=$out/$dir bench/run.sh "$build" >"$out/$dir.log" 2>&1
  fi || { echo "bench: the $dir run failed; its log: $out/$dir.log" >&2; tail -20 "$out/$dir.log" >&2; exit 1; }
  cat "$out/$dir/table.txt"
  echo
}

pg_only=${BENCH_PG_ONLY:-me conv50 chat}
for mode in ${BENCH_MODES:-process persistent}; do
  if has sqlite; then run_one "$mode" sqlite "$mode"; fi
done
for mode in ${BENCH_MODES:-process persistent}; do
  if has pg; then run_one "$mode" pg "$mode-pg" "$pg_only"; fi
done
for mode in ${BENCH_DIRECT_MODES:-process}; do
  if has pg-direct; then run_one "$mode" pg-direct "$mode-pg-direct" "$pg_only"; fi
done
ttfd_runs=${BENCH_TTFD_RUNS:-30}
[ "${BENCH_QUICK:-0}" != 1 ] || ttfd_runs=${BENCH_TTFD_RUNS:-5}
if has sqlite; then
  bench/ttfd.sh "$build" "$ttfd_runs" >"$out/ttfd" || echo "bench: the TLS first-delta run failed" >&2
fi
python3 bench/compare.py "$out" | tee "$out/compare.txt"
ln -sfn "$out" "$root/bench/results/latest" 2>/dev/null || true
echo "[bench] results in $out" >&2
