-- seed.sql: fills a fresh AIFacade database with generated data for the bench.
--
-- Run with the sqlite3 shell against the stack's database after the user
-- "bench" has registered through the API (its argon2id hash is copied to
-- every generated user, so all of them share its password). Columns are
-- named, so a later migration that only adds nullable columns keeps this
-- working; the schema is the one of common/store_sqlite.c.
--
-- What it makes (about 100,000 messages; run.sh prints the exact counts):
--   users         1,000 "userNNNN" and 64 "chatNN" (the chat bench's users)
--   conversation  1: the bench user's, 5,000 messages (the long history)
--   conversations 2..1861: 50 messages each; 2..101 are the bench user's
--                 (2 is "the 50-message conversation"), the rest spread
--                 over the 1,000 users
--   conversations 1862..1925: one per chat user, 30 messages of history
--   sessions      2,000 other sessions; rate_events 20,000 recent events
-- Messages of the big conversation and of the 1,860 others are interleaved
-- in id order, as real traffic would leave them. Message k of any
-- conversation has the same text and size as message k of any other (user
-- and assistant alternate; every fifth prompt is long; two answers in ten
-- are large, about 4 KB of Markdown, the rest about 700 bytes), so the
-- newest 50 of the long conversation cost what the 50 of conversation 2 do.

PRAGMA foreign_keys = ON;
BEGIN IMMEDIATE;

CREATE TEMP TABLE k AS
  SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS now,
         password_hash AS hash, id AS bench
  FROM users WHERE username_key = 'bench';

CREATE TEMP TABLE txt (name TEXT PRIMARY KEY, body TEXT);
INSERT INTO txt VALUES ('prompt',
'How would I read a configuration file in C, check every value, and report the first bad one clearly?');
INSERT INTO txt VALUES ('long_prompt',
'I have a small service that reads its settings from the environment and from a file, and I would like it to
fail early and clearly when something is wrong. Here is what I do today:

    cfg = load();
    if (!cfg) exit(1);

It works, but the message is useless when the file has a typo. How should I structure the parsing so that
every value is checked, the error names the setting and the expected form, and nothing is guessed? Please
also say how to test it, including hostile input such as very long lines, missing quotes and odd bytes.
' || replace(hex(zeroblob(4)), '00', 'Some more context about the deployment, the users, and the limits we must keep. '));
INSERT INTO txt VALUES ('answer',
'Here is a way to approach it that keeps each step small and testable.

## Plan

1. Read the **whole file** first, with a size limit.
2. Parse each line into a name and a value; keep the `last` assignment.
3. Check every value against its *expected form* and stop at the first bad one.

```c
int config_load(struct config *cfg, char *err, size_t errlen)
{
    if (parse_rate(value, &cfg->rate) < 0) {
        snprintf(err, errlen, "RATE must look like 30/hour");
        return -1;
    }
    return 0;
}
```

| setting | default | form |
|---------|---------|------|
| `TIMEOUT` | 600 | seconds, or `10m` |
| `RATE` | 30/hour | count `/` unit |

See [the manual](https://example.org/manual) for the details, and test the edge cases first.
');
INSERT INTO txt SELECT 'large', body || replace(hex(zeroblob(5)), '00',
'
### More detail

- A value with a trailing comment: `RATE=30/hour # per user` keeps only `30/hour`.
- A quoted value keeps its spaces; an unquoted one loses them at both ends.
- A line without `=` is an error that names the line number.

> Tests should feed every truncation of a valid file, lines of 1 MiB, and NUL bytes.

```sh
printf ''RATE=30/hour\n'' > .env && ./check
```
') FROM txt WHERE name = 'answer';

-- Users: the bench user's hash for all, so all share its password.
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 1000)
INSERT INTO users (username, username_key, password_hash, created_at)
  SELECT printf('User%04d', i), printf('user%04d', i), k.hash, k.now - 86400000 * 60 FROM seq, k;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 64)
INSERT INTO users (username, username_key, password_hash, created_at)
  SELECT printf('chat%02d', i), printf('chat%02d', i), k.hash, k.now - 86400000 * 60 FROM seq, k;

-- Conversations (times are fixed below from their messages).
INSERT INTO conversations (id, user_id, title, created_at, updated_at)
  SELECT 1, k.bench, 'Long-running project notes', 0, 0 FROM k;
WITH RECURSIVE seq(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM seq WHERE i < 1861)
INSERT INTO conversations (id, user_id, title, created_at, updated_at)
  SELECT i,
         CASE WHEN i <= 101 THEN k.bench
              ELSE (SELECT id FROM users WHERE username_key = printf('user%04d', i % 1000 + 1)) END,
         printf('Conversation %d: configuration parsing, part %d', i, i % 37), 0, 0
  FROM seq, k;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 64)
INSERT INTO conversations (id, user_id, title, created_at, updated_at)
  SELECT 1861 + i, (SELECT id FROM users WHERE username_key = printf('chat%02d', i)),
         printf('Chat bench %02d', i), 0, 0
  FROM seq;

-- Messages: position k in its conversation decides role and text.
CREATE TEMP TABLE plan (i INTEGER PRIMARY KEY, conv INTEGER, pos INTEGER);
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 100000)
INSERT INTO plan
  SELECT i,
         CASE WHEN i % 20 = 0 THEN 1 ELSE 2 + (i - i / 20 - 1) % 1860 END,
         CASE WHEN i % 20 = 0 THEN i / 20 - 1 ELSE (i - i / 20 - 1) / 1860 END
  FROM seq WHERE i % 20 = 0 OR i - i / 20 - 1 < 93000;
WITH RECURSIVE seq(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM seq WHERE j < 64 * 30 - 1)
INSERT INTO plan SELECT 100000 + j + 1, 1862 + j % 64, j / 64 FROM seq;

INSERT INTO messages (conversation_id, role, content, reasoning, status, model, error, created_at)
  SELECT p.conv,
         CASE p.pos % 2 WHEN 0 THEN 'user' ELSE 'assistant' END,
         CASE WHEN p.pos % 2 = 0 AND (p.pos / 2) % 5 = 4 THEN (SELECT body FROM txt WHERE name = 'long_prompt')
              WHEN p.pos % 2 = 0 THEN (SELECT body FROM txt WHERE name = 'prompt')
              WHEN (p.pos / 2) % 10 >= 8 THEN (SELECT body FROM txt WHERE name = 'large')
              ELSE (SELECT body FROM txt WHERE name = 'answer') END,
         NULL, 'ok',
         CASE p.pos % 2 WHEN 0 THEN NULL ELSE 'fake-model' END,
         NULL,
         k.now - (110000 - p.i) * 60000
  FROM plan p, k ORDER BY p.i;

UPDATE conversations SET
  created_at = (SELECT min(created_at) FROM messages m WHERE m.conversation_id = conversations.id),
  updated_at = (SELECT max(created_at) FROM messages m WHERE m.conversation_id = conversations.id);

-- Other people's sessions and recent rate-limit events.
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 2000)
INSERT INTO sessions (token_hash, user_id, ua_hash, created_at, last_seen)
  SELECT lower(hex(randomblob(32))), (SELECT id FROM users WHERE username_key = printf('user%04d', i % 1000 + 1)),
         lower(hex(randomblob(32))), k.now - 3600000, k.now - 60000
  FROM seq, k;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 20000)
INSERT INTO rate_events (bucket, at)
  SELECT CASE i % 3 WHEN 0 THEN printf('auth-ip:10.0.%d.%d', i % 7, i % 200)
                    WHEN 1 THEN printf('login-user:user%04d', i % 1000 + 1)
                    ELSE printf('prompt-user:%d', i % 1000 + 2) END,
         k.now - (i % 3600) * 1000
  FROM seq, k;

COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
