#!/usr/bin/env bats
# edge.bats: what the edge (Caddy and lighttpd) lets a client do: name
# another address, send a header twice, hold connections with slow bodies.
# A private stack with a small per-address limit (SECURITY.md, issue 11).

load helpers

setup_file() {
  # 16 connections: the slow-body test needs only a few to fill them.
  private_stack_start RATE_LIMIT_AUTH_IP=5/minute AIFACADE_MAX_CONNS=16
}

teardown_file() {
  private_stack_stop
}

setup() {
  needs_private_stack
}

# attempt URL [curl args...]: one failed login, each for another username
# (so that only the per-address limit can answer 429); prints the status.
attempt() {
  local url=$1; shift
  curl -sk -o /dev/null -w '%{http_code}' -A "$UA" -H 'Content-Type: application/json' --max-time 20 \
    --data-binary "{\"username\":\"$(unique_name)\",\"password\":\"wrong password\"}" "$@" "$url/api/login"
}

@test "an X-Forwarded-For spelled another way is refused and cannot dodge the per-address limit" {
  # lighttpd makes every one of these HTTP_X_FORWARDED_FOR beside Caddy's own.
  local variants=('X_Forwarded_For' 'X!Forwarded!For' 'x-forwarded_for' 'X.Forwarded.For' 'X~Forwarded~For')
  local counted=0
  for i in $(seq 10); do
    v=${variants[$((i % ${#variants[@]}))]}
    code=$(attempt "$BASE_URL" -H "$v: 198.51.100.$i")
    echo "$v: 198.51.100.$i -> $code"
    [ "$code" != 401 ] || counted=$((counted + 1))
    assert_equal "$code" 400
  done
  [ "$counted" -eq 0 ]
  # The error says what to do.
  api POST /api/login '{"username":"x","password":"y"}' -H 'X_Forwarded_For: 10.0.0.1'
  assert_equal "$code" 400
  assert_regex "$(json .error)" 'twice.*send each header once'
}

@test "a header twice under two spellings is refused by an SCGI program and a CGI program" {
  # /api/me runs in the SCGI server (the last copy used to win), /api/health
  # as a CGI program (the first copy used to win).
  for path in /api/me /api/health /api/conversations; do
    api GET "$path" '' -H 'X_Csrf_Token: forged' -H 'X-CSRF-Token: other'
    echo "$path: $code $body"
    assert_equal "$code" 400
  done
  api GET /api/health
  assert_equal "$code" 200
}

# scgi_me DUPLICATE: one GET /api/me straight on the SCGI socket, with
# X-Forwarded-For given twice when DUPLICATE is 1; prints the status line.
scgi_me() {
  # The socket is in the instance directory (the web container's volume
  # under Docker); the paths sent are those the server itself sees.
  local instance=$STACK_DIR/instance root=$BATS_TEST_DIRNAME/..
  [ "${STACK_KIND:-local}" != docker ] || { instance=/app/instance; root=/app; }
  python3 - "$(echo "$STACK_DIR"/instance/me.sock*)" "$1" "$instance" "$root" <<'PY'
import socket, sys
pairs = [("CONTENT_LENGTH", "0"), ("SCGI", "1"), ("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/api/me"),
         ("SCRIPT_NAME", "/api/me"), ("PATH_INFO", ""), ("REMOTE_ADDR", "127.0.0.1"), ("HTTP_HOST", "localhost"),
         ("AIFACADE_INSTANCE", sys.argv[3]), ("AIFACADE_ROOT", sys.argv[4]), ("HTTP_X_FORWARDED_FOR", "127.0.0.1")]
if sys.argv[2] == "1":
    pairs.insert(3, ("HTTP_X_FORWARDED_FOR", "10.0.0.1"))
block = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs)
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(str(len(block)).encode() + b":" + block + b",")
out = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    out += chunk
print(out.decode(errors="replace").splitlines()[0])
PY
}

@test "a request on the SCGI socket that carries a variable twice answers 400" {
  needs_local
  run scgi_me 0
  assert_success
  assert_output --partial 'Status: 401'
  run scgi_me 1
  assert_success
  assert_output --partial 'Status: 400'
}

@test "the client address is the one Caddy saw: other headers do not name it" {
  # Not a duplicate, so not refused: believed by nothing either.
  local counted=0 limited=0 UA=edge-attempts-$$-$RANDOM
  for i in $(seq 8); do
    code=$(attempt "$BASE_URL" -H "Forwarded-For: 198.51.100.$i" -H "X-Real-IP: 198.51.100.$i" \
      -H "Forwarded: for=198.51.100.$i" -H "Client-IP: 198.51.100.$i")
    [ "$code" = 429 ] && { limited=$i; break; }
    assert_equal "$code" 401
    counted=$((counted + 1))
  done
  echo "limited at attempt $limited"
  [ "$limited" -ge 1 ]
  [ "$limited" -le 6 ]
  # The access log names that address, not a header's (once it holds
  # every attempt, marked by this test's own user agent).
  needs_local
  access_log_has "\"$UA\"\$" "$counted"
  if [ "${STACK_KIND:-local}" = docker ]; then log=$(stack_log); else log=$(<"$STACK_DIR/access.log"); fi
  assert_equal "$(grep -c '^198\.51\.100\.' <<<"$log")" 0
}

@test "IPv6 clients share one per-address limit per /64" {
  needs_local
  [ -n "${LIGHTTPD_URL:-}" ] || skip "needs lighttpd directly; the container stack publishes only Caddy (unit tests cover the /64 key)"
  # lighttpd believes X-Forwarded-For only from TRUSTED_PROXIES (loopback
  # here), so this stands in for Caddy forwarding IPv6 clients.
  local limited=0
  for i in $(seq 8); do
    code=$(attempt "$LIGHTTPD_URL" -H "X-Forwarded-For: 2001:db8:77:1:$i::$((i * 7))")
    [ "$code" = 429 ] && { limited=$i; break; }
    assert_equal "$code" 401
  done
  echo "limited at attempt $limited"
  [ "$limited" -ge 1 ]
  [ "$limited" -le 6 ]
  # Another /64 has its own count.
  code=$(attempt "$LIGHTTPD_URL" -H "X-Forwarded-For: 2001:db8:77:2::1")
  assert_equal "$code" 401
  access_log_has '^2001:db8:77:1:'
}

@test "slow request bodies do not make the site unreachable" {
  # 40 TLS POSTs through Caddy, each sending one byte of its body a second
  # for at most 25 s: more than lighttpd's 16 connections here. Loopback
  # only; the clients end with the test.
  local port=${BASE_URL##*:}
  python3 - "$port" 40 25 >"$BATS_TEST_TMPDIR/slow.log" 2>&1 3>&- <<'PY' &
import socket, ssl, sys, time
port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
conns = []
for _ in range(count):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="localhost")
    s.sendall(b"POST /api/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
              b"Content-Length: 1000\r\n\r\n{")
    conns.append(s)
print("opened", len(conns), flush=True)
end = time.time() + seconds
while time.time() < end and conns:
    for s in list(conns):
        try:
            s.sendall(b" ")
        except OSError:
            conns.remove(s)
    time.sleep(1)
print("still open at the end:", len(conns), flush=True)
PY
  local slow=$!
  for _ in $(seq 100); do grep -q opened "$BATS_TEST_TMPDIR/slow.log" && break; sleep 0.1; done
  sleep 2
  local ok=0
  for _ in 1 2 3; do
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 5 "$BASE_URL/api/health") || true
    echo "health: $code"
    [ "$code" != 200 ] || ok=$((ok + 1))
    sleep 1
  done
  kill "$slow" 2>/dev/null || true
  wait "$slow" 2>/dev/null || true
  cat "$BATS_TEST_TMPDIR/slow.log"
  grep -q 'opened 40' "$BATS_TEST_TMPDIR/slow.log"
  assert_equal "$ok" 3
}
