#!/usr/bin/env bats
# check_output.bats: the output lint (tools/check-output.sh) passes on this
# tree and fails on each planted mistake, in a copy of the tree. It needs no
# stack.

load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
CHECK=$ROOT/tools/check-output.sh

setup() {
  tree=$BATS_TEST_TMPDIR/tree
  mkdir -p "$tree/tools"
  cp -r "$ROOT/common" "$ROOT/cgi-bin" "$tree/"
  cp "$ROOT"/tools/*.c "$tree/tools/"
}

# plant FILE C-LINE: appends a function holding the line to FILE.
plant() {
  printf '\nvoid planted_mistake(struct request *req, struct response *res, struct buf *b, const char *name);\nvoid planted_mistake(struct request *req, struct response *res, struct buf *b, const char *name)\n{\n\t%s\n}\n' "$2" >>"$tree/$1"
}

# flagged RULE: the checker fails on the tree and names the planted line.
flagged() {
  run "$CHECK" "$tree"
  echo "$output"
  assert_failure 1
  assert_output --partial "[$1"
  [ "$(grep -c '^check-output: ' <<<"$output")" -eq 1 ]
}

@test "check-output: this tree passes" {
  run "$CHECK" "$ROOT"
  echo "$output"
  assert_success
  assert_output ''
  run "$CHECK" "$tree"
  assert_success
}

@test "check-output: every raw writer outside response.c is flagged" {
  for call in 'fputs(name, stdout);' 'puts(name);' 'putchar(*name);' 'printf("%s", name);' \
              'fwrite(name, 1, 3, stdout);' 'write(1, name, 3);' 'dprintf(1, "%s", name);' \
              'fprintf(stdout, "x");' 'send(4, name, 3, 0);' 'writev(1, NULL, 0);' 'putc(*name, stdout);'; do
    setup
    plant cgi-bin/me.c "$call"
    flagged writer
  done
}

@test "check-output: a writer to stderr, and one whose line says why it is not the client, pass" {
  plant common/conversation.c 'fputs(name, stderr); /* log */'
  plant cgi-bin/me.c $'/* check-output: a file of the instance, not the client */\n\tif (write(7, name, 3) < 0) {}'
  plant cgi-bin/login.c 'if (write(7, name, 3) < 0) {} /* check-output: a file of the instance */'
  run "$CHECK" "$tree"
  echo "$output"
  assert_success
}

@test "check-output: a writer in a comment is not code; one after a comment still is" {
  plant cgi-bin/me.c '/* we never write(1, ...) here */'
  run "$CHECK" "$tree"
  assert_success
  plant cgi-bin/login.c 'write(1, name, 3); /* harmless? */'
  flagged writer
}

@test "check-output: filling a response's body or headers outside response_* is flagged" {
  plant cgi-bin/me.c 'buf_append_str(&res->body, name);'
  flagged body
  setup
  plant common/conversation.c 'buf_append_str(&res->headers, name);'
  flagged body
}

@test "check-output: markup or JSON built with buf_append_str and printf is flagged; escape.c may" {
  for call in 'buf_append_str(b, "<b>");' 'buf_append_str(b, "</td>");' 'buf_printf(b, "<a href=%s>", name);' \
              'buf_append_str(b, "{\"name\":\"");' 'snprintf(NULL, 0, "\"user\":%s", name);' \
              'char *s = xasprintf("<li>%s</li>", name);'; do
    setup
    plant cgi-bin/conversations.c "$call"
    flagged markup
  done
  setup
  plant common/escape.c 'buf_append_str(b, "<br>");'
  run "$CHECK" "$tree"
  assert_success
}

@test "check-output: SQL from printf or from a variable is flagged" {
  plant common/conversation.c 'char *q2 = xasprintf("SELECT * FROM users WHERE username = '"'"'%s'"'"'", name);'
  flagged sql
  setup
  plant common/conversation.c 'sqlite3_exec(db, text, NULL, NULL, NULL);'
  flagged sql
}
