#!/usr/bin/env python3
"""What one PPR group costs over a small and a large live heap: the simulator's per-group time
must not grow with the heap the group runs over.

Usage: tools/group_cost.py [--pprsim build/pprsim] [--alloc dmmalloc,comalloc]
                           [--heaps 1,256] [--groups 1000] [--rounds 3]

For each heap size H (MiB) it writes two CS:APP traces into a temporary folder: a prefix that
allocates H MiB of 1 KiB objects and keeps them, and the same prefix followed by GROUPS groups
of one shape (8 instances of 50 events: each allocates 25 objects of 1 KiB and frees them).
Both replay at --group-size 8 --ppr-every 50; a group's cost is the difference of the two
runs' own "seconds" (the best of ROUNDS each) over GROUPS. Prints the cost per group at each
heap size and its ratio to the first size's: first with the periodic full censuses off
(--full-check-every 4294967296; the last check of a run is full in both runs and cancels),
which is what a group and its incremental check cost, then as replay runs by default, with the
full censuses that fell among the measured groups (each reads the whole heap; they wait for
enough events to pay for it, so whether one falls among the groups depends on where the last
one was). Exits 1 when a run is not verified, 2 on bad arguments or a run that did not finish.
"""
import argparse
import os
import sys
import tempfile

import replay_json

GROUP_SIZE = 8
EVERY = 50
OBJECT = 1024


def fail(why):
    replay_json.fail("group_cost", why)


def write_trace(path, live, groups):
    """A CS:APP trace: `live` objects kept, then `groups` groups of the fixed shape."""
    ops = [f"a {i} {OBJECT}" for i in range(live)]
    next_id = live
    for _ in range(groups * GROUP_SIZE):
        ids = range(next_id, next_id + EVERY // 2)
        ops += [f"a {i} {OBJECT}" for i in ids]
        ops += [f"f {i}" for i in ids]
        next_id += EVERY // 2
    with open(path, "w") as f:
        f.write(f"{(live + EVERY) * OBJECT * 2}\n{next_id}\n{len(ops)}\n1\n")
        f.write("\n".join(ops))
        f.write("\n")


NO_PERIODIC_CENSUS = ["--full-check-every", str(2**32)]


def seconds(pprsim, trace, alloc, extra):
    """The run's own seconds and how many full heap checks it made."""
    args = [trace, "--alloc", alloc, "--group-size", str(GROUP_SIZE), "--ppr-every", str(EVERY), *extra]
    run = replay_json.replay_runs("group_cost", pprsim, args)[0]
    if run.get("verified") is not True:
        print(f"group_cost: {alloc} on {trace}: not verified", file=sys.stderr)
        sys.exit(1)
    return run["seconds"], run["full_heap_checks"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pprsim", default="build/pprsim")
    ap.add_argument("--alloc", default="dmmalloc,comalloc")
    ap.add_argument("--heaps", default="1,256", help="live heap sizes in MiB")
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    try:
        heaps = [int(h) for h in a.heaps.split(",")]
    except ValueError:
        fail(f"--heaps: expected MiB counts separated by commas, got '{a.heaps}'")
    if not heaps or min(heaps) < 1 or a.groups < 1 or a.rounds < 1:
        fail("--heaps, --groups and --rounds must be positive")
    allocs = [x for x in a.alloc.split(",") if x]

    print(f"per-group time, {a.groups} groups of {GROUP_SIZE} x {EVERY} events over a live heap of 1 KiB objects;")
    print("'group': periodic full censuses off; 'default': as replay runs, with the full censuses among the groups")
    print(f"{'live heap':>12} {'objects':>9} " +
          " ".join(f"{x + ' group us':>18} {'ratio':>6} {'default us':>11} {'censuses':>8}" for x in allocs))
    first = {}
    with tempfile.TemporaryDirectory(prefix="group_cost.") as tmp:
        for mib in heaps:
            # The prefix fills whole groups, so that the measured groups start on a group's edge.
            per_group = GROUP_SIZE * EVERY
            live = -(-mib * 1024 * 1024 // OBJECT // per_group) * per_group
            prefix = os.path.join(tmp, f"prefix-{mib}.rep")
            full = os.path.join(tmp, f"full-{mib}.rep")
            write_trace(prefix, live, 0)
            write_trace(full, live, a.groups)
            cells = []
            for alloc in allocs:
                per_group = {}
                censuses = 0
                for name, extra in (("group", NO_PERIODIC_CENSUS), ("default", [])):
                    base = min(seconds(a.pprsim, prefix, alloc, extra) for _ in range(a.rounds))
                    total = min(seconds(a.pprsim, full, alloc, extra) for _ in range(a.rounds))
                    per_group[name] = max(total[0] - base[0], 0.0) / a.groups * 1e6
                    censuses = total[1] - base[1]
                us = per_group["group"]
                first.setdefault(alloc, us)
                cells.append(f"{us:>18.1f} {us / first[alloc] if first[alloc] > 0 else 0:>6.2f} "
                             f"{per_group['default']:>11.1f} {censuses:>8}")
            print(f"{live * OBJECT / 2**20:>9.1f} MiB {live:>9} " + " ".join(cells))


if __name__ == "__main__":
    main()
