#!/usr/bin/env bats
# flask.bats: aifacadectl import-flask on Flask databases the test builds
# (both hash formats, both column names), then logging in with the old passwords.

load helpers

setup() {
  needs_local
  CTL="$BATS_TEST_DIRNAME/../${AIFACADE_BUILD:-build}/tools/aifacadectl"
  DB="$STACK_DIR/instance/aifacade.db"
}

ctl() {
  local pg
  pg=$(stack_pg)
  mkdir -p "$BATS_TEST_TMPDIR/root"
  env -i PATH="$PATH" LANG=C.UTF-8 AIFACADE_ROOT="$BATS_TEST_TMPDIR/root" \
    AIFACADE_INSTANCE="$STACK_DIR/instance" ${pg:+DATABASE_FILE="$STACK_DIR/database.url"} "$CTL" "$@"
}

# flask_db FILE COLUMN PREFIX: the Flask app's database as it ships, with
# the hash in COLUMN; user names start with PREFIX.
flask_db() {
  python3 - "$1" "$2" "$3" <<'PY'
import hashlib, sqlite3, sys
path, column, p = sys.argv[1:4]
def pbkdf2(pw, salt="Xy7salt", it=600000):
    return "pbkdf2:sha256:%d$%s$%s" % (it, salt, hashlib.pbkdf2_hmac("sha256", pw.encode(), salt.encode(), it).hex())
def scrypt(pw, salt="NaClsalt", n=32768, r=8, p_=1):
    h = hashlib.scrypt(pw.encode(), salt=salt.encode(), n=n, r=r, p=p_, maxmem=132 * n * r * p_, dklen=64)
    return "scrypt:%d:%d:%d$%s$%s" % (n, r, p_, salt, h.hex())
db = sqlite3.connect(path)
db.execute("CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(150) UNIQUE NOT NULL, %s VARCHAR(256))" % column)
db.execute("CREATE TABLE chats (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES user(id),"
           " timestamp DATETIME, prompt TEXT NOT NULL, response TEXT NOT NULL)")
users = [(1, p + "pbk", pbkdf2("old pbkdf2 pass")), (2, p + "scr", scrypt("old scrypt pass")),
         (3, p + "plain", "not-a-hash"), (4, p + "sha1", "pbkdf2:sha1:1000$s$" + "0" * 40),
         (5, p + "Clash", pbkdf2("whatever")), (6, p + "empty", pbkdf2("nothing said"))]
db.executemany("INSERT INTO user (id, username, %s) VALUES (?, ?, ?)" % column, users)
db.executemany("INSERT INTO chats (user_id, timestamp, prompt, response) VALUES (?, ?, ?, ?)", [
    (1, "2024-03-02 10:00:00.250000", "second question", "<p>Second <em>answer</em></p>\n"),
    (1, "2024-03-01 09:30:00.000000", "first question", "<p>First <strong>answer</strong> &amp; more</p>\n\n"
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n\n<pre><code>x = 1\n</code></pre>\n"
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;<script>alert(2)</script></p>\n"),
    (2, "2024-05-05 12:00:00", "scrypt user asks", "<p>scrypt user answered</p>"),
])
db.commit()
PY
}

@test "import-flask: both hash formats and both column names, clashes skipped, old passwords log in and become argon2id" {
  prefix=f$(date +%s%N | tail -c 7)
  for column in password password_hash; do
    [ "$column" = password ] && p=${prefix}a || p=${prefix}b
    # The clash: an account here already has the name (in another case).
    JAR=$BATS_TEST_TMPDIR/jar-clash register "${p}clash" 'the existing pass'
    flask_db "$BATS_TEST_TMPDIR/flask-$column.db" "$column" "$p"
    run ctl import-flask "$BATS_TEST_TMPDIR/flask-$column.db" --dry-run
    assert_failure 1
    assert_line "user '${p}pbk': would be imported with 2 chats"
    assert_line "dry run: 3 users would be imported with 3 chats; 1 skipped (name taken), 2 refused"
    assert_equal "$(sql "SELECT count(*) FROM users WHERE username LIKE '$p%'")" 1
    run ctl import-flask "$BATS_TEST_TMPDIR/flask-$column.db"
    assert_failure 1
    assert_line "user '${p}pbk': imported with 2 chats"
    assert_line "user '${p}scr': imported with 1 chats"
    assert_line "user '${p}empty': imported with 0 chats"
    assert_line --partial "user '${p}plain': refused: the password hash is neither pbkdf2:sha256 nor scrypt"
    assert_line --partial "user '${p}sha1': refused"
    assert_line "3 users imported with 3 chats; 1 skipped (name taken), 2 refused"
    assert_line "user '${p}Clash': skipped: an account with that name already exists; nothing was merged"
    # The stored hashes are Werkzeug's until the first login.
    assert_regex "$(sql "SELECT password_hash FROM users WHERE username = '${p}pbk'")" '^pbkdf2:sha256:600000\$'
    assert_regex "$(sql "SELECT password_hash FROM users WHERE username = '${p}scr'")" '^scrypt:32768:8:1\$'
    JAR=$BATS_TEST_TMPDIR/jar-$p login "${p}pbk" 'wrong pass'
    assert_equal "$code" 401
    JAR=$BATS_TEST_TMPDIR/jar-$p login "${p}pbk" 'old pbkdf2 pass'
    assert_equal "$code" 200
    assert_regex "$(sql "SELECT password_hash FROM users WHERE username = '${p}pbk'")" '^\$argon2id\$'
    JAR=$BATS_TEST_TMPDIR/jar-$p login "${p}pbk" 'old pbkdf2 pass'
    assert_equal "$code" 200
    JAR=$BATS_TEST_TMPDIR/jar-s$p login "${p}scr" 'old scrypt pass'
    assert_equal "$code" 200
    assert_regex "$(sql "SELECT password_hash FROM users WHERE username = '${p}scr'")" '^\$argon2id\$'
    # Their history, oldest first, Markdown instead of HTML.
    JAR=$BATS_TEST_TMPDIR/jar-$p api GET /api/conversations
    assert_equal "$(json '.conversations | map(.title) | join(",")')" 'Imported history'
    id=$(json '.conversations[0].id')
    assert_equal "$(json '.conversations[0].created_at')" 2024-03-01T09:30:00.000Z
    assert_equal "$(json '.conversations[0].updated_at')" 2024-03-02T10:00:00.250Z
    JAR=$BATS_TEST_TMPDIR/jar-$p api GET "/api/conversations/$id"
    assert_equal "$(json '.messages | map(.role) | join(",")')" user,assistant,user,assistant
    assert_equal "$(json '.messages[0].content')" 'first question'
    assert_equal "$(json '.messages[1].content')" $'First **answer** \\& more\n\n- one\n- two\n\n```\nx = 1\n```\n\n\\<script\\>alert(1)\\</script\\>'
    assert_equal "$(json '.messages[3].content')" 'Second *answer*'
    assert_regex "$(json '.messages[1].html')" '<strong>answer</strong> &amp; more'
    assert_regex "$(json '.messages[1].html')" '&lt;script&gt;alert\(1\)&lt;/script&gt;'
    refute_regex "$(json '.messages[1].html')" '<script'
    # The clash kept its own password and got nothing.
    JAR=$BATS_TEST_TMPDIR/jar-c$p login "${p}clash" 'the existing pass'
    assert_equal "$code" 200
    assert_regex "$(sql "SELECT password_hash FROM users WHERE username = '${p}clash'")" '^\$argon2id\$'
    assert_equal "$(sql "SELECT count(*) FROM conversations c JOIN users u ON u.id = c.user_id WHERE u.username = '${p}clash'")" 0
  done
  # Running it again skips everyone it brought in, and changes nothing.
  before=$(sql "SELECT count(*) FROM messages")
  run ctl import-flask "$BATS_TEST_TMPDIR/flask-password.db"
  assert_failure 1
  assert_line "0 users imported with 0 chats; 4 skipped (name taken), 2 refused"
  assert_equal "$(sql "SELECT count(*) FROM messages")" "$before"
}

@test "import-flask refuses a file that is not the Flask app's database, and changes nothing" {
  printf 'not a database' >"$BATS_TEST_TMPDIR/junk.db"
  run ctl import-flask "$BATS_TEST_TMPDIR/junk.db"
  assert_failure 1
  assert_output --partial 'nothing was imported'
  python3 -c "import sqlite3; db = sqlite3.connect('$BATS_TEST_TMPDIR/other.db'); db.execute('CREATE TABLE user (id INTEGER PRIMARY KEY, username TEXT)'); db.commit()"
  run ctl import-flask "$BATS_TEST_TMPDIR/other.db"
  assert_failure 1
  assert_output --partial "is not the Flask app's database"
  run ctl import-flask "$BATS_TEST_TMPDIR/missing.db"
  assert_failure 1
  run ctl import-flask
  assert_failure 2
}
