#!/usr/bin/env bats
# cd.bats: continuous deployment as the workflow does it. A real OpenSSH
# server on 127.0.0.1 (its own host key, a fresh client key, run as the
# current user, stopped by PID) is the target host; lighttpd and Caddy serve
# its DEST/current, with the fake AI provider for the smoke test's chat turn.
# tools/deploy-remote.sh, the script the workflow runs, deploys release N; a
# broken N+1 is rolled back by itself to N, whose data is intact; a broken
# N+1 that migrated the schema is rolled back with the backup restored; a
# good N+1 goes live. Timings of the rollbacks go to the TAP output.

load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BUILD_DIR=${AIFACADE_BUILD:-build}
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
SSHD=/usr/sbin/sshd

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_url() { # URL SECONDS [curl args]
  local url=$1 deadline=$((SECONDS + $2)); shift 2
  until curl -sf -o /dev/null --max-time 2 "$@" "$url"; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# start NAME COMMAND...: runs COMMAND in the background; its PID goes to H/NAME.pid.
start() {
  local name=$1; shift
  "$@" >"$H/$name.log" 2>&1 </dev/null 3>&- &
  echo $! >"$H/$name.pid"
}

stop() { # NAME
  local pidfile=$H/$1.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

start_sshd() {
  local dir=$H/ssh port
  mkdir -p "$dir" && chmod 0700 "$dir"
  ssh-keygen -q -t ed25519 -N '' -C cd-bats-host -f "$dir/host_key"
  ssh-keygen -q -t ed25519 -N '' -C cd-bats-client -f "$dir/client_key"
  cp "$dir/client_key.pub" "$dir/authorized_keys"
  port=$(free_port)
  cat >"$dir/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
AllowUsers $(id -un)
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
EOF
  # sshd started as root drops privileges into this directory, which the
  # openssh-server package's service would otherwise create.
  if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then mkdir -m 0755 /run/sshd; fi
  start sshd "$SSHD" -D -e -f "$dir/sshd_config"
  echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$dir/host_key.pub")" >"$dir/known_hosts"
  export DEPLOY_HOST=127.0.0.1 DEPLOY_PORT=$port DEPLOY_USER
  DEPLOY_USER=$(id -un)
  export DEPLOY_SSH_KEY=$dir/client_key DEPLOY_KNOWN_HOSTS=$dir/known_hosts
  local deadline=$((SECONDS + 20))
  until ssh -p "$port" -i "$DEPLOY_SSH_KEY" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$DEPLOY_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
        "$DEPLOY_USER@127.0.0.1" true 2>"$H/ssh-probe.log"; do
    if [ $SECONDS -ge "$deadline" ]; then cat "$H/sshd.log" "$H/ssh-probe.log" >&2; return 1; fi
    sleep 0.2
  done
}

# The host's stack: lighttpd on DEST/current (as the systemd unit of
# docs/operations.md runs it), Caddy in front, the fake provider as the AI.
start_stack() {
  local fake_port lport hport cport
  python3 "$ROOT/tests/fake_provider.py" --port 0 --port-file "$H/fake.port" --pid-file "$H/fake.realpid" \
    >"$H/fake.log" 2>&1 </dev/null 3>&- &
  for _ in $(seq 100); do [ -s "$H/fake.port" ] && [ -s "$H/fake.realpid" ] && break; sleep 0.05; done
  cp "$H/fake.realpid" "$H/fake.pid"
  fake_port=$(cat "$H/fake.port")
  lport=$(free_port); hport=$(free_port); cport=$(free_port)
  start lighttpd env -i PATH="$PATH" LANG=C.UTF-8 HOME="$H" AIFACADE_BIND=127.0.0.1 HTTP_PORT="$lport" \
    AIFACADE_ACCESSLOG="$H/access.log" \
    AI_API_URL="http://127.0.0.1:$fake_port/v1/chat/completions" AI_API_KEY=test-key AI_MODEL=fake-model \
    AI_IDLE_TIMEOUT=3 AI_TIMEOUT=20 RATE_LIMIT_AUTH_IP=100000/minute RATE_LIMIT_PROMPTS=1000/hour \
    REGISTRATION=open "$DEST/current/tools/container-start.sh"
  mkdir -p "$H/caddy"
  start caddy env -i PATH="$PATH" HOME="$H" SITE_ADDRESS=localhost HTTPS_PORT="$hport" CADDY_HTTP_PORT="$cport" \
    CADDY_BIND=127.0.0.1 UPSTREAM="127.0.0.1:$lport" XDG_DATA_HOME="$H/caddy" XDG_CONFIG_HOME="$H/caddy" \
    caddy run --config "$DEST/current/Caddyfile" --adapter caddyfile
  export SITE_URL=https://localhost:$hport
  wait_url "$SITE_URL/api/health" 30 -k || { cat "$H/lighttpd.log" "$H/caddy.log" >&2; return 1; }
  # The smoke test trusts Caddy's own CA, as an operator would with `tls internal`.
  {
    echo "SMOKE_URL=$SITE_URL"
    echo "SMOKE_CACERT=$H/caddy/caddy/pki/authorities/local/root.crt"
  } >"$DEST/deploy.env"
}

setup_file() {
  [ -z "${DEPLOYED:-}" ] || return 0
  for tool in "$SSHD" lighttpd caddy; do command -v "$tool" >/dev/null || return 0; done
  export H=$BATS_FILE_TMPDIR/host
  export DEST=$H/srv/aifacade DEPLOY_PATH=$H/srv/aifacade
  mkdir -p "$H/srv"
  start_sshd
  # The operator's first release, by hand on the host (README: deployment).
  AIFACADE_COMMIT=bootstrap "$ROOT/tools/deploy.sh" release "$DEST" "$BUILD_DIR" >"$H/bootstrap.log"
  start_stack
  echo "ready" >"$H/ready"
}

teardown_file() {
  [ -n "${H:-}" ] || return 0
  stop caddy; stop lighttpd; stop fake; stop sshd
}

# missing WHAT: skips the test, or fails it under make test-cd, which
# installs WHAT (make deps-cd): there a missing one is a failure.
missing() {
  [ -z "${AIFACADE_CD_REQUIRED:-}" ] || { echo "$1 is not installed; make deps-cd installs it" >&2; return 1; }
  skip "$1 is not installed (make deps-cd installs it)"
}

setup() {
  [ -z "${DEPLOYED:-}" ] || skip "deploys to a host of its own; not run against a deployed BASE_URL"
  for tool in "$SSHD" lighttpd caddy; do
    command -v "$tool" >/dev/null || missing "$tool"
  done
  [ -f "$H/ready" ] || { echo "setup_file did not finish; see the logs in $H" >&2; return 1; }
  BASE_URL=$SITE_URL
}

current() { basename "$(readlink "$DEST/current")"; }
previous() { basename "$(readlink "$DEST/previous")"; }
db() { command sqlite3 -cmd '.timeout 5000' "$DEST/instance/aifacade.db" "$@"; }

# deploy COMMIT [BUILD]: the workflow's deploy step.
deploy() {
  AIFACADE_COMMIT=$1 "$ROOT/tools/deploy-remote.sh" deploy "${2:-$BUILD_DIR}"
}

# broken_build NAME: a copy of the build whose health program answers 404
# (it is the notfound program): a release that fails its health check.
broken_build() {
  broken=$BATS_FILE_TMPDIR/$1
  rm -rf "$broken"
  cp -a "$BUILD_DIR" "$broken"
  cp "$broken/cgi-bin/notfound" "$broken/cgi-bin/health"
}

# keeper_check: the account made on release N logs in and finds its conversation.
keeper_check() {
  JAR=$BATS_FILE_TMPDIR/keeper.jar
  login keeper-cd "keeper password 1"
  assert_equal "$code" 200
  fetch_csrf
  api GET "/api/conversations/$(cat "$BATS_FILE_TMPDIR/keeper.conv")"
  assert_equal "$code" 200
  assert_equal "$(json '.messages | length')" 2
  assert_equal "$(json '.messages[0].content')" "remember me across deploys"
}

report_timings() { # the deploy output's rollback line, to the TAP stream
  local line
  line=$(grep -m1 'rolled back to .* passes its smoke test again' <<<"$output")
  [ -n "$line" ]
  echo "# $1: ${line#deploy-remote: }" >&3
  echo "$1: ${line#deploy-remote: }" >>"$ROOT/tests/artifacts/cd-timings.txt"
}

@test "cd: release N deploys over SSH, is migrated with a backup first, and passes its smoke test" {
  boot=$(current)
  run deploy release-n
  assert_success
  assert_output --partial "staged release"
  assert_output --partial "smoke: ok chat: one turn answered"
  assert_output --regexp "release [0-9TZ]+-release-n is live and passed its smoke test"
  [[ "$(current)" == *-release-n ]]
  assert_equal "$(previous)" "$boot"
  # The backup was taken by the old release before the new one touched the database.
  [ -s "$DEST/backups/before-$(current).db" ]
  [ "$(stat -c %a "$DEST/backups/before-$(current).db")" = 600 ]
  [ "$(db "SELECT count(*) FROM users WHERE username = 'smoke-check'")" = 1 ]
  # The smoke test tidies up after itself; its password stays on the host only.
  [ "$(db "SELECT count(*) FROM conversations c JOIN users u ON u.id = c.user_id WHERE u.username = 'smoke-check'")" = 0 ]
  [ "$(stat -c %a "$DEST/smoke.password")" = 600 ]
  refute_output --partial "$(cat "$DEST/smoke.password")"
  [ -z "$(ls -A "$DEST/incoming")" ]
  (cd "$DEST/current" && sha256sum --quiet -c SHA256SUMS)
  grep -q "commit release-n" "$DEST/current/RELEASE"

  # Data of release N's users, which every later step must keep.
  JAR=$BATS_FILE_TMPDIR/keeper.jar
  register keeper-cd "keeper password 1"
  api POST /api/chat '{"prompt":"remember me across deploys"}'
  assert_equal "$code" 200
  json .conversation_id >"$BATS_FILE_TMPDIR/keeper.conv"
}

@test "cd: a broken release N+1 (its health check fails) is rolled back by itself to N, whose data is intact" {
  n=$(current); before_prev=$(previous)
  users=$(db "SELECT count(*) FROM users"); messages=$(db "SELECT count(*) FROM messages")
  broken_build broken-health
  run deploy release-n1-broken "$broken"
  assert_failure 1
  assert_output --partial "smoke: FAILED health: GET /api/health answered 404"
  assert_output --partial "switching back to $n"
  assert_output --regexp "release [0-9TZ]+-release-n1-broken was rolled back: smoke: FAILED health"
  # No restore: the schema did not change.
  refute_output --partial "restoring the backup"
  report_timings "rollback (no schema change)"
  # Back where it was: N current, and previous still the release before N.
  assert_equal "$(current)" "$n"
  assert_equal "$(previous)" "$before_prev"
  bad=$(basename "$(find "$DEST/releases" -maxdepth 1 -name '*-release-n1-broken')")
  grep -q 'FAILED health' "$DEST/releases/$bad/FAILED"
  run curl -s --max-time 10 -k "$SITE_URL/api/health"
  assert_output '{"status":"ok"}'
  assert_equal "$(db "SELECT count(*) FROM users")" "$users"
  assert_equal "$(db "SELECT count(*) FROM messages")" "$messages"
  keeper_check
  [ -z "$(find "$DEST/instance" -name 'aifacade.db.pre-restore-*')" ]
  run "$ROOT/tools/deploy-remote.sh" status
  assert_success
  assert_line --partial "$bad  (rolled back: smoke: FAILED health"
  assert_line "current:  releases/$n"
}

@test "cd: a broken N+1 that migrated the schema is rolled back and the backup taken before it restored" {
  n=$(current)
  version=$(db "PRAGMA user_version")
  messages=$(db "SELECT count(*) FROM messages")
  broken_build broken-migration
  # Stands for a release with a new migration: its aifacadectl is the real
  # one plus a schema change (a table and a newer version number).
  real=$BUILD_DIR/tools/aifacadectl
  cat >"$broken/tools/aifacadectl" <<EOF
#!/bin/sh
"$real" "\$@" || exit \$?
if [ "\$1" = init-db ]; then
  sqlite3 -cmd '.timeout 5000' "\$AIFACADE_ROOT/instance/aifacade.db" \
    "CREATE TABLE cd_new_feature (x INTEGER); PRAGMA user_version = $((version + 1));"
fi
EOF
  chmod +x "$broken/tools/aifacadectl"
  run deploy release-n1-migrates "$broken"
  assert_failure 1
  assert_output --partial "migrated the schema from version $version to $((version + 1)): restoring the backup"
  assert_output --partial "switched back and restored in"
  report_timings "rollback with a schema restore"
  assert_equal "$(current)" "$n"
  assert_equal "$(db "PRAGMA user_version")" "$version"
  assert_equal "$(db "SELECT count(*) FROM sqlite_master WHERE name = 'cd_new_feature'")" 0
  assert_equal "$(db "SELECT count(*) FROM messages")" "$messages"
  # What the failed release's database looked like is kept aside, not lost.
  [ -n "$(find "$DEST/instance" -name 'aifacade.db.pre-restore-*')" ]
  keeper_check
}

@test "cd: a good N+1 then goes live, with N kept as previous" {
  n=$(current)
  run deploy release-n1
  assert_success
  assert_output --regexp "release [0-9TZ]+-release-n1 is live and passed its smoke test"
  [[ "$(current)" == *-release-n1 ]]
  assert_equal "$(previous)" "$n"
  keeper_check
  run curl -s --max-time 10 -k "$SITE_URL/api/health"
  assert_output '{"status":"ok"}'
}

@test "cd: an operator's rollback and smoke test over SSH, and a host key that does not match changes nothing" {
  n1=$(current); n=$(previous)
  run "$ROOT/tools/deploy-remote.sh" rollback
  assert_success
  assert_output --partial "smoke: passed"
  assert_equal "$(current)" "$n"
  assert_equal "$(previous)" "$n1"
  run "$ROOT/tools/deploy-remote.sh" smoke
  assert_success
  assert_output --partial "smoke: passed"

  ssh-keygen -q -t ed25519 -N '' -f "$BATS_TEST_TMPDIR/other_host_key"
  echo "[127.0.0.1]:$DEPLOY_PORT $(cut -d' ' -f1-2 "$BATS_TEST_TMPDIR/other_host_key.pub")" >"$BATS_TEST_TMPDIR/known_hosts"
  releases=$(ls "$DEST/releases" | wc -l)
  DEPLOY_KNOWN_HOSTS=$BATS_TEST_TMPDIR/known_hosts run deploy release-spoofed
  assert_failure 1
  assert_output --partial "ssh to $DEPLOY_USER@127.0.0.1 failed"
  assert_output --partial "Host key verification failed"
  refute_output --partial "packed"
  assert_equal "$(ls "$DEST/releases" | wc -l)" "$releases"
  assert_equal "$(current)" "$n"
  DEPLOY_PATH=relative/path run deploy release-bad-path
  assert_failure 1
  assert_output --partial "must be an absolute path"
  DEPLOY_HOST= run deploy release-no-host
  assert_failure 1
  assert_output --partial "set DEPLOY_HOST"
}

@test "cd: the workflow deploys after the tests, staging and production, one at a time, with this script" {
  python3 -c 'import yaml' 2>/dev/null || missing python3-yaml
  yaml_json() { python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$1"; }
  w=$(yaml_json "$ROOT/.github/workflows/deploy.yml")
  h=$(yaml_json "$ROOT/.github/workflows/deploy-host.yml")
  jq -e '(.on // .["true"]).push.branches | index("staging") != null' <<<"$w"
  jq -e '.jobs["deploy-staging"] | .needs == "docker-test" and .with.environment == "staging"
         and .uses == "./.github/workflows/deploy-host.yml" and (.if | test("refs/heads/staging"))' <<<"$w"
  jq -e '.jobs["deploy-production"] | .needs == "docker-test" and .with.environment == "production"
         and (.if | test("refs/heads/main") and test("refs/heads/final-exam"))' <<<"$w"
  # The test job's run is never cancelled on a deploying branch.
  jq -r '.concurrency["cancel-in-progress"]' <<<"$w" | grep -q "github.ref != 'refs/heads/main'"
  jq -e '.jobs.deploy | .environment.name == "${{ inputs.environment }}"
         and .concurrency["cancel-in-progress"] == false
         and (.concurrency.group | test("inputs.environment"))' <<<"$h"
  # The job runs this suite's script, with the secrets as files, never echoed.
  run jq -r '[.jobs.deploy.steps[].run // empty] | join("\n")' <<<"$h"
  assert_output --partial "tools/deploy-remote.sh deploy"
  refute_output --regexp 'echo[^\n]*\$DEPLOY_SSH_KEY'
  run jq -r '.jobs.deploy.steps[] | select(.env.DEPLOY_SSH_KEY) | .env.DEPLOY_SSH_KEY' <<<"$h"
  assert_output '${{ secrets.DEPLOY_SSH_KEY }}'
}
