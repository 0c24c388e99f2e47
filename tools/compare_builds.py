#!/usr/bin/env python3
"""Two pprsim builds on the same replay, run in pairs: the CPU time ratio new / base.

On a shared machine the time of one replay drifts by a third within minutes, so medians of
separate runs cannot tell two builds 10% apart. Here each pair runs both builds back to back
(the order alternating from pair to pair), so that both see the same moment of the machine,
and the ratio of each pair counts; the median and quartiles of those ratios are printed.

    python3 tools/compare_builds.py --base /tmp/old/pprsim --new build/pprsim \\
        [--pairs 9] [--group-size 8] [--ppr-every 50] [--alloc dmmalloc,comalloc] \\
        [--times 3] [TRACE ...]

The traces default to ../shared/traces/cs-app/*.rep, each replayed --times times in one run.
"""

import argparse
import glob
import os
import resource
import statistics
import subprocess
import sys


def fail(msg):
    print(f"compare_builds.py: {msg}", file=sys.stderr)
    sys.exit(2)


def cpu_seconds(cmd):
    """User + system CPU seconds of one run of cmd (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        fail(f"{cmd[0]} exited with {done.returncode}: {done.stderr.strip()[:300]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_traces = sorted(glob.glob(os.path.join(here, "..", "..", "shared", "traces", "cs-app", "*.rep")))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the pprsim build to compare against")
    ap.add_argument("--new", required=True, help="the pprsim build being measured")
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--group-size", type=int, default=8)
    ap.add_argument("--ppr-every", type=int, default=50)
    ap.add_argument("--alloc", default="dmmalloc,comalloc")
    ap.add_argument("--times", type=int, default=3, help="each trace this many times in one run")
    ap.add_argument("traces", nargs="*")
    a = ap.parse_args()
    if a.pairs < 1 or a.group_size < 1 or a.ppr_every < 0 or a.times < 1:
        fail("--pairs, --group-size and --times must be positive, --ppr-every not negative")
    for build in (a.base, a.new):
        if not (os.path.isfile(build) and os.access(build, os.X_OK)):
            fail(f"{build}: not an executable file")
    traces = a.traces or default_traces
    if not traces:
        fail("no traces given, and none in ../shared/traces/cs-app")
    for t in traces:
        if not os.path.isfile(t):
            fail(f"{t}: no such trace")
    args = ["replay", "--alloc", a.alloc, "--group-size", str(a.group_size), "--ppr-every", str(a.ppr_every)]
    args += traces * a.times

    ratios = []
    for i in range(a.pairs):
        order = [("base", a.base), ("new", a.new)]
        if i % 2 == 1:
            order.reverse()
        seconds = {name: cpu_seconds([build] + args) for name, build in order}
        ratios.append(seconds["new"] / seconds["base"])
        print(f"pair {i + 1}: base {seconds['base']:.3f} s  new {seconds['new']:.3f} s  "
              f"new/base {ratios[-1]:.3f}", flush=True)
    ratios.sort()
    n = len(ratios)
    print(f"{len(traces)} traces x {a.times}, G={a.group_size}, a PPR every {a.ppr_every}, {a.alloc}: "
          f"new/base CPU time, median of {n} pairs {statistics.median(ratios):.3f} "
          f"(quartiles {ratios[n // 4]:.3f} .. {ratios[(3 * n) // 4]:.3f})")


if __name__ == "__main__":
    main()
