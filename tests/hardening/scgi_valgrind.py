#!/usr/bin/env python3
"""scgi_valgrind.py: runs the SCGI endpoints (chat, me, conversations) the way
lighttpd's mod_scgi does, under valgrind.

Used by valgrind-run.sh. The environment carries the application settings
(as lighttpd's would) plus SESSION_COOKIE, CSRF_TOKEN, CONV_ID (a
conversation of that session), CGI_DIR (the programs), VG (the valgrind
command line) and VG_LOG (a valgrind --log-file pattern with %p). A
listening Unix socket becomes each program's stdin, so it serves as the warm SCGI parent (common/scgi.h) and forks one
child per request; valgrind follows the forks, so each child leaves its own
log. The parents' pids go to parents.pid beside the logs. Requests, each
checked for its status: for chat a JSON turn, a streamed turn, a provider
failure, a client that hangs up mid-stream, and a malformed SCGI header (the
child answers nothing); for me a signed-in and a signed-out request; for
conversations the list, a page, a page with a bad query and another's id.
Prints TAP-like lines; exits 1 on a wrong answer. The caller checks the logs.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

APP_VARS = [k for k in os.environ if k.startswith(("AI_", "AIFACADE_", "RATE_LIMIT_", "SECRET", "DATABASE"))]


def netstring_request(env, body):
    pairs = [("CONTENT_LENGTH", str(len(body))), ("SCGI", "1")] + list(env.items())
    head = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs)
    return str(len(head)).encode() + b":" + head + b"," + body


def cgi_env(body, accept=None, method="POST", script="/api/chat", path_info="", query=""):
    env = {k: os.environ[k] for k in APP_VARS}
    env.update({
        "REQUEST_METHOD": method, "PATH_INFO": path_info, "SCRIPT_NAME": script, "QUERY_STRING": query,
        "CONTENT_TYPE": "application/json", "HTTP_HOST": "localhost:8443", "REMOTE_ADDR": "127.0.0.1",
        "HTTP_USER_AGENT": os.environ["HTTP_USER_AGENT"], "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_COOKIE": "__Host-aifacade=" + os.environ["SESSION_COOKIE"],
        "HTTP_X_CSRF_TOKEN": os.environ["CSRF_TOKEN"],
    })
    if accept:
        env["HTTP_ACCEPT"] = accept
    return env


def exchange(path, raw, hang_up_after=None, timeout=60):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(raw)
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break  # a child that refuses a request closes with the rest unread
        if not chunk:
            break
        out += chunk
        if hang_up_after and hang_up_after in out:
            break
    s.close()
    return out


class Server:
    """One program served as lighttpd's mod_scgi would, under valgrind."""

    def __init__(self, name):
        self.tmp = tempfile.mkdtemp()
        self.path = os.path.join(self.tmp, name + ".sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(16)
        logdir = os.path.dirname(os.environ["VG_LOG"])
        # VG: valgrind and the options valgrind-run.sh runs every program with.
        vg = os.environ["VG"].split() + ["--child-silent-after-fork=no", "--log-file=" + os.environ["VG_LOG"],
                                         os.path.join(os.environ["CGI_DIR"], name)]
        with open(os.path.join(logdir, name + ".stderr"), "w") as err:
            self.proc = subprocess.Popen(vg, stdin=listener.fileno(), stdout=subprocess.DEVNULL, stderr=err)
        listener.close()
        # valgrind execs the tool in place: this pid is the SCGI parent's, whose
        # log the caller reads apart (killed by SIGTERM, its live memory is no leak).
        with open(os.path.join(logdir, "parents.pid"), "a") as f:
            f.write("%d\n" % self.proc.pid)

    def stop(self, settle=0):
        time.sleep(settle)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.unlink(self.path)
        os.rmdir(self.tmp)


def main():
    failures = 0
    n = 0

    def check(name, cond, detail=""):
        nonlocal failures, n
        n += 1
        if cond:
            print("ok scgi %d - %s (valgrind logs checked after)" % (n, name))
        else:
            failures += 1
            print("not ok scgi %d - %s %s" % (n, name, detail[:400]))

    def status(out):
        line = out.split(b"\r\n", 1)[0].decode("latin-1")
        return line[len("Status: "):len("Status: ") + 3] if line.startswith("Status: ") else line[:40]

    chat = Server("chat")
    path = chat.path
    body = json.dumps({"prompt": "scgi json turn"}).encode()
    out = exchange(path, netstring_request(cgi_env(body), body))
    check("POST /api/chat through SCGI, JSON", status(out) == "200" and b"Echo: scgi json turn" in out, repr(out[:200]))

    body = json.dumps({"prompt": "scgi stream [[fake:chunks=4]] [[fake:reasoning]]"}).encode()
    out = exchange(path, netstring_request(cgi_env(body, "text/event-stream"), body))
    check("POST /api/chat through SCGI, streamed", status(out) == "200" and b"event: done" in out, repr(out[-200:]))

    body = json.dumps({"prompt": "scgi failure [[fake:status=503]]"}).encode()
    out = exchange(path, netstring_request(cgi_env(body), body))
    check("POST /api/chat through SCGI, provider 503", status(out) == "502", repr(out[:200]))

    body = json.dumps({"prompt": "scgi hang up [[fake:slow=300]] [[fake:chunks=20]]"}).encode()
    out = exchange(path, netstring_request(cgi_env(body, "text/event-stream"), body), hang_up_after=b"event: delta")
    check("POST /api/chat through SCGI, client hangs up mid-stream", b"event: delta" in out, repr(out[-200:]))

    out = exchange(path, b"12:not,a,netstring" + b"x" * 20, timeout=20)
    check("a malformed SCGI header gets no answer", out == b"", repr(out[:200]))
    chat.stop(settle=3)  # the hung-up child stores its interrupted turn and exits

    def get(server, script, want, path_info="", query="", signed_in=True):
        env = cgi_env(b"", method="GET", script=script, path_info=path_info, query=query)
        del env["CONTENT_TYPE"]
        if not signed_in:
            del env["HTTP_COOKIE"]
        out = exchange(server.path, netstring_request(env, b""))
        where = script + path_info + ("?" + query if query else "")
        check("GET %s through SCGI answers %s" % (where, want), status(out) == want, repr(out[:200]))

    me = Server("me")
    get(me, "/api/me", "200")
    get(me, "/api/me", "401", signed_in=False)
    me.stop()

    conv = Server("conversations")
    cid = os.environ["CONV_ID"]
    get(conv, "/api/conversations", "200")
    get(conv, "/api/conversations", "200", path_info="/" + cid, query="limit=2")
    get(conv, "/api/conversations", "400", path_info="/" + cid, query="limit=abc")
    get(conv, "/api/conversations", "404", path_info="/999999")
    conv.stop()

    print("scgi: %d requests, %d wrong" % (n, failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
