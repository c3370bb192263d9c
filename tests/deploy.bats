#!/usr/bin/env bats
# deploy.bats: `make deploy` into a directory, lighttpd serving DEST/current
# through tools/container-start.sh, rollback, and one endpoint replaced while
# requests run. Servers listen on 127.0.0.1 on free ports and stop by PID.

load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BUILD_DIR=${AIFACADE_BUILD:-build}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# serve DEST NAME: starts the deployed tree's start script on a free port;
# sets $URL and writes the PID to $BATS_FILE_TMPDIR/NAME.pid.
serve() {
  local dest=$1 name=$2 port
  port=$(free_port)
  env -i PATH="$PATH" LANG=C.UTF-8 HOME="$BATS_FILE_TMPDIR" AIFACADE_BIND=127.0.0.1 HTTP_PORT="$port" \
    AIFACADE_ACCESSLOG="$BATS_FILE_TMPDIR/$name.access.log" \
    "$dest/current/tools/container-start.sh" >"$BATS_FILE_TMPDIR/$name.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/$name.pid"
  URL=http://127.0.0.1:$port
  local deadline=$((SECONDS + 15))
  until curl -sf -o /dev/null --max-time 2 "$URL/api/health"; do
    if [ $SECONDS -ge "$deadline" ]; then cat "$BATS_FILE_TMPDIR/$name.log" >&2; return 1; fi
    sleep 0.1
  done
}

stop_server() { # NAME
  local pidfile=$BATS_FILE_TMPDIR/$1.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

deploy_cmd() { # make deploy without rebuilding what `make test` just built
  make -C "$ROOT" --no-print-directory -o all deploy DEST="$1" BUILD="$BUILD_DIR"
}

# No skip in setup_file: bats before 1.9 (Debian 12 has 1.8.2) reports it as
# a failure; setup() skips instead.
setup_file() {
  [ -z "${DEPLOYED:-}" ] || return 0
  command -v lighttpd >/dev/null || return 0
  export DEPLOY_DEST=$BATS_FILE_TMPDIR/dest
  deploy_cmd "$DEPLOY_DEST" >"$BATS_FILE_TMPDIR/deploy1.log"
  FIRST=$(readlink "$DEPLOY_DEST/current")
  export FIRST
  serve "$DEPLOY_DEST" main
  export URL
}

teardown_file() {
  stop_server main
}

setup() {
  [ -z "${DEPLOYED:-}" ] || skip "deploys this checkout's build; not run against a deployed BASE_URL"
  command -v lighttpd >/dev/null || skip "lighttpd is not installed (make deps installs it)"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
tools_deploy() { "$ROOT/tools/deploy.sh" "$@"; }

# variant_of PROGRAM: sets $variant to a copy of PROGRAM with other bytes
# appended: the same program, but a swap shows in the checksum.
variant_of() {
  variant=$BATS_TEST_TMPDIR/$(basename "$1")-variant
  cp "$1" "$variant"
  printf 'variant' >>"$variant"
}

@test "deploy: make deploy installs a complete release that lighttpd serves through DEST/current" {
  [[ "$FIRST" =~ ^releases/[0-9]{8}T[0-9]{6}Z- ]]
  rel=$DEPLOY_DEST/$FIRST
  for f in build/tools/aifacadectl www/index.html tools/cgi-env.sh tools/container-start.sh \
           lighttpd.conf lighttpd.release.conf Caddyfile RELEASE SHA256SUMS; do
    [ -f "$rel/$f" ] || { echo "missing $f"; return 1; }
  done
  for bin in "$ROOT/$BUILD_DIR"/cgi-bin/*; do
    cmp "$bin" "$rel/build/cgi-bin/${bin##*/}"
  done
  (cd "$rel" && sha256sum --quiet -c SHA256SUMS)
  [ "$(stat -c %a "$DEPLOY_DEST/instance")" = 700 ]
  [ "$(readlink "$rel/instance")" = ../../instance ]
  [ -f "$DEPLOY_DEST/instance/aifacade.db" ]
  [ ! -e "$DEPLOY_DEST/previous" ]
  run curl -s "$URL/api/health"
  assert_output '{"status":"ok"}'
  run curl -s -o /dev/null -w '%{http_code} %{content_type}' "$URL/login"
  assert_output --partial 'text/html; charset=utf-8'
  assert_output --regexp '^200 '
  run curl -s -o /dev/null -w '%{http_code}' "$URL/api/no-such-endpoint"
  assert_output 404
  grep -q '"GET /api/health HTTP/1.1" 200' "$BATS_FILE_TMPDIR/main.access.log" ||
    { sleep 1.5; grep -q '"GET /api/health HTTP/1.1" 200' "$BATS_FILE_TMPDIR/main.access.log"; }
}

@test "deploy: a second deploy keeps the previous release; rollback swaps back at once, twice rolls forward" {
  deploy_cmd "$DEPLOY_DEST" >/dev/null
  second=$(readlink "$DEPLOY_DEST/current")
  [ "$second" != "$FIRST" ]
  assert_equal "$(readlink "$DEPLOY_DEST/previous")" "$FIRST"
  echo "second release" >"$DEPLOY_DEST/$second/www/marker.txt"
  run curl -s "$URL/marker.txt"
  assert_output "second release"

  run make -C "$ROOT" --no-print-directory rollback DEST="$DEPLOY_DEST"
  assert_success
  assert_output --partial "rolled back: ${FIRST#releases/} is current"
  assert_equal "$(readlink "$DEPLOY_DEST/current")" "$FIRST"
  assert_equal "$(readlink "$DEPLOY_DEST/previous")" "$second"
  run curl -s -o /dev/null -w '%{http_code}' "$URL/marker.txt"
  assert_output 404
  run curl -s "$URL/api/health"
  assert_output '{"status":"ok"}'

  run tools_deploy rollback "$DEPLOY_DEST"
  assert_success
  assert_equal "$(readlink "$DEPLOY_DEST/current")" "$second"
  run curl -s "$URL/marker.txt"
  assert_output "second release"
  run make -C "$ROOT" --no-print-directory deploy-status DEST="$DEPLOY_DEST"
  assert_success
  assert_line "current:  $second"
  assert_line "previous: $FIRST"
  [ "$(grep -c 'rolled back' "$DEPLOY_DEST/deploy.log")" -eq 2 ]
  [ -z "$(find "$DEPLOY_DEST" -maxdepth 2 -name '.*tmp*' -o -maxdepth 2 -name '.incoming*')" ]
}

@test "deploy: one endpoint replaced again and again while 200 requests run drops none" {
  variant_of "$ROOT/$BUILD_DIR/cgi-bin/health"
  original=$BATS_TEST_TMPDIR/health-original
  cp "$ROOT/$BUILD_DIR/cgi-bin/health" "$original"
  rel=$(cd "$DEPLOY_DEST/current" && pwd -P)
  (
    for n in $(seq 40); do
      if [ $((n % 2)) -eq 1 ]; then src=$variant; else src=$original; fi
      tools_deploy endpoint "$DEPLOY_DEST" health "$src" >/dev/null
      echo "$n" >"$BATS_TEST_TMPDIR/swaps"
      [ ! -e "$BATS_TEST_TMPDIR/requests-done" ] || break
    done
  ) &
  swapper=$!
  args=()
  for _ in $(seq 100); do args+=(-o /dev/null "$URL/api/health"); done
  pids=()
  for k in 1 2; do
    curl -s --max-time 60 -w '%{http_code}\n' "${args[@]}" >"$BATS_TEST_TMPDIR/codes$k" &
    pids+=($!)
  done
  wait "${pids[@]}"
  touch "$BATS_TEST_TMPDIR/requests-done"
  wait "$swapper"
  cat "$BATS_TEST_TMPDIR"/codes* >"$BATS_TEST_TMPDIR/all"
  assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/all")" 200
  assert_equal "$(grep -cx 200 "$BATS_TEST_TMPDIR/all")" 200
  swaps=$(cat "$BATS_TEST_TMPDIR/swaps")
  echo "# endpoint swaps while 200 requests ran: $swaps" >&3
  [ "$swaps" -ge 2 ]
  now=$(sha "$rel/build/cgi-bin/health")
  [ "$now" = "$(sha "$variant")" ] || [ "$now" = "$(sha "$original")" ]
  [ -f "$rel/replaced/health" ]
  [ -z "$(find "$rel/build/cgi-bin" -name '.*')" ]
  grep -q "endpoint health replaced in ${rel##*/}" "$DEPLOY_DEST/deploy.log"
}

@test "deploy: an SCGI endpoint (me) swapped while requests run drops none and its server runs the new program" {
  rel=$(cd "$DEPLOY_DEST/current" && pwd -P)
  variant_of "$rel/build/cgi-bin/me"
  lighttpd=$(cat "$BATS_FILE_TMPDIR/main.pid")
  run curl -s -o /dev/null -w '%{http_code}' "$URL/api/me"
  assert_output 401
  server=$(pgrep -P "$lighttpd" -x me)
  [ -n "$server" ]
  args=()
  for _ in $(seq 100); do args+=(-o /dev/null "$URL/api/me"); done
  curl -s --max-time 60 -w '%{http_code}\n' "${args[@]}" >"$BATS_TEST_TMPDIR/codes" &
  load=$!
  sleep 0.2
  tools_deploy endpoint "$DEPLOY_DEST" me "$variant" >/dev/null
  wait "$load"
  assert_equal "$(grep -cx 401 "$BATS_TEST_TMPDIR/codes")" 100
  run curl -s -o /dev/null -w '%{http_code}' "$URL/api/me"
  assert_output 401
  # The same server process (lighttpd did not have to restart it) now runs
  # the new file: it re-executed itself before the next request.
  assert_equal "$(pgrep -P "$lighttpd" -x me)" "$server"
  assert_equal "$(stat -L -c %i "/proc/$server/exe")" "$(stat -c %i "$rel/build/cgi-bin/me")"
  grep -q "me was replaced; restarting it" "$BATS_FILE_TMPDIR/main.log"
  run tools_deploy endpoint-rollback "$DEPLOY_DEST" me
  assert_success
}

@test "deploy: endpoint-rollback puts back the program an endpoint swap replaced" {
  rel=$(cd "$DEPLOY_DEST/current" && pwd -P)
  variant_of "$ROOT/$BUILD_DIR/cgi-bin/me"
  before=$(sha "$rel/build/cgi-bin/me")
  run make -C "$ROOT" --no-print-directory -o all deploy-endpoint BUILD="$BUILD_DIR" DEST="$DEPLOY_DEST" NAME=me
  assert_success
  run tools_deploy endpoint "$DEPLOY_DEST" me "$variant"
  assert_success
  assert_equal "$(sha "$rel/build/cgi-bin/me")" "$(sha "$variant")"
  run tools_deploy endpoint-rollback "$DEPLOY_DEST" me
  assert_success
  assert_equal "$(sha "$rel/build/cgi-bin/me")" "$before"
  run curl -s -o /dev/null -w '%{http_code}' "$URL/api/me"
  assert_output 401
}

@test "deploy: endpoint refuses a bad name, a file that is not a program, and an empty target" {
  rel=$(cd "$DEPLOY_DEST/current" && pwd -P)
  before=$(sha "$rel/build/cgi-bin/health")
  run tools_deploy endpoint "$DEPLOY_DEST" ../health
  assert_failure 1
  assert_output --partial "is not a program name"
  run tools_deploy endpoint "$DEPLOY_DEST" health "$ROOT/tools/deploy.sh"
  assert_failure 1
  assert_output --partial "not a compiled program"
  run tools_deploy endpoint "$DEPLOY_DEST" health "$ROOT/README.md"
  assert_failure 1
  assert_output --partial "is not an executable file"
  run tools_deploy endpoint "$BATS_TEST_TMPDIR/empty" health
  assert_failure 1
  assert_output --partial "nothing is deployed"
  run tools_deploy endpoint-rollback "$DEPLOY_DEST" chat
  assert_failure 1
  assert_output --partial "no replaced program chat"
  run tools_deploy endpoint "$DEPLOY_DEST"
  assert_failure 2
  assert_equal "$(sha "$rel/build/cgi-bin/health")" "$before"
}

@test "deploy: a failed deploy and an impossible rollback leave the current release alone" {
  cur=$(readlink "$DEPLOY_DEST/current")
  run tools_deploy release "$DEPLOY_DEST" "$BATS_TEST_TMPDIR/no-build"
  assert_failure 1
  assert_output --partial "no built programs"
  assert_equal "$(readlink "$DEPLOY_DEST/current")" "$cur"
  [ -z "$(find "$DEPLOY_DEST/releases" -maxdepth 1 -name '.incoming*')" ]
  one=$BATS_TEST_TMPDIR/one
  deploy_cmd "$one" >/dev/null
  run tools_deploy rollback "$one"
  assert_failure 1
  assert_output --partial "has no previous release"
  run tools_deploy rollback "$BATS_TEST_TMPDIR/nothing"
  assert_failure 1
  assert_output --partial "nothing is deployed"
  run env -u DEST make -C "$ROOT" --no-print-directory -o all deploy
  assert_failure 2
  assert_output --partial "DEST=/srv/aifacade"
  run env -u DEST make -C "$ROOT" --no-print-directory rollback
  assert_failure 2
}

@test "deploy: old releases beyond KEEP go, never the current or previous one" {
  many=$BATS_TEST_TMPDIR/many
  for _ in 1 2 3 4; do KEEP=1 tools_deploy release "$many" "$ROOT/$BUILD_DIR" >/dev/null; done
  releases=$(find "$many/releases" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | wc -l)
  assert_equal "$releases" 3
  [ -d "$many/$(readlink "$many/current")" ]
  [ -d "$many/$(readlink "$many/previous")" ]
  grep -q "removed old release" "$many/deploy.log"
}
