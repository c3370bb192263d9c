#!/usr/bin/env bash
# check-output.sh: the output lint of `make lint` (STYLE.md, "Output"): it
# sees every write to the client, not only printf calls. Exits 1 on a find,
# naming file:line and the rule.
#   tools/check-output.sh [ROOT]   (default: this checkout)
#
# Rules, for common/*.c and cgi-bin/*.c (and tools/*.c where said):
# 1. writer: only common/response.c writes bytes out. A call of write,
#    writev, send*, fwrite, fputs, fputc, putc, putchar, puts, printf,
#    vprintf, dprintf, fprintf or fdopen elsewhere is flagged, unless it
#    names stderr or STDERR_FILENO (the log, never the client), or the line
#    or the line above says "check-output:" and why it is not response
#    output (a fixed last-resort answer, a file of the instance). Files
#    others were editing when this rule came get their reason in the
#    "known" list below instead; move it to the line when you next edit it.
# 2. body: only response_* functions fill a response: touching a
#    response's body or headers (res->body, res.headers, ...) outside
#    common/response.c is flagged.
# 3. markup: building HTML or JSON by hand, a buf_append*/buf_printf or
#    printf-family call whose string literal holds a tag ("<p", "</") or
#    JSON punctuation ({\" \": \",) is flagged outside the modules whose
#    job is markup (common/escape.c, common/markdown.c, common/archive.c
#    for the export formats). Also tools/*.c.
# 4. sql: a printf-family %s into SQL text, or SQL run from a variable other
#    than the fixed statement tables. Also tools/*.c.
# Lines that are comments (starting with /*, * or //) are not code.
set -u
root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$root" || exit 2
shopt -s nullglob
app=(common/*.c cgi-bin/*.c)
all=("${app[@]}" tools/*.c)
bad=0

flag() { # file:line:text rule
  echo "check-output: ${1}  [${2}]"
  bad=1
}

# Prints "file:line:text" for lines of files matching an ERE, comments and
# the line-or-line-above marker "check-output:" left out (when marker=1).
scan() { # marker ERE files...
  local marker=$1 ere=$2
  shift 2
  [ $# -gt 0 ] || return 0
  # The ERE goes through the environment: awk -v would eat its backslashes.
  ERE=$ere MARKER=$marker awk '
    BEGIN { ere = ENVIRON["ERE"]; marker = ENVIRON["MARKER"] + 0 }
    FNR == 1 { prev = "" }
    {
      line = $0
      if (line ~ /^[ \t]*(\/\*|\*|\/\/)/) { prev = line; next }
      if (line ~ ere && !(marker && (line ~ /check-output:/ || prev ~ /check-output:/)))
        print FILENAME ":" FNR ":" line
      prev = line
    }' "$@"
}

except() { # file... : the app files other than these
  local f x keep
  for f in "${app[@]}"; do
    keep=1
    for x in "$@"; do [ "$f" = "$x" ] && keep=0; done
    [ $keep = 1 ] && echo "$f"
  done
}

# 1. writer
# file|ERE of a line, and why it is not the client or is a fixed answer.
known=(
  'common/config.c|write\(fd, hex, 64\)|instance/secret_key, a file of the instance'
  'common/scgi.c|write\(conn, busy, |the fixed 503 when no process can be forked for a request'
)
is_known() { # file:line:text
  local k file ere
  for k in "${known[@]}"; do
    file=${k%%|*}; ere=${k#*|}; ere=${ere%%|*}
    [ "${1%%:*}" = "$file" ] && grep -qE "$ere" <<<"${1#*:*:}" && return 0
  done
  return 1
}
mapfile -t files < <(except common/response.c)
while IFS= read -r hit; do
  grep -qE '\b(stderr|STDERR_FILENO)\b' <<<"$hit" && continue
  is_known "$hit" && continue
  flag "$hit" "writer: only response.c writes to the client; say why with 'check-output:' if this is not the client"
done < <(scan 1 '(^|[^a-zA-Z0-9_.>])(write|writev|pwrite|send|sendmsg|sendto|fwrite|fputs|fputc|putc|putchar|puts|printf|vprintf|dprintf|vdprintf|fprintf|vfprintf|fdopen)[ \t]*\(' "${files[@]}")

# 2. body
while IFS= read -r hit; do
  flag "$hit" "body: a response is filled only through response_* (response.h)"
done < <(scan 0 '(^|[^a-zA-Z0-9_])res[a-z_]*[ \t]*(->|\.)[ \t]*(body|headers)([^a-zA-Z0-9_]|$)' "${files[@]}")

# 3. markup
# archive.c writes the export formats: the streamed document's envelope
# around objects json-c serialises, and the Markdown export's fixed
# <details> wrapper; every value in them goes through json-c or escape.c.
mapfile -t files < <(except common/escape.c common/markdown.c common/archive.c; printf '%s\n' tools/*.c)
while IFS= read -r hit; do
  flag "$hit" "markup: HTML and JSON are built by escape.c, markdown.c and json-c only"
done < <(scan 0 '(buf_append[a-z_]*|buf_printf|xasprintf|s?n?printf|fprintf|dprintf)[ \t]*\(.*"([^"\\]|\\.)*(<[a-zA-Z!/]|\{\\"|\\":|\\",)' "${files[@]}")

# 4. sql
while IFS= read -r hit; do
  flag "$hit" "sql: statements are fixed text with bound parameters"
done < <(scan 0 '(printf|xasprintf)[ \t]*\(.*"[^"]*(SELECT |INSERT |UPDATE |DELETE )[^"]*%s' "${all[@]}")
while IFS= read -r hit; do
  grep -qE 'sql\[id\]|\bq\b|pragmas|drop|migrations\[v\]|pragma\b|"' <<<"$hit" && continue
  flag "$hit" "sql: SQL text passed from a variable other than the fixed statement tables"
done < <(scan 0 'sqlite3_(exec|prepare[_a-z0-9]*)[ \t]*\([^,]+,[ \t]*[a-z_]+[ \t]*[,)]' "${all[@]}")

exit $bad
