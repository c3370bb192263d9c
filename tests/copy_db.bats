#!/usr/bin/env bats
# copy_db.bats: aifacadectl copy-db, the way from SQLite to PostgreSQL and
# back (README, "Moving from SQLite to PostgreSQL"). Accounts, sessions,
# conversations with branches and API tokens are made through the shared
# stack (SQLite), backed up into a quiet file and copied into the empty
# database of a private stack on PostgreSQL (tests/pg.sh's cluster), which
# then serves them; the copy comes back into a new SQLite file row for row;
# a target that holds anything is refused and keeps it.

load helpers

# No skip in setup_file: bats before 1.9 (Debian 12 has 1.8.2) reports it as a failure.
setup_file() {
  export PG_MISSING="" SRC_STACK_DIR=${STACK_DIR:-} SRC_BASE_URL=$BASE_URL
  [ -z "${DEPLOYED:-}" ] && [ "${STACK_KIND:-local}" = local ] && [ -n "${STACK_DIR:-}" ] || return 0
  [ -z "$(stack_pg)" ] || return 0 # the source must be the shared stack's SQLite: setup() skips
  if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || ! command -v pgbouncer >/dev/null ||
    ! command -v psql >/dev/null; then
    PG_MISSING=1
    return 0
  fi
  # Beside tests/run.sh's: PostgreSQL, run as its own user under root,
  # cannot pass through bats's private temporary directories.
  PG_DIR=$(mktemp -d /tmp/aifacade-pg.XXXXXX)
  export PG_DIR
  "$BATS_TEST_DIRNAME/pg.sh" start "$PG_DIR" 3>&-
  local cluster
  # shellcheck source=/dev/null
  cluster=$(. "$PG_DIR/pg.env" && echo "$DATABASE")
  AIFACADE_TEST_DATABASE=$cluster private_stack_start
  # The private stack (PostgreSQL) by its own names; the shared one stays BASE_URL.
  export PG_BASE_URL=$BASE_URL PG_STACK_DIR=$STACK_DIR
  # shellcheck source=/dev/null
  PG_DB=$(. "$PG_STACK_DIR/stack.env" && echo "$STACK_DATABASE")
  export PG_DB BASE_URL=$SRC_BASE_URL STACK_DIR=$SRC_STACK_DIR
}

teardown_file() {
  private_stack_stop
  [ -z "${PG_DIR:-}" ] || { "$BATS_TEST_DIRNAME/pg.sh" stop "$PG_DIR" 3>&-; rm -rf "$PG_DIR"; }
}

setup() {
  [ -z "${DEPLOYED:-}" ] || skip "copies a stack's database on this machine; not run against a deployed BASE_URL"
  [ "${STACK_KIND:-local}" = local ] || skip "needs the local stack's SQLite file and a PostgreSQL cluster here"
  [ -z "$PG_MISSING" ] || skip "PostgreSQL is not installed (initdb, pgbouncer, psql); run 'make deps'"
  needs_local
  [ -n "${PG_DB:-}" ] || skip "the shared stack runs on PostgreSQL; this suite copies from its SQLite file"
  CTL="$BATS_TEST_DIRNAME/../${AIFACADE_BUILD:-build}/tools/aifacadectl"
  SRC=$BATS_FILE_TMPDIR/source.db
  BACK=$BATS_FILE_TMPDIR/back.db
  TABLES="users sessions rate_events conversations messages turns api_tokens invites password_resets usage audit gateway_calls"
}

# ctl ARGS...: the admin command with nothing of the developer's; its
# temporary files go to a directory the test then finds empty.
ctl() {
  mkdir -p "$BATS_FILE_TMPDIR/root" "$BATS_FILE_TMPDIR/tmp"
  env -i PATH="$PATH" LANG=C.UTF-8 AIFACADE_ROOT="$BATS_FILE_TMPDIR/root" TMPDIR="$BATS_FILE_TMPDIR/tmp" \
    AIFACADE_INSTANCE="$SRC_STACK_DIR/instance" "$CTL" "$@"
}

pg() {
  psql "$PG_DB" -AtqX -v ON_ERROR_STOP=1 -c "$1"
}

# counts_sql: one query that gives "table|count" for every table, on
# either engine; counts_sqlite FILE and counts_pg run it.
counts_sql() {
  local t q=""
  for t in $TABLES; do q="$q${q:+ UNION ALL }SELECT '$t', count(*) FROM $t"; done
  echo "$q"
}
counts_sqlite() {
  sqlite3 -readonly "$1" "$(counts_sql)"
}
counts_pg() {
  pg "$(counts_sql)"
}

# rows FILE: every row of every table, table by table, in one sqlite3 run.
rows() {
  local t q=""
  for t in $TABLES; do q="$q SELECT '== $t'; SELECT * FROM $t ORDER BY 1, 2;"; done
  sqlite3 -readonly "$1" "$q"
}

# on_pg ARGS...: an api call to the stack on PostgreSQL.
on_pg() {
  BASE_URL=$PG_BASE_URL api "$@"
}

@test "copy-db: its help, and FROM and TO that cannot be" {
  run ctl copy-db --help
  assert_success
  assert_output --partial "usage: aifacadectl copy-db FROM TO"
  assert_output --partial "one transaction"
  run ctl --help
  assert_output --partial "  copy-db FROM TO"
  run ctl copy-db "$SRC"
  assert_equal "$status" 2
  assert_output --partial "missing FROM and TO"
  run ctl copy-db "$PG_DB" "$PG_DB"
  assert_equal "$status" 2
  assert_output --partial "the same database"
  run ctl copy-db "$BATS_FILE_TMPDIR/nothing.db" "$BATS_FILE_TMPDIR/new.db"
  assert_failure
  assert_output --partial "No such file"
  [ ! -e "$BATS_FILE_TMPDIR/new.db" ]
}

@test "copy-db: SQLite with accounts, branches and tokens into PostgreSQL and back, every row" {
  # Through the shared stack (SQLite): two users, one conversation with a
  # regenerated answer and an edited prompt, an API token, sessions.
  JAR=$BATS_FILE_TMPDIR/owner.jar
  USERNAME=$(unique_name)
  echo "$USERNAME" >"$BATS_FILE_TMPDIR/owner"
  register "$USERNAME"
  api POST /api/chat '{"prompt":"copy alpha"}'
  assert_equal "$code" 200
  cid=$(json .conversation_id)
  api POST /api/chat "{\"prompt\":\"copy second\",\"conversation_id\":$cid}"
  assert_equal "$code" 200
  b1=$(json .message.id)
  second=$(json .message.parent_id)
  api POST /api/chat "{\"regenerate\":$b1}"
  assert_equal "$code" 200
  api POST /api/chat "{\"edit\":$second,\"prompt\":\"copy beta\"}"
  assert_equal "$code" 200
  echo "$cid" >"$BATS_FILE_TMPDIR/cid"
  api POST /api/account/tokens '{"name":"copied token"}'
  assert_equal "$code" 201
  # The newest conversation deleted: its id was handed out and is gone.
  api POST /api/conversations '{"title":"gone"}'
  assert_equal "$code" 201
  gone=$(json .id)
  api DELETE "/api/conversations/$gone"
  assert_equal "$code" 204
  JAR=$BATS_FILE_TMPDIR/other.jar new_user
  # A quiet SQLite file of all of it (nothing writes to it while we compare).
  run ctl backup "$SRC"
  assert_success
  [ "$(sqlite3 -readonly "$SRC" "SELECT count(*) FROM messages WHERE conversation_id = $cid")" -eq 7 ]
  [ "$(sqlite3 -readonly "$SRC" "SELECT count(*) FROM api_tokens")" -ge 1 ]
  [ "$(sqlite3 -readonly "$SRC" "SELECT count(*) FROM conversations WHERE id >= $gone")" -eq 0 ]

  run ctl copy-db "$SRC" "$PG_DB"
  assert_success
  refute_output --partial "DIFFERS"
  assert_output --partial "every table's count the same"
  assert_output --regexp "messages +[0-9]+ +[0-9]+"
  # The counts it printed are the counts there are, on both sides.
  while IFS='|' read -r t n; do
    grep -Eq "^$t +$n +$n\$" <<<"$output" || fail "copy-db printed no count $n for $t"
  done < <(counts_sqlite "$SRC")
  assert_equal "$(counts_pg)" "$(counts_sqlite "$SRC")"
  # Its private copies are gone.
  assert_equal "$(ls -A "$BATS_FILE_TMPDIR/tmp")" ""

  # Back into a new SQLite file: every row of every table as it was.
  run ctl copy-db "$PG_DB" "$BACK"
  assert_success
  refute_output --partial "DIFFERS"
  rows "$SRC" >"$BATS_FILE_TMPDIR/source.rows"
  rows "$BACK" >"$BATS_FILE_TMPDIR/back.rows"
  [ "$(wc -l <"$BATS_FILE_TMPDIR/source.rows")" -gt 20 ]
  run diff "$BATS_FILE_TMPDIR/source.rows" "$BATS_FILE_TMPDIR/back.rows"
  assert_success
  # The way back hands out no id twice either: the deleted one stays used.
  cp "$BACK" "$BATS_FILE_TMPDIR/next.db"
  next=$(sqlite3 "$BATS_FILE_TMPDIR/next.db" "INSERT INTO conversations (user_id, title, created_at, updated_at)
    SELECT min(id), 'next', 0, 0 FROM users RETURNING id")
  [ "$next" -gt "$gone" ] || fail "the copy back handed out conversation id $next again (deleted: $gone)"
  assert_equal "$(sqlite3 -readonly "$BACK" 'PRAGMA user_version')" "$(sqlite3 -readonly "$SRC" 'PRAGMA user_version')"
}

@test "copy-db: the app on the copy logs in, reads the branches and hands out no id twice" {
  [ -f "$BATS_FILE_TMPDIR/cid" ] || skip "needs the copy of the test before"
  cid=$(cat "$BATS_FILE_TMPDIR/cid")
  JAR=$BATS_FILE_TMPDIR/pg.jar
  BASE_URL=$PG_BASE_URL login "$(cat "$BATS_FILE_TMPDIR/owner")"
  assert_equal "$code" 200
  BASE_URL=$PG_BASE_URL fetch_csrf
  on_pg GET "/api/conversations/$cid"
  assert_equal "$code" 200
  # The branch last looked at (the edited prompt) with its answer.
  assert_equal "$(json '[.messages[].content] | join("|")')" "copy alpha|Echo: copy alpha|copy beta|Echo: copy beta"
  edited=$(json '.messages[2].id')
  on_pg GET "/api/messages/$edited"
  assert_equal "$code" 200
  assert_equal "$(json '.message.siblings | length')" 2
  on_pg GET /api/account/tokens
  assert_equal "$(json 'any(.tokens[]; .name == "copied token")')" true
  # New rows take ids past every id the source had handed out.
  on_pg POST /api/conversations '{"title":"after the move"}'
  assert_equal "$code" 201
  new=$(json .id)
  seq=$(sqlite3 -readonly "$SRC" "SELECT max((SELECT seq FROM sqlite_sequence WHERE name = 'conversations'), (SELECT max(id) FROM conversations))")
  [ "$new" -gt "$seq" ]
  on_pg POST /api/chat "{\"prompt\":\"after\",\"conversation_id\":$new}"
  assert_equal "$code" 200
  mseq=$(sqlite3 -readonly "$SRC" "SELECT max((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), (SELECT max(id) FROM messages))")
  [ "$(json .message.id)" -gt "$mseq" ]
}

@test "copy-db: a target that holds anything is refused, says what it holds, and keeps it" {
  [ -f "$BACK" ] || skip "needs the copies of the test before"
  before=$(counts_pg)
  users=$(pg "SELECT count(*) FROM users")
  run ctl copy-db "$SRC" "$PG_DB"
  assert_failure
  assert_output --partial "refusing to copy into"
  assert_output --partial "it holds $users users"
  assert_output --partial "reset-db"
  assert_equal "$(counts_pg)" "$before"
  assert_equal "$(ls -A "$BATS_FILE_TMPDIR/tmp")" ""
  # A SQLite target alike: not a byte of it changes.
  sum=$(sha256sum <"$BACK")
  run ctl copy-db "$PG_DB" "$BACK"
  assert_failure
  assert_output --partial "refusing to copy into $BACK"
  assert_equal "$(sha256sum <"$BACK")" "$sum"
  # A file that is no AIFacade database is not made one.
  printf 'not a database\n' >"$BATS_FILE_TMPDIR/notes.txt"
  run ctl copy-db "$SRC" "$BATS_FILE_TMPDIR/notes.txt"
  assert_failure
  assert_output --partial "nothing was changed"
  assert_equal "$(cat "$BATS_FILE_TMPDIR/notes.txt")" "not a database"
}
