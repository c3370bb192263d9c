#!/usr/bin/env python3
"""cluster_load.py: load on a cluster of web nodes for tests/cluster.bats.

Registers USERS accounts through BASE (Caddy), then each user, in a thread
of its own, sends prompts (JSON turns) and reads its history (the list of
conversations, and the conversation it just wrote), one request at a time,
until the file STOP exists or SECONDS have passed. Every request is one JSON
line in OUT: {"kind", "user", "prompt", "code", "start", "end", "conv",
"status", "error_code" (the "code" of a failed prompt's JSON answer, such as
"not_saved"), "body" (a failure's first 200 bytes)},
times in seconds since the epoch, "code" 0 when no HTTP answer came (the
client gave up or the connection broke). Nothing is retried: a prompt that
got no 2xx may or may not be stored, and the test checks only that none is
stored twice; one answered 2xx must be stored exactly once.

    cluster_load.py BASE TAG USERS SECONDS STOP OUT

And the counts, from OUT and the database's rows (DB: lines "prompt|n",
n the answers stored "ok" in the prompt's conversation, as psql -At gives):

    cluster_load.py count OUT DB [SINCE]

prints "requests N prompts P reads R answered A stored S (prompts stored
with their answer) unanswered U (stored without one) lost L duplicated D
failed F failed_codes C first_fail T1 last_fail T2 after SINCE: answered K"
(one line, space-separated pairs), a lost or duplicated prompt's name on
stderr. The prompt's markers are cut off its text before comparing.
"""
import http.cookiejar
import json
import os
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

ctx = ssl._create_unverified_context()
lock = threading.Lock()
log = None
# A short pause in each answer, so that prompts are in flight on every node
# when one is killed (tests/fake_provider.py's markers).
MARKERS = " [[fake:chunks=3]] [[fake:slow=40]]"


def record(**entry):
    with lock:
        log.write(json.dumps(entry) + "\n")


class User:
    def __init__(self, n):
        self.n = n
        self.name = "%s-u%d" % (tag, n)
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=ctx), urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""

    def call(self, method, path, data=None, timeout=30):
        body = json.dumps(data).encode() if data is not None else None
        req = urllib.request.Request(base + path, data=body, method=method)
        req.add_header("User-Agent", "aifacade-cluster-load/1.0")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if self.csrf:
            req.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except Exception as e:  # a broken connection or a timeout: no answer
            return 0, str(e).encode()

    def setup(self):
        for _ in range(20):
            code, _ = self.call("POST", "/api/register", {"username": self.name, "password": "correct horse battery"})
            if code in (201, 409):
                if code == 409:
                    code, _ = self.call("POST", "/api/login", {"username": self.name, "password": "correct horse battery"})
                code, body = self.call("GET", "/api/me")
                if code == 200:
                    self.csrf = json.loads(body)["csrf_token"]
                    return True
            time.sleep(0.5)
        return False

    def run(self, deadline):
        p = 0
        while time.time() < deadline and not os.path.exists(stop):
            p += 1
            prompt = "%s u%d p%d" % (tag, self.n, p)
            t0 = time.time()
            code, body = self.call("POST", "/api/chat", {"prompt": prompt + MARKERS})
            conv = status = None
            if 200 <= code < 300:
                try:
                    j = json.loads(body)
                    conv, status = j["conversation_id"], j["message"]["status"]
                except (ValueError, KeyError, TypeError):
                    code = -code  # a 2xx that is not the API's JSON: counted as a failure
            error_code = None
            if not 200 <= code < 300:
                try:
                    error_code = json.loads(body).get("code")
                except (ValueError, AttributeError):
                    pass
            record(kind="prompt", user=self.n, prompt=prompt, code=code, start=t0, end=time.time(), conv=conv,
                   status=status, error_code=error_code,
                   body=None if 200 <= code < 300 else body[:200].decode("utf-8", "replace"))
            for path in ["/api/conversations"] + (["/api/conversations/%d" % conv] if conv else []):
                t0 = time.time()
                code, body = self.call("GET", path)
                record(kind="read", user=self.n, path=path, code=code, start=t0, end=time.time(),
                       body=None if 200 <= code < 300 else body[:200].decode("utf-8", "replace"))


def main():
    global base, tag, stop, log
    base, tag, users, seconds, stop, out = sys.argv[1:7]
    users, seconds = int(users), float(seconds)
    log = open(out, "a", buffering=1)
    pool = [User(n) for n in range(1, users + 1)]
    results = {}

    def setup(u):
        results[u.n] = u.setup()
    threads = [threading.Thread(target=setup, args=(u,)) for u in pool]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [u for u in pool if results.get(u.n)]
    if len(ok) != len(pool):
        print("cluster_load: %d of %d accounts could not be set up" % (len(pool) - len(ok), len(pool)), file=sys.stderr)
        sys.exit(1)
    open(out + ".ready", "w").close()
    deadline = time.time() + seconds
    threads = [threading.Thread(target=u.run, args=(deadline,)) for u in ok]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def count(out, db, since):
    entries = [json.loads(line) for line in open(out) if line.strip()]
    prompts = [e for e in entries if e["kind"] == "prompt"]
    answered = {e["prompt"] for e in prompts if 200 <= e["code"] < 300 and e["status"] == "ok"}
    stored, dup, lost_answers, unanswered = {}, [], [], 0
    for line in open(db):
        line = line.rstrip("\n")
        if not line:
            continue
        text, n = line.rsplit("|", 1)
        key = text.split(" [[", 1)[0]
        stored[key] = stored.get(key, 0) + 1
        unanswered += int(n) == 0
        if int(n) > 1:
            dup.append("%s (%s answers)" % (key, n))
        elif int(n) == 0 and key in answered:
            lost_answers.append(key)
    dup += ["%s (%d prompts)" % (k, n) for k, n in stored.items() if n > 1]
    # An answered prompt is lost when its row or its answer is missing; a
    # prompt that got no 2xx may be stored without an answer (its node died).
    lost = sorted({p for p in answered if p not in stored} | set(lost_answers))
    for p in lost:
        print("lost: " + p, file=sys.stderr)
    for d in dup:
        print("duplicated: " + d, file=sys.stderr)
    failed = [e for e in entries if not 200 <= e["code"] < 300]
    codes = sorted({str(e["code"]) for e in failed})
    after = [e for e in prompts if e["start"] >= since and 200 <= e["code"] < 300]
    fields = [
        ("requests", len(entries)), ("prompts", len(prompts)), ("reads", len(entries) - len(prompts)),
        ("answered", len(answered)), ("stored", sum(stored.values()) - unanswered), ("unanswered", unanswered), ("lost", len(lost)),
        ("duplicated", len(dup)), ("failed", len(failed)), ("failed_codes", ",".join(codes) or "none"),
        ("first_fail", "%.3f" % min((e["start"] for e in failed), default=0)),
        ("last_fail", "%.3f" % max((e["end"] for e in failed), default=0)),
        ("answered_after", len(after)),
    ]
    print(" ".join("%s %s" % f for f in fields))


if sys.argv[1] == "count":
    count(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 0.0)
else:
    main()
