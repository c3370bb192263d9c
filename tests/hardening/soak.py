#!/usr/bin/env python3
"""soak.py: mixed requests against a running stack, every answer checked.

Usage: soak.py --url LIGHTTPD_URL --state FILE --n N [--setup]

--setup registers three users (a, b: checked; c: cleared now and then) and
writes their sessions to FILE; without it FILE is read. Then N requests are
sent, round-robin over a fixed script that visits every route of every
endpoint and its failure paths: bad query parameters, bad JSON, a wrong
content type, no session, no CSRF token, a wrong method, a body over the
limit, a provider failure (the fake answers 500), a streamed answer the
client cuts after its first delta, a failed login. Each answer's status
must be the one the script expects, and every answer that carries a user's
data must carry only that user's (titles and prompts are prefixed by the
user's letter). Chats run in a conversation made for them and deleted after,
so the database does not grow with N.

Prints one line "requests N steps K mismatches M seconds S" (N counts HTTP
requests; a step may send several) and exits 1 on any
mismatch (the first ones are printed).
"""
import argparse
import http.client
import json
import socket
import sys
import time
from urllib.parse import urlsplit


class Client:
    def __init__(self, url):
        u = urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.conn = None
        self.count = 0

    def request(self, method, path, body=None, headers=None):
        self.count += 1
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                h = {"User-Agent": "aifacade-soak/1", "Host": "localhost"}
                h.update(headers or {})
                data = body.encode() if isinstance(body, str) else body
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                raw = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, raw, r
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def session_of(resp):
    for k, v in resp.getheaders():
        if k.lower() == "set-cookie" and "=" in v:
            return v.split(";", 1)[0]
    return None


def setup(c, state):
    users = {}
    stamp = str(int(time.time() * 1000))[-8:]
    for letter in "abc":
        name = "soak%s%s" % (letter, stamp)
        st, raw, r = c.request("POST", "/api/register", json.dumps({"username": name, "password": "soak password 1"}),
                               {"Content-Type": "application/json"})
        if st != 201:
            sys.exit("soak: register %s: %d %s" % (name, st, raw[:200]))
        cookie = session_of(r)
        st, raw, _ = c.request("GET", "/api/me", headers={"Cookie": cookie})
        csrf = json.loads(raw)["csrf_token"]
        st, raw, _ = c.request("POST", "/api/conversations", json.dumps({"title": letter + "-kept"}),
                               {"Cookie": cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json"})
        users[letter] = {"name": name, "cookie": cookie, "csrf": csrf, "conv": json.loads(raw)["id"]}
    # A small export of user a, for the import step (imported into c).
    a = users["a"]
    st, raw, _ = c.request("GET", "/api/account/export", headers={"Cookie": a["cookie"]})
    if st != 200:
        sys.exit("soak: export: %d %s" % (st, raw[:200]))
    users["export"] = raw.decode()
    with open(state, "w") as f:
        json.dump(users, f)
    return users


def cut_stream(url, user, conv):
    """A streamed answer the client leaves after its first delta."""
    u = urlsplit(url)
    body = json.dumps({"prompt": "%s-cut [[fake:slow=60]] [[fake:chunks=8]]" % "a", "conversation_id": conv})
    req = ("POST /api/chat HTTP/1.1\r\nHost: localhost\r\nUser-Agent: aifacade-soak/1\r\n"
           "Cookie: %s\r\nX-CSRF-Token: %s\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\n"
           "Content-Length: %d\r\nConnection: close\r\n\r\n%s") % (user["cookie"], user["csrf"], len(body), body)
    s = socket.create_connection((u.hostname, u.port), timeout=30)
    s.sendall(req.encode())
    got = b""
    while b"event: delta" not in got:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    s.close()
    return 200 if got.startswith(b"HTTP/1.1 200") and b"event: delta" in got else int(got[9:12] or b"0")


def script(c, url, users):
    """Yields (label, callable returning (status, body), expected statuses, check or None)."""
    a, b, cu = users["a"], users["b"], users["c"]

    def call(method, path, user=None, body=None, ctype="application/json", csrf=True, extra=None):
        h = {}
        if user:
            h["Cookie"] = user["cookie"]
            if csrf:
                h["X-CSRF-Token"] = user["csrf"]
        if body is not None:
            h["Content-Type"] = ctype
        h.update(extra or {})
        return lambda: c.request(method, path, body, h)[:2]

    def only(letter):
        other = "b" if letter == "a" else "a"
        def check(raw):
            text = raw.decode("utf-8", "replace")
            return ('"%s-' % other) not in text and ("%s-said" % other) not in text
        return check

    def me_is(user):
        return lambda raw: json.loads(raw).get("username") == user["name"]

    def chat_cycle(user, letter):
        # a conversation of its own, a prompt, then the conversation deleted
        def run():
            st, raw, _ = c.request("POST", "/api/conversations", json.dumps({"title": letter + "-chat"}),
                                   {"Cookie": user["cookie"], "X-CSRF-Token": user["csrf"],
                                    "Content-Type": "application/json"})
            if st != 201:
                return st, raw
            cid = json.loads(raw)["id"]
            st, raw, _ = c.request("POST", "/api/chat", json.dumps({"prompt": "%s-said hello" % letter,
                                                                    "conversation_id": cid}),
                                   {"Cookie": user["cookie"], "X-CSRF-Token": user["csrf"],
                                    "Content-Type": "application/json"})
            ok = st == 200 and json.loads(raw)["message"]["content"] == "Echo: %s-said hello" % letter
            st2, raw2, _ = c.request("GET", "/api/conversations/%d" % cid, headers={"Cookie": user["cookie"]})
            ok = ok and st2 == 200 and only(letter)(raw2)
            c.request("DELETE", "/api/conversations/%d" % cid, headers={"Cookie": user["cookie"],
                                                                         "X-CSRF-Token": user["csrf"]})
            return (200 if ok else 599), raw
        return run

    def provider_fails(user):
        def run():
            st, raw, _ = c.request("POST", "/api/conversations", "{}", {"Cookie": user["cookie"],
                                   "X-CSRF-Token": user["csrf"], "Content-Type": "application/json"})
            cid = json.loads(raw)["id"]
            st, raw, _ = c.request("POST", "/api/chat", json.dumps({"prompt": "x [[fake:status=500]]",
                                                                    "conversation_id": cid}),
                                   {"Cookie": user["cookie"], "X-CSRF-Token": user["csrf"],
                                    "Content-Type": "application/json"})
            c.request("DELETE", "/api/conversations/%d" % cid, headers={"Cookie": user["cookie"],
                                                                         "X-CSRF-Token": user["csrf"]})
            return st, raw
        return run

    def cut(user):
        def run():
            st, raw, _ = c.request("POST", "/api/conversations", "{}", {"Cookie": user["cookie"],
                                   "X-CSRF-Token": user["csrf"], "Content-Type": "application/json"})
            cid = json.loads(raw)["id"]
            st = cut_stream(url, user, cid)
            c.request("DELETE", "/api/conversations/%d" % cid, headers={"Cookie": user["cookie"],
                                                                         "X-CSRF-Token": user["csrf"]})
            return st, b""
        return run

    def create_delete(user, letter):
        def run():
            st, raw, _ = c.request("POST", "/api/conversations", json.dumps({"title": letter + "-tmp"}),
                                   {"Cookie": user["cookie"], "X-CSRF-Token": user["csrf"],
                                    "Content-Type": "application/json"})
            if st != 201:
                return st, raw
            cid = json.loads(raw)["id"]
            st, raw, _ = c.request("PATCH", "/api/conversations/%d" % cid, json.dumps({"title": letter + "-renamed"}),
                                   {"Cookie": user["cookie"], "X-CSRF-Token": user["csrf"],
                                    "Content-Type": "application/json"})
            if st != 200:
                return st, raw
            return c.request("DELETE", "/api/conversations/%d" % cid, headers={"Cookie": user["cookie"],
                                                                                "X-CSRF-Token": user["csrf"]})[:2]
        return run

    steps = []
    for letter, user in (("a", a), ("b", b)):
        conv = user["conv"]
        steps += [
            ("me " + letter, call("GET", "/api/me", user), {200}, me_is(user)),
            ("list " + letter, call("GET", "/api/conversations", user), {200}, only(letter)),
            ("page " + letter, call("GET", "/api/conversations/%d?limit=5" % conv, user), {200}, only(letter)),
            ("create-rename-delete " + letter, create_delete(user, letter), {204}, None),
            ("search " + letter, call("GET", "/api/search?q=said&limit=5", user), {200}, only(letter)),
            ("export " + letter, call("GET", "/api/conversations/%d/export?format=md" % conv, user), {200}, None),
        ]
    heavy = [
        ("chat a", chat_cycle(a, "a"), {200}, None),
        ("chat b", chat_cycle(b, "b"), {200}, None),
        ("provider fails", provider_fails(b), {502}, None),
        ("stream cut", cut(a), {200}, None),
    ]
    steps += [
        ("bad limit", call("GET", "/api/conversations/%d?limit=abc" % a["conv"], a), {400}, None),
        ("query on a list", call("GET", "/api/conversations?limit=abc", a), {400}, None),
        ("bad search", call("GET", "/api/search?limit=0&q=x", b), {400}, None),
        ("bad json", call("POST", "/api/conversations", a, "{nope"), {400}, None),
        ("unknown field", call("POST", "/api/conversations", a, '{"colour":"red"}'), {400}, None),
        ("wrong type", call("POST", "/api/conversations", a, "{}", "text/plain"), {415}, None),
        ("no session", call("GET", "/api/me"), {401}, None),
        ("no csrf", call("POST", "/api/conversations", a, "{}", csrf=False), {403}, None),
        ("wrong method", call("PUT", "/api/me", a), {405}, None),
        ("too large", call("POST", "/api/conversations", a, '{"title":"' + "x" * 70000 + '"}'), {413}, None),
        ("not found", call("GET", "/api/conversations/999999999", a), {404}, None),
        ("health", call("GET", "/api/health"), {200}, None),
        ("logout without a session", call("POST", "/api/logout", None, ""), {204, 401}, None),
    ]
    rare = [
        ("clear c", call("POST", "/api/clear", cu, ""), {204}, None),
        ("import into c", call("POST", "/api/import", cu, users["export"]), {201}, None),
        ("failed login", call("POST", "/api/login", None, json.dumps({"username": a["name"], "password": "wrong"})),
         {401, 429}, None),
        ("register taken", call("POST", "/api/register", None,
                                json.dumps({"username": a["name"], "password": "soak password 1"})), {409, 429}, None),
    ]
    return steps, heavy, rare


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--setup", action="store_true")
    p.add_argument("--heavy-every", type=int, default=1,
                   help="run the steps that wait for the provider every K rounds of the script (default 1)")
    p.add_argument("--rare-every", type=int, default=4,
                   help="run one of the slow steps (argon2: login, register; clear; import) every K rounds")
    args = p.parse_args()
    c = Client(args.url)
    if args.setup:
        users = setup(c, args.state)
    else:
        with open(args.state) as f:
            users = json.load(f)
    steps, heavy, rare = script(c, args.url, users)
    start = time.monotonic()
    sent = mismatches = 0
    c.count = 0
    rounds = 0

    def plan():
        nonlocal rounds
        while True:
            yield from steps
            if rounds % args.heavy_every == 0:
                yield from heavy
            if rounds % args.rare_every == 0:
                yield rare[(rounds // args.rare_every) % len(rare)]
            rounds += 1

    for label, run, want, check in plan():
        if c.count >= args.n:
            break
        try:
            st, raw = run()
        except Exception as e:  # noqa: BLE001 - any failure is a mismatch, reported
            st, raw = -1, str(e).encode()
        sent += 1
        if st not in want or (check and st == 200 and not check(raw)):
            mismatches += 1
            if mismatches <= 10:
                print("soak: %s: got %s, want %s: %s" % (label, st, sorted(want), raw[:300]), file=sys.stderr)
    print("requests %d steps %d mismatches %d seconds %.1f" % (c.count, sent, mismatches, time.monotonic() - start))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
