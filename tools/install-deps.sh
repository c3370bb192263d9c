#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages AIFacade needs to build, run and test.
# Idempotent and quick when everything is present; uses sudo when not root.
set -euo pipefail

packages=(
  build-essential pkg-config
  libsqlite3-dev libjson-c-dev libcmark-gfm-dev libcmark-gfm-extensions-dev libsodium-dev
  libcurl4-openssl-dev
  lighttpd lighttpd-mod-deflate caddy
  curl jq python3 bats bats-assert bats-support sqlite3
  cppcheck shellcheck valgrind
  # The PostgreSQL backend: libpq to build it; the server and PgBouncer for
  # the throw-away cluster its tests run against (tests/pg.sh). Debian's
  # postgresql package makes a "main" cluster of its own; the policy below
  # keeps it from starting, and the tests never use it.
  libpq-dev postgresql pgbouncer
)
# node and npm fetch the front-end libraries (tools/vendor.sh) and run the
# browser tests. A machine may already carry node with its own npm (e.g.
# NodeSource), which conflicts with Debian's npm package: take Debian's only
# if absent.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
# Extra groups on request: AIFACADE_DEPS="browser docker bench workflow cd fuzz".
for extra in ${AIFACADE_DEPS:-}; do
  case "$extra" in
    browser)
      packages+=(chromium fonts-dejavu-core)
      ;;
    docker)
      # The engine only where none is installed (a machine may run Docker's
      # own packages); debootstrap makes the base images when no registry answers.
      packages+=(docker-compose yamllint debootstrap python3-yaml)
      command -v dockerd >/dev/null || packages+=(docker.io)
      ;;
    # make lint's workflow check: @action-validator/cli runs on Debian's node.
    workflow)
      packages+=(yamllint)
      command -v node >/dev/null || packages+=(nodejs)
      command -v npm >/dev/null || packages+=(npm)
      ;;
    # make test-cd: an sshd of the suite's own to deploy to, and the
    # workflow files read as YAML.
    cd) packages+=(openssh-server openssh-client python3-yaml) ;;
    bench) packages+=(wrk hyperfine) ;;
    fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps: unknown group '$extra'" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
# Debian's caddy, lighttpd, postgresql, pgbouncer and openssh-server packages try to start
# system services; we run our own instances, so keep the package scripts from starting theirs.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  created_policy=1
fi
if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
[ "$created_policy" -eq 0 ] || "${sudo[@]}" rm -f "$policy"
