#!/usr/bin/env python3
"""sseprobe.py: how long a streamed delta takes from the provider to the browser.

Usage: sseprobe.py --url URL --sessions FILE --ua UA [--n N]

Sends N streaming prompts (POST /api/chat, Accept: text/event-stream) to URL
(Caddy's https address, or lighttpd's http one), taking the sessions of FILE
(lines "TOKEN CSRF CONVERSATION_ID") in turn, over one kept-alive connection
as a browser would. bench/fakeprov puts "t=<ns>" in each delta it sends,
<ns> being its CLOCK_MONOTONIC just before the write; on reading each
`event: delta` line pair this reads CLOCK_MONOTONIC (time.monotonic_ns, the
same clock) and records the difference: the delay the whole path (libcurl,
the chat program's SSE parser and writer, lighttpd, Caddy, TLS) adds.

With --gateway TOKEN it streams through the OpenAI-compatible API instead
(POST /v1/chat/completions, the API token as bearer key, --model), reading
OpenAI's chunks; with --direct it sends the same request to URL, the
provider's own chat-completions address: the delay without AIFacade, which
the gateway's row is compared with.

Prints one line: first_p50_ms first_p99_ms all_p50_ms all_p99_ms n_first n_all
errors (the first delta of each answer, and every delta).
"""
import argparse
import http.client
import json
import re
import ssl
import sys
import time
from urllib.parse import urlsplit

STAMP = re.compile(r"t=(\d+)")


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def connect(url):
    u = urlsplit(url)
    if u.scheme == "https":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--sessions")
    ap.add_argument("--ua", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--gateway", metavar="TOKEN")
    ap.add_argument("--direct", action="store_true")
    ap.add_argument("--model", default="fake-model")
    args = ap.parse_args()
    if args.gateway or args.direct:
        return openai_probe(args)
    sessions = [line.split() for line in open(args.sessions) if len(line.split()) == 3]
    host = urlsplit(args.url).netloc

    def request(i):
        token, csrf, conv = sessions[i % len(sessions)]
        body = json.dumps({"prompt": "Stream a short answer, please (bench %d)." % i,
                           "conversation_id": int(conv)})
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream",
                   "Cookie": "__Host-aifacade=" + token, "X-CSRF-Token": csrf,
                   "User-Agent": args.ua, "Host": host}
        return "/api/chat", body, headers

    def read_answer(resp, stamp):
        event, done = None, False
        while True:
            line = resp.readline()
            now = time.monotonic_ns()
            if not line:
                return done
            line = line.rstrip(b"\r\n")
            if line.startswith(b"event: "):
                event = line[7:]
            elif line.startswith(b"data: ") and event == b"delta":
                stamp(json.loads(line[6:]).get("content") or "", now)
            elif line.startswith(b"data: ") and event in (b"done", b"error"):
                done = event == b"done"

    return probe(args, request, read_answer)


def openai_probe(args):
    """The OpenAI wire format: through the gateway (--gateway) or to the provider (--direct)."""
    u = urlsplit(args.url)
    path = u.path if args.direct else "/v1/chat/completions"
    key = "bench-key" if args.direct else args.gateway

    def request(i):
        body = json.dumps({"model": args.model, "stream": True,
                           "messages": [{"role": "user", "content": "Stream a short answer (bench %d)." % i}]})
        headers = {"Content-Type": "application/json", "Authorization": "Bearer " + key,
                   "User-Agent": args.ua, "Host": u.netloc}
        return path, body, headers

    def read_answer(resp, stamp):
        while True:
            line = resp.readline()
            now = time.monotonic_ns()
            if not line:
                return False
            line = line.rstrip(b"\r\n")
            if line == b"data: [DONE]":
                resp.read()
                return True
            if line.startswith(b"data: "):
                chunk = json.loads(line[6:])
                stamp((chunk.get("choices") or [{}])[0].get("delta", {}).get("content") or "", now)

    return probe(args, request, read_answer)


def probe(args, request, read_answer):
    """Sends args.n streamed requests over one kept-alive connection: request(i)
    gives (path, body, headers); read_answer(resp, stamp) reads one answer,
    calls stamp(text, now) for each piece of text and says whether it ended
    well. Prints the delays of the stamps fakeprov put in the text."""
    conn = connect(args.url)
    firsts, every, errors = [], [], 0
    for i in range(args.n):
        path, body, headers = request(i)
        seen = []

        def stamp(content, now):
            for m in STAMP.finditer(content):
                delay = (now - int(m.group(1))) / 1e6
                every.append(delay)
                if not seen:
                    firsts.append(delay)
                seen.append(delay)

        try:
            conn.request("POST", path, body, headers)
            resp = conn.getresponse()
            if resp.status != 200:
                errors += 1
                resp.read()
                continue
            if not read_answer(resp, stamp):
                errors += 1
            if resp.will_close:
                conn.close()
                conn = connect(args.url)
        except (OSError, http.client.HTTPException, ValueError) as e:
            errors += 1
            sys.stderr.write("sseprobe: %s\n" % e)
            conn.close()
            conn = connect(args.url)
    print("first_p50_ms=%.2f first_p99_ms=%.2f all_p50_ms=%.2f all_p99_ms=%.2f n_first=%d n_all=%d errors=%d"
          % (percentile(firsts, 50), percentile(firsts, 99), percentile(every, 50), percentile(every, 99),
             len(firsts), len(every), errors))
    return 0 if errors == 0 and firsts else 1


if __name__ == "__main__":
    sys.exit(main())
