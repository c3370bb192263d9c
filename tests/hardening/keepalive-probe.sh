#!/usr/bin/env bash
# keepalive-probe.sh: looks for 502s caused by the proxy reusing an upstream
# keep-alive connection just as lighttpd closes it for idleness
# (server.max-keep-alive-idle = 5 s). Opens ROUNDS x 20 upstream
# connections at once, lets them idle, then sends overlapping POSTs every
# 10 ms across the 5-second mark. Prints "requests 502s" and exits 1 on any 502.
#   tests/hardening/keepalive-probe.sh BASE_URL [ROUNDS]
set -uo pipefail
base=$1 rounds=${2:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
post() { # tag
  curl -sk -o /dev/null -w '%{http_code}\n' --max-time 20 -H 'Content-Type: application/json' \
    --data-binary "{\"username\":\"probe$RANDOM$1\",\"password\":\"not the password\"}" "$base/api/login" >>"$tmp/codes"
}
for r in $(seq "$rounds"); do
  for i in $(seq 20); do post "p$r$i" & done
  wait
  sleep 4.7
  for i in $(seq 40); do post "q$r$i" & sleep 0.01; done
  wait
done
total=$(wc -l <"$tmp/codes")
bad=$(grep -c '^502$' "$tmp/codes")
echo "$total $bad"
[ "$bad" -eq 0 ]
