#!/usr/bin/env bash
# cgi-env.sh: prints the lighttpd setenv line that hands AIFacade's settings
# to the CGI programs (lighttpd gives them no environment of its own).
# Values with quotes, backslashes or line breaks cannot be passed this way;
# put those in .env, which the programs read themselves.
#
# `cgi-env.sh scgi` prints the scgi.server blocks of the endpoints lighttpd
# spawns as SCGI servers (common/scgi.h), by AIFACADE_MODE (README, "Two
# ways to run the programs"): `process` (the default) spawns chat, me and
# conversations, each forking one process per request; `persistent` spawns
# the everyday endpoints (the list below), AIFACADE_PROCS processes each (default 4), each answering
# requests itself one at a time and replaced after AIFACADE_MAX_REQUESTS.
# When DATABASE names PostgreSQL, every endpoint that opens the database is
# spawned: those that are not persistent fork one process per request.
#
# `cgi-env.sh extforward` prints instead the lines that make Caddy's
# X-Forwarded-For the client address (REMOTE_ADDR), believed only from the
# addresses in TRUSTED_PROXIES (default: loopback, where `make run` and the
# tests run Caddy; docker-compose.yml sets Caddy's fixed address). No other
# header and no other peer can name the client (SECURITY.md).
set -u
if [ "${1:-}" = extforward ]; then
  line='extforward.forwarder = ('
  IFS=', ' read -r -a proxies <<<"${TRUSTED_PROXIES:-127.0.0.1,::1}"
  for p in "${proxies[@]}"; do
    [ -n "$p" ] || continue
    if [[ ! "$p" =~ ^[0-9A-Fa-f.:]+(/[0-9]+)?$ ]]; then
      echo "cgi-env: TRUSTED_PROXIES entry '$p' is not an IP address or CIDR range; fix it in .env" >&2
      exit 1
    fi
    line+="\"$p\" => \"trust\", "
  done
  echo "${line})"
  echo 'extforward.headers = ("X-Forwarded-For")'
  exit 0
fi
if [ "${1:-}" = scgi ]; then
  mode=${AIFACADE_MODE:-process}
  procs=${AIFACADE_PROCS:-4}
  max=${AIFACADE_MAX_REQUESTS:-1000}
  # The everyday path, persistent in persistent mode.
  everyday=(register login logout me health conversations chat clear search export import)
  # Every endpoint that opens the database (the Makefile's ENDPOINTS but
  # notfound). On PostgreSQL each runs warm in both modes: a CGI run would
  # load libpq and connect for every request, about three times a whole
  # SQLite run (docs/issue14-plan.md, "Web programs on PostgreSQL").
  all=("${everyday[@]}" messages admin_users admin_reset admin_invites admin_audit account account_password
    account_sessions account_tokens password_reset gateway_chat gateway_models)
  forking=()
  persist=()
  case "$mode" in
    process) forking=(chat me conversations) ;;
    persistent) persist=("${everyday[@]}") ;;
    *) echo "cgi-env: AIFACADE_MODE must be process or persistent (got '$mode'); fix it in .env" >&2; exit 1 ;;
  esac
  # DATABASE, or the file DATABASE_FILE names (a URL with a password in it
  # stays out of lighttpd's configuration), as common/config.c reads them.
  database=${DATABASE:-}
  if [ -z "$database" ] && [ -n "${DATABASE_FILE:-}" ]; then
    f=$DATABASE_FILE
    [[ "$f" == /* ]] || f=${AIFACADE_ROOT:-.}/$f
    database=$(head -c 64 "$f" 2>/dev/null) ||
      { echo "cgi-env: DATABASE_FILE names a file that cannot be read ($f); check its path and permissions" >&2; exit 1; }
  fi
  case "$database" in
    postgresql://* | postgres://*)
      forking=()
      for e in "${all[@]}"; do
        [[ " ${persist[*]} " == *" $e "* ]] || forking+=("$e")
      done ;;
  esac
  [[ "$procs" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "cgi-env: AIFACADE_PROCS must be a whole number from 1 to 999; fix it in .env" >&2; exit 1; }
  [[ "$max" =~ ^[1-9][0-9]{0,8}$ ]] || { echo "cgi-env: AIFACADE_MAX_REQUESTS must be a whole number from 1; fix it in .env" >&2; exit 1; }
  for e in "${forking[@]}" "${persist[@]}"; do
    if [[ " ${persist[*]} " == *" $e "* ]]; then
      emode=persistent n=$procs
    else
      emode=process n=1
    fi
    # The export's two addresses are rewritten to /api/export (lighttpd.conf).
    echo "\$HTTP[\"url\"] =~ \"^/api/$e(/|\$)\" {"
    echo "  scgi.server = (\"/api/$e\" => (("
    echo "    \"socket\" => env.AIFACADE_INSTANCE + \"/$e.sock\","
    echo "    \"bin-path\" => var.cgi_dir + \"/$e\","
    echo "    \"bin-environment\" => (\"AIFACADE_MODE\" => \"$emode\", \"AIFACADE_MAX_REQUESTS\" => \"$max\"),"
    echo "    \"check-local\" => \"disable\","
    echo "    \"min-procs\" => $n,"
    echo "    \"max-procs\" => $n,"
    echo "  )))"
    echo "}"
  done
  exit 0
fi
names=(AIFACADE_ROOT AIFACADE_INSTANCE DATABASE DATABASE_FILE SECRET_KEY SECRET_KEY_FILE
  AI_API_KEY AI_API_KEY_FILE DEEPSEEK_API_KEY DEEPSEEK_API_KEY_FILE AI_API_URL AI_MODEL AI_MODELS
  AI_SYSTEM_PROMPT AI_IDLE_TIMEOUT AI_TIMEOUT AI_FIRST_TOKEN_TIMEOUT AI_CONTEXT_CHARS AI_TITLES
  ANSWER_STORE_WAIT MAX_STREAMS_PER_USER MAX_STREAMS_TOTAL
  RATE_LIMIT_PROMPTS RATE_LIMIT_LOGIN RATE_LIMIT_AUTH_IP PROMPT_MAX_CHARS IMPORT_MAX_BYTES
  SESSION_IDLE_TIMEOUT SESSION_MAX_AGE TRUSTED_PROXIES COOKIE_SECURE
  REGISTRATION QUOTA_PROMPTS_DAY QUOTA_TOKENS_MONTH AUTH_TRUSTED_HEADER PASSWORD_HASH_COST
  AIFACADE_SANDBOX AIFACADE_MODE AIFACADE_PROCS AIFACADE_MAX_REQUESTS ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS TZ)
line='setenv.add-environment = ('
for n in "${names[@]}"; do
  [ -n "${!n+x}" ] || continue
  v=${!n}
  if [[ "$v" == *[\"\\$'\n\r']* ]]; then
    echo "cgi-env: $n holds a quote, backslash or line break; set it in .env instead" >&2
    continue
  fi
  line+="\"$n\" => \"$v\", "
done
echo "${line})"
