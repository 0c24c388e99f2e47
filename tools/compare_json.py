#!/usr/bin/env python3
"""Two pprsim builds on the same replays: which JSON keys differ, and for which allocators.

A change that should not alter behaviour must leave every run's JSON as it was, apart from
"seconds" and keys it adds. This replays each trace on each allocator and group size with both
builds and lists the keys whose values differ (a key only one build writes counts as differing):

    python3 tools/compare_json.py --base /tmp/old/pprsim --new build/pprsim \\
        [--alloc dmmalloc,comalloc,shared] [--group-sizes 1,4,8] [--ppr-every 50] [TRACE ...]

The traces default to ../shared/traces/cs-app/*.rep. Exit status 0 when nothing differs, 1 when
something does, 2 on bad usage.
"""

import argparse
import glob
import itertools
import json
import os
import subprocess
import sys


def run_json(binary, args):
    done = subprocess.run([binary] + args, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        print(f"compare_json.py: {binary} {' '.join(args)} exited with {done.returncode}: "
              f"{done.stderr.strip()[:300]}", file=sys.stderr)
        sys.exit(2)
    j = json.loads(done.stdout)
    j.pop("seconds", None)
    return j


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--alloc", default="dmmalloc,comalloc,shared")
    ap.add_argument("--group-sizes", default="1,4,8")
    ap.add_argument("--ppr-every", type=int, default=50)
    ap.add_argument("traces", nargs="*")
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    traces = a.traces or sorted(glob.glob(os.path.join(here, "..", "..", "shared", "traces", "cs-app", "*.rep")))
    if not traces:
        print("compare_json.py: no traces (give some, or put the CS:APP traces at ../shared/traces/cs-app)",
              file=sys.stderr)
        return 2
    diffs = {}
    runs = 0
    for trace, alloc, g in itertools.product(traces, a.alloc.split(","), a.group_sizes.split(",")):
        args = ["replay", trace, "--alloc", alloc, "--group-size", g, "--ppr-every", str(a.ppr_every),
                "--json", "-"]
        old, new = run_json(a.base, args), run_json(a.new, args)
        runs += 1
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                diffs.setdefault(key, []).append((os.path.basename(trace), alloc, g))
    print(f"{runs} runs compared")
    for key, where in sorted(diffs.items()):
        allocs = sorted({al for _, al, _ in where})
        print(f"{key}: {len(where)} runs differ (allocators: {', '.join(allocs)}; e.g. {where[0][0]} G={where[0][2]})")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
