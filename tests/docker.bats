#!/usr/bin/env bats
# docker.bats: what can be checked of the Docker files without a Docker
# engine: the Dockerfile's build and start commands are the ones the suite
# runs (its /app tree is assembled from its COPY lines and started with its
# CMD and ENV on a free loopback port), the runtime image carries every
# shared library the programs need, docker-compose.yml agrees with the image
# and the Caddyfile, `docker-compose config` and yamllint accept the YAML,
# and the CI workflow has the steps it must have. Tests that need
# docker-compose, yamllint or python3-yaml skip without them; `make ops-check`
# installs them (AIFACADE_DEPS=docker).

load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BUILD_DIR=${AIFACADE_BUILD:-build}

setup() {
  [ -z "${DEPLOYED:-}" ] || skip "checks this checkout's files; not run against a deployed BASE_URL"
}

needs() { # COMMAND...: skips unless each is installed
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || skip "$c is not installed; 'make ops-check' installs it (AIFACADE_DEPS=docker)"
  done
}

needs_yaml() {
  python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed; 'make ops-check' installs it"
}

# dockerfile: the Dockerfile as JSON: one object per stage with from, name,
# run (shell lines), copy ({from, src[], dest}), env, user, cmd, healthcheck.
dockerfile() {
  python3 - "$ROOT/Dockerfile" <<'PY'
import json, re, shlex, sys
text = open(sys.argv[1]).read()
text = re.sub(r"\\\n", " ", text)            # continuation lines
stages = []
for raw in text.splitlines():
    line = raw.strip()
    if not line or line.startswith("#"):
        continue
    word, _, rest = line.partition(" ")
    word, rest = word.upper(), rest.strip()
    if word == "FROM":
        parts = rest.split()
        stages.append({"from": parts[0], "name": parts[2] if len(parts) > 2 else None,
                       "run": [], "copy": [], "env": {}, "user": None, "cmd": None,
                       "healthcheck": None, "expose": [], "volume": []})
        continue
    st = stages[-1]
    if word == "RUN":
        st["run"].append(rest)
    elif word == "COPY":
        args = shlex.split(rest)
        frm = None
        while args and args[0].startswith("--"):
            if args[0].startswith("--from="):
                frm = args[0][7:]
            args.pop(0)
        st["copy"].append({"from": frm, "src": args[:-1], "dest": args[-1]})
    elif word == "ENV":
        for item in shlex.split(rest):
            k, _, v = item.partition("=")
            st["env"][k] = v
    elif word == "USER":
        st["user"] = rest
    elif word in ("CMD", "ENTRYPOINT"):
        st[word.lower()] = json.loads(rest) if rest.startswith("[") else ["/bin/sh", "-c", rest]
    elif word == "HEALTHCHECK":
        st["healthcheck"] = rest
    elif word == "EXPOSE":
        st["expose"] += rest.split()
    elif word == "VOLUME":
        st["volume"] += json.loads(rest) if rest.startswith("[") else rest.split()
print(json.dumps(stages))
PY
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
  make -C "$dir" --no-print-directory compose-init >"$dir/compose-init.log"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

@test "docker: the Dockerfile is two Debian bookworm-slim stages; the build stage runs make all" {
  df=$(dockerfile)
  assert_equal "$(jq -r 'length' <<<"$df")" 2
  assert_equal "$(jq -r '.[0].from' <<<"$df")" "debian:bookworm-slim"
  assert_equal "$(jq -r '.[1].from' <<<"$df")" "debian:bookworm-slim"
  build=$(jq -r '.[0].name' <<<"$df")
  # The same build command CI runs (the Makefile's `all`: programs and admin command).
  jq -e '.[0].run | map(select(test("(^|&& *)make all( |$)"))) | length == 1' <<<"$df"
  grep -qE '^all: \$\(CGI_BINS\) \$\(TOOL_BINS\)' "$ROOT/Makefile"
  # The runtime stage takes only the built programs from the build stage.
  jq -e --arg b "$build" '[.[1].copy[] | select(.from != null) | .from == $b] | all and length == 2' <<<"$df"
  jq -e '[.[1].copy[] | select(.from != null) | .src[]] == ["/src/build/cgi-bin/", "/src/build/tools/aifacadectl"]' <<<"$df"
  # The build stage installs every -dev package the project's own installer does.
  base=$(sed -n '/^packages=(/,/^)/p' "$ROOT/tools/install-deps.sh")
  for p in $(grep -oE '\blib[a-z0-9.+-]+-dev\b' <<<"$base" | sort -u); do
    jq -e --arg p "$p" '.[0].run | map(select(contains(" " + $p + " ") or endswith(" " + $p))) | length >= 1' <<<"$df" ||
      { echo "the build stage does not install $p"; return 1; }
  done
  # Nothing but lighttpd and runtime libraries in the runtime stage.
  run jq -r '.[1].run | join(" ")' <<<"$df"
  refute_output --regexp '(-dev|build-essential|gcc|make)( |$)'
}

@test "docker: the runtime image runs as a non-root user with a health check on /api/health" {
  df=$(dockerfile)
  user=$(jq -r '.[1].user' <<<"$df")
  [ -n "$user" ] && [ "$user" != null ] && [ "$user" != root ] && [ "${user%%:*}" != 0 ]
  jq -r '.[1].run | join(" ")' <<<"$df" | grep -qE "useradd .*\\b$user\\b"
  assert_equal "$(jq -r '.[1].cmd | join(" ")' <<<"$df")" "/app/tools/container-start.sh"
  jq -e '.[1].copy[] | select(.src | index("tools/container-start.sh")) | .dest == "/app/tools/"' <<<"$df"
  jq -r '.[1].healthcheck' <<<"$df" | grep -q '/api/health'
  jq -e '.[1].expose == ["8080"]' <<<"$df"
  jq -e '.[1].env.HTTP_PORT == "8080" and .[1].env.AIFACADE_BIND == "0.0.0.0"' <<<"$df"
  jq -e '.[1].volume == ["/app/instance"]' <<<"$df"
}

@test "docker: the runtime stage installs every shared library the programs link; the rest is static" {
  needs ldd dpkg apt-cache
  df=$(dockerfile)
  runtime=$(jq -r '.[1].run[] | select(test("apt-get install"))' <<<"$df" |
    grep -oE 'install -y( --no-install-recommends)? [^&]*' | sed -E 's/install -y( --no-install-recommends)? //')
  [ -n "$runtime" ]
  # shellcheck disable=SC2086  # a list of package names
  closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances $runtime | grep -vE '^ |^<' | sort -u)
  libs=$(ldd "$ROOT/$BUILD_DIR"/cgi-bin/* "$ROOT/$BUILD_DIR"/tools/aifacadectl |
    awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u)
  [ -n "$libs" ]
  # One dpkg look-up for all: each library as /lib/... and /usr/lib/... (usrmerge).
  paths=()
  for lib in $libs; do paths+=("/lib/${lib#*/lib/}" "/usr/lib/${lib#*/lib/}"); done
  owners=$(dpkg -S "${paths[@]}" 2>/dev/null || true)
  missing=""
  for lib in $libs; do
    pkg=$(grep -E ": (/usr)?/lib/${lib#*/lib/}\$" <<<"$owners" | head -1 | cut -d: -f1)
    [ -n "$pkg" ] || { echo "no package owns $lib"; return 1; }
    [ "$pkg" = libc6 ] && continue  # in every Debian image
    grep -qx "$pkg" <<<"$closure" || missing+=" $pkg"
  done
  [ -z "$missing" ] || { echo "the runtime stage lacks:$missing"; return 1; }
  # Every lighttpd module lighttpd.conf loads comes from a package the stage installs.
  for mod in $(sed -n '/^server.modules/,/)/p' "$ROOT/lighttpd.conf" | grep -oE 'mod_[a-z_]+' | sort -u); do
    so=/usr/lib/lighttpd/$mod.so
    [ -f "$so" ] || continue  # built into lighttpd itself
    pkg=$(dpkg -S "$so" | cut -d: -f1)
    grep -qx "$pkg" <<<"$closure" || { echo "the runtime stage lacks $pkg for $mod"; return 1; }
  done
  # SQLite, json-c, libsodium and cmark-gfm are linked statically (README, SPEC §1).
  refute [ "$(grep -cE 'libsqlite3|libjson-c|libsodium|libcmark' <<<"$libs")" != 0 ]
}

@test "docker: the tree the Dockerfile's COPY lines build starts with its CMD and ENV and answers /api/health" {
  needs lighttpd
  df=$(dockerfile)
  app=$BATS_TEST_TMPDIR/app
  # Map the image's paths: /src (the build stage) is this checkout with its
  # build, the context is this checkout, /app is a temporary directory.
  while IFS= read -r copy; do
    from=$(jq -r '.from // ""' <<<"$copy")
    dest=$(jq -r '.dest' <<<"$copy")
    dest=$app${dest#/app}
    for src in $(jq -r '.src[]' <<<"$copy"); do
      if [ -n "$from" ]; then src=$ROOT/$BUILD_DIR${src#/src/build}; else src=$ROOT/$src; fi
      if [[ "$dest" == */ ]]; then mkdir -p "$dest"; else mkdir -p "$(dirname "$dest")"; fi
      if [ -d "$src" ]; then cp -R "$src/." "$dest"; else cp "$src" "$dest"; fi
    done
  done < <(jq -c '.[1].copy[]' <<<"$df")
  mkdir -m 0700 "$app/instance"  # the image's `install -d` of the volume
  port=$(free_port)
  envs=(PATH="$PATH" LANG=C.UTF-8)
  while IFS= read -r kv; do
    envs+=("${kv//\/app/$app}")
  done < <(jq -r '.[1].env | to_entries[] | "\(.key)=\(.value)"' <<<"$df")
  envs+=(AIFACADE_BIND=127.0.0.1 HTTP_PORT="$port")
  cmd=$(jq -r '.[1].cmd[0]' <<<"$df")
  # 3>&-: bats waits for whatever holds its fd 3.
  env -i "${envs[@]}" "$app${cmd#/app}" >"$BATS_TEST_TMPDIR/out.log" 2>"$BATS_TEST_TMPDIR/err.log" 3>&- &
  pid=$!
  up=0
  for _ in $(seq 100); do
    if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/api/health"; then up=1; break; fi
    sleep 0.1
  done
  run curl -s "http://127.0.0.1:$port/api/health"
  # The image's own HEALTHCHECK command, with its ${HTTP_PORT}.
  hc=$(jq -r '.[1].healthcheck' <<<"$df" | sed -E 's/.*CMD //')
  HTTP_PORT=$port sh -c "$hc"
  hc_status=$?
  curl -s -o /dev/null "http://127.0.0.1:$port/login"
  sleep 1.2  # lighttpd writes its access log about once a second
  kill -TERM "$pid"
  wait "$pid" || true
  cat "$BATS_TEST_TMPDIR/out.log" "$BATS_TEST_TMPDIR/err.log"
  assert_equal "$up" 1
  assert_output '{"status":"ok"}'
  assert_equal "$hc_status" 0
  [ -f "$app/instance/aifacade.db" ]
  # AIFACADE_ACCESSLOG=- : the access log reaches stdout (docker logs) through a piped logger.
  grep -q '"GET /api/health HTTP/1.1" 200' "$BATS_TEST_TMPDIR/out.log"
  ! kill -0 "$pid" 2>/dev/null
}

@test "docker: the start script stops with the cause and the fix when it cannot run" {
  start="$ROOT/tools/container-start.sh"
  run env -i PATH="$PATH" AIFACADE_ROOT="$ROOT" AIFACADE_CGI_DIR=/nonexistent "$start"
  assert_failure 1
  assert_output --partial "no programs in /nonexistent"
  run env -i PATH="$PATH" AIFACADE_ROOT="$ROOT" AIFACADE_CGI_DIR="$ROOT/$BUILD_DIR/cgi-bin" \
    DEEPSEEK_API_KEY_FILE=/nonexistent/key "$start"
  assert_failure 1
  assert_output --partial "DEEPSEEK_API_KEY_FILE names /nonexistent/key"
  # /proc takes no files, not even root's: an instance directory no one can write.
  run env -i PATH="$PATH" AIFACADE_ROOT="$ROOT" AIFACADE_CGI_DIR="$ROOT/$BUILD_DIR/cgi-bin" \
    AIFACADE_INSTANCE=/proc/aifacade-instance "$start"
  assert_failure 1
  assert_output --partial "is not writable by user"
  assert_output --partial "chown"
}

@test "docker: .dockerignore lets in what the Dockerfile copies and keeps out data and secrets" {
  df=$(dockerfile)
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
  # Every context source the Dockerfile copies exists.
  for src in $(jq -r '.[] | .copy[] | select(.from == null) | .src[]' <<<"$df"); do
    [ -e "$ROOT/$src" ] || { echo "COPY source $src is missing"; return 1; }
  done
}

@test "docker: docker-compose.yml agrees with the image, the Caddyfile and SPEC §6" {
  needs docker-compose
  needs_yaml
  df=$(dockerfile)
  c=$(compose docker-compose.yml)
  instance=$(jq -r '.[1].env.AIFACADE_INSTANCE' <<<"$df")
  database=$(jq -r '.[1].env.DATABASE' <<<"$df")
  assert_equal "$(dirname "$database")" "$instance"
  # ./instance on the host is where the image keeps its database.
  jq -e --arg i "$instance" '.services.web.volumes | map(select(endswith("/instance:" + $i + ":rw"))) | length == 1' <<<"$c"
  jq -e --arg i "$instance" --arg d "$database" \
    '.services.web.environment | (.AIFACADE_INSTANCE // $i) == $i and (.DATABASE // $d) == $d' <<<"$c"
  jq -e '.services.web.build.context != null' <<<"$c"
  grep -qE '^    env_file: \.env$' "$ROOT/docker-compose.yml"  # config folds it into environment
  jq -e '.services.web.restart != null and .services.caddy.restart != null' <<<"$c"
  jq -e '.services.web.healthcheck.test | join(" ") | contains("/api/health")' <<<"$c"
  jq -e '.services.web.environment.HTTP_PORT == "8080"' <<<"$c"
  # Secrets come as files (Docker secrets), named by *_FILE.
  secret=$(jq -r '.services.web.environment.DEEPSEEK_API_KEY_FILE' <<<"$c")
  assert_equal "${secret%/*}" /run/secrets
  jq -e --arg s "${secret##*/}" '(.services.web.secrets | map(.source) | index($s)) != null and .secrets[$s].file != null' <<<"$c"
  # Caddy: the repository's Caddyfile, every placeholder set, its state in volumes.
  jq -e '.services.caddy.image == "caddy:2"' <<<"$c"
  jq -e '.services.caddy.volumes | map(select(test("/Caddyfile:/etc/caddy/Caddyfile:ro$"))) | length == 1' <<<"$c"
  jq -e '.services.caddy.volumes | (index("caddy_data:/data:rw") != null) and (index("caddy_config:/config:rw") != null)' <<<"$c"
  jq -e '.volumes | has("caddy_data") and has("caddy_config")' <<<"$c"
  for var in $(grep -oE '\{\$[A-Z_]+' "$ROOT/Caddyfile" | cut -c3- | sort -u); do
    jq -e --arg v "$var" '.services.caddy.environment | has($v)' <<<"$c" >/dev/null ||
      { echo "caddy's environment does not set the Caddyfile's $var"; return 1; }
  done
  jq -e '.services.caddy.environment.UPSTREAM == "web:8080" and .services.caddy.environment.SITE_ADDRESS == "localhost"' <<<"$c"
  jq -e '.services.caddy.environment.HTTPS_PORT == "443" and .services.caddy.environment.CADDY_BIND == "0.0.0.0"' <<<"$c"
  jq -e '.services.caddy.ports | map(.target) == [443]' <<<"$c"
  jq -e '.services.caddy.depends_on.web.condition == "service_healthy"' <<<"$c"
  # Only Caddy's X-Forwarded-For is believed, and Caddy has a fixed address.
  jq -e '.services.web.environment.TRUSTED_PROXIES == .services.caddy.networks.aifacade.ipv4_address' <<<"$c"
  jq -e '.services.web.ports == null' <<<"$c"
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

@test "docker: yamllint accepts the compose files and the workflow; shellcheck the scripts" {
  needs yamllint shellcheck
  run yamllint -s -c "$ROOT/.yamllint" "$ROOT/docker-compose.yml" "$ROOT/docker-compose.staging.yml" \
    "$ROOT/.github/workflows/deploy.yml" "$ROOT/.yamllint"
  assert_success
  run shellcheck -x "$ROOT/tools/deploy.sh" "$ROOT/tools/container-start.sh"
  assert_success
}

@test "docker: the deploy workflow builds, starts, waits for health, tests, and always tears down" {
  needs_yaml
  w=$(python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' \
        "$ROOT/.github/workflows/deploy.yml")
  # PyYAML reads the key `on` as true.
  jq -e '(.on // .["true"]).push.branches == ["main", "final-exam", "staging"]' <<<"$w"
  # The test job's steps (the deploy jobs call deploy-host.yml; tests/cd.bats checks them).
  steps=$(jq -c '[.jobs[] | select(.steps) | .steps[]]' <<<"$w")
  pos() { jq -r --arg re "$1" 'map((.uses // "") + " " + (.run // "")) | map(test($re)) | index(true)' <<<"$steps"; }
  checkout=$(pos '^actions/checkout@'); buildx=$(pos '^docker/setup-buildx-action@')
  build=$(pos 'docker compose build'); up=$(pos 'docker compose up -d')
  wait_health=$(pos '/api/health'); install=$(pos 'apt-get install.*bats.*bats-support.*bats-assert.*jq.*curl')
  tests=$(pos 'tests/run.sh bats'); logs=$(pos 'docker compose logs --no-color --timestamps'); down=$(pos 'docker compose down --volumes')
  backup=$(pos 'aifacadectl backup'); restore=$(pos 'aifacadectl restore .* --yes')
  for v in checkout buildx build up wait_health install tests backup restore logs down; do
    [ "${!v}" != null ] || { echo "no step for $v"; return 1; }
  done
  [ "$checkout" -lt "$buildx" ] && [ "$buildx" -lt "$build" ] && [ "$build" -lt "$up" ]
  [ "$up" -lt "$wait_health" ] && [ "$wait_health" -lt "$tests" ] && [ "$install" -lt "$tests" ]
  [ "$tests" -lt "$down" ] && [ "$up" -lt "$backup" ] && [ "$backup" -le "$restore" ] && [ "$restore" -lt "$down" ]
  # The wait is a bounded retry loop that fails, not a blind sleep.
  jq -r --argjson i "$wait_health" '.[$i].run' <<<"$steps" | grep -qE 'for .* in \$\(seq [0-9]+ [0-9]+\)'
  jq -r --argjson i "$wait_health" '.[$i].run' <<<"$steps" | grep -q 'exit 1'
  jq -e '[.jobs[] | select(.steps) | .env.BASE_URL] == ["https://localhost"]' <<<"$w"
  jq -e --argjson i "$logs" '.[$i]["if"] == "failure()" and (.[$i].run | test("logs.* web caddy"))' <<<"$steps"
  jq -e --argjson i "$down" '.[$i]["if"] == "always()"' <<<"$steps"
}
