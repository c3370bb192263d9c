#!/usr/bin/env python3
"""report.py: turns one bench run's raw numbers into the table (see bench/README.md).

Usage: report.py [--markdown] RESULTS_DIR

Reads RESULTS_DIR/results (wrk: "key path round rps p50_ms p99_ms bad
cpu_us_per_request [db_cpu_us_per_request]", the last on PostgreSQL: the
share of the CPU that PostgreSQL's processes and PgBouncer used), rss (bench/cgirun per program: CGI runs, and SCGI
requests to the endpoints lighttpd.conf runs as SCGI servers), scgi_rss
(bench/rsswatch.py), stream (bench/sseprobe.py), memory (the stack) and
meta. For each row and path it shows the median over rounds of req/s, of
the p50/p99 latencies and of the CPU per request (wrk's, lighttpd's with
its CGI children, the chat server's with its children, and Caddy's on the
Caddy path), and two costs relative to the floor of the same round and path
(the mean of the floor runs that open and close the round), each the median
over rounds:
  x floor      CPU per request / the floor's CPU per request (the cost; it
               hardly moves when other programs load the machine)
  by req/s     the floor's req/s / the row's req/s (what the issue's
               figures are; equal to the above on an idle machine)
"""
import statistics
import sys

ROWS = [
    ("floor-dyn", "floor: trivial C CGI program", None),
    ("static", "static file /static/app.css, gzip/zstd accepted", None),
    ("static-plain", "  same, not compressed (no Accept-Encoding)", None),
    ("health", "GET /api/health (CGI; opens the db)", None),
    ("me", "GET /api/me (SCGI)", 1.3),
    ("list", "GET /api/conversations (100) (SCGI)", None),
    ("conv50", "GET /api/conversations/{id}, 50 msgs (SCGI)", 1.6),
    ("conv5k", "  same, 5,000-msg conv (newest 50)", None),
    ("chat", "POST /api/chat, non-streaming (SCGI)", 2.5),
    ("gateway", "POST /v1/chat/completions, non-streaming (CGI)", None),
    ("login", "POST /api/login (CGI; argon2id)", None),
    ("me-cgi", "compare: GET /api/me run by mod_cgi", None),
    ("conv50-cgi", "compare: 50 msgs run by mod_cgi", None),
    ("conv50-nohtml", "compare: 50 msgs, no stored HTML (SCGI)", None),
]
# Direct runs whose programs run as CGI programs elsewhere in the table
# (bench/run.sh): the SCGI endpoints' binaries run by fork and exec.
CGI_TWINS = [("me", "me-cgi"), ("conversations/{id}, 50 msgs", "conv50-cgi"), ("chat", "chat-cgi")]
PATHS = ("lighttpd", "caddy")
FLASK = [("conv50", 587, "chat page, 120 exchanges"), ("conv5k", 52, "chat page, 2,265 exchanges"),
         ("chat", 267, "prompt, instant provider")]
RSS_LIMIT_KIB = 8 * 1024
NAN = float("nan")


def kv(line):
    out = {}
    for part in line.split():
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v.strip('"')
    return out


def read_lines(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def median(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else NAN


def compute(d):
    """The table of one run: {(key, path): {rps, p50, p99, cpu, ratio, ratio_rps}}, meta, bad rows."""
    meta = {}
    for line in read_lines(d + "/meta"):
        k, _, v = line.partition("=")
        meta[k] = v

    runs = {}  # (key, path, round) -> list of (rps, p50, p99, bad, cpu_us)
    for line in read_lines(d + "/results"):
        f = line.split()
        cpu = float(f[7]) if len(f) > 7 and float(f[7]) > 0 else NAN
        db = float(f[8]) if len(f) > 8 else NAN
        runs.setdefault((f[0], f[1], f[2]), []).append((float(f[3]), float(f[4]), float(f[5]), int(f[6]), cpu, db))

    def floor(path, rnd, i):
        v = runs.get(("floor-dyn", path, rnd))
        vals = [r[i] for r in v if r[i] == r[i] and r[i] > 0] if v else []
        return statistics.mean(vals) if vals else None

    table = {}
    bad_rows = []
    for key, _, _ in ROWS:
        for path in PATHS:
            rounds = ["1"] if key == "login" else sorted({r for (k, p, r) in runs if k == key and p == path})
            samples, by_rps, by_cpu = [], [], []
            for rnd in rounds:
                frnd = "login" if key == "login" else rnd
                for s in runs.get((key, path, rnd), []):
                    samples.append(s)
                    if s[3]:
                        bad_rows.append("%s via %s round %s: %d bad responses or socket errors" % (key, path, rnd, s[3]))
                    f_rps, f_cpu = floor(path, frnd, 0), floor(path, frnd, 4)
                    if f_rps and s[0] > 0:
                        by_rps.append(f_rps / s[0])
                    if f_cpu and s[4] == s[4]:
                        by_cpu.append(s[4] / f_cpu)
            if not samples:
                continue
            table[(key, path)] = {
                "rps": median(s[0] for s in samples),
                "p50": median(s[1] for s in samples),
                "p99": median(s[2] for s in samples),
                "cpu": median(s[4] for s in samples),
                "db": median(s[5] for s in samples),
                "ratio": median(by_cpu),
                "ratio_rps": median(by_rps),
            }
    return meta, table, bad_rows


def main():
    args = sys.argv[1:]
    markdown = "--markdown" in args
    args = [a for a in args if a != "--markdown"]
    d = args[0]
    meta, table, bad_rows = compute(d)
    cpus = int(meta.get("cpus", "2") or 2)

    rss = {}
    for line in read_lines(d + "/rss"):
        key, rest = line.split(" ", 1)
        rss[key] = kv(rest)
    stream = {}
    for line in read_lines(d + "/stream"):
        path, rest = line.split(" ", 1)
        stream[path] = kv(rest)
    scgi = {}
    for line in read_lines(d + "/scgi_rss"):
        scgi = kv(line)
    memory = {}
    for line in read_lines(d + "/memory"):
        label, rest = line.split(" ", 1)
        memory[label] = (kv(rest), rest)

    def num(v, fmt):
        return "-" if v != v else fmt.format(v)

    def cell(key, path, field):
        t = table.get((key, path))
        if not t:
            return "-"
        return num(t[field], {"rps": "{:,.0f}", "cpu": "{:,.0f}", "ratio": "{:.2f}",
                              "ratio_rps": "{:.2f}"}.get(field, "{:.1f}"))

    def verdict(ok):
        return "ok" if ok else "MISS"

    header = ["endpoint", "lighttpd req/s", "p50 ms", "p99 ms", "CPU us/req", "x floor", "(by req/s)",
              "Caddy req/s", "p50 ms", "p99 ms", "x floor", "target", "peak RSS MiB", "CPU ms/run"]
    rows = []
    for key, label, target in ROWS:
        if not any((key, p) in table for p in PATHS):
            continue
        t = table.get((key, "lighttpd"))
        tgt = ""
        if target is not None and t and t["ratio"] == t["ratio"]:
            tgt = "<= %.1f %s" % (target, verdict(t["ratio"] <= target))
        if key == "conv5k" and t and ("conv50", "lighttpd") in table:
            short = table[("conv50", "lighttpd")]
            grow = t["cpu"] / short["cpu"]
            if grow != grow:  # no CPU figures: by req/s
                grow = short["rps"] / t["rps"]
            tgt = "%.2f x 50-msg, <= 1.2 %s" % (grow, verdict(grow <= 1.2))
        r = rss.get(key, {})
        mark = "*" if "children" in r else ""
        mib = "%.1f%s" % (int(r["max_rss_kib"]) / 1024, mark) if int(r.get("max_rss_kib", 0)) > 0 else "-"
        cpu_run = r.get("cpu_p50_us", r.get("cpu_mean_us")) if not mark else r.get("cpu_mean_us")
        direct = "%.2f%s" % (int(cpu_run) / 1000, mark) if cpu_run else "-"
        rows.append([label] + [cell(key, "lighttpd", f) for f in ("rps", "p50", "p99", "cpu", "ratio", "ratio_rps")] +
                    [cell(key, "caddy", f) for f in ("rps", "p50", "p99", "ratio")] + [tgt, mib, direct])

    notes = []
    if "caddy" in stream:
        s = stream["caddy"]
        ok = float(s["first_p50_ms"]) <= 5
        notes.append("Streaming, provider's write to the client's read of a delta, through Caddy: first delta "
                     "p50 %s ms, p99 %s ms (%s answers); every delta p50 %s ms, p99 %s ms (%s deltas); target "
                     "p50 <= 5 ms %s" % (s["first_p50_ms"], s["first_p99_ms"], s["n_first"], s["all_p50_ms"],
                                         s["all_p99_ms"], s["n_all"], verdict(ok)))
    if "lighttpd" in stream:
        s = stream["lighttpd"]
        notes.append("  same through lighttpd alone: first delta p50 %s ms, p99 %s ms; every delta p50 %s ms, "
                     "p99 %s ms" % (s["first_p50_ms"], s["first_p99_ms"], s["all_p50_ms"], s["all_p99_ms"]))
    if "gateway" in stream and "provider" in stream:
        g, p = stream["gateway"], stream["provider"]
        notes.append("OpenAI-compatible API, a streamed chunk through /v1/chat/completions and Caddy: every chunk "
                     "p50 %s ms, p99 %s ms (%s chunks, %s errors); the provider asked directly: p50 %s ms, p99 %s ms; "
                     "added p50 %.2f ms, p99 %.2f ms"
                     % (g["all_p50_ms"], g["all_p99_ms"], g["n_all"], g["errors"], p["all_p50_ms"], p["all_p99_ms"],
                        float(g["all_p50_ms"]) - float(p["all_p50_ms"]),
                        float(g["all_p99_ms"]) - float(p["all_p99_ms"])))
    peaks = {k: int(r["max_rss_kib"]) for k, r in rss.items() if "max_rss_kib" in r}
    if "max_hwm_kib" in scgi:
        peaks["chat-streaming"] = int(scgi["max_hwm_kib"])
    # the *-cgi twins are comparisons: lighttpd.conf does not run those binaries that way
    over = [k for k, v in peaks.items()
            if k not in ("login", "register") and not k.endswith("-cgi") and v >= RSS_LIMIT_KIB]
    if rss:
        notes.append("Peak RSS per request (direct runs: wait4 ru_maxrss of CGI runs; *: the largest VmHWM sampled "
                     "in an SCGI server's per-request children): every program but login, as lighttpd.conf runs it, under 8 MiB: "
                     "%s" % (verdict(not over) if not over else "MISS (" + ", ".join(over) + ")"))
        sc = [(k, r) for k, r in rss.items() if "children" in r]
        if sc:
            notes.append("  * SCGI endpoints (lighttpd.conf: me, conversations, chat), measured as lighttpd runs them: "
                         "requests one at a time on the socket of the server lighttpd spawned (bench/cgirun -s); "
                         "CPU ms/run is the server's CPU with its reaped children per request, the mean of %s "
                         "requests (the parent's accept, fork and reaping and the child's whole life), peak RSS the "
                         "largest VmHWM seen in %s children sampled by a SCHED_FIFO reader%s" % (
                             "/".join(r["runs"] for _, r in sc),
                             "/".join(r.get("children", "?") for _, r in sc),
                             "" if all(r.get("rt") == "1" for _, r in sc) else " (not everywhere: it may miss peaks)"))
        twins = []
        for what, key in CGI_TWINS:
            r = rss.get(key)
            if r and "cpu_p50_us" in r:
                twins.append("%s %.2f ms CPU (mean %.2f), %.1f MiB" % (
                    what, int(r["cpu_p50_us"]) / 1000, int(r.get("cpu_mean_us", r["cpu_p50_us"])) / 1000,
                    int(r["max_rss_kib"]) / 1024))
        if twins:
            notes.append("  the same binaries run as CGI programs (fork, exec, wait4; median of 50 or 30 runs): "
                         + "; ".join(twins))
        wrong = ["%s answered %s" % (k, r.get("http", "?")) for k, r in rss.items()
                 if not r.get("http", "").startswith("200")]
        if wrong:
            notes.append("  direct runs with an unexpected status: " + "; ".join(wrong))
    if "max_hwm_kib" in scgi:
        notes.append("  chat's SCGI server while answering streamed prompts through lighttpd (bench/rsswatch.py): the "
                     "warm parent holds %.1f MiB RSS; a request's child peaks at %.1f MiB RSS of which %.1f MiB "
                     "private (%s children seen)" % (
                         int(scgi["parent_rss_kib"]) / 1024, int(scgi["max_hwm_kib"]) / 1024,
                         int(scgi["max_private_kib"]) / 1024, scgi.get("children", "?")))
    for label in ("rest", "after-load"):
        if label in memory:
            m, rest = memory[label]
            procs = " ".join(p for p in rest.split() if not p.startswith(("rss_kib", "pss_kib")))
            notes.append("Stack memory %s: RSS %.1f MiB, PSS %.1f MiB (%s, KiB)" % (
                "at rest" if label == "rest" else "after the load", int(m["rss_kib"]) / 1024,
                int(m["pss_kib"]) / 1024, procs))
    sent = meta.get("static_sent", "").split()
    if sent and meta.get("static_bytes"):
        notes.append("Static row: /static/app.css is %s bytes; through Caddy, to a client that accepts gzip and zstd, "
                     "%s bytes (%s); lighttpd alone sends it as it is" % (
                         "{:,}".format(int(meta["static_bytes"])), "{:,}".format(int(sent[0])),
                         sent[1] if len(sent) > 1 else "not compressed"))
    for key, flask, what in FLASK:
        t = table.get((key, "caddy"))
        if t:
            cap = cpus * 1e6 / t["cpu"] if t["cpu"] == t["cpu"] else NAN
            x = max(t["rps"], cap if cap == cap else 0) / flask
            notes.append("Flask %s: %d req/s; ours through Caddy %s req/s measured, %s req/s from its CPU per request "
                         "on %d idle CPUs = %.1fx (target >= 3x %s)" % (
                             what, flask, num(t["rps"], "{:,.0f}"), num(cap, "{:,.0f}"), cpus, x, verdict(x >= 3)))
    notes.extend(bad_rows)

    title = "AIFacade bench, %s, %s mode, database %s; %s, %s CPUs, %s, Linux %s; wrk %s; load before %s, after %s; " \
        "commit %s" % (
        meta.get("date", "?"), meta.get("mode", "?"), meta.get("db", "sqlite"), meta.get("cpu", "?"), meta.get("cpus", "?"), meta.get("mem", "?"),
        meta.get("kernel", "?"), meta.get("wrk", "?"), meta.get("load_before", "?"), meta.get("load_after", "?"),
        meta.get("commit", "?"))
    counts = meta.get("counts", "").split("|")
    if len(counts) == 6:
        title += "\nDatabase: %s users, %s conversations, %s messages (long conversation %s, short %s)" % (
            counts[0], counts[1], counts[2], counts[3], counts[4])

    if markdown:
        print(title.replace("\n", "  \n"))
        print()
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        print()
        for n in notes:
            print("- " + n.strip())
        return 0
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    print(title)
    print()
    print("  ".join(h.ljust(widths[i]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(header)))
    for r in rows:
        print("  ".join(c.ljust(widths[i]) if i in (0, 11) else c.rjust(widths[i]) for i, c in enumerate(r)))
    print()
    for n in notes:
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
