#!/usr/bin/env bats
# admin.bats: the admin command (build/tools/aifacadectl) against a running
# stack's database: every subcommand, bad arguments, refusals without --yes,
# and a backup taken while prompts stream that restores whole turns.
# It runs on a private stack (its destructive commands would wipe the other
# suites' data) and is skipped against a deployed BASE_URL.

load helpers

# No skip in setup_file: bats before 1.9 (Debian 12 has 1.8.2) reports it as a failure.
setup_file() {
  [ -n "${DEPLOYED:-}" ] || private_stack_start
}

teardown_file() {
  [ -n "${DEPLOYED:-}" ] || private_stack_stop
}

setup() {
  [ -z "${DEPLOYED:-}" ] || skip "runs the admin command on a stack's database; not run against a deployed BASE_URL"
  [ -n "${STACK_DIR:-}" ] || skip "needs the local stack's database"
  CTL="$BATS_TEST_DIRNAME/../${AIFACADE_BUILD:-build}/tools/aifacadectl"
  DB="$STACK_DIR/instance/aifacade.db"
  # On PostgreSQL (tests/stack.sh) the commands and queries go to its database.
  PG=$(stack_pg)
  [ -z "$PG" ] || DB=$PG
}

# ctl ARGS...: the admin command with only the settings the stack's programs
# have (no .env of the developer's: AIFACADE_ROOT is an empty directory).
ctl() {
  mkdir -p "$BATS_FILE_TMPDIR/root"
  env -i PATH="$PATH" LANG=C.UTF-8 AIFACADE_ROOT="$BATS_FILE_TMPDIR/root" \
    AIFACADE_INSTANCE="$STACK_DIR/instance" ${PG:+DATABASE_FILE="$STACK_DIR/database.url"} "$CTL" "$@"
}

# count DB QUERY and write_db DB STATEMENTS: the stack's database (either
# backend) when DB is $DB, else that SQLite file.
count() {
  if [ "$1" = "$DB" ]; then sql "$2"; else sqlite3 -readonly "$1" "$2"; fi
}
write_db() {
  if [ "$1" = "$DB" ]; then sql_write "$2"; else sqlite3 "$1" "$2"; fi
}

# broken_turns FILE: prints the number of broken turns: a user message
# without its assistant answer right after it, or halves of one turn that
# disagree on the outcome, or an answer without its question.
broken_turns() {
  sqlite3 -readonly "$1" "
    SELECT (SELECT count(*) FROM messages u WHERE u.role = 'user' AND NOT EXISTS (
              SELECT 1 FROM messages a WHERE a.id = u.id + 1 AND a.role = 'assistant'
                AND a.conversation_id = u.conversation_id AND a.status = u.status))
         + (SELECT count(*) FROM messages a WHERE a.role = 'assistant' AND NOT EXISTS (
              SELECT 1 FROM messages u WHERE u.id = a.id - 1 AND u.role = 'user'
                AND u.conversation_id = a.conversation_id))"
}

@test "admin: --help lists every command; unknown commands, options and arguments exit 2" {
  run ctl --help
  assert_success
  for c in init-db migrate render-html stats users delete-user clear-all reset-db backup restore import import-flask; do
    assert_output --partial "  $c"
  done
  assert_output --partial "exit status"
  run ctl
  assert_equal "$status" 2
  run ctl frobnicate
  assert_equal "$status" 2
  assert_output --partial "unknown command 'frobnicate'"
  run ctl users --bogus
  assert_equal "$status" 2
  assert_output --partial "unknown option '--bogus'"
  run ctl stats extra
  assert_equal "$status" 2
  run ctl backup
  assert_equal "$status" 2
  assert_output --partial "missing the FILE"
  run ctl delete-user
  assert_equal "$status" 2
  run ctl backup "" --force
  assert_equal "$status" 2
  run ctl clear-all --force --yes
  assert_equal "$status" 2
}

@test "admin: each command has its own help" {
  for c in init-db migrate render-html stats users delete-user clear-all reset-db backup restore import import-flask; do
    run ctl "$c" --help
    assert_success
    assert_line --index 0 --regexp "^usage: aifacadectl $c( |$)"
    run ctl help "$c"
    assert_success
  done
  run ctl help nothing
  assert_equal "$status" 2
}

@test "admin: destructive commands refuse without --yes, say how, and change nothing" {
  new_user
  api POST /api/conversations '{"title":"keep me"}'
  assert_equal "$code" 201
  ctl backup "$BATS_TEST_TMPDIR/b.db"
  before=$(ctl stats)
  for cmd in "reset-db" "clear-all" "delete-user $USERNAME" "restore $BATS_TEST_TMPDIR/b.db"; do
    # shellcheck disable=SC2086  # split into command and argument
    run ctl $cmd
    assert_equal "$status" 2
    assert_output --partial "refusing to run ${cmd%% *} without --yes"
    assert_output --partial "--yes"
  done
  assert_equal "$(ctl stats)" "$before"
  api GET /api/me
  assert_equal "$code" 200
  ls "$STACK_DIR/instance" | { ! grep -q pre-restore; }
}

@test "admin: init-db and migrate are idempotent; init-db creates a fresh instance" {
  run ctl init-db
  assert_success
  assert_output --regexp "is ready at schema version [1-9]"
  run ctl migrate
  assert_success
  assert_output --partial "the latest this build knows"
  fresh=$BATS_TEST_TMPDIR/fresh/instance
  run env -i PATH="$PATH" AIFACADE_ROOT="$BATS_FILE_TMPDIR/root" AIFACADE_INSTANCE="$fresh" "$CTL" init-db
  assert_success
  [ "$(stat -c %a "$fresh")" = 700 ]
  [ "$(stat -c %a "$fresh/secret_key")" = 600 ]
  [ "$(count "$fresh/aifacade.db" 'PRAGMA user_version')" -ge 1 ]
}

@test "admin: render-html stores the HTML reads would render; the answers stay byte-identical" {
  new_user
  api POST /api/chat '{"prompt":"[[fake:markdown]] <b>bold?</b> & \"quotes\""}'
  assert_equal "$code" 200
  id=$(json .conversation_id)
  # An interrupted partial answer too: a stream the provider cuts.
  curl -sk -N -A "$UA" -b "$BATS_TEST_TMPDIR/jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
    -H 'Accept: text/event-stream' --max-time 30 -o /dev/null \
    --data-binary "{\"prompt\":\"cut [[fake:cut]] [[fake:chunks=8]]\",\"conversation_id\":$id}" "$BASE_URL/api/chat"
  where="conversation_id = $id" agg="group_concat(status)"
  [ -z "$PG" ] || agg="string_agg(status, ',' ORDER BY id)"
  assert_equal "$(count "$DB" "SELECT $agg FROM messages WHERE $where AND role = 'assistant'")" \
    "ok,interrupted"
  assert_equal "$(count "$DB" "SELECT count(*), count(html) FROM messages WHERE $where AND content <> ''")" "4|4"
  api GET "/api/conversations/$id"
  assert_equal "$code" 200
  cp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/stored"
  # Rows as a build before the migration left them, and as an older renderer did.
  write_db "$DB" "UPDATE messages SET html = NULL, html_version = NULL WHERE $where AND role = 'user';
    UPDATE messages SET html = '<p>stale</p>', html_version = html_version + 1 WHERE $where AND role = 'assistant';"
  api GET "/api/conversations/$id"
  assert_equal "$code" 200
  cmp "$BATS_TEST_TMPDIR/stored" "$BATS_TEST_TMPDIR/body"
  assert_equal "$(count "$DB" "SELECT count(html) FROM messages WHERE $where AND role = 'user'")" 0
  run ctl render-html
  assert_success
  assert_output --regexp '^stored the HTML of [1-9][0-9]* messages in .* \(renderer revision [0-9]+\)$'
  assert_equal "$(count "$DB" "SELECT count(*) FROM messages WHERE $where AND (html IS NULL OR html = '<p>stale</p>')")" 0
  api GET "/api/conversations/$id"
  cmp "$BATS_TEST_TMPDIR/stored" "$BATS_TEST_TMPDIR/body"
  run ctl render-html
  assert_success
  assert_output --regexp '^stored the HTML of 0 messages'
}

@test "admin: commands other than init-db and restore never create a database" {
  run env -i PATH="$PATH" AIFACADE_ROOT="$BATS_FILE_TMPDIR/root" AIFACADE_INSTANCE="$BATS_TEST_TMPDIR/none" "$CTL" users
  assert_equal "$status" 1
  assert_output --partial "AIFACADE_INSTANCE"
  mkdir -p "$BATS_TEST_TMPDIR/empty"
  run env -i PATH="$PATH" AIFACADE_ROOT="$BATS_FILE_TMPDIR/root" AIFACADE_INSTANCE="$BATS_TEST_TMPDIR/empty" \
    DATABASE="$BATS_TEST_TMPDIR/empty/x.db" SECRET_KEY=0123456789abcdef0123456789abcdef "$CTL" stats
  assert_equal "$status" 1
  assert_output --partial "there is no database at"
  [ ! -e "$BATS_TEST_TMPDIR/empty/x.db" ]
}

@test "admin: stats and users report what the app stored" {
  new_user
  api POST /api/conversations '{"title":"one"}'
  api POST /api/conversations '{"title":"two"}'
  api POST /api/chat '{"prompt":"hello there"}'
  assert_equal "$code" 200
  run ctl stats
  assert_success
  assert_line "users $(count "$DB" 'SELECT count(*) FROM users')"
  assert_line "messages $(count "$DB" 'SELECT count(*) FROM messages')"
  assert_line --regexp '^schema_version [1-9]'
  run ctl users
  assert_success
  assert_line --index 0 "$(printf 'name\trole\tstatus\tcreated\tlast_seen\tconversations\tmessages')"
  tab=$'\t' iso='20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
  # The first user to register is the admin (README, "Accounts and administration").
  role=$(count "$DB" "SELECT role FROM users WHERE username = '$USERNAME'")
  assert_line --regexp "^$USERNAME${tab}${role}${tab}active${tab}${iso}${tab}${iso}${tab}3${tab}2\$"
  write_db "$DB" "UPDATE users SET status = 'disabled', last_seen = NULL WHERE username = '$USERNAME'"
  run ctl users
  write_db "$DB" "UPDATE users SET status = 'active' WHERE username = '$USERNAME'"
  assert_line --regexp "^$USERNAME${tab}${role}${tab}disabled${tab}${iso}${tab}never${tab}3${tab}2\$"
}

@test "admin: users shows control characters in a stored name escaped" {
  esc="char(27)"
  [ -z "$PG" ] || esc="chr(27)"
  write_db "$DB" "INSERT INTO users (username, username_key, password_hash, created_at)
                 VALUES ('evil' || $esc || '[31mred', 'evil-esc-key', 'x', 0)"
  run ctl users
  write_db "$DB" "DELETE FROM users WHERE username_key = 'evil-esc-key'"
  assert_success
  assert_line --partial 'evil\x1b[31mred'
  refute_output --partial $'\e'
}

@test "admin: delete-user matches like login, cascades, and ends the user's sessions" {
  name="MiXed$(unique_name)"
  register "$name"
  api POST /api/chat '{"prompt":"remember me"}'
  assert_equal "$code" 200
  uid=$(count "$DB" "SELECT id FROM users WHERE username = '$name'")
  run ctl delete-user "  ${name,,}  " --yes
  assert_success
  assert_output "deleted user '$name' with 1 conversations and 2 messages; their sessions ended"
  api GET /api/me
  assert_equal "$code" 401
  JAR=$BATS_TEST_TMPDIR/again login "$name"
  assert_equal "$code" 401
  assert_equal "$(count "$DB" "SELECT count(*) FROM conversations WHERE user_id = $uid")" 0
  assert_equal "$(count "$DB" "SELECT count(*) FROM sessions WHERE user_id = $uid")" 0
  assert_equal "$(count "$DB" 'SELECT count(*) FROM messages WHERE conversation_id NOT IN (SELECT id FROM conversations)')" 0
  run ctl delete-user "$name" --yes
  assert_equal "$status" 1
  assert_output --partial "there is no user '$name'"
  run ctl delete-user ab --yes
  assert_equal "$status" 2
  assert_output --partial "no user can have that name"
}

@test "admin: clear-all deletes every user's conversations; accounts and sessions stay" {
  new_user
  api POST /api/conversations '{"title":"first user"}'
  assert_equal "$code" 201
  second=$BATS_TEST_TMPDIR/second
  JAR=$second new_user
  JAR=$second api POST /api/conversations '{"title":"second user"}'
  assert_equal "$code" 201
  run ctl clear-all --yes
  assert_success
  assert_output --regexp '^deleted [0-9]+ conversations with their messages; accounts and sessions stay$'
  assert_equal "$(count "$DB" 'SELECT count(*) FROM conversations')" 0
  assert_equal "$(count "$DB" 'SELECT count(*) FROM messages')" 0
  for jar in "$BATS_TEST_TMPDIR/jar" "$second"; do
    JAR=$jar api GET /api/conversations
    assert_equal "$code" 200
    assert_equal "$(json '.conversations | length')" 0
    JAR=$jar api GET /api/me
    assert_equal "$code" 200
  done
}

@test "admin: backup refuses an existing file, a directory and the database itself; --force replaces" {
  needs_sqlite "it backs up over the database file itself; a PostgreSQL URL is no file"
  out=$BATS_TEST_TMPDIR/b.db
  run ctl backup "$out"
  assert_success
  assert_output --partial "backed up $DB to $out"
  [ "$(stat -c %a "$out")" = 600 ]
  run ctl backup "$out"
  assert_equal "$status" 1
  assert_output --partial "exists; choose a new name, or add --force"
  run ctl backup "$out" --force
  assert_success
  run ctl backup "$BATS_TEST_TMPDIR"
  assert_equal "$status" 1
  assert_output --partial "is a directory"
  run ctl backup "$DB" --force
  assert_equal "$status" 1
  assert_output --partial "is the database itself"
  run ctl backup "$BATS_TEST_TMPDIR/no/such/dir/b.db"
  assert_equal "$status" 1
  assert_output --partial "check that its directory exists"
  [ -z "$(find "$BATS_TEST_TMPDIR" -name '*.tmp-*')" ]
}

@test "admin: backup follows no symlink and refuses a directory others may write" {
  secret=$BATS_TEST_TMPDIR/not-a-backup
  echo "keep me" >"$secret"
  ln -s "$secret" "$BATS_TEST_TMPDIR/link.db"
  for force in "" --force; do
    run ctl backup "$BATS_TEST_TMPDIR/link.db" $force
    assert_equal "$status" 1
    assert_output --partial "is a symbolic link"
  done
  assert_equal "$(cat "$secret")" "keep me"
  # A directory others may write, sticky (as /tmp) or not.
  for mode in 1777 0777 0770; do
    mkdir -m "$mode" "$BATS_TEST_TMPDIR/shared$mode"
    chmod "$mode" "$BATS_TEST_TMPDIR/shared$mode"
    run ctl backup "$BATS_TEST_TMPDIR/shared$mode/b.db"
    assert_equal "$status" 1
    assert_output --partial "may be written by other users"
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/shared$mode")" ]
  done
  # A directory of one's own is fine.
  mkdir -m 0700 "$BATS_TEST_TMPDIR/own"
  run ctl backup "$BATS_TEST_TMPDIR/own/b.db"
  assert_success
}

@test "admin: a backup taken while prompts stream is sound and restores whole turns" {
  needs_sqlite "it reads the live database file with sqlite3 beside the backups (PRAGMA integrity_check); test_store_contract restores on PostgreSQL"
  new_user
  for i in 1 2 3 4 5 6; do
    curl -sk -N -o "$BATS_TEST_TMPDIR/chat$i.sse" -b "$BATS_TEST_TMPDIR/jar" -A "$UA" --max-time 30 \
      -H 'Content-Type: application/json' -H 'Accept: text/event-stream' -H "X-CSRF-Token: $CSRF" \
      --data-binary "{\"prompt\":\"turn $i [[fake:slow=40]] [[fake:chunks=10]]\"}" "$BASE_URL/api/chat" 3>&- &
  done
  for i in 1 2 3 4 5 6; do
    ctl backup "$BATS_TEST_TMPDIR/during$i.db"
    sleep 0.1
  done
  wait
  for i in 1 2 3 4 5 6; do
    grep -q '^event: done' "$BATS_TEST_TMPDIR/chat$i.sse"
    assert_equal "$(count "$BATS_TEST_TMPDIR/during$i.db" 'PRAGMA integrity_check')" ok
    assert_equal "$(broken_turns "$BATS_TEST_TMPDIR/during$i.db")" 0
    in_flight=$((${in_flight:-0} + $(count "$BATS_TEST_TMPDIR/during$i.db" \
      "SELECT count(*) FROM messages WHERE status = 'interrupted' AND role = 'user'")))
  done
  echo "# turns caught in flight by the backups: $in_flight" >&3
  [ "$in_flight" -ge 1 ]
  ctl backup "$BATS_TEST_TMPDIR/after.db"
  assert_equal "$(broken_turns "$BATS_TEST_TMPDIR/after.db")" 0

  # Changes made after the backup are gone once it is restored.
  api POST /api/conversations '{"title":"after the backup"}'
  assert_equal "$code" 201
  run ctl restore "$BATS_TEST_TMPDIR/after.db" --yes
  assert_success
  assert_output --partial "saved the current database as $DB.pre-restore-"
  assert_output --regexp "restored $DB from .*after.db: schema version [1-9]"
  saved=$(ls "$DB".pre-restore-*)
  assert_equal "$(count "$saved" 'PRAGMA integrity_check')" ok
  assert_equal "$(count "$DB" 'PRAGMA integrity_check')" ok
  assert_equal "$(broken_turns "$DB")" 0
  api GET /api/conversations
  assert_equal "$code" 200
  assert_equal "$(json '[.conversations[] | select(.title == "after the backup")] | length')" 0
  assert_equal "$(json '.conversations | length')" 6
  for id in $(json '.conversations[].id'); do
    api GET "/api/conversations/$id"
    assert_equal "$(json '[.messages[].role] | join(",")')" "user,assistant"
    assert_equal "$(json '[.messages[].status] | unique | join(",")')" "ok"
  done
  rm -f "$saved"
}

@test "admin: restore refuses what is not a sound AIFacade database and changes nothing" {
  before=$(ctl stats)
  printf 'not a database\n' >"$BATS_TEST_TMPDIR/text.db"
  sqlite3 "$BATS_TEST_TMPDIR/other.db" 'CREATE TABLE users (id INTEGER); PRAGMA user_version = 1;'
  sqlite3 "$BATS_TEST_TMPDIR/zero.db" 'CREATE TABLE t (x)'
  ctl backup "$BATS_TEST_TMPDIR/good.db"
  cp "$BATS_TEST_TMPDIR/good.db" "$BATS_TEST_TMPDIR/damaged.db"
  # Zeros over the second page and beyond: the tables' pages are gone.
  dd if=/dev/zero of="$BATS_TEST_TMPDIR/damaged.db" bs=4096 seek=1 count=4 conv=notrunc status=none
  for f in text.db other.db zero.db damaged.db missing.db; do
    run ctl restore "$BATS_TEST_TMPDIR/$f" --yes
    assert_equal "$status" 1
    assert_output --regexp "refusing to restore|cannot read"
    refute_output --partial "restored"
  done
  run ctl restore "$BATS_TEST_TMPDIR/text.db" --yes
  assert_output --partial "is not a SQLite database"
  run ctl restore "$BATS_TEST_TMPDIR/other.db" --yes
  assert_output --partial "is not an AIFacade database"
  run ctl restore "$BATS_TEST_TMPDIR/zero.db" --yes
  assert_output --partial "has no AIFacade schema"
  run ctl restore "$DB" --yes
  assert_equal "$status" 1
  assert_equal "$(ctl stats)" "$before"
  ls "$STACK_DIR/instance" | { ! grep -q pre-restore; }
}

@test "admin: backup and restore run leak-free under valgrind" {
  command -v valgrind >/dev/null || skip "valgrind is not installed (make deps installs it)"
  ! ldd "$CTL" 2>/dev/null | grep -q libasan || skip "an ASan build cannot run under valgrind"
  ctl backup "$BATS_TEST_TMPDIR/src.db"
  cp "$BATS_TEST_TMPDIR/src.db" "$BATS_TEST_TMPDIR/copy.db"
  vg() {
    env -i PATH="$PATH" AIFACADE_ROOT="$BATS_FILE_TMPDIR/root" AIFACADE_INSTANCE="$STACK_DIR/instance" \
      DATABASE="$BATS_TEST_TMPDIR/copy.db" \
      valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=99 "$CTL" "$@"
  }
  run vg backup "$BATS_TEST_TMPDIR/vg.db"
  assert_success
  run vg restore "$BATS_TEST_TMPDIR/src.db" --yes
  assert_success
}

# Last: it empties the database the other tests wrote.
@test "admin: reset-db empties the database; the app serves on and old sessions end" {
  new_user
  run ctl reset-db --yes
  assert_success
  assert_output --regexp "is empty at schema version [1-9]; everyone is logged out"
  assert_equal "$(count "$DB" 'SELECT count(*) FROM users')" 0
  api GET /api/me
  assert_equal "$code" 401
  api GET /api/health
  assert_equal "$code" 200
  JAR=$BATS_TEST_TMPDIR/fresh new_user
}
