#!/usr/bin/env bash
# cluster-secrets.sh [DIR]: the secrets docker-compose.cluster.yml reads,
# made once in DIR (default ./secrets; the compose file reads
# AIFACADE_SECRETS, or ./secrets). A file that exists is kept, so running it
# again changes nothing; deepseek_api_key is left as it is (empty: the
# offline demo). Files are 0644 inside a 0700 directory: the containers'
# users (the web nodes' 10001, PostgreSQL's postgres) read them through
# Docker's bind mounts, nobody else on the host can.
#
#   secret_key               SECRET_KEY of every web node (the same on all:
#                            sessions and CSRF tokens are checked with it)
#   pg_password              the aifacade role's password
#   pg_replication_password  the replicator role's (the standby's)
#   database_url             the web nodes' DATABASE: both PgBouncers (each
#                            serves the primary; libpq takes the next when
#                            one cannot be reached)
set -euo pipefail

dir=${1:-secrets}
mkdir -p "$dir"
chmod 0700 "$dir"
umask 022
rand() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }
make_secret() { # NAME VALUE-COMMAND...
  local f=$dir/$1; shift
  [ -s "$f" ] || "$@" >"$f"
  chmod 0644 "$f"
}
make_secret secret_key rand
make_secret pg_password rand
make_secret pg_replication_password rand
database_url() {
  # connect_timeout bounds a try of a PgBouncer that does not answer; libpq
  # goes on to the next host (README, "Several web nodes on PostgreSQL").
  printf 'postgresql://aifacade:%s@bouncer1:6432,bouncer2:6432/aifacade?connect_timeout=3\n' \
    "$(head -n1 "$dir/pg_password")"
}
make_secret database_url database_url
[ -e "$dir/deepseek_api_key" ] || : >"$dir/deepseek_api_key"
chmod 0644 "$dir/deepseek_api_key"
echo "cluster-secrets: the cluster's secrets are in $dir"
