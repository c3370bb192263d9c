#!/usr/bin/env python3
"""fake_provider.py: a fake OpenAI-compatible chat-completions provider for the tests.

Usage: python3 tests/fake_provider.py [--host ADDR] [--port N] [--port-file F] [--pid-file F]
                                      [--api-key KEY] [--exit-with-parent] [--verbose]

Listens on 127.0.0.1 unless --host says otherwise (the Docker test stack runs
it as a container of its own: --host 0.0.0.0 on the compose network). --port 0 (the default) picks a free port; the
chosen port is always printed as the first stdout line "PORT=<n>" (flushed)
and, with --port-file, written to F. SIGTERM or SIGINT stop it cleanly.
--pid-file writes this process's own pid: "python3" may be a wrapper (a
pyenv shim, a subshell) whose pid ($!) is not the server's, and killing the
wrapper would leave the server running. --exit-with-parent (Linux) stops
the server when the process that started it dies. --tls CERT KEY speaks
HTTPS (bench/ttfd.sh measures connection reuse against it).

POST <any path ending in /chat/completions> speaks the real wire protocol:
a chat.completion JSON answer, or with "stream": true Server-Sent Events
(chunked, one event per write, ending with "data: [DONE]"). The bearer key
must equal --api-key (default "test-key"), else 401 with a provider-style
error whose message repeats the key it was given (so tests can prove the
client never logs it).

The default answer is "Echo: <last user message>" (markers removed, trimmed),
streamed in several chunks. Behaviour switches go IN the last user message,
so parallel tests do not interfere:
  [[fake:status=N]]     answer HTTP N (400 401 402 422 429 500 503 ...) with an error JSON
  [[fake:slow=MS]]      pause MS milliseconds between stream chunks (default 15)
  [[fake:chunks=N]]     split the answer into N chunks
  [[fake:long=N]]       answer N chunks of filler words
  [[fake:keepalive]]    send ": keep-alive" comments and blank lines while pausing (not
                        streaming: blank lines for slow ms before the JSON, as DeepSeek does)
  [[fake:reasoning]]    send reasoning_content deltas first, null deltas included
  [[fake:cut]]          stop in the middle of the stream and drop the connection
  [[fake:nodone]]       end the stream cleanly but without finish_reason or [DONE]
  [[fake:garbage]]      a non-JSON body, or garbage SSE lines in a stream
  [[fake:stream_error]] send {"error":{...}} inside the stream after one chunk
  [[fake:hang=S]]       accept, then say nothing for S seconds before answering
  [[fake:hangafter=S]]  send one chunk, then go silent for S seconds
  [[fake:keepalive_only=S]] streaming: send the headers, then nothing but ": keep-alive"
                        comments (every 200 ms) for S seconds, then the answer
  [[fake:crlf]]         end SSE lines with CRLF
  [[fake:splitutf8]]    split a UTF-8 character between two deltas, plus a stray 0xFF byte
  [[fake:markdown]]     answer Markdown with code, a table and hostile HTML and links
  [[fake:echo_context]] answer how many messages arrived and their roles
  [[fake:notitle]]      fail (503) the title request that follows a first answer
  [[fake:nousage]]      send no "usage" (a provider that counts no tokens)
  [[fake:tokens=N]]     report N total tokens in "usage"
A stream carries the usage chunk only when the request asked for it with
"stream_options": {"include_usage": true}, as OpenAI's API does.
A title request (system message "Write a short title…", common/title.h) is
answered 'Title: "**Fake title:** <first three words of the prompt>."'.

GET /_fake/requests lists every chat request as JSON:
  [{"body": <request JSON>, "auth_ok": bool, "completed": bool,
    "disconnected": bool, "stream": bool, "path": str, "started": t, "ended": t}]
"completed" is true when the fake played its whole script (an error answer
or a deliberate cut included); "disconnected" is true when the client went
away first. POST /_fake/reset clears the list.
"""

import argparse
import errno
import json
import os
import re
import select
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MARKER_RE = re.compile(r"\[\[fake:([a-z_0-9]+)(?:=([^\]]*))?\]\]")

MARKDOWN_ANSWER = """# Markdown test

Some **bold**, some *italic* and `inline code`.

- item one
- item two

1. first
2. second

```python
def hello():
    return "<b>not bold</b> & done"
```

| Name | Value |
|------|-------|
| a    | 1     |
| b    | 2     |

<script>alert(1)</script>

<img src=x onerror=alert(1)>

[click me](javascript:alert(1))

Done.
"""

ERRORS = {
    400: ("Invalid request format: the request body is not valid.", "invalid_request_error", "invalid_request_error"),
    402: ("Insufficient Balance", "unknown_error", "insufficient_balance"),
    403: ("Access to this model is forbidden.", "permission_error", "forbidden"),
    404: ("The requested model does not exist.", "invalid_request_error", "model_not_found"),
    422: ("Invalid parameters: model is not supported.", "invalid_request_error", "invalid_parameters"),
    429: ("Rate limit reached for requests.", "rate_limit_error", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.", "server_error", "internal_error"),
    502: ("Bad gateway.", "server_error", "bad_gateway"),
    503: ("The server is overloaded, please try again later.", "server_error", "overloaded"),
}


class ClientGone(Exception):
    """The client closed the connection."""


class RequestLog:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []

    def add(self, entry):
        with self.lock:
            self.entries.append(entry)

    def update(self, entry, **fields):
        with self.lock:
            entry.update(fields)

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.entries))

    def reset(self):
        with self.lock:
            self.entries.clear()


def parse_markers(text):
    markers = {}
    for m in MARKER_RE.finditer(text):
        markers[m.group(1)] = m.group(2) if m.group(2) is not None else ""
    return markers


def marker_int(markers, name, default):
    try:
        return int(markers.get(name, default))
    except (TypeError, ValueError):
        return default


def marker_float(markers, name, default):
    try:
        return float(markers.get(name, default))
    except (TypeError, ValueError):
        return default


def message_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return "" if content is None else str(content)


def split_words(text):
    tokens = re.findall(r"\S+\s*|\s+", text)
    if len(tokens) <= 12:
        return tokens or [text]
    return ["".join(tokens[i:i + 3]) for i in range(0, len(tokens), 3)]


def split_even(text, n):
    n = max(1, min(n, len(text))) if text else 1
    size, extra = divmod(len(text), n)
    pieces, at = [], 0
    for i in range(n):
        step = size + (1 if i < extra else 0)
        pieces.append(text[at:at + step])
        at += step
    return pieces


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeProvider/1.0"

    # ---- plumbing -------------------------------------------------------

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake_provider: " + (fmt % args) + "\n")

    def client_gone(self):
        """True when the peer has closed its end (EOF or reset)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def wait(self, seconds, keepalive=None):
        """Sleeps, noticing at once when the client goes away; keepalive()
        is called every 200 ms when given."""
        deadline = time.monotonic() + seconds
        next_ping = time.monotonic()
        while True:
            now = time.monotonic()
            if keepalive is not None and now >= next_ping:
                keepalive()
                next_ping = now + 0.2
            left = deadline - now
            if left <= 0:
                return
            step = min(left, 0.05)
            if keepalive is not None:
                step = min(step, max(0.0, next_ping - now))
            try:
                readable, _, _ = select.select([self.connection], [], [], step)
            except (OSError, ValueError):
                raise ClientGone()
            if readable:
                if self.client_gone():
                    raise ClientGone()
                time.sleep(step)  # bytes from the client (pipelining): not a hang-up

    def write_raw(self, data):
        if self.client_gone():
            raise ClientGone()
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            raise ClientGone()
        except OSError as e:
            if e.errno in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.EBADF):
                raise ClientGone()
            raise

    def write_chunk(self, data):
        if data:
            self.write_raw(b"%x\r\n" % len(data) + data + b"\r\n")

    def send_json(self, status, obj, extra_headers=None):
        body = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.write_raw(body)

    def send_error_json(self, status, message, etype, code, extra_headers=None):
        self.send_json(status, {"error": {"message": message, "type": etype, "param": None, "code": code}},
                       extra_headers)

    # ---- routes ---------------------------------------------------------

    def do_GET(self):
        path = urlsplit(self.path).path
        try:
            if path == "/_fake/requests":
                self.send_json(200, self.server.log.snapshot())
            elif path == "/_fake/health":
                self.send_json(200, {"status": "ok"})
            else:
                self.send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
        except ClientGone:
            self.close_connection = True

    def do_POST(self):
        path = urlsplit(self.path).path
        try:
            body = self.read_body()
            if body is None:
                return
            if path == "/_fake/reset":
                self.server.log.reset()
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path.endswith("/chat/completions"):
                self.chat(path, body)
            else:
                self.send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
        except ClientGone:
            self.close_connection = True

    def read_body(self):
        length = self.headers.get("Content-Length")
        if length is None:
            self.send_error_json(411, "Content-Length required", "invalid_request_error", "length_required")
            return None
        try:
            n = int(length)
        except ValueError:
            n = -1
        if n < 0 or n > 16 * 1024 * 1024:
            self.send_error_json(400, "bad Content-Length", "invalid_request_error", "bad_length")
            self.close_connection = True
            return None
        return self.rfile.read(n)

    # ---- the fake provider -----------------------------------------------

    def chat(self, path, raw):
        auth = self.headers.get("Authorization", "")
        presented = auth[7:] if auth.startswith("Bearer ") else auth
        auth_ok = auth == "Bearer " + self.server.api_key
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        entry = {
            "path": path,
            "body": body if body is not None else raw.decode("utf-8", "replace"),
            "auth_ok": auth_ok,
            "stream": bool(isinstance(body, dict) and body.get("stream") is True),
            "completed": False,
            "disconnected": False,
            "started": time.time(),
            "ended": None,
        }
        self.server.log.add(entry)
        try:
            self.answer(entry, body, presented, auth_ok)
            self.server.log.update(entry, completed=True, ended=time.time())
        except ClientGone:
            self.server.log.update(entry, disconnected=True, ended=time.time())
            self.close_connection = True

    def answer(self, entry, body, presented, auth_ok):
        if not auth_ok:
            self.send_error_json(401, "Authentication Fails, Your api key: %s is invalid" % presented,
                                 "authentication_error", "invalid_api_key")
            return
        if not isinstance(body, dict):
            self.send_error_json(400, "Failed to deserialize the JSON body.", "invalid_request_error",
                                 "invalid_request_error")
            return
        messages = body.get("messages")
        if (not isinstance(messages, list) or not messages
                or not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages)):
            self.send_error_json(422, "messages must be a non-empty list of {role, content}",
                                 "invalid_request_error", "invalid_parameters")
            return
        if not isinstance(body.get("model"), str) or not body["model"]:
            self.send_error_json(422, "model is required", "invalid_request_error", "invalid_parameters")
            return

        last_user = ""
        for m in messages:
            if m.get("role") == "user":
                last_user = message_text(m.get("content"))
        markers = parse_markers(last_user)
        clean = MARKER_RE.sub("", last_user).strip()

        # --- titles (common/title.h): the small request after a first answer ---
        # Recognised by its system message. Answers like a chatty model would
        # ('Title: "**Fake title:** <first three words>."'), so the server's
        # clean-up shows; [[fake:notitle]] in the prompt makes it fail (503).
        system = " ".join(message_text(m.get("content")) for m in messages if m.get("role") == "system")
        if system.startswith("Write a short title"):
            if "notitle" in markers:
                self.send_error_json(503, "Fake title failure.", "server_error", "fake_error")
                return
            prompt = clean.split("\n\nAnswer:", 1)[0].replace("Prompt:", "", 1)
            words = " ".join(MARKER_RE.sub("", prompt).split()[:3])
            self.complete(body["model"], 'Title: "**Fake title:** %s."' % words, [], markers)
            return
        # --- end of titles ---

        hang = marker_float(markers, "hang", 0)
        if hang > 0:
            self.wait(hang)

        status = marker_int(markers, "status", 0)
        if status == 401:
            self.send_error_json(401, "Authentication Fails, Your api key: %s is invalid" % presented,
                                 "authentication_error", "invalid_api_key")
            return
        if status >= 400:
            message, etype, code = ERRORS.get(status, ("Fake error %d." % status, "server_error", "fake_error"))
            headers = {"Retry-After": "1"} if status in (429, 503) else None
            self.send_error_json(status, message, etype, code, headers)
            return

        if "markdown" in markers:
            text = MARKDOWN_ANSWER
        elif "echo_context" in markers:
            roles = [str(m.get("role")) for m in messages]
            text = "Context: %d messages: %s" % (len(messages), ", ".join(roles))
        elif "long" in markers:
            text = "".join("word%d " % i for i in range(max(1, marker_int(markers, "long", 10))))
        else:
            text = "Echo: " + clean

        if "long" in markers:
            pieces = re.findall(r"\S+\s*", text)
        elif "chunks" in markers:
            pieces = split_even(text, marker_int(markers, "chunks", 1))
        else:
            pieces = split_words(text)
        reasoning = ["Let me think", " about this", " request."] if "reasoning" in markers else []

        model = body["model"]
        opts = body.get("stream_options")
        if "nousage" in markers or (body.get("stream") is True and
                                    not (isinstance(opts, dict) and opts.get("include_usage") is True)):
            markers["_nousage"] = ""
        if body.get("stream") is True:
            self.stream(model, pieces, reasoning, markers)
        else:
            self.complete(model, text, reasoning, markers)

    def complete(self, model, text, reasoning, markers):
        if "keepalive" in markers:
            # Like DeepSeek: blank lines while "thinking", then the JSON.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wait(marker_float(markers, "slow", 15) / 1000.0, lambda: self.write_chunk(b"\n"))
            message = {"role": "assistant", "content": text}
            self.write_chunk(json.dumps({"id": "chatcmpl-fake", "object": "chat.completion", "model": model,
                                         "choices": [{"index": 0, "message": message,
                                                      "finish_reason": "stop"}]}).encode("utf-8"))
            self.write_raw(b"0\r\n\r\n")
            return
        if "garbage" in markers:
            data = b"<html><body>this is not json {\"choices\": [</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.write_raw(data)
            return
        message = {"role": "assistant", "content": text}
        if reasoning:
            message["reasoning_content"] = "".join(reasoning)
        answer = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split()),
                      "total_tokens": marker_int(markers, "tokens", 10 + len(text.split()))},
        }
        if "_nousage" in markers:
            del answer["usage"]
        self.send_json(200, answer)

    def stream(self, model, pieces, reasoning, markers):
        eol = b"\r\n" if "crlf" in markers else b"\n"
        slow = marker_float(markers, "slow", 15) / 1000.0
        keepalive = "keepalive" in markers
        created = int(time.time())

        def event(obj):
            payload = obj if isinstance(obj, bytes) else json.dumps(obj).encode("utf-8")
            self.write_chunk(b"data: " + payload + eol + eol)

        def chunk(delta, finish=None):
            return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created,
                    "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        def ping():
            self.write_chunk(b": keep-alive" + eol + eol + eol)

        def pause():
            self.wait(slow, ping if keepalive else None)

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

        if keepalive:
            ping()
        if "keepalive_only" in markers:
            self.wait(marker_float(markers, "keepalive_only", 1), ping)
        event(chunk({"role": "assistant", "content": ""}))
        for piece in reasoning:
            pause()
            event(chunk({"content": None, "reasoning_content": piece}))
        if reasoning:
            event(chunk({"content": None, "reasoning_content": None}))

        if "splitutf8" in markers:
            raw = [b"A\xf0\x9f", b"\x98\x80B", b"\xff", b"C"]
            for r in raw:
                pause()
                event(b'{"choices":[{"index":0,"delta":{"content":"' + r + b'"},"finish_reason":null}]}')
            pieces = []

        cut_at = max(1, len(pieces) // 2) if "cut" in markers else None
        for i, piece in enumerate(pieces):
            if cut_at is not None and i == cut_at:
                self.drop_connection()
                return
            pause()
            delta = {"content": piece}
            if reasoning:
                delta["reasoning_content"] = None
            event(chunk(delta))
            if i == 0 and "garbage" in markers:
                self.write_chunk(b"data: {this is not json" + eol + eol)
            if i == 0 and "stream_error" in markers:
                event({"error": {"message": "The model is overloaded mid-stream.", "type": "server_error",
                                 "param": None, "code": "overloaded"}})
                self.write_raw(b"0\r\n\r\n")
                return
            if i == 0 and "hangafter" in markers:
                self.wait(marker_float(markers, "hangafter", 1), ping if keepalive else None)
        if "cut" in markers:
            self.drop_connection()
            return
        if "nodone" in markers:
            self.write_raw(b"0\r\n\r\n")
            return
        pause()
        event(chunk({}, "stop"))
        if "_nousage" not in markers:
            event({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                   "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": len(pieces),
                                            "total_tokens": marker_int(markers, "tokens", 10 + len(pieces))}})
        self.write_chunk(b"data: [DONE]" + eol + eol)
        try:
            self.write_raw(b"0\r\n\r\n")
        except ClientGone:
            pass  # a client may close once it has read [DONE] (ours does): the script was played whole

    def drop_connection(self):
        """Ends the response abruptly, without the closing chunk."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # A burst of turns connects at once; a short backlog drops handshakes, and
    # a client whose handshake was dropped waits for a retransmission that a
    # short AI_IDLE_TIMEOUT can take for a silent provider.
    request_queue_size = 1024

    def __init__(self, address, api_key, verbose):
        self.api_key = api_key
        self.verbose = verbose
        self.log = RequestLog()
        super().__init__(address, FakeHandler)

    def handle_error(self, request, client_address):
        # A client that went away must never crash the server or spam the log.
        if self.verbose:
            super().handle_error(request, client_address)


def write_port_file(path, number):
    """Writes a number to path atomically (readers never see half a file)."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % number)
    os.replace(tmp, path)


def exit_with_parent():
    """Asks Linux for SIGTERM when our parent dies (prctl PR_SET_PDEATHSIG)."""
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        if libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0) != 0:
            sys.stderr.write("fake_provider: prctl failed; --exit-with-parent ignored\n")
    except (OSError, AttributeError):
        sys.stderr.write("fake_provider: no prctl here; --exit-with-parent ignored\n")
    if os.getppid() == 1:
        sys.exit(0)  # the parent is already gone


def main():
    parser = argparse.ArgumentParser(description="fake OpenAI-compatible provider for tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--pid-file")
    parser.add_argument("--exit-with-parent", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                        help="speak HTTPS with this certificate and key (bench/ttfd.sh)")
    args = parser.parse_args()

    if args.exit_with_parent:
        exit_with_parent()

    def stop(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    server = FakeServer((args.host, args.port), args.api_key, args.verbose)
    if args.tls:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    try:
        print("PORT=%d" % port, flush=True)
        if args.port_file:
            write_port_file(args.port_file, port)
        if args.pid_file:
            write_port_file(args.pid_file, os.getpid())
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
