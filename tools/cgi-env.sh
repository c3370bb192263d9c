#!/usr/bin/env bash
# cgi-env.sh: prints the lighttpd setenv line that hands AIFacade's settings
# to the CGI programs (lighttpd gives them no environment of its own).
# Values with quotes, backslashes or line breaks cannot be passed this way;
# put those in .env, which the programs read themselves.
set -u
names=(AIFACADE_ROOT AIFACADE_INSTANCE DATABASE SECRET_KEY SECRET_KEY_FILE
  AI_API_KEY AI_API_KEY_FILE DEEPSEEK_API_KEY DEEPSEEK_API_KEY_FILE AI_API_URL AI_MODEL AI_MODELS
  AI_SYSTEM_PROMPT AI_IDLE_TIMEOUT AI_TIMEOUT AI_CONTEXT_CHARS AI_TITLES
  RATE_LIMIT_PROMPTS RATE_LIMIT_LOGIN RATE_LIMIT_AUTH_IP PROMPT_MAX_CHARS
  SESSION_IDLE_TIMEOUT SESSION_MAX_AGE TRUSTED_PROXIES COOKIE_SECURE
  ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS TZ)
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
