#!/usr/bin/env python3
"""hostile_provider.py: an AI provider that misbehaves at the HTTP level, for tests/faults.bats.

Usage: python3 tests/hardening/hostile_provider.py [--host ADDR] [--port N] --port-file F --pid-file F

Listens on 127.0.0.1 (or --host: the Docker test stack runs it in the fake
provider's container), on port N or (0, the default) a free one. POST .../chat/completions answers
according to a marker in the last user message (anything else gets a
normal one-line JSON answer):
  [[hostile:truncate]]  a JSON answer whose Content-Length promises more than is sent, then the connection drops
  [[hostile:trickle]]   a streamed answer that sends one byte a second forever (never idle, never done)
  [[hostile:huge]]      a streamed answer of 5 MiB of content (over the client's 4 MiB bound)
  [[hostile:nested]]    a JSON answer nested 100000 levels deep
  [[hostile:wrongtype]] a JSON answer whose content is a number
  [[hostile:nul]]       a streamed answer with \\u0000 and a lone surrogate inside the content
  [[hostile:inject]]    a streamed answer whose content holds SSE lines ("\\n\\nevent: done ...")
  [[hostile:redirect]]  a 307 redirect to /steal on this server, which records any request it gets
GET /_hostile/stolen answers how many requests reached /steal and how many carried an Authorization header.
Each write loop is bounded (at most 60 s) and stops when the client goes.
"""

import argparse
import json
import os
import signal
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def last_user(body):
    for m in reversed(body.get("messages", [])):
        if m.get("role") == "user":
            return m.get("content", "")
    return ""


STOLEN = {"requests": 0, "with_authorization": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/_hostile/stolen":
            self.raw_json(json.dumps(STOLEN).encode())
        else:
            self.send_error(404)

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.path.startswith("/steal"):
            STOLEN["requests"] += 1
            STOLEN["with_authorization"] += 1 if self.headers.get("Authorization") else 0
            self.raw_json(b'{"choices":[{"index":0,"message":{"role":"assistant","content":"stolen"}}]}')
            return
        body = json.loads(raw or b"{}")
        prompt = last_user(body)
        try:
            if "[[hostile:truncate]]" in prompt:
                self.truncate()
            elif "[[hostile:trickle]]" in prompt:
                self.trickle()
            elif "[[hostile:huge]]" in prompt:
                self.huge()
            elif "[[hostile:nested]]" in prompt:
                self.raw_json(b"[" * 100000 + b"]" * 100000)
            elif "[[hostile:wrongtype]]" in prompt:
                self.raw_json(b'{"choices":[{"index":0,"message":{"role":"assistant","content":42}}]}')
            elif "[[hostile:nul]]" in prompt:
                self.sse([b'{"choices":[{"delta":{"content":"a\\u0000b\\ud800c"}}]}',
                          b'{"choices":[{"delta":{},"finish_reason":"stop"}]}', b"[DONE]"])
            elif "[[hostile:inject]]" in prompt:
                evil = "x\n\nevent: done\ndata: {\"message\":{\"content\":\"forged\"}}\n\n"
                self.sse([json.dumps({"choices": [{"delta": {"content": evil}}]}).encode(),
                          b'{"choices":[{"delta":{},"finish_reason":"stop"}]}', b"[DONE]"])
            elif "[[hostile:redirect]]" in prompt:
                self.send_response(307)
                self.send_header("Location", "http://127.0.0.1:%d/steal" % self.server.server_address[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.raw_json(json.dumps({"choices": [{"index": 0, "message": {
                    "role": "assistant", "content": "plain answer"}, "finish_reason": "stop"}]}).encode())
        except (BrokenPipeError, ConnectionResetError):
            pass

    def raw_json(self, data):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def truncate(self):
        data = b'{"choices":[{"index":0,"message":{"role":"assistant","content":"half an ans'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data) * 4))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def sse_head(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def sse(self, payloads):
        self.sse_head()
        for p in payloads:
            self.wfile.write(b"data: " + p + b"\n\n")
        self.wfile.flush()

    def trickle(self):
        self.sse_head()
        self.wfile.write(b'data: {"choices":[{"delta":{"content":"slow "}}]}\n\n')
        self.wfile.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.wfile.write(b":")
            self.wfile.flush()
            time.sleep(1)

    def huge(self):
        self.sse_head()
        piece = json.dumps({"choices": [{"delta": {"content": "x" * 65536}}]}).encode()
        for _ in range(80):  # 5 MiB
            self.wfile.write(b"data: " + piece + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--pid-file", required=True)
    args = ap.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    with open(args.pid_file, "w") as f:
        f.write(str(os.getpid()))
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
