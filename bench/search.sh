#!/usr/bin/env bash
# search.sh: the cost of one search (README, "Search") in a 100,000-message
# database. Builds a database with aifacadectl (so the FTS5 index is made by
# the real migration and kept by its triggers while the rows go in): 1,000
# users, 2,000 conversations, 100,000 messages of 60 words each drawn from
# a vocabulary of 2,000 ("w0".."w1999", skewed so that low numbers are
# common), then times store_search() with bench/searchtime for one user.
#   bench/search.sh          (BENCH_RUNS=20 by default)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${1:-build}
make -s all BUILD="$build" >/dev/null
mkdir -p "$build/bench"
cc -std=c11 -O2 -Wall -Wextra -Werror -Icommon -o "$build/bench/searchtime" bench/searchtime.c "$build/libaifacade.a" \
  -Wl,-Bstatic -lcmark-gfm-extensions -lcmark-gfm -lsqlite3 -ljson-c -lsodium -Wl,-Bdynamic -lm -lpthread -ldl
runs=${BENCH_RUNS:-20}
dir=$(mktemp -d /tmp/aifacade-bench-search.XXXXXX)
if [ -n "${BENCH_KEEP:-}" ]; then
  echo "keeping $dir" >&2
else
  trap 'rm -rf "$dir"' EXIT
fi
db=$dir/aifacade.db
env -i PATH="$PATH" AIFACADE_ROOT="$dir" AIFACADE_INSTANCE="$dir" DATABASE="$db" \
  "$build/tools/aifacadectl" init-db >/dev/null
s=$(date +%s)
sqlite3 "$db" <<'SQL'
PRAGMA foreign_keys = ON;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO users (username, username_key, password_hash, created_at) SELECT 'user' || i, 'user' || i, 'x', 0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO conversations (user_id, title, created_at, updated_at)
SELECT 1 + i % 1000, 'talk about w' || (i * 7 % 2000), i, i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO messages (conversation_id, role, content, status, created_at)
SELECT 1 + i % 2000, CASE i % 2 WHEN 0 THEN 'user' ELSE 'assistant' END,
  (WITH RECURSIVE w(j, s) AS (SELECT 0, '' UNION ALL
     SELECT j + 1, s || ' w' || (((i * 2654435761 + j * 40503) % 2000) * ((i + j) % 2000) / 2000) FROM w WHERE j < 60)
   SELECT s FROM w WHERE j = 60),
  'ok', i FROM n;
COMMIT;
SQL
echo "database: $(sqlite3 "$db" 'SELECT count(*) FROM messages') messages, $(du -m "$db" | cut -f1) MiB with the index; filled in $(($(date +%s) - s)) s"
echo
echo "| query (user 7: 200 conversations, 10,000 messages of the 100,000) | results | median us | p90 us |"
echo "|---|---:|---:|---:|"
"$build/bench/searchtime" "$db" 7 "$runs" 'w0' 'w1500' 'w12 w345' 'w19*' '"w1 w2"' 'zebra'
