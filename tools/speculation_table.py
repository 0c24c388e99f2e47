#!/usr/bin/env python3
"""How speculation sizes its memory: reserved and task-allocated bytes, growth inside tasks and
rescues, over a set of traces at group sizes 2/4/8 and PPR lengths 10/50/200.

Usage: tools/speculation_table.py [--pprsim build/pprsim] [--alloc dmmalloc,comalloc]
                                  [--every 10,50,200] TRACE...

Prints one markdown row per allocator and group size (sums over the traces and PPR lengths),
then the peak system memory at G=8 against the sequential run. Exits 1 when any run is not
verified or has an allocator-induced conflict, 2 on bad arguments or a run that did not finish.
"""
import argparse
import os
import sys

import replay_json

GROUPS = (2, 4, 8)


def fail(why):
    replay_json.fail("speculation_table", why)


def replay(pprsim, traces, alloc, g, every):
    args = [*traces, "--alloc", alloc, "--group-size", str(g)]
    if every:
        args += ["--ppr-every", str(every)]
    return replay_json.replay_runs("speculation_table", pprsim, args)


def ratio(a, b):
    return a / b if b else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pprsim", default="build/pprsim")
    ap.add_argument("--alloc", default="dmmalloc,comalloc")
    ap.add_argument("--every", default="10,50,200", help="PPR lengths (events), comma-separated")
    ap.add_argument("traces", nargs="+")
    args = ap.parse_args()
    try:
        every_list = [int(e) for e in args.every.split(",")]
    except ValueError:
        ap.error(f"--every: expected numbers separated by commas, got '{args.every}'")
    if any(e < 1 for e in every_list):
        ap.error("--every: every PPR length must be at least 1")
    failed = []
    print("| allocator | G | reserved / task-allocated | worst trace | rescues / tasks | grown in tasks | adopted |")
    print("|---|---|---|---|---|---|---|")
    peaks = []
    for alloc in args.alloc.split(","):
        sequential = {r["trace"]: r for r in replay(args.pprsim, args.traces, alloc, 1, 0)}
        for g in GROUPS:
            reserved = allocated = rescues = tasks = grown = adopted = 0
            worst = ("", 0.0)
            for every in every_list:
                for r in replay(args.pprsim, args.traces, alloc, g, every):
                    name = f"{os.path.basename(r['trace'])} (ppr-every {every})"
                    if not r["verified"] or r["conflicts"]["allocator_induced"] != 0:
                        failed.append(f"{alloc} G={g} {name}: {r['failure'] or 'not verified'}")
                    reserved += r["reserved_bytes"]
                    allocated += r["task_allocated_bytes"]
                    rescues += r["rescues"]
                    tasks += r["committed"] + r["aborted"]
                    grown += r["task_grown_bytes"]
                    adopted += r["adopted_bytes"]
                    own = ratio(r["reserved_bytes"], r["task_allocated_bytes"])
                    if own > worst[1]:
                        worst = (name, own)
                    if g == 8:
                        seq = sequential[r["trace"]]["peak_system_bytes"]
                        peaks.append((alloc, every, name, r["peak_system_bytes"], seq))
            print(f"| {alloc} | {g} | {ratio(reserved, allocated):.2f} | {worst[0]} {worst[1]:.2f} | "
                  f"{rescues} / {tasks} ({100 * ratio(rescues, tasks):.2f}%) | {grown} | {adopted} |")
    print()
    print("| allocator | ppr-every | peak system memory, G=8 / sequential (sum) | worst trace |")
    print("|---|---|---|---|")
    for alloc in args.alloc.split(","):
        for every in every_list:
            rows = [p for p in peaks if p[0] == alloc and p[1] == every]
            total = ratio(sum(p[3] for p in rows), sum(p[4] for p in rows))
            w = max(rows, key=lambda p: ratio(p[3], p[4]))
            print(f"| {alloc} | {every} | {total:.2f} | {w[2]} {ratio(w[3], w[4]):.2f} |")
    for f in failed:
        print(f"NOT VERIFIED: {f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
