#!/usr/bin/env bash
# ab.sh: compares two builds of one CGI program run directly, interleaved
# (A, B, A, B, ...) so that other load on the machine hits both alike.
#
#   bench/ab.sh [-k ROUNDS] [-n RUNS] ENVFILE BODYFILE PROGRAM_A PROGRAM_B
#
# ENVFILE and BODYFILE as for bench/cgirun (BENCH_HOLD=1 bench/run.sh writes
# them into bench/results/<time>/direct/). Prints, for each program, the
# median over rounds of the run's median wall time, its minimum and its
# median CPU time, in microseconds.
set -euo pipefail
rounds=10 runs=100
while getopts k:n: o; do
  case $o in k) rounds=$OPTARG ;; n) runs=$OPTARG ;; *) exit 2 ;; esac
done
shift $((OPTIND - 1))
[ $# -eq 4 ] || { echo "usage: bench/ab.sh [-k ROUNDS] [-n RUNS] ENVFILE BODYFILE PROGRAM_A PROGRAM_B" >&2; exit 2; }
env_file=$1 body=$2 a=$3 b=$4
cgirun=${CGIRUN:-$(dirname "$0")/../${AIFACADE_BUILD:-build}/bench/cgirun}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for _ in $(seq "$rounds"); do
  "$cgirun" -n "$runs" -e "$env_file" -i "$body" "$a" >>"$tmp/a"
  "$cgirun" -n "$runs" -e "$env_file" -i "$body" "$b" >>"$tmp/b"
done
summary() {
  python3 -c '
import statistics, sys
rows = [dict(kv.split("=", 1) for kv in line.split()) for line in open(sys.argv[1]) if line.strip()]
med = lambda k: int(statistics.median(float(r[k]) for r in rows))
print(" ".join("%s=%d" % (k, med(k)) for k in ("p50_us", "min_us", "cpu_p50_us", "max_rss_kib")))' "$1"
}
echo "A $(summary "$tmp/a")  $a"
echo "B $(summary "$tmp/b")  $b"
