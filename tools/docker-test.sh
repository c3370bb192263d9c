#!/usr/bin/env bash
# shellcheck disable=SC2317  # finish and stop_dockerd run from the EXIT trap
# docker-test.sh: builds the Docker image, starts the stack with docker
# compose and runs the deployed-stack checks against the containers; always
# tears down what it started. `make test-docker` and the GitHub workflow
# (.github/workflows/deploy.yml) both run exactly this.
#
#   tools/docker-test.sh [run]                    the whole run (below)
#   tools/docker-test.sh stack-start DIR [NAME=VALUE ...]
#                                                 a test stack of its own: writes DIR/stack.env
#   tools/docker-test.sh stack-stop DIR           stop and remove it (DIR/instance stays)
#   tools/docker-test.sh compose DIR ARGS...      docker compose ARGS for that stack
#   tools/docker-test.sh cluster-compose DIR ARGS...  the same for the cluster (tests/cluster.bats)
#   tools/docker-test.sh cluster-stop DIR         stop and remove the cluster
#
# The run, each step timed:
#   engine   installs the Docker engine and compose when missing
#   daemon   starts dockerd when none answers (and stops it at the end)
#   base     debian:bookworm-slim: present, pulled, or, when no registry
#            can be reached, made here from Debian's packages (debootstrap
#            from the mirror apt uses); compose builds Caddy's image on it
#   build    the project's Dockerfile, tagged aifacade-web:docker-test, Caddy's
#            image (Debian's caddy) and the fake provider's
#   up       docker-compose.yml + docker-compose.test.yml: web, caddy and the
#            suite's fake AI provider; waits for /api/health through Caddy
#   suites   tests/run.sh bats against https://localhost:<port>: fails when a
#            check fails or more than DOCKER_TEST_MAX_SKIPS (5) skip
#   lifecycle tests/docker.bats: data across down and an upgrade, non-root,
#            read-only root filesystem, SIGTERM with an answer in flight
#   cluster-up  docker-compose.cluster.yml + docker-compose.cluster-test.yml:
#            PostgreSQL primary and synchronous standby, a PgBouncer beside
#            each, three web nodes of the same image, Caddy balancing them
#   cluster  tests/cluster.bats against that cluster: a web node killed under
#            load and started again, a rate limit across nodes, the primary
#            killed and the standby promoted, the old primary rebuilt as a
#            standby; prints its counts (requests, answers stored, lost, the
#            503 window)
#   down     removes the containers, networks and volumes it created
#
#   tools/docker-test.sh cluster                  the cluster phases alone
#                                                 (engine, daemon, base, build first)
#
# Settings (environment): DOCKER_TEST_PROJECT (compose project name,
# default aifacade-dt-<pid>), DOCKER_TEST_BASE (auto | pull | local: how
# the base images are obtained when absent), DOCKER_TEST_MAX_SKIPS,
# DOCKER_TEST_KEEP=1 (leave the stack up for a look; stop it with stack-stop),
# DOCKER_TEST_SUITES (the suite files to run against the containers, e.g.
# "tests/load.bats"; default: all that apply to a deployed stack; the
# cluster phases run when it is unset or names tests/cluster.bats),
# DOCKER_TEST_TAG (the images' tag, default docker-test: another one keeps
# two runs on one machine from retagging each other's web image).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

TAG=${DOCKER_TEST_TAG:-docker-test}
MAX_SKIPS=${DOCKER_TEST_MAX_SKIPS:-5}
BASE_MODE=${DOCKER_TEST_BASE:-auto}
DOCKER=docker
COMPOSE=()

say() { echo "docker-test: $*"; }
fail() { echo "docker-test: $*" >&2; exit 1; }

# --- timing -----------------------------------------------------------------
timings=()
step_name="" step_start=0
step() {
  step_end
  step_name=$1 step_start=$(date +%s.%N)
  say "== $1: $2"
}
step_end() {
  [ -n "$step_name" ] || return 0
  local took
  took=$(awk -v a="$step_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  timings+=("$(printf '%-10s %6s s' "$step_name" "$took")")
  step_name=""
}

# --- engine and daemon --------------------------------------------------------
need_root() { # COMMAND...: runs it as root (sudo when we are not)
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

daemon_socket() {
  case "${DOCKER_HOST:-}" in
    unix://*) echo "${DOCKER_HOST#unix://}" ;;
    "") echo /var/run/docker.sock ;;
    *) echo "" ;;  # tcp:// or ssh://: the client knows the way
  esac
}

daemon_up() {
  local sock
  sock=$(daemon_socket)
  if [ -n "$sock" ]; then
    [ -S "$sock" ] || return 1
    # A member of the docker group reaches it as itself; else as root.
    curl -sf --max-time 3 --unix-socket "$sock" http://docker/_ping >/dev/null 2>&1 ||
      need_root curl -sf --max-time 3 --unix-socket "$sock" http://docker/_ping >/dev/null 2>&1
  else
    docker info >/dev/null 2>&1
  fi
}

# pick_client: the first docker client on PATH that talks to the daemon.
# Clients negotiate the API version down to the daemon's; a client too old
# or too new for that is given the daemon's version (DOCKER_API_VERSION).
pick_client() {
  local c api="" sock
  local clients
  mapfile -t clients < <(type -ap docker | awk '!seen[$0]++')
  [ ${#clients[@]} -gt 0 ] || fail "no docker client on PATH"
  for c in "${clients[@]}"; do
    if "$c" version >/dev/null 2>&1; then DOCKER=$c; return 0; fi
  done
  sock=$(daemon_socket)
  [ -z "$sock" ] || api=$(need_root curl -s --max-time 3 --unix-socket "$sock" http://docker/version | jq -r '.ApiVersion // empty')
  if [ -n "$api" ]; then
    for c in "${clients[@]}"; do
      if DOCKER_API_VERSION=$api "$c" version >/dev/null 2>&1; then
        export DOCKER_API_VERSION=$api; DOCKER=$c; return 0
      fi
    done
  fi
  "${clients[0]}" version >&2 || true
  fail "no docker client on PATH (${clients[*]}) talks to the daemon; see the error above"
}

pick_compose() {
  if "$DOCKER" compose version >/dev/null 2>&1; then
    COMPOSE=("$DOCKER" compose)
  elif command -v docker-compose >/dev/null; then
    COMPOSE=(docker-compose)
  else
    fail "neither 'docker compose' (v2) nor docker-compose (v1) is installed; run: AIFACADE_DEPS=docker tools/install-deps.sh"
  fi
}

ensure_engine() {
  local missing=""
  command -v docker >/dev/null || missing+=" docker"
  docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || missing+=" compose"
  local c
  for c in bats jq curl sqlite3 python3; do command -v "$c" >/dev/null || missing+=" $c"; done
  if [ -n "$missing" ]; then
    say "missing:$missing; installing them"
    AIFACADE_DEPS=docker tools/install-deps.sh
  fi
}

started_dockerd="" dockerd_log=""
ensure_daemon() {
  if daemon_up; then say "a Docker daemon answers; using it"; return 0; fi
  [ -n "$(daemon_socket)" ] || fail "DOCKER_HOST=$DOCKER_HOST does not answer"
  dockerd_log=$(mktemp /tmp/aifacade-dockerd.XXXXXX.log)
  say "no Docker daemon answers; starting dockerd (log: $dockerd_log)"
  # Its own session, so that the run's signals do not reach it half-way.
  need_root setsid dockerd >"$dockerd_log" 2>&1 </dev/null &
  started_dockerd=$!
  local i
  for i in $(seq 120); do
    daemon_up && break
    kill -0 "$started_dockerd" 2>/dev/null || { cat "$dockerd_log" >&2; fail "dockerd exited; its log is above"; }
    sleep 0.5
  done
  [ "$i" -lt 120 ] || { tail -20 "$dockerd_log" >&2; fail "dockerd did not answer within 60 s"; }
}

stop_dockerd() {
  [ -n "$started_dockerd" ] || return 0
  say "stopping the dockerd this run started"
  local pid
  # setsid may have forked: stop the dockerd whose parent it is, or it.
  pid=$(pgrep -P "$started_dockerd" -x dockerd || echo "$started_dockerd")
  need_root kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 60); do need_root kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  started_dockerd=""
}

# --- base images ----------------------------------------------------------------
image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# apt_mirrors: "MAIN SECURITY": the Debian mirrors this machine's apt reads
# (/etc/apt/sources.list and sources.list.d, one-line and deb822 forms).
apt_mirrors() {
  python3 - <<'PY'
import glob, re
main = sec = None
files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")) \
    + sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
entries = []
for f in files:
    try:
        text = open(f).read()
    except OSError:
        continue
    if f.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                k, _, v = line.partition(":")
                fields[k.strip().lower()] = v.split()
            if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"])[0] != "no":
                for uri in fields.get("uris", []):
                    entries.append((uri, fields.get("suites", [])))
    else:
        for line in text.splitlines():
            line = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
            if len(line) >= 3 and line[0] == "deb":
                entries.append((line[1], [line[2]]))
for uri, suites in entries:
    if "bookworm" in suites and main is None:
        main = uri
    if "bookworm-security" in suites and sec is None:
        sec = uri
print(main or "http://deb.debian.org/debian", sec or "http://deb.debian.org/debian-security")
PY
}

make_debian_base() {
  local mirror security dir
  read -r mirror security < <(apt_mirrors)
  command -v debootstrap >/dev/null || AIFACADE_DEPS=docker tools/install-deps.sh
  dir=$(mktemp -d /tmp/aifacade-rootfs.XXXXXX)
  say "no registry: making debian:bookworm-slim with debootstrap from $mirror"
  if ! need_root debootstrap --variant=minbase --include=debian-archive-keyring bookworm "$dir" "$mirror" \
      >"$dir.log" 2>&1; then
    tail -20 "$dir.log" >&2; need_root rm -rf "$dir"
    fail "debootstrap from $mirror failed (log above); check that apt can reach the mirror"
  fi
  # The image's apt reads the same mirrors as this machine's.
  need_root rm -f "$dir/etc/apt/sources.list"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" "$security" | need_root tee "$dir/etc/apt/sources.list.d/debian.sources" >/dev/null
  # Slim as Docker's own slim images: no documentation, manuals or
  # translations, now or from packages installed later.
  printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\n' |
    need_root tee "$dir/etc/dpkg/dpkg.cfg.d/docker-slim" >/dev/null
  need_root sh -c "rm -rf '$dir'/var/cache/apt/archives/*.deb '$dir'/var/lib/apt/lists/* '$dir'/var/log/*.log \
    '$dir'/usr/share/man/* '$dir'/usr/share/info/* '$dir'/usr/share/locale/*; \
    find '$dir'/usr/share/doc -type f ! -name copyright -delete"
  need_root tar -C "$dir" -c . | "$DOCKER" import \
    -c 'CMD ["bash"]' -c 'ENV LANG=C.UTF-8' - debian:bookworm-slim >/dev/null
  need_root rm -rf "$dir" "$dir.log"
}

ensure_base_images() {
  if image_exists debian:bookworm-slim; then
    say "debian:bookworm-slim is present"
  elif [ "$BASE_MODE" != local ] && timeout 300 "$DOCKER" pull -q debian:bookworm-slim; then
    say "pulled debian:bookworm-slim"
  elif [ "$BASE_MODE" = pull ]; then
    fail "cannot pull debian:bookworm-slim (DOCKER_TEST_BASE=pull)"
  else
    make_debian_base
  fi
}

# --- a test stack -------------------------------------------------------------
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# free_subnet: a /24 in 172.30.120-250 that no Docker network uses.
free_subnet() {
  local used n
  local nets
  mapfile -t nets < <("$DOCKER" network ls -q)
  used=$("$DOCKER" network inspect --format '{{range .IPAM.Config}}{{.Subnet}} {{end}}' \
    "${nets[@]}" 2>/dev/null || true)
  for _ in $(seq 50); do
    n=$((120 + RANDOM % 130))
    grep -q "172\.30\.$n\.0/24" <<<"$used" || { echo "172.30.$n"; return 0; }
  done
  fail "no free 172.30.x.0/24 network range for the test stack"
}

# compose_for DIR: sets COMPOSE_CMD to compose with the stack's project and files.
compose_for() {
  local dir=$1 project
  project=$(cat "$dir/project")
  COMPOSE_CMD=("${COMPOSE[@]}" -p "$project" --env-file "$dir/compose.env"
    -f docker-compose.yml -f docker-compose.test.yml)
}

# stack_start DIR [NAME=VALUE ...]: starts web, caddy and the fake provider
# as a compose project of its own; DIR/stack.env is what the suites source.
stack_start() {
  local dir=$1; shift
  mkdir -p "$dir/instance"
  dir=$(cd "$dir" && pwd)
  local project=${DOCKER_TEST_PROJECT:-aifacade-dt-$$}
  [ -n "${STACK_SUFFIX:-}" ] && project=$project-$STACK_SUFFIX
  echo "$project" >"$dir/project"
  # The container runs as the owner of instance/, never as root: as the
  # user running this (so the suites can read the database), or, for root,
  # as the image's own user (10001).
  local uid gid
  uid=$(id -u) gid=$(id -g)
  [ "$uid" -ne 0 ] || { uid=10001 gid=10001; chown "$uid:$gid" "$dir/instance"; }
  chmod 0700 "$dir/instance"
  : >"$dir/deepseek_api_key"; chmod 0644 "$dir/deepseek_api_key"
  local https_port fake_port hostile_port net
  https_port=$(free_port); fake_port=$(free_port); hostile_port=$(free_port); net=$(free_subnet)
  # The application's settings: those tests/stack.sh gives a local stack.
  {
    echo "AI_API_URL=http://fake:8099/v1/chat/completions"
    echo "AI_API_KEY=test-key"
    echo "AI_MODEL=fake-model"
    echo "AI_MODELS=fake-model,fake-reasoner"
    echo "AI_IDLE_TIMEOUT=15"
    echo "AI_TIMEOUT=20"
    echo "RATE_LIMIT_AUTH_IP=100000/minute"
    echo "RATE_LIMIT_LOGIN=10/minute"
    echo "RATE_LIMIT_PROMPTS=1000/hour"
    echo "AI_TITLES=0"
    echo "ANSWER_STORE_WAIT=10"
    echo "MAX_STREAMS_PER_USER=100"
    echo "MAX_STREAMS_TOTAL=1000"
    echo "AIFACADE_MODE=${AIFACADE_MODE:-process}"
    echo "AIFACADE_PROCS=${AIFACADE_PROCS:-2}"
    echo "AIFACADE_MAX_REQUESTS=${AIFACADE_MAX_REQUESTS:-1000}"
    echo "REGISTRATION=open"
    echo "PASSWORD_HASH_COST=minimum"
    local kv
    for kv in "$@"; do echo "$kv"; done
  } >"$dir/app.env"
  {
    echo "AIFACADE_TEST_DIR=$dir"
    echo "AIFACADE_ENV_FILE=$dir/app.env"
    echo "AIFACADE_TEST_TAG=$TAG"
    echo "AIFACADE_UID=$uid"
    echo "AIFACADE_GID=$gid"
    echo "HTTPS_PUBLISH=127.0.0.1:$https_port"
    echo "FAKE_PUBLISH=127.0.0.1:$fake_port"
    echo "HOSTILE_PUBLISH=127.0.0.1:$hostile_port"
    echo "AIFACADE_SUBNET=$net.0/24"
    echo "CADDY_IP=$net.10"
  } >"$dir/compose.env"
  {
    echo "BASE_URL=https://localhost:$https_port"
    echo "FAKE_URL=http://127.0.0.1:$fake_port"
    echo "HOSTILE_URL=http://127.0.0.1:$hostile_port"
    echo "STACK_DIR=$dir"
    echo "STACK_KIND=docker"
    echo "COMPOSE_PROJECT=$project"
  } >"$dir/stack.env"
  compose_for "$dir"
  "${COMPOSE_CMD[@]}" up -d --no-build >"$dir/up.log" 2>&1 || {
    cat "$dir/up.log" >&2; stack_logs "$dir" >&2; stack_stop "$dir"
    fail "docker compose up failed for $project (output above)"
  }
  wait_healthy "$dir" || {
    stack_logs "$dir" >&2; stack_stop "$dir"
    fail "the stack $project did not answer /api/health through Caddy within 60 s (logs above)"
  }
}

wait_healthy() { # DIR
  local url
  # shellcheck source=/dev/null
  url=$(. "$1/stack.env" && echo "$BASE_URL")
  for _ in $(seq 300); do
    curl -skf -o /dev/null --max-time 2 "$url/api/health" && return 0
    sleep 0.2
  done
  return 1
}

stack_logs() { # DIR
  compose_for "$1"
  "${COMPOSE_CMD[@]}" logs --no-color --tail 80 2>&1 || true
}

stack_stop() { # DIR
  local dir=$1
  [ -f "$dir/project" ] || return 0
  compose_for "$dir"
  "${COMPOSE_CMD[@]}" down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1 ||
    say "could not take down $(cat "$dir/project"); see: ${COMPOSE_CMD[*]} ps"
  # instance/ stays: a stack started again on DIR finds its data (the
  # run removes its directory at the end).
}

# --- the cluster (docker-compose.cluster.yml) ---------------------------------
# cluster_compose_for DIR: sets COMPOSE_CMD to compose with the cluster's files.
cluster_compose_for() {
  COMPOSE_CMD=("${COMPOSE[@]}" -p "$(cat "$1/project")" --env-file "$1/compose.env"
    -f docker-compose.cluster.yml -f docker-compose.cluster-test.yml)
}

# cluster_prepare DIR: the cluster's secrets, settings and compose
# environment in DIR (a project of its own, beside the run's stack).
cluster_prepare() {
  local dir=$1
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  echo "${DOCKER_TEST_PROJECT:-aifacade-dt-$$}-cluster" >"$dir/project"
  tools/docker/cluster-secrets.sh "$dir/secrets" >/dev/null
  local https_port fake_port net
  https_port=$(free_port); fake_port=$(free_port); net=$(free_subnet)
  # The settings of the run's stack (stack_start), but a login limit low
  # enough to reach; the web nodes run persistent (docker-compose.cluster.yml).
  {
    echo "AI_API_URL=http://fake:8099/v1/chat/completions"
    echo "AI_API_KEY=test-key"
    echo "AI_MODEL=fake-model"
    echo "AI_IDLE_TIMEOUT=15"
    echo "AI_TIMEOUT=20"
    echo "RATE_LIMIT_AUTH_IP=100000/minute"
    echo "RATE_LIMIT_LOGIN=5/minute"
    echo "RATE_LIMIT_PROMPTS=100000/hour"
    echo "AI_TITLES=0"
    echo "ANSWER_STORE_WAIT=10"
    echo "MAX_STREAMS_PER_USER=100"
    echo "MAX_STREAMS_TOTAL=1000"
    echo "AIFACADE_PROCS=${AIFACADE_PROCS:-2}"
    echo "REGISTRATION=open"
  } >"$dir/app.env"
  {
    echo "AIFACADE_TEST_TAG=$TAG"
    echo "AIFACADE_ENV_FILE=$dir/app.env"
    echo "AIFACADE_SECRETS=$dir/secrets"
    echo "HTTPS_PUBLISH=127.0.0.1:$https_port"
    echo "FAKE_PUBLISH=127.0.0.1:$fake_port"
    echo "AIFACADE_SUBNET=$net.0/24"
    echo "CADDY_IP=$net.10"
  } >"$dir/compose.env"
  {
    echo "BASE_URL=https://localhost:$https_port"
    echo "FAKE_URL=http://127.0.0.1:$fake_port"
    echo "CLUSTER_DIR=$dir"
    echo "COMPOSE_PROJECT=$(cat "$dir/project")"
  } >"$dir/cluster.env"
  cp "$dir/cluster.env" "$dir/stack.env"  # what wait_healthy reads
}

# cluster_build DIR LOG: the PostgreSQL and PgBouncer image (one image, built
# once); web, caddy and fake are the run's.
cluster_build() {
  cluster_compose_for "$1"
  if ! "${COMPOSE_CMD[@]}" build pg1 >"$2" 2>&1; then
    tail -60 "$2" >&2
    fail "the PostgreSQL image's build failed; the end of its output is above"
  fi
}

# cluster_start DIR: up, then every web node healthy and /api/health through Caddy.
cluster_start() {
  local dir=$1 n
  cluster_compose_for "$dir"
  "${COMPOSE_CMD[@]}" up -d --no-build >"$dir/up.log" 2>&1 || {
    cat "$dir/up.log" >&2; cluster_logs "$dir" >&2
    fail "docker compose up failed for the cluster (output above)"
  }
  local ids end=$((SECONDS + 120))
  ids=$(for s in web1 web2 web3; do "${COMPOSE_CMD[@]}" ps -q "$s"; done)
  while [ "$SECONDS" -lt "$end" ]; do
    # shellcheck disable=SC2086  # three ids
    n=$("$DOCKER" inspect --format '{{.State.Health.Status}}' $ids 2>/dev/null | grep -c '^healthy$' || true)
    [ "$n" -eq 3 ] && wait_healthy "$dir" && return 0
    sleep 0.5
  done
  cluster_logs "$dir" >&2
  fail "the cluster's three web nodes were not healthy, or Caddy did not answer, within 120 s (logs above)"
}

cluster_logs() { # DIR
  cluster_compose_for "$1"
  "${COMPOSE_CMD[@]}" logs --no-color --tail 40 2>&1 || true
}

cluster_stop() { # DIR
  [ -f "$1/project" ] || return 0
  cluster_compose_for "$1"
  "${COMPOSE_CMD[@]}" down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1 ||
    say "could not take down $(cat "$1/project"); see: ${COMPOSE_CMD[*]} ps"
}

# cluster_phase WORK: the cluster's build, start, suite and stop; sets
# cluster_passed, cluster_failed and cluster_summary.
cluster_dir="" cluster_passed=0 cluster_failed=0 cluster_summary=""
cluster_phase() {
  local work=$1
  step cluster-up "PostgreSQL primary + standby, two PgBouncers, three web nodes, Caddy"
  cluster_dir=$work/cluster
  cluster_prepare "$cluster_dir"
  cluster_build "$cluster_dir" "$work/cluster-build.log"
  cluster_start "$cluster_dir"
  # shellcheck source=/dev/null
  . "$cluster_dir/cluster.env"
  say "cluster up at $BASE_URL (project $COMPOSE_PROJECT)"
  step cluster "tests/cluster.bats: a web node killed, a rate limit across nodes, a failover"
  local out=$work/cluster.log crc=0
  AIFACADE_STACK_CMD="$root/tools/docker-test.sh" DOCKER_TEST_CLIENT="$DOCKER" DOCKER_TEST_COMPOSE="${COMPOSE[*]}" \
    BASE_URL="$BASE_URL" FAKE_URL="$FAKE_URL" CLUSTER_DIR="$cluster_dir" STACK_KIND=docker \
    bats --tap --timing tests/cluster.bats | tee "$out" || crc=$?
  cluster_passed=$(grep -cE '^ok ' "$out" || true)
  cluster_failed=$(grep -cE '^not ok ' "$out" || true)
  cluster_summary=$(grep -E '^# cluster:' "$out" | sed 's/^# //' || true)
  [ "$crc" -eq 0 ] || [ "$cluster_failed" -gt 0 ] || cluster_failed=1
  if [ "$cluster_failed" -gt 0 ]; then cluster_logs "$cluster_dir" | tail -80; fi
  step_end
  if [ -z "${DOCKER_TEST_KEEP:-}" ]; then
    step cluster-down "removing the cluster's containers, networks and volumes"
    cluster_stop "$cluster_dir"
    cluster_dir=""
    step_end
  fi
}

wants_cluster() { [ -z "${DOCKER_TEST_SUITES:-}" ] || [[ " $DOCKER_TEST_SUITES " == *" tests/cluster.bats "* ]]; }

# engine_ready: what every run needs before it builds: the cleanup traps,
# the engine, a daemon, a client and compose, and the base images.
engine_ready() {
  trap finish EXIT
  trap 'exit 130' INT TERM
  step engine "the Docker engine and compose"
  ensure_engine
  step daemon "a running Docker daemon"
  ensure_daemon
  pick_client
  pick_compose
  say "client $DOCKER (API ${DOCKER_API_VERSION:-negotiated}), compose: ${COMPOSE[*]}"
  step base "the base image debian:bookworm-slim"
  ensure_base_images
}

# run_cluster: `tools/docker-test.sh cluster`: the cluster phases alone.
run_cluster() {
  engine_ready
  step build "the images from the project's Dockerfile, Caddy's and the fake provider's"
  work=$(mktemp -d /tmp/aifacade-docker-test.XXXXXX)
  STACK_SUFFIX="" stack_prepare_build "$work"
  cluster_phase "$work"
  say "cluster: $cluster_passed passed, $cluster_failed failed"
  [ -z "$cluster_summary" ] || awk '{ print "  " $0 }' <<<"$cluster_summary"
  run_status=0
  [ "$cluster_failed" -eq 0 ] && [ "$cluster_passed" -gt 0 ] || run_status=1
}

# --- the run ------------------------------------------------------------------
work="" run_status=1
finish() {
  local rc=$?
  step_end
  if [ -n "$work" ] && [ -z "${DOCKER_TEST_KEEP:-}" ]; then
    step "down" "removing the test stack's containers, networks and volumes"
    [ -z "$cluster_dir" ] || cluster_stop "$cluster_dir"
    stack_stop "$work/stack"
    # The container's files in instance/ are its user's: remove them as root.
    need_root rm -rf "$work"
    step_end
  elif [ -n "$work" ]; then
    say "DOCKER_TEST_KEEP: the stack stays up; stop it with: tools/docker-test.sh stack-stop $work/stack"
    [ -z "$cluster_dir" ] || say "  and the cluster with: tools/docker-test.sh cluster-stop $cluster_dir"
  fi
  [ -n "${DOCKER_TEST_KEEP:-}" ] || stop_dockerd
  if [ ${#timings[@]} -gt 0 ]; then
    echo
    say "timings:"
    printf '  %s\n' "${timings[@]}"
    [ -z "${image_size:-}" ] || say "image aifacade-web:$TAG: $image_size"
  fi
  [ "$rc" -eq 0 ] && [ "$run_status" -eq 0 ] && { say "PASSED"; exit 0; }
  say "FAILED"
  exit 1
}

run() {
  local t0=$SECONDS
  engine_ready

  step build "the image from the project's Dockerfile"
  work=$(mktemp -d /tmp/aifacade-docker-test.XXXXXX)
  mkdir -p "$work/stack"
  # Compose needs the files of a stack to build; the stack starts afterwards.
  STACK_SUFFIX="" stack_prepare_build "$work"
  image_size=$("$DOCKER" image inspect --format '{{.Size}}' "aifacade-web:$TAG" |
    awk '{ printf "%.1f MB", $1 / 1000000 }')
  say "image aifacade-web:$TAG: $image_size"

  step up "web, caddy and the fake provider; /api/health through Caddy"
  stack_start "$work/stack"
  # shellcheck source=/dev/null
  . "$work/stack/stack.env"
  export COMPOSE_PROJECT
  say "stack up at $BASE_URL (project $COMPOSE_PROJECT)"

  step suites "the bats suites against the containers"
  local out=$work/suites.log rc=0 suites=() f
  # Not suites of a deployed stack: they test this checkout's own build on
  # this machine, and `make test` runs them. docker.bats runs last, below.
  say "not run against the containers: admin.bats (this checkout's aifacadectl on a local database;"
  say "  docker.bats runs the image's own against the containers), deploy.bats (installs this"
  say "  checkout's build on this machine), flask.bats (this checkout's aifacadectl import-flask),"
  say "  cd.bats (deploys this checkout's build to an sshd of its own; make test-cd), copy_db.bats"
  say "  (copies a stack's database on this machine; the cluster's copy-db runs below); cluster.bats"
  say "  runs below, against the cluster; passwords.bats (the hashing cost of this checkout's programs,"
  say "  compared across two local stacks; the image's programs are the same code), failover.bats"
  say "  (two PostgreSQL servers on this machine's Unix sockets; the cluster's failover runs below)"
  for f in ${DOCKER_TEST_SUITES:-tests/*.bats}; do
    case "$f" in
      tests/docker.bats | tests/admin.bats | tests/deploy.bats | tests/flask.bats | tests/cd.bats | tests/copy_db.bats | tests/cluster.bats | tests/passwords.bats | tests/failover.bats) ;;
      *) suites+=("$f") ;;
    esac
  done
  # Suites that need settings of their own start stacks through this script.
  if [ ${#suites[@]} -gt 0 ]; then
    suite_env tests/run.sh bats "${suites[@]}" | tee "$out" || rc=$?
  else
    # tests/run.sh bats with no file would run them all.
    say "DOCKER_TEST_SUITES names no suite for the stack; none run"
    echo "0 passed, 0 failed, 0 skipped" >"$out"
  fi
  local summary passed failed skipped
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -1)
  read -r passed _ failed _ skipped _ <<<"$summary"
  echo
  say "suites against the containers: ${summary:-no summary line}"
  grep -E '^ok .* # skip' "$out" | sed 's/^/  skipped: /' || true

  step lifecycle "data across down and an upgrade, non-root, read-only, SIGTERM"
  local lout=$work/lifecycle.log lrc=0
  suite_env tests/run.sh bats tests/docker.bats | tee "$lout" || lrc=$?
  local l_summary lp lf ls
  l_summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$lout" | tail -1)
  read -r lp _ lf _ ls _ <<<"$l_summary"
  step_end

  if wants_cluster; then cluster_phase "$work"; else say "cluster phases not run: DOCKER_TEST_SUITES does not name tests/cluster.bats"; fi

  passed=$((${passed:-0} + ${lp:-0} + cluster_passed)); failed=$((${failed:-0} + ${lf:-0} + cluster_failed)); skipped=$((${skipped:-0} + ${ls:-0}))
  echo
  [ -z "$cluster_summary" ] || { say "the cluster's counts:"; awk '{ print "  " $0 }' <<<"$cluster_summary"; }
  say "against the containers: $passed passed, $failed failed, $skipped skipped (at most $MAX_SKIPS may skip); $((SECONDS - t0)) s in all"
  run_status=0
  if [ "$rc" -ne 0 ] || [ "$lrc" -ne 0 ] || [ -z "$summary" ] || [ -z "$l_summary" ] || [ "$failed" -ne 0 ]; then
    say "checks failed against the containers"; stack_logs "$work/stack" | tail -60; run_status=1
  fi
  if [ "$skipped" -gt "$MAX_SKIPS" ]; then
    say "$skipped checks skipped, more than $MAX_SKIPS: a deployed run must prove more than that"; run_status=1
  fi
}

# suite_env COMMAND...: runs a suite with the stack's settings; suites that
# need settings of their own start stacks through this script, with the
# same client and compose (tests/helpers.bash: private_stack_start).
suite_env() {
  AIFACADE_STACK_CMD="$root/tools/docker-test.sh" DOCKER_TEST_PROJECT="$COMPOSE_PROJECT" \
    DOCKER_TEST_CLIENT="$DOCKER" DOCKER_TEST_COMPOSE="${COMPOSE[*]}" \
    BASE_URL="$BASE_URL" FAKE_URL="$FAKE_URL" STACK_DIR="$STACK_DIR" STACK_KIND=docker "$@"
}

# stack_prepare_build WORK: builds the test images (web and fake) with compose.
stack_prepare_build() {
  local dir=$1/build
  mkdir -p "$dir/instance"
  : >"$dir/deepseek_api_key"; : >"$dir/app.env"
  echo "${DOCKER_TEST_PROJECT:-aifacade-dt-$$}" >"$dir/project"
  {
    echo "AIFACADE_TEST_DIR=$dir"
    echo "AIFACADE_ENV_FILE=$dir/app.env"
    echo "AIFACADE_TEST_TAG=$TAG"
    echo "HTTPS_PUBLISH=127.0.0.1:0"
    echo "FAKE_PUBLISH=127.0.0.1:0"
    echo "HOSTILE_PUBLISH=127.0.0.1:0"
  } >"$dir/compose.env"
  compose_for "$dir"
  if ! "${COMPOSE_CMD[@]}" build web caddy fake >"$1/build.log" 2>&1; then
    tail -60 "$1/build.log" >&2
    fail "the build failed; the end of its output is above"
  fi
}

# Subcommands for tests/helpers.bash: the environment names the client and
# compose; a stack of its own per suite, beside the run's.
client_from_env() {
  if [ -n "${DOCKER_TEST_CLIENT:-}" ]; then DOCKER=$DOCKER_TEST_CLIENT; else pick_client; fi
  if [ -n "${DOCKER_TEST_COMPOSE:-}" ]; then read -r -a COMPOSE <<<"$DOCKER_TEST_COMPOSE"; else pick_compose; fi
}

main() {
  case "${1:-run}" in
    run) run ;;
    cluster) run_cluster ;;
    cluster-stop)
      [ $# -eq 2 ] || fail "usage: tools/docker-test.sh cluster-stop DIR"
      client_from_env
      cluster_stop "$2" ;;
    cluster-compose)
      [ $# -ge 3 ] || fail "usage: tools/docker-test.sh cluster-compose DIR COMPOSE-ARGS..."
      client_from_env
      cluster_compose_for "$2"; shift 2
      exec "${COMPOSE_CMD[@]}" "$@" ;;
    stack-start)
      [ $# -ge 2 ] || fail "usage: tools/docker-test.sh stack-start DIR [NAME=VALUE ...]"
      shift; dir=$1; shift
      client_from_env
      STACK_SUFFIX=${STACK_SUFFIX:-s$RANDOM} stack_start "$dir" "$@" ;;
    stack-stop)
      [ $# -eq 2 ] || fail "usage: tools/docker-test.sh stack-stop DIR"
      client_from_env
      stack_stop "$2" ;;
    compose)
      [ $# -ge 3 ] || fail "usage: tools/docker-test.sh compose DIR COMPOSE-ARGS..."
      client_from_env
      compose_for "$2"; shift 2
      exec "${COMPOSE_CMD[@]}" "$@" ;;
    *) echo "usage: tools/docker-test.sh [run | cluster | stack-start DIR [NAME=VALUE ...] | stack-stop DIR | compose DIR ARGS... | cluster-stop DIR | cluster-compose DIR ARGS...]" >&2; exit 2 ;;
  esac
}

# One line: bash has read all of it before the run starts, so editing this
# file during a run cannot change what the run does.
main "$@"; exit $?
