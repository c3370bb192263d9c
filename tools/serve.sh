#!/usr/bin/env bash
# serve.sh: runs the whole stack in the foreground: Caddy (TLS) in front of
# lighttpd (static UI + CGI programs), until Ctrl-C or SIGTERM stops both.
#
# Settings (environment or .env; see README): HTTPS_PORT (8443), HTTP_PORT
# (8080, lighttpd on loopback), SITE_ADDRESS (localhost), AIFACADE_BIND
# (127.0.0.1), CADDY_BIND (127.0.0.1), AIFACADE_BUILD (build), AIFACADE_MODE
# (process or persistent), and every application setting (README,
# "Settings"), which reaches the programs.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# .env fills in what the environment does not say (the environment wins),
# read by the programs' own parser (aifacadectl dotenv; config.h), so that
# quotes, "export " and inline comments mean the same here as there.
ctl="$root/${AIFACADE_BUILD:-build}/tools/aifacadectl"
if [ -f .env ]; then
  [ -x "$ctl" ] || { echo "serve: $ctl is missing; run 'make'" >&2; exit 1; }
  dotenv=$(mktemp)
  "$ctl" dotenv .env >"$dotenv" || { rm -f "$dotenv"; echo "serve: cannot read .env" >&2; exit 1; }
  while IFS= read -r -d '' name && IFS= read -r -d '' value; do
    [[ "$name" =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
    [ -z "${!name+x}" ] || continue
    export "$name=$value"
  done <"$dotenv"
  rm -f "$dotenv"
fi

export AIFACADE_ROOT="$root"
export AIFACADE_INSTANCE=${AIFACADE_INSTANCE:-$root/instance}
export AIFACADE_CGI_DIR=${AIFACADE_CGI_DIR:-$root/${AIFACADE_BUILD:-build}/cgi-bin}
export HTTPS_PORT=${HTTPS_PORT:-8443}
export HTTP_PORT=${HTTP_PORT:-8080}
export AIFACADE_BIND=${AIFACADE_BIND:-127.0.0.1}
export AIFACADE_MAX_CONNS=${AIFACADE_MAX_CONNS:-256}
export AIFACADE_ACCESSLOG=${AIFACADE_ACCESSLOG:-/dev/stdout}
export SITE_ADDRESS=${SITE_ADDRESS:-localhost}
export CADDY_BIND=${CADDY_BIND:-127.0.0.1}
export CADDY_HTTP_PORT=${CADDY_HTTP_PORT:-0}
export UPSTREAM=${UPSTREAM:-$AIFACADE_BIND:$HTTP_PORT}
# Caddy keeps its local CA and certificates here, not in the user's home.
export XDG_DATA_HOME=${CADDY_DATA_DIR:-$AIFACADE_INSTANCE/caddy/data}
export XDG_CONFIG_HOME=${CADDY_CONFIG_DIR:-$AIFACADE_INSTANCE/caddy/config}

for tool in lighttpd caddy; do
  command -v "$tool" >/dev/null || { echo "serve: $tool is not installed; run 'make deps'" >&2; exit 1; }
done
[ -x "$AIFACADE_CGI_DIR/health" ] || { echo "serve: no programs in $AIFACADE_CGI_DIR; run 'make'" >&2; exit 1; }

# Users' data and keys are for this account's eyes only.
umask 077
mkdir -p "$AIFACADE_INSTANCE" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
chmod 0700 "$AIFACADE_INSTANCE"
# Creates the database and the secret key on first start.
"$root/${AIFACADE_BUILD:-build}/tools/aifacadectl" init-db >/dev/null
echo "serve: mode ${AIFACADE_MODE:-process} (README, \"Two ways to run the programs\")"

if [ -n "${AI_API_KEY:-}${DEEPSEEK_API_KEY:-}${AI_API_KEY_FILE:-}${DEEPSEEK_API_KEY_FILE:-}" ]; then
  echo "serve: AI provider ${AI_API_URL:-https://api.deepseek.com/chat/completions} (model ${AI_MODEL:-deepseek-v4-flash})"
else
  echo "serve: no AI_API_KEY or DEEPSEEK_API_KEY set: using the built-in OFFLINE DEMO provider"
fi

lighttpd -tt -f "$root/lighttpd.conf" >/dev/null
caddy validate --config "$root/Caddyfile" --adapter caddyfile >/dev/null 2>&1 ||
  caddy validate --config "$root/Caddyfile" --adapter caddyfile

pids=()
# shellcheck disable=SC2317  # called from the traps
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

lighttpd -D -f "$root/lighttpd.conf" &
pids+=($!)
caddy run --config "$root/Caddyfile" --adapter caddyfile &
pids+=($!)
[ -n "${AIFACADE_PIDFILE:-}" ] && echo "$$" >"$AIFACADE_PIDFILE"

port_suffix=":$HTTPS_PORT"
[ "$HTTPS_PORT" = 443 ] && port_suffix=""
echo "serve: AIFacade is at https://$SITE_ADDRESS$port_suffix/ (Ctrl-C stops it)"
# Either server ending ends the stack.
wait -n "${pids[@]}"
echo "serve: a server stopped; shutting down" >&2
exit 1
