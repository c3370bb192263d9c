#!/usr/bin/env python3
"""compare.py: both modes of one `make bench` side by side (bench/both.sh).

Usage: compare.py DIR     (DIR/process and DIR/persistent: bench/run.sh results)

For each row: req/s, p50 and CPU per request through lighttpd and through
Caddy in each mode, and the persistent mode's cost relative to the trivial
CGI floor of its own run. Then the targets of bench/README.md (issue 13):
  - persistent, through lighttpd: /api/me, the 50-message history and a
    prompt each cost less than half the CGI floor (CPU per request);
  - through Caddy: the 50-message history at least 8 times the Flask chat
    page (302 req/s through Caddy), a prompt at least 5 times Flask's POST
    (246 req/s direct);
  - the default mode no slower than the persistent one needs to be compared
    with the last table of bench/README.md (printed, not judged here);
and what Caddy itself costs per request (the static row) and what is left.

With PostgreSQL runs (DIR/process-pg, DIR/persistent-pg: through PgBouncer;
DIR/process-pg-direct: without it), a second table puts their database rows
beside SQLite's of the same mode: each run's cost relative to its own floor
(CPU per request, PostgreSQL's and PgBouncer's included, over the trivial
CGI program's in the same round), and the ratios between those.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402

FLASK_CADDY_PAGE = 302
FLASK_POST = 246
PG_ROWS = [("me", "GET /api/me"), ("conv50", "history page, 50 msgs"), ("chat", "POST /api/chat")]
# (directory, mode, database): the runs bench/both.sh makes
RUNS = [("process", "process", "sqlite"), ("process-pg", "process", "pg"),
        ("process-pg-direct", "process", "pg-direct"), ("persistent", "persistent", "sqlite"),
        ("persistent-pg", "persistent", "pg"), ("persistent-pg-direct", "persistent", "pg-direct")]
ROWS = ["floor-dyn", "static", "health", "me", "list", "conv50", "conv5k", "chat", "login", "me-cgi", "conv50-cgi"]


def fmt(v, f="{:,.0f}"):
    return "-" if v is None or v != v else f.format(v)


def ratio(a, b):
    return a / b if a and b and a == a and b == b else None


def pg_section(d):
    """PostgreSQL's rows beside SQLite's, and the ratios that choose a mode and a connection."""
    runs = {}
    for name, mode, db in RUNS:
        if os.path.isdir(os.path.join(d, name)) and os.path.exists(os.path.join(d, name, "results")):
            runs[(mode, db)] = report.compute(os.path.join(d, name))[1]
    if not any(db != "sqlite" for _, db in runs):
        return
    print()
    print("PostgreSQL beside SQLite, through lighttpd (x floor = CPU per request, the database server's and "
          "PgBouncer's included, / the trivial CGI program's in the same run; db us = PostgreSQL's and "
          "PgBouncer's share of CPU us; pg = through PgBouncer, pg-direct = without it)")
    print()
    cols = [k for k in [(m, db) for _, m, db in RUNS] if k in runs]
    head = ["row"]
    for m, db in cols:
        head += ["%s %s x floor" % (m, db), "CPU us", "db us", "req/s", "p50"]
    rows = []
    for key, what in [("floor-dyn", "floor")] + PG_ROWS:
        r = [what]
        for c in cols:
            t = runs[c].get((key, "lighttpd"), {})
            r += [fmt(t.get("ratio"), "{:.2f}"), fmt(t.get("cpu")), fmt(t.get("db")), fmt(t.get("rps")),
                  fmt(t.get("p50"), "{:.1f}")]
        rows.append(r)
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) for i in range(len(head))]
    print("  ".join(h.ljust(widths[i]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(head)))
    for r in rows:
        print("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
    print()

    def cmp(a, b, what):
        if a not in runs or b not in runs:
            return
        parts = []
        for key, label in PG_ROWS:
            ta, tb = runs[a].get((key, "lighttpd"), {}), runs[b].get((key, "lighttpd"), {})
            x, p = ratio(ta.get("ratio"), tb.get("ratio")), ratio(ta.get("p50"), tb.get("p50"))
            ca, cb = runs[a].get((key, "caddy"), {}), runs[b].get((key, "caddy"), {})
            thr = ratio(ca.get("rps"), cb.get("rps"))
            if x is not None:
                parts.append("%s %s x the cost, p50 %s x, req/s through Caddy %s x" % (
                    label, fmt(x, "{:.2f}"), fmt(p, "{:.2f}"), fmt(thr, "{:.2f}")))
        if parts:
            print("%s: %s" % (what, "; ".join(parts)))

    cmp(("process", "pg"), ("process", "sqlite"), "process mode, PostgreSQL (PgBouncer) against SQLite")
    cmp(("persistent", "pg"), ("persistent", "sqlite"), "persistent mode, PostgreSQL (PgBouncer) against SQLite")
    cmp(("persistent", "pg"), ("process", "pg"), "PostgreSQL (PgBouncer), persistent against process mode")
    cmp(("process", "pg-direct"), ("process", "pg"), "process mode, PostgreSQL without PgBouncer against through it")
    cmp(("persistent", "pg-direct"), ("persistent", "pg"),
        "persistent mode, PostgreSQL without PgBouncer against through it")


def main():
    d = sys.argv[1]
    modes = {}
    for m in ("process", "persistent"):
        if os.path.isdir(os.path.join(d, m)):
            modes[m] = report.compute(os.path.join(d, m))[1]
    if not modes:
        pg_section(d)
        return 0
    labels = {k: lbl for k, lbl, _ in report.ROWS}
    head = ["row"]
    for m in modes:
        head += [m + " lighttpd req/s", "p50", "CPU us", "x floor", "Caddy req/s", "p50"]
    if len(modes) == 2:
        head += ["persistent/process req/s (Caddy)"]
    rows = []
    for key in ROWS:
        if not any((key, "lighttpd") in t or (key, "caddy") in t for t in modes.values()):
            continue
        r = [labels.get(key, key).replace(" (SCGI)", "").replace(" (CGI; opens the db)", "")]
        for m, t in modes.items():
            li, ca = t.get((key, "lighttpd"), {}), t.get((key, "caddy"), {})
            r += [fmt(li.get("rps")), fmt(li.get("p50"), "{:.1f}"), fmt(li.get("cpu")), fmt(li.get("ratio"), "{:.2f}"),
                  fmt(ca.get("rps")), fmt(ca.get("p50"), "{:.1f}")]
        if len(modes) == 2:
            a, b = modes["process"].get((key, "caddy"), {}), modes["persistent"].get((key, "caddy"), {})
            r.append(fmt(b["rps"] / a["rps"], "{:.2f}") if a.get("rps") and b.get("rps") else "-")
        rows.append(r)
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) for i in range(len(head))]
    print("Both modes, one run (README, \"Two ways to run the programs\"); x floor = CPU per request / the trivial"
          " CGI program's in the same round")
    print()
    print("  ".join(h.ljust(widths[i]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(head)))
    for r in rows:
        print("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
    print()
    p = modes.get("persistent", {})
    for key, what in (("me", "GET /api/me"), ("conv50", "the 50-message history"), ("chat", "POST /api/chat")):
        t = p.get((key, "lighttpd"))
        if t:
            ok = t["ratio"] == t["ratio"] and t["ratio"] < 0.5
            print("target: persistent, through lighttpd, %s costs %s x the CGI floor (CPU/request), < 0.5: %s" % (
                what, fmt(t["ratio"], "{:.2f}"), "ok" if ok else "MISS"))
    for key, what, base, times in (("conv50", "the 50-message history", FLASK_CADDY_PAGE, 8),
                                   ("chat", "a prompt", FLASK_POST, 5)):
        t = p.get((key, "caddy"))
        if t:
            x = t["rps"] / base
            print("target: persistent, through Caddy, %s: %s req/s = %.1f x Flask's %d, >= %d x: %s" % (
                what, fmt(t["rps"]), x, base, times, "ok" if x >= times else "MISS"))
    for m, t in modes.items():
        st, c50 = t.get(("static", "caddy")), t.get(("conv50", "caddy"))
        if st and c50 and st["rps"] and c50["rps"]:
            caddy_us, ours_us = 1e6 / st["rps"], 1e6 / c50["rps"]
            print("%s: through Caddy a static file takes %.0f us of wall time per request at this concurrency "
                  "(%s req/s): Caddy's own share; the 50-message history %.0f us, so %.0f us is ours" % (
                      m, caddy_us, fmt(st["rps"]), ours_us, max(ours_us - caddy_us, 0)))
    pg_section(d)
    try:
        with open(os.path.join(d, "ttfd")) as f:
            lines = [report.kv(line) | {"mode": line.split()[0]} for line in f if line.strip()]
        got = {x["mode"]: x for x in lines}
        if "fresh" in got and "kept" in got:
            print("first delta of a process's second prompt over TLS (bench/ttfd.sh, %s runs): p50 %s ms with a new "
                  "connection, %s ms on the kept one (first prompt %s / %s ms)" % (
                      got["kept"]["runs"], got["fresh"]["second_p50_ms"], got["kept"]["second_p50_ms"],
                      got["fresh"]["first_p50_ms"], got["kept"]["first_p50_ms"]))
    except FileNotFoundError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
