#!/usr/bin/env bash
# check-output.sh: flags printf-family calls that could write HTML, JSON or
# SQL with %s outside the escapers (STYLE.md, "Output"). Exits 1 on a find.
#
# Allowed: log lines (log_*), error text for the operator (snprintf into err
# or msg buffers), and the modules whose job is output (escape.c, response.c).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
bad=0
while IFS= read -r hit; do
  file=${hit%%:*}
  case "$file" in
    common/escape.c|common/response.c|common/log.c|tools/aifacadectl.c|tests/*) continue ;;
  esac
  # A %s written by hand next to markup or JSON punctuation, or into SQL.
  if grep -qE '"[^"]*(<[a-zA-Z/]|\{\\"|\\":|SELECT |INSERT |UPDATE |DELETE )[^"]*%s' <<<"$hit" ||
     grep -qE '%s[^"]*(</|\\"\}|\\",)' <<<"$hit"; then
    echo "check-output: $hit"
    bad=1
  fi
done < <(grep -nE '\b(printf|fprintf|sprintf|snprintf|buf_printf|xasprintf|dprintf)\s*\(' common/*.c cgi-bin/*.c tools/*.c 2>/dev/null)
if grep -nE 'sqlite3_(exec|prepare[_a-z0-9]*)\s*\([^,]+,\s*[a-z_]+\s*[,)]' common/*.c cgi-bin/*.c tools/*.c |
   grep -vE 'sql\[id\]|\bq\b|pragmas|drop|migrations\[v\]|pragma\b|"'; then
  echo "check-output: SQL text passed from a variable other than the fixed statement tables"
  bad=1
fi
exit $bad
