#!/usr/bin/env bash
# deploy-remote.sh: deploys a release to a host over SSH, smoke-tests it, and
# switches back to the previous release by itself when the smoke test fails.
# The deploy workflow (.github/workflows/deploy.yml) runs it; so can you.
#
# From a checkout with a build (`make all`), on your machine or the runner:
#   tools/deploy-remote.sh deploy [BUILD]         pack, ship, install, migrate, switch, smoke test; roll back on failure
#   tools/deploy-remote.sh rollback [--restore-db] switch the host back to its previous release, smoke test
#   tools/deploy-remote.sh status                 the host's releases
#   tools/deploy-remote.sh smoke                  smoke-test the host's current release
# Settings: DEPLOY_HOST, DEPLOY_USER (default: you), DEPLOY_PORT (22),
# DEPLOY_SSH_KEY (a private key file), DEPLOY_KNOWN_HOSTS (a known_hosts file
# holding the host's key; without it, ~/.ssh/known_hosts), DEPLOY_PATH
# (/srv/aifacade), DEPLOY_SMOKE_URL (the URL the host smoke-tests; default:
# SMOKE_URL of DEST/deploy.env on the host, else https://localhost).
#
# On the host (what the commands above run there; usable by hand):
#   tools/deploy-remote.sh host-deploy DEST BUNDLE   install the unpacked bundle (tools/deploy.sh pack) as a release
#   tools/deploy-remote.sh host-rollback DEST [--restore-db]
#   tools/deploy-remote.sh host-smoke DEST
# host-deploy, holding DEST's deploy lock throughout: stages the release
# beside the others, backs the database up (DEST/backups/before-<id>.db),
# migrates it with the new release's aifacadectl, switches DEST/current
# atomically, and runs tools/smoke.sh. When the smoke test fails it switches
# current and previous back to what they were, restores the backup if the
# new release changed the schema, marks the release FAILED, smoke-tests the
# old release again, and exits 1 with the reason and the timings.
# Smoke settings come from the environment, then DEST/deploy.env (SMOKE_URL,
# SMOKE_CACERT, SMOKE_INSECURE, SMOKE_USER, SMOKE_PASSWORD, SMOKE_WAIT,
# SMOKE_TIMEOUT); the smoke account's password is generated into
# DEST/smoke.password on first use. Nothing secret is printed.
# Exit status: 0 deployed (or rolled back) and smoke-tested, 1 failed (the
# last line says why), 2 usage.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "deploy-remote: $*" >&2; exit 1; }
usage() { sed -n '6,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
say() { echo "deploy-remote: $*"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { printf '%d.%01d' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); } # ms -> "s.d"

# ---------------------------------------------------------------- operator side

remote_setup() {
  host=${DEPLOY_HOST:-}
  [ -n "$host" ] || die "set DEPLOY_HOST (and DEPLOY_USER, DEPLOY_SSH_KEY, DEPLOY_KNOWN_HOSTS, DEPLOY_PATH); see the README's deployment section"
  [[ "$host" =~ ^[A-Za-z0-9.:_-]+$ ]] || die "DEPLOY_HOST '$host' is not a host name or address"
  path=${DEPLOY_PATH:-/srv/aifacade}
  [[ "$path" =~ ^/[A-Za-z0-9._/-]+$ ]] || die "DEPLOY_PATH '$path' must be an absolute path of letters, digits, '.', '_', '-' and '/'"
  local user=${DEPLOY_USER:-$(id -un)} port=${DEPLOY_PORT:-22}
  [[ "$user" =~ ^[a-z_][a-z0-9_-]*$ ]] || die "DEPLOY_USER '$user' is not a user name"
  [[ "$port" =~ ^[0-9]+$ ]] || die "DEPLOY_PORT '$port' is not a port number"
  ssh_cmd=(ssh -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=20
    -o ServerAliveInterval=15 -o ServerAliveCountMax=8 -o LogLevel=ERROR)
  if [ -n "${DEPLOY_SSH_KEY:-}" ]; then
    [ -r "$DEPLOY_SSH_KEY" ] || die "DEPLOY_SSH_KEY names $DEPLOY_SSH_KEY, which is not a readable file (a private key file, not the key itself)"
    ssh_cmd+=(-i "$DEPLOY_SSH_KEY" -o IdentitiesOnly=yes)
  fi
  if [ -n "${DEPLOY_KNOWN_HOSTS:-}" ]; then
    [ -s "$DEPLOY_KNOWN_HOSTS" ] || die "DEPLOY_KNOWN_HOSTS names $DEPLOY_KNOWN_HOSTS, which is missing or empty (ssh-keyscan -p PORT HOST prints its line; check it)"
    ssh_cmd+=(-o UserKnownHostsFile="$DEPLOY_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null)
  fi
  ssh_cmd+=("$user@$host")
  smoke_env=""
  if [ -n "${DEPLOY_SMOKE_URL:-}" ]; then
    [[ "$DEPLOY_SMOKE_URL" =~ ^https?://[A-Za-z0-9.:_-]+$ ]] || die "DEPLOY_SMOKE_URL '$DEPLOY_SMOKE_URL' is not a base URL like https://chat.example.org"
    smoke_env="SMOKE_URL='$DEPLOY_SMOKE_URL' "
  fi
}

# The commands below run in the host user's login shell (sh or bash): plain
# POSIX sh, and every value in them was checked above.
op_deploy() {
  local root build tmp rc=0 t0
  root=$(cd "$here/.." && pwd)
  remote_setup
  build=${1:-${AIFACADE_BUILD:-build}}
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064  # expand now
  trap "rm -rf '$tmp'" EXIT
  t0=$(now_ms)
  # Before packing: a host that cannot be reached, or whose key does not
  # match DEPLOY_KNOWN_HOSTS, fails here at once.
  "${ssh_cmd[@]}" true ||
    die "ssh to ${ssh_cmd[-1]} failed (see its message above): check DEPLOY_HOST, DEPLOY_PORT, DEPLOY_USER, the key and the known_hosts line; nothing was changed"
  "$root/tools/deploy.sh" pack "$tmp/bundle.tar.gz" "$build"
  say "shipping it to ${ssh_cmd[-1]}:$path"
  "${ssh_cmd[@]}" "set -eu; d='$path'; mkdir -p \"\$d/incoming\"; b=\$(mktemp -d \"\$d/incoming/bundle.XXXXXX\");
    rc=0; tar -xzf - -C \"\$b\" && ${smoke_env}bash \"\$b/tools/deploy-remote.sh\" host-deploy \"\$d\" \"\$b\" || rc=\$?;
    rm -rf \"\$b\"; exit \$rc" <"$tmp/bundle.tar.gz" || rc=$?
  if [ "$rc" -eq 255 ]; then
    die "the SSH connection to ${ssh_cmd[-1]} broke (status 255; see its message above); 'tools/deploy-remote.sh status' shows what is current"
  fi
  [ "$rc" -eq 0 ] || exit "$rc"
  say "done in $(secs $(( $(now_ms) - t0 ))) s"
}

op_remote() { # host-COMMAND [ARGS]: runs this script of the host's current release
  remote_setup
  local rc=0 cmd=$1
  shift
  "${ssh_cmd[@]}" "d='$path'; [ -x \"\$d/current/tools/deploy-remote.sh\" ] ||
    { echo \"deploy-remote: \$d/current has no tools/deploy-remote.sh; deploy a release first\" >&2; exit 1; };
    ${smoke_env}bash \"\$d/current/tools/deploy-remote.sh\" $cmd \"\$d\" $*" || rc=$?
  [ "$rc" -ne 255 ] || die "ssh to ${ssh_cmd[-1]} failed (status 255; see its message above)"
  exit "$rc"
}

# ---------------------------------------------------------------- host side

host_init() { # DEST: absolute DEST, settings, and DEST's deploy lock held
  [ -n "${1:-}" ] || usage
  [ -d "$1" ] || die "$1 is not a directory; deploy a first release into it (README: deployment)"
  dest=$(cd "$1" && pwd)
  exec 9>>"$dest/.deploy.lock"
  flock -w 600 9 || die "another deploy holds $dest/.deploy.lock (10 min); wait for it and retry"
  export AIFACADE_DEPLOY_LOCK_HELD=$dest
  local line name value
  if [ -f "$dest/deploy.env" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      [[ "$line" =~ ^[[:space:]]*(SMOKE_[A-Z_]+)=(.*)$ ]] || continue
      name=${BASH_REMATCH[1]}; value=${BASH_REMATCH[2]}
      [ -z "${!name+x}" ] || continue
      if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
      export "$name=$value"
    done <"$dest/deploy.env"
  fi
  if [ -z "${SMOKE_PASSWORD:-}" ] && [ -z "${SMOKE_PASSWORD_FILE:-}" ]; then
    export SMOKE_PASSWORD_FILE=$dest/smoke.password
    if [ ! -s "$SMOKE_PASSWORD_FILE" ]; then
      (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$SMOKE_PASSWORD_FILE.tmp" &&
        mv -f "$SMOKE_PASSWORD_FILE.tmp" "$SMOKE_PASSWORD_FILE")
      say "created the smoke account's password in $SMOKE_PASSWORD_FILE"
    fi
  fi
  export SMOKE_WAIT=${SMOKE_WAIT:-5}
}

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$dest/deploy.log"; say "$*"; }
link_id() { if [ -L "$dest/$1" ]; then r=$(readlink "$dest/$1"); echo "${r#releases/}"; fi; }
ctl() { # RELEASE-DIR COMMAND...: that release's aifacadectl on DEST's database
  local rel=$1; shift
  AIFACADE_ROOT=$rel "$rel/build/tools/aifacadectl" "$@"
}
schema_of() { ctl "$1" stats | sed -n 's/^schema_version //p'; }

# smoke SCRIPT: runs the smoke test; its output shows and lands in $smoke_out.
smoke() {
  smoke_out=$(mktemp)
  bash "$1" 2>&1 | tee "$smoke_out"
  local rc=${PIPESTATUS[0]}
  smoke_reason=$(grep -m1 'smoke: FAILED' "$smoke_out" || tail -1 "$smoke_out")
  rm -f "$smoke_out"
  return "$rc"
}

host_deploy() {
  host_init "${1:-}"
  local bundle=${2:-}
  [ -x "${bundle:-/nonexistent}/tools/deploy.sh" ] ||
    die "no unpacked bundle at '${bundle}' (tools/deploy.sh pack makes one)"
  bundle=$(cd "$bundle" && pwd)
  local cur prev id rel backup="" before="" after t_switch t_detect t_back t_ok
  local t_start
  t_start=$(now_ms)
  cur=$(link_id current); prev=$(link_id previous)
  id=$("$bundle/tools/deploy.sh" stage "$dest" "$bundle/build")
  rel=$dest/releases/$id
  say "staged release $id beside ${cur:-nothing} ($(secs $(( $(now_ms) - t_start ))) s)"

  if [ -n "$cur" ]; then
    [ -d "$dest/backups" ] || mkdir -m 0700 "$dest/backups"
    backup=$dest/backups/before-$id.db
    ctl "$dest/releases/$cur" backup "$backup"
    before=$(schema_of "$dest/releases/$cur")
  fi
  if ! ctl "$rel" init-db; then
    echo "the database migration failed; release $id was never made current" >"$rel/FAILED"
    die "the new release could not migrate the database (see above); ${cur:-nothing} still serves, untouched"
  fi
  after=$(schema_of "$rel")
  if [ -n "$cur" ]; then
    local f
    for f in lighttpd.conf Caddyfile; do
      cmp -s "$dest/releases/$cur/$f" "$rel/$f" ||
        say "warning: $f changed; it applies when you restart the service (docs/operations.md)"
    done
  fi

  say "database backed up and migrated ($(secs $(( $(now_ms) - t_start ))) s since the start)"
  "$rel/tools/deploy.sh" switch "$dest" "$id"
  t_switch=$(now_ms)
  if smoke "$rel/tools/smoke.sh"; then
    "$rel/tools/deploy.sh" prune "$dest" >/dev/null
    find "$dest/backups" -maxdepth 1 -name 'before-*.db' -printf '%f\n' 2>/dev/null | sort -r | tail -n +11 |
      while IFS= read -r old; do rm -f "$dest/backups/$old"; done
    log "release $id is live and passed its smoke test ($(secs $(( $(now_ms) - t_switch ))) s)"
    return 0
  fi
  t_detect=$(now_ms)
  local reason=$smoke_reason
  echo "$reason" >"$rel/FAILED"
  if [ -z "$cur" ]; then
    die "release $id is the first one here and fails its smoke test: $reason. Nothing to switch back to; if the service is not running yet, start it (docs/operations.md) and run 'tools/deploy-remote.sh host-smoke $dest'"
  fi

  log "release $id failed its smoke test $(secs $(( t_detect - t_switch ))) s after the switch: $reason; switching back to $cur"
  "$rel/tools/deploy.sh" switch "$dest" "$cur" "${prev:--}"
  [ -n "$prev" ] || rm -f "$dest/previous"
  if [ "$after" != "$before" ]; then
    say "release $id migrated the schema from version $before to $after: restoring the backup taken before it"
    ctl "$dest/releases/$cur" restore "$backup" --yes
  fi
  t_back=$(now_ms)
  if ! smoke "$rel/tools/smoke.sh"; then
    die "switched back to $cur, but it fails its smoke test too: $smoke_reason. The site needs you now: 'tools/deploy.sh status $dest', the service's log"
  fi
  t_ok=$(now_ms)
  log "rolled back to $cur: it passes its smoke test again (detected $(secs $(( t_detect - t_switch ))) s after the switch, switched back$([ "$after" = "$before" ] || echo ' and restored') in $(secs $(( t_back - t_detect ))) s, smoke test passed $(secs $(( t_ok - t_detect ))) s after detection)"
  die "release $id was rolled back: $reason"
}

host_rollback() {
  host_init "${1:-}"
  local restore=${2:-} cur prev
  [ -z "$restore" ] || [ "$restore" = --restore-db ] || usage
  cur=$(link_id current); prev=$(link_id previous)
  "$here/deploy.sh" rollback "$dest"
  if [ -n "$restore" ]; then
    local backup=$dest/backups/before-$cur.db
    [ -f "$backup" ] || die "no backup $backup was taken before $cur; restore one by hand (README: backup and restore)"
    say "restoring $backup: what was written since $cur went live is kept aside as the pre-restore copy"
    ctl "$dest/releases/$prev" restore "$backup" --yes
  fi
  smoke "$here/smoke.sh" || die "rolled back to $prev, but it fails its smoke test: $smoke_reason"
  log "rolled back by hand from $cur to $prev; smoke test passed"
}

host_smoke() {
  host_init "${1:-}"
  smoke "$here/smoke.sh" || die "$smoke_reason"
}

case "${1:-}" in
  -h|--help) sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  deploy) shift; op_deploy "$@" ;;
  rollback) shift; [ $# -eq 0 ] || [ "$1" = --restore-db ] || usage; op_remote host-rollback "$@" ;;
  status) op_remote host-status ;;
  smoke) op_remote host-smoke ;;
  host-deploy) shift; host_deploy "$@" ;;
  host-rollback) shift; [ $# -ge 1 ] || usage; host_rollback "$@" ;;
  host-smoke) shift; host_smoke "$@" ;;
  host-status) shift; [ -n "${1:-}" ] || usage; "$here/deploy.sh" status "$1" ;;
  *) usage ;;
esac
