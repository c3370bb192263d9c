#!/usr/bin/env bats
# docker.bats: the Docker stack. Against the containers of `make
# test-docker` (tools/docker-test.sh runs this file last, on its stack):
# the web container runs as a non-root user with a read-only root
# filesystem; the image's own admin command backs up and restores; the
# access log reaches `docker logs`; instance/ keeps every row across `down`
# and an `up -d --build` of a changed image that migrates the schema; and
# SIGTERM stops the stack within its grace period with an answer in flight
# stored as interrupted. Without Docker (make test) only what needs no
# engine runs: the start script's refusals, the build context's allow-list
# and `docker-compose config` of the files.

load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BUILD_DIR=${AIFACADE_BUILD:-build}

needs() { # COMMAND...: skips unless each is installed
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || skip "$c is not installed; 'make ops-check' installs it (AIFACADE_DEPS=docker)"
  done
}

needs_yaml() {
  python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed; 'make ops-check' installs it"
}

# needs_docker_stack: the test runs against the containers of make test-docker.
needs_docker_stack() {
  [ "${STACK_KIND:-}" = docker ] || skip "runs against the Docker test stack: make test-docker"
}

# dc ARGS...: docker compose for the run's stack (its project, files and settings).
dc() {
  "$AIFACADE_STACK_CMD" compose "$STACK_DIR" "$@"
}

# in_web COMMAND...: runs COMMAND in the web container.
in_web() {
  docker_cli exec -i "$(web_container)" "$@"
}

wait_healthy() {
  for _ in $(seq 300); do
    curl -skf -o /dev/null --max-time 2 "$BASE_URL/api/health" && return 0
    sleep 0.2
  done
  return 1
}

stream_bg() { # PROMPT: a streamed turn in the background into $BATS_TEST_TMPDIR/sse; sets curl_pid
  curl -sk -N -A "$UA" -b "$BATS_TEST_TMPDIR/jar" -H "X-CSRF-Token: $CSRF" --max-time 60 \
    -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
    --data-binary "$(jq -cn --arg p "$1" '{prompt:$p}')" "$BASE_URL/api/chat" >"$BATS_TEST_TMPDIR/sse" 3>&- &
  curl_pid=$!
}

# rows: every row of the users' data, in a fixed order, as text.
# Undoes migration 5 (common/store_sqlite.c): what a build before it left.
UNDO_5='DROP TABLE api_tokens; DROP TABLE invites; DROP TABLE password_resets; DROP TABLE usage;
  DROP TABLE audit; DROP INDEX users_role; DROP INDEX sessions_sid;
  ALTER TABLE sessions DROP COLUMN sid; ALTER TABLE sessions DROP COLUMN user_agent;
  ALTER TABLE sessions DROP COLUMN addr; ALTER TABLE users DROP COLUMN role; ALTER TABLE users DROP COLUMN status;
  ALTER TABLE users DROP COLUMN quota_prompts_day; ALTER TABLE users DROP COLUMN quota_tokens_month;
  ALTER TABLE users DROP COLUMN last_seen;'

# Undoes migration 7 (the OpenAI-compatible gateway's calls and the
# per-token flag): what a build before it left.
UNDO_7='DROP INDEX gateway_calls_user; DROP INDEX gateway_calls_token; DROP TABLE gateway_calls;
  ALTER TABLE api_tokens DROP COLUMN store_conversations;'

rows() {
  sql "SELECT 'u', id, username, password_hash, created_at FROM users ORDER BY id;
       SELECT 'c', id, user_id, title, created_at, updated_at FROM conversations ORDER BY id;
       SELECT 'm', id, conversation_id, role, content, coalesce(reasoning, ''), status,
              coalesce(model, ''), coalesce(error, ''), created_at FROM messages ORDER BY id;
       SELECT 's', token_hash, user_id, created_at FROM sessions ORDER BY token_hash;"
}

# compose FILE...: the merged compose configuration as JSON (docker-compose config).
compose() {
  local dir=$BATS_FILE_TMPDIR/compose
  prepare_compose_dir "$dir"
  local args=()
  for f in "$@"; do args+=(-f "$dir/$f"); done
  (cd "$dir" && docker-compose "${args[@]}" config) |
    python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'
}

# prepare_compose_dir DIR: a copy of the files compose reads, set up by
# `make compose-init` as an operator would.
prepare_compose_dir() {
  local dir=$1
  [ -d "$dir" ] && return 0
  mkdir -p "$dir/mk"
  cp "$ROOT/Makefile" "$ROOT/.env.example" "$ROOT/Dockerfile" "$ROOT/Caddyfile" \
     "$ROOT/docker-compose.yml" "$ROOT/docker-compose.staging.yml" "$dir/"
  cp "$ROOT"/mk/*.mk "$dir/mk/"
  mkdir -p "$dir/tools/docker"
  cp "$ROOT"/tools/docker/*.Dockerfile "$dir/tools/docker/"
  make -C "$dir" --no-print-directory compose-init >"$dir/compose-init.log"
}


# start_script NAME=VALUE...: runs the start script with only these settings
# (and the image's own ENV): in the image under make test-docker, else from
# this checkout, with a stand-in for the programs it looks for.
start_script() {
  if [ "${STACK_KIND:-}" = docker ]; then
    local args=() kv
    for kv in "$@"; do args+=(-e "$kv"); done
    docker_cli run --rm --read-only "${args[@]}" \
      "$(docker_cli inspect --format '{{.Image}}' "$(web_container)")" /app/tools/container-start.sh
  else
    mkdir -p "$BATS_TEST_TMPDIR/cgi-bin"
    printf '#!/bin/sh\n' >"$BATS_TEST_TMPDIR/cgi-bin/health"
    chmod +x "$BATS_TEST_TMPDIR/cgi-bin/health"
    env -i PATH="$PATH" AIFACADE_ROOT="$ROOT" AIFACADE_CGI_DIR="$BATS_TEST_TMPDIR/cgi-bin" "$@" \
      "$ROOT/tools/container-start.sh"
  fi
}

@test "docker: the start script stops with the cause and the fix when it cannot run" {
  [ "${STACK_KIND:-}" = docker ] || command -v lighttpd >/dev/null || skip "lighttpd is not installed (make deps installs it)"
  run start_script AIFACADE_CGI_DIR=/nonexistent
  assert_failure 1
  assert_output --partial "no programs in /nonexistent"
  run start_script DEEPSEEK_API_KEY_FILE=/nonexistent/key
  assert_failure 1
  assert_output --partial "DEEPSEEK_API_KEY_FILE names /nonexistent/key"
  # /proc takes no files, not even root's: an instance directory no one can write.
  run start_script AIFACADE_INSTANCE=/proc/aifacade-instance
  assert_failure 1
  assert_output --partial "is not writable by user"
  assert_output --partial "chown"
}

@test "docker: .dockerignore lets in what the Dockerfile copies and keeps out data and secrets" {
  # Docker's rule: the last pattern matching a path or one of its parents wins.
  run python3 - "$ROOT/.dockerignore" "$ROOT" <<'PY'
import fnmatch, json, os, sys
pats = []
for line in open(sys.argv[1]):
    line = line.strip()
    if line and not line.startswith("#"):
        neg = line.startswith("!")
        pats.append((neg, line.lstrip("!").rstrip("/")))
def included(path):
    parts = path.split("/")
    verdict = True
    for neg, p in pats:
        for i in range(1, len(parts) + 1):
            if fnmatch.fnmatchcase("/".join(parts[:i]), p):
                verdict = neg
    return verdict
root = sys.argv[2]
need = ["Makefile", "mk/ops.mk", "common/store.h", "common/store_sqlite.c", "cgi-bin/chat.c",
        "tools/aifacadectl.c", "tools/cgi-env.sh", "tools/container-start.sh", "www/index.html",
        "lighttpd.conf"]
keep_out = [".env", "instance/aifacade.db", "instance/secret_key", "secrets/deepseek_api_key",
            "build/cgi-bin/chat", ".git/config", "tests/admin.bats"]
bad = [p for p in need if not included(p)] + ["leaks " + p for p in keep_out if included(p)]
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
  assert_success
}

@test "docker: docker-compose config accepts the stack and the staging variant beside it" {
  needs docker-compose
  needs_yaml
  dir=$BATS_FILE_TMPDIR/compose
  prepare_compose_dir "$dir"
  [ -f "$dir/.env" ] && [ -f "$dir/secrets/deepseek_api_key" ]
  [ "$(stat -c %a "$dir/secrets")" = 700 ] && [ "$(stat -c %a "$dir/secrets/deepseek_api_key")" = 644 ]
  (cd "$dir" && docker-compose config -q)
  s=$(compose docker-compose.yml docker-compose.staging.yml)
  jq -e '.services.web.volumes | map(select(endswith("/instance-staging:/app/instance:rw"))) | length == 1' <<<"$s"
  jq -e '.services.caddy.environment.SITE_ADDRESS == "staging.localhost"' <<<"$s"
  jq -e '.services.web.image == "aifacade-web:staging"' <<<"$s"
  # Beside production: another port, network and proxy address from an env file.
  printf 'HTTPS_PUBLISH=8443\nAIFACADE_SUBNET=172.30.118.0/24\nCADDY_IP=172.30.118.10\n' >"$dir/staging.env"
  s=$(cd "$dir" && docker-compose -p aifacade-staging --env-file staging.env \
        -f docker-compose.yml -f docker-compose.staging.yml config |
      python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))')
  jq -e '.services.caddy.ports == [{"published": 8443, "target": 443}]' <<<"$s"
  jq -e '.networks.aifacade.ipam.config == [{"subnet": "172.30.118.0/24"}]' <<<"$s"
  jq -e '.services.web.environment.TRUSTED_PROXIES == "172.30.118.10"' <<<"$s"
}

@test "docker: the web container runs as a non-root user, lighttpd and the programs included" {
  needs_docker_stack
  run in_web id -u
  assert_success
  echo "web container uid: $output (host user: $(id -u))"
  [ "$output" -ne 0 ]
  # Seen from the host: lighttpd (the container's first process) and every
  # program it started run as that user, never as root.
  pid=$(lighttpd_pid)
  [ -n "$pid" ] && [ "$pid" -gt 0 ]
  uids=$(for p in "$pid" $(pgrep -P "$pid"); do awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$p/status"; done)
  echo "$uids"
  [ -n "$uids" ]
  refute [ "$(tr ' ' '\n' <<<"$uids" | grep -cx 0)" != 0 ]
  # The image itself names that user, for runs without compose's `user:`.
  run docker_cli image inspect --format '{{.Config.User}}' "$(docker_cli inspect --format '{{.Image}}' "$(web_container)")"
  assert_output aifacade
}

@test "docker: the web container's root filesystem is read-only; instance/ and the tmpfs are writable" {
  needs_docker_stack
  assert_equal "$(docker_cli inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$(web_container)")" true
  run in_web sh -c 'touch /app/www/probe || touch /app/probe || touch /etc/probe'
  assert_failure
  assert_output --partial "Read-only file system"
  run in_web sh -c 'touch /app/instance/.probe && rm /app/instance/.probe && touch /tmp/probe && rm /tmp/probe && echo writable'
  assert_output writable
  # The writable mounts are instance/ and the tmpfs, and nothing else of ours.
  run in_web awk '$4 ~ /(^|,)rw(,|$)/ && $2 !~ /^\/(proc|sys|dev)(\/|$)/ && $2 !~ /^\/etc\/(hosts|hostname|resolv\.conf)$/ {print $2}' /proc/mounts
  echo "$output"
  assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "/app/instance /tmp /var/tmp "
  # Everything the stack did so far (the suites' chats, logins, streams) needed no more.
  new_user
  api POST /api/chat '{"prompt":"written on a read-only root"}'
  assert_equal "$code" 200
  cid=$(json .conversation_id)
  assert_equal "$(sql "SELECT count(*) FROM messages WHERE conversation_id = $cid AND content = 'written on a read-only root'")" 1
}

@test "docker: only Caddy publishes a port, and the access log reaches docker logs" {
  needs_docker_stack
  run docker_cli port "$(web_container)"
  assert_output ""
  curl -skf -o /dev/null -A "docker-bats-$$" "$BASE_URL/api/health"
  access_log_has '"GET /api/health HTTP/1\.1" 200 .*docker-bats-'"$$"
}

@test "docker: the image's admin command backs up and restores the live database" {
  needs_docker_stack
  new_user
  api POST /api/chat '{"prompt":"kept by the backup"}'
  assert_equal "$code" 200
  cid=$(json .conversation_id)
  run in_web aifacadectl stats
  assert_success
  users=$(in_web aifacadectl users | wc -l)
  [ "$users" -ge 1 ]
  backup=docker-bats-backup-$$-$BATS_TEST_NUMBER.db
  in_web aifacadectl backup "/app/instance/$backup"
  # The backup is on the volume, so on the host, whole.
  assert_equal "$(sqlite3 -readonly "$STACK_DIR/instance/$backup" 'PRAGMA integrity_check')" ok
  api POST /api/chat "$(jq -cn --argjson c "$cid" '{prompt:"after the backup", conversation_id:$c}')"
  assert_equal "$code" 200
  in_web aifacadectl restore "/app/instance/$backup" --yes
  wait_healthy
  assert_equal "$(in_web aifacadectl users | wc -l)" "$users"
  assert_equal "$(sql "SELECT count(*) FROM messages WHERE conversation_id = $cid AND content = 'kept by the backup'")" 1
  assert_equal "$(sql "SELECT count(*) FROM messages WHERE conversation_id = $cid AND content = 'after the backup'")" 0
  in_web sh -c "rm -f /app/instance/$backup /app/instance/aifacade.db.pre-restore-*"
}

@test "docker: instance/ keeps every row across down and an up --build of a changed image that migrates the schema" {
  needs_docker_stack
  new_user
  api POST /api/chat '{"prompt":"before the upgrade"}'
  assert_equal "$code" 200
  cid=$(json .conversation_id)
  latest=$(sql 'PRAGMA user_version')
  # The downgrade below undoes migrations 7 (gateway_calls and the token's
  # store_conversations flag), 6 (the message tree: parent_id,
  # leaf_id; the stop flag goes with turns), 5 (roles, tokens, budgets,
  # audit), 4 (the full-text index), 3
  # (the turns table; its AUTOINCREMENT rebuild it leaves, and runs again)
  # and 2 (messages.html, html_version); a newer migration needs its own
  # undo step.
  [ "$latest" = 7 ] || { echo "schema $latest: teach this test to undo migrations after 7"; return 1; }
  old_image=$(docker_cli inspect --format '{{.Image}}' "$(web_container)")
  before=$(rows)
  [ "$(wc -l <<<"$before")" -ge 4 ]
  dc down --timeout 10
  [ -z "$(web_container)" ]
  # What a build from before migration 2 left: no index, no turns, no html
  # columns, version 1.
  sqlite3 "$STACK_DIR/instance/aifacade.db" "$UNDO_7"
  sqlite3 "$STACK_DIR/instance/aifacade.db" "$UNDO_5"
  sqlite3 "$STACK_DIR/instance/aifacade.db" \
    'DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_delete; DROP TRIGGER messages_fts_update;
     DROP TRIGGER conversations_fts_insert; DROP TRIGGER conversations_fts_delete;
     DROP TRIGGER conversations_fts_update; DROP TABLE messages_fts; DROP TABLE conversations_fts;
     DROP TABLE turns;
     DROP INDEX messages_parent; ALTER TABLE messages DROP COLUMN parent_id;
     ALTER TABLE conversations DROP COLUMN leaf_id;
     ALTER TABLE messages DROP COLUMN html; ALTER TABLE messages DROP COLUMN html_version; PRAGMA user_version = 1;'
  # Whatever this wrote belongs to the container's user again.
  chown -R --reference="$STACK_DIR/instance" "$STACK_DIR/instance"
  assert_equal "$(sql 'PRAGMA user_version')" 1
  # A changed image (another version label and /app/VERSION), built and started.
  AIFACADE_VERSION="upgrade-$$" dc up -d --build web caddy 3>&-
  wait_healthy
  new_image=$(docker_cli inspect --format '{{.Image}}' "$(web_container)")
  [ "$new_image" != "$old_image" ]
  assert_equal "$(in_web cat /app/VERSION)" "upgrade-$$"
  # Migrated on start, every row kept as it was.
  assert_equal "$(sql 'PRAGMA user_version')" "$latest"
  assert_equal "$(sql "SELECT count(*) FROM pragma_table_info('messages') WHERE name IN ('html', 'html_version')")" 2
  assert_equal "$(rows)" "$before"
  # And the user's session and conversation work as before.
  api GET "/api/conversations/$cid"
  assert_equal "$code" 200
  assert_equal "$(json '.messages[0].content')" "before the upgrade"
  assert_equal "$(json '.messages[1].content')" "Echo: before the upgrade"
  # One branch: the answer under its prompt.
  assert_equal "$(json '.messages[1].parent_id == .messages[0].id')" true
  # The full-text index the migration built holds the rows from before.
  api GET "/api/search?q=upgrade"
  assert_equal "$code" 200
  assert_equal "$(json '[.results[] | select(.message_id != null)] | length')" 2
}

@test "docker: SIGTERM stops the stack, no container killed at the end of its grace period; the answer in flight is stored as interrupted" {
  needs_docker_stack
  new_user
  stream_bg "a long answer [[fake:slow=300]] [[fake:long=100]]"
  for _ in $(seq 100); do grep -q '^event: delta' "$BATS_TEST_TMPDIR/sse" 2>/dev/null && break; sleep 0.1; done
  grep -q '^event: delta' "$BATS_TEST_TMPDIR/sse"
  web=$(web_container) caddy=$(compose_service caddy) fake=$(compose_service fake)
  grace=0
  for c in "$web" "$caddy" "$fake"; do
    g=$(docker_cli inspect --format '{{.Config.StopTimeout}}' "$c")
    [[ "$g" =~ ^[0-9]+$ ]] || g=10  # Docker's default when the service sets none
    grace=$((grace + g))
  done
  start=$(date +%s%N)
  # docker compose stop: SIGTERM to each container (Caddy, then web, then
  # the fake), SIGKILL to one still running at the end of its grace period.
  dc stop
  ms=$((($(date +%s%N) - start) / 1000000))
  wait "$curl_pid" || true
  echo "the stack stopped in $ms ms; the grace periods add up to $grace s"
  [ "$ms" -lt $((grace * 1000)) ]
  # Each stopped on the signal, not by the SIGKILL at the end of its grace
  # period (exit 137). lighttpd's own status on SIGTERM is 0, or 1 when a
  # CGI child was still ending; Caddy's is 0.
  web_exit=$(docker_cli inspect --format '{{.State.ExitCode}}' "$web")
  echo "web exited $web_exit"
  [ "$web_exit" = 0 ] || [ "$web_exit" = 1 ]
  assert_equal "$(docker_cli inspect --format '{{.State.ExitCode}}' "$caddy")" 0
  # The stream ended long before its 100 chunks (30 s); the answer is stored
  # as interrupted (the last event, when the client still hears it, says so too).
  cid=$(awk '/^event: start/ {getline; sub(/^data: /, ""); print; exit}' "$BATS_TEST_TMPDIR/sse" | jq -r .conversation_id)
  [ -n "$cid" ] && [ "$cid" != null ]
  assert_equal "$(sql "SELECT status FROM messages WHERE conversation_id = $cid AND role = 'assistant'")" interrupted
  [ -n "$(sql "SELECT content FROM messages WHERE conversation_id = $cid AND role = 'assistant'")" ]
  assert_equal "$(sql 'PRAGMA integrity_check')" ok
  # Started again, the stack serves the stored turn.
  dc start
  wait_healthy
  api GET "/api/conversations/$cid"
  assert_equal "$code" 200
  assert_equal "$(json '.messages[1].status')" interrupted
}
