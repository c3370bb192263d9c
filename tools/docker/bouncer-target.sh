#!/usr/bin/env bash
# bouncer-target.sh NODE: points this PgBouncer (pgbouncer-start.sh) at the
# PostgreSQL node NODE, the new primary after a failover, and keeps the
# choice in its state volume for its next start. PgBouncer reloads its
# configuration (SIGHUP): clients stay connected, its server connections to
# the old node are closed, and the next transaction goes to NODE.
#
#   docker compose -f docker-compose.cluster.yml exec bouncer1 bouncer-target.sh pg2
set -euo pipefail

fail() { echo "bouncer-target: $*" >&2; exit 1; }
node=${1:-}
[[ "$node" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || fail "usage: bouncer-target.sh NODE (a PostgreSQL node's host name, e.g. pg2)"
ini=/tmp/pgbouncer/pgbouncer.ini
[ -f "$ini" ] || fail "no $ini: is this a PgBouncer container started by pgbouncer-start.sh?"
state=${BOUNCER_STATE:-/var/lib/pgbouncer-state}
{ echo "$node" >"$state/target.new" && mv -f "$state/target.new" "$state/target"; } ||
  fail "cannot write $state/target; the choice would not survive a restart"
sed -i "s/^aifacade = host=[^ ]* /aifacade = host=$node /" "$ini"
grep -q "^aifacade = host=$node " "$ini" || fail "could not set the target in $ini"
kill -HUP 1
echo "bouncer-target: PgBouncer now serves $node"
