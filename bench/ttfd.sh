#!/usr/bin/env bash
# ttfd.sh: time to the first delta of a process's second prompt against a
# provider that speaks TLS, with and without the connections kept between
# prompts (persistent mode keeps them; bench/README.md).
#   bench/ttfd.sh BUILD_DIR [RUNS]     (make bench runs it; RUNS 30)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${1:-build}
runs=${2:-30}
dir=$(mktemp -d /tmp/aifacade-ttfd.XXXXXX)
pid=""
# shellcheck disable=SC2317  # called from the trap
cleanup() { [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
python3 tests/fake_provider.py --port 0 --port-file "$dir/port" --pid-file "$dir/pid" \
  --tls "$dir/cert.pem" "$dir/key.pem" >"$dir/log" 2>&1 &
for _ in $(seq 100); do [ -s "$dir/port" ] && [ -s "$dir/pid" ] && break; sleep 0.05; done
pid=$(cat "$dir/pid")
"$build/bench/ttfd" "https://127.0.0.1:$(cat "$dir/port")/v1/chat/completions" "$dir/cert.pem" "$runs"
