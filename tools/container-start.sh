#!/usr/bin/env bash
# container-start.sh: starts lighttpd in the foreground on an installed tree:
# the Docker image's /app, or a release made by `make deploy` (DEST/current).
# Sets the settings lighttpd.conf requires, creates or migrates the database,
# then becomes lighttpd (exec), so its PID is the server's and SIGTERM stops it.
#
# Settings (environment): AIFACADE_ROOT (default: the tree this script is in),
# AIFACADE_INSTANCE (<root>/instance), AIFACADE_CGI_DIR (<root>/build/cgi-bin),
# AIFACADE_BIND (0.0.0.0), HTTP_PORT (8080), AIFACADE_MAX_CONNS (256),
# AIFACADE_ACCESSLOG (a file; unset or "-": stdout), AIFACADE_LIGHTTPD_CONF
# (see below), and every application setting of the README, which reaches
# the CGI programs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export AIFACADE_ROOT=${AIFACADE_ROOT:-$here}
root=$AIFACADE_ROOT
export AIFACADE_INSTANCE=${AIFACADE_INSTANCE:-$root/instance}
export AIFACADE_CGI_DIR=${AIFACADE_CGI_DIR:-$root/build/cgi-bin}
export AIFACADE_BIND=${AIFACADE_BIND:-0.0.0.0}
export HTTP_PORT=${HTTP_PORT:-8080}
export AIFACADE_MAX_CONNS=${AIFACADE_MAX_CONNS:-256}
# The access log goes to our stdout. Docker hands a non-root user a stdout
# it may write but not open again by name (/dev/stdout: permission denied),
# so when that fails, or with AIFACADE_ACCESSLOG=-, a piped logger writes
# the lines to the inherited stdout.
if [ -z "${AIFACADE_ACCESSLOG:-}" ]; then
  if { : >>/dev/stdout; } 2>/dev/null; then AIFACADE_ACCESSLOG=/dev/stdout; else AIFACADE_ACCESSLOG=-; fi
fi
export AIFACADE_ACCESSLOG
# A release tree is reached through the DEST/current symlink, which the
# project's lighttpd.conf would refuse (server.follow-symlink "disable"):
# tools/deploy.sh puts lighttpd.release.conf beside it to allow exactly that.
conf=${AIFACADE_LIGHTTPD_CONF:-$root/lighttpd.conf}
if [ -z "${AIFACADE_LIGHTTPD_CONF:-}" ] && [ -f "$root/lighttpd.release.conf" ]; then
  conf=$root/lighttpd.release.conf
fi

fail() { echo "container-start: $*" >&2; exit 1; }

command -v lighttpd >/dev/null || fail "lighttpd is not installed; install it (Debian: apt-get install lighttpd)"
[ -x "$AIFACADE_CGI_DIR/health" ] || fail "no programs in $AIFACADE_CGI_DIR; build them with 'make' or set AIFACADE_CGI_DIR"
[ -f "$conf" ] || fail "no lighttpd configuration at $conf"
for secret in SECRET_KEY_FILE AI_API_KEY_FILE DEEPSEEK_API_KEY_FILE; do
  file=${!secret:-}
  [ -z "$file" ] || [ -r "$file" ] ||
    fail "$secret names $file, which user $(id -u) cannot read; make it readable (for Docker secrets: chmod 0644 the file on the host, inside a 0700 directory)"
done

# Users' data and keys are for this account's eyes only.
umask 077
mkdir -p "$AIFACADE_INSTANCE" 2>/dev/null || true
probe=$AIFACADE_INSTANCE/.write-probe.$$
if ! : >"$probe" 2>/dev/null; then
  fail "$AIFACADE_INSTANCE is not writable by user $(id -u):$(id -g); on the host run: sudo chown -R $(id -u):$(id -g) instance (or set AIFACADE_UID/AIFACADE_GID to the owner of instance/ for docker compose)"
fi
rm -f "$probe"

# Creates the database and the secret key on first start; migrates after an upgrade.
# On PostgreSQL the server may still be starting (a cluster brought up at
# once: docker-compose.cluster.yml), or between a primary's death and its
# standby's promotion: the check is tried again for up to 60 s.
database=${DATABASE:-}
if [ -z "$database" ] && [ -n "${DATABASE_FILE:-}" ] && [ -r "$DATABASE_FILE" ]; then
  database=$(head -c 16 "$DATABASE_FILE")
fi
case "$database" in
  postgresql://* | postgres://*) tries=30 ;;
  *) tries=1 ;;
esac
for i in $(seq "$tries"); do
  "$root/build/tools/aifacadectl" init-db && break
  [ "$i" -lt "$tries" ] || fail "the database could not be created or migrated (the cause is above)"
  echo "container-start: the database does not answer yet; trying again in 2 s ($i of $tries)" >&2
  sleep 2
done

if [ -n "${AI_API_KEY:-}${DEEPSEEK_API_KEY:-}" ] ||
   { [ -n "${AI_API_KEY_FILE:-}${DEEPSEEK_API_KEY_FILE:-}" ] && [ -s "${AI_API_KEY_FILE:-${DEEPSEEK_API_KEY_FILE:-}}" ]; }; then
  echo "container-start: AI provider ${AI_API_URL:-https://api.deepseek.com/chat/completions} (model ${AI_MODEL:-deepseek-v4-flash})"
else
  echo "container-start: no AI_API_KEY or DEEPSEEK_API_KEY set: using the built-in OFFLINE DEMO provider"
fi

# The check would open the log too: keep it away from the real one.
AIFACADE_ACCESSLOG=/dev/null lighttpd -tt -f "$conf" >/dev/null
if [ "$AIFACADE_ACCESSLOG" = - ]; then
  # lighttpd's piped logger gets /dev/null as its stdout; fd 4, a copy of
  # ours that lighttpd inherits, reaches the real one. The logger lives and
  # dies with lighttpd.
  exec 4>&1
  export AIFACADE_ACCESSLOG='|exec cat >&4'
fi
echo "container-start: lighttpd serves $root on $AIFACADE_BIND:$HTTP_PORT"
exec lighttpd -D -f "$conf"
