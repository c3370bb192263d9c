#!/usr/bin/env python3
"""rsswatch.py: peak memory of the short-lived children of a process.

Usage: rsswatch.py PARENT_PID SECONDS

The chat SCGI server (common/scgi.h) forks one child per request; no wait4
reports their peak RSS, so this samples /proc every millisecond for SECONDS
and prints the largest VmHWM (peak RSS, shared pages included) and the
largest private memory (Private_Clean + Private_Dirty of smaps_rollup: what
the child does not share with the warm parent) seen in any child:
  children=N max_hwm_kib=.. max_private_kib=.. parent_rss_kib=..
"""
import os
import sys
import time


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def field(path, name):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def main():
    parent, seconds = int(sys.argv[1]), float(sys.argv[2])
    seen, hwm, private = set(), 0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for c in children(parent):
            seen.add(c)
            hwm = max(hwm, field("/proc/%d/status" % c, "VmHWM:"))
            private = max(private, field("/proc/%d/smaps_rollup" % c, "Private_Clean:")
                          + field("/proc/%d/smaps_rollup" % c, "Private_Dirty:"))
        time.sleep(0.001)
    print("children=%d max_hwm_kib=%d max_private_kib=%d parent_rss_kib=%d"
          % (len(seen), hwm, private, field("/proc/%d/status" % parent, "VmRSS:")))


if __name__ == "__main__":
    main()
