#!/usr/bin/env python3
"""Which allocator paths traces and fuzzing reach: one markdown row per trace (replayed at one
group size, a PPR every N operations) with the paths each allocator exercised, a row for
`pprsim fuzz --runs R` per allocator, then the probe list with what each probe guards and how
many of the traces reach it.

Usage: tools/coverage_table.py [--pprsim build/pprsim] [--alloc dmmalloc,comalloc,shared]
                               [--group-size 4] [--ppr-every 50] [--fuzz-runs 1000] TRACE...

Exits 2 on bad arguments or a pprsim that did not finish.
"""
import argparse
import json
import os
import subprocess
import tempfile

import replay_json


def fail(why):
    replay_json.fail("coverage_table", why)


def fuzz_coverage(pprsim, alloc, runs):
    out = tempfile.mkdtemp(prefix="coverage_table_")
    cmd = [pprsim, "fuzz", "--alloc", alloc, "--runs", str(runs), "--seed", "1", "--json", "-", "--quiet",
           "--keep-going", "--out", out]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        fail(f"cannot run {pprsim}: {e.strerror}")
    if done.returncode not in (0, 1):
        fail(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout)["coverage"]


def cell(cov):
    return f"{cov['exercised']}/{cov['paths']}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pprsim", default="build/pprsim")
    ap.add_argument("--alloc", default="dmmalloc,comalloc,shared")
    ap.add_argument("--group-size", type=int, default=4)
    ap.add_argument("--ppr-every", type=int, default=50)
    ap.add_argument("--fuzz-runs", type=int, default=1000)
    ap.add_argument("traces", nargs="+")
    a = ap.parse_args()
    allocs = a.alloc.split(",")
    rows = {}
    reach = {}  # (family, probe) -> [guards, traces reaching it per allocator]
    for alloc in allocs:
        runs = replay_json.replay_runs("coverage_table", a.pprsim,
                                       [*a.traces, "--alloc", alloc, "--group-size", str(a.group_size),
                                        "--ppr-every", str(a.ppr_every)])
        for r in runs:
            rows.setdefault(os.path.basename(r["trace"]), {})[alloc] = cell(r["coverage"])
            for p in r["coverage"]["probes"]:
                e = reach.setdefault((p["family"], p["probe"]), [p["guards"], {}])
                e[1][alloc] = e[1].get(alloc, 0) + (1 if p["hits"] else 0)
    print(f"| trace (G={a.group_size}, a PPR every {a.ppr_every}) | " + " | ".join(allocs) + " |")
    print("|---|" + "---|" * len(allocs))
    for trace in sorted(rows):
        print(f"| {trace} | " + " | ".join(rows[trace].get(x, "-") for x in allocs) + " |")
    if a.fuzz_runs > 0:
        fuzz = [cell(fuzz_coverage(a.pprsim, x, a.fuzz_runs)) for x in allocs]
        print(f"| fuzz --runs {a.fuzz_runs} --seed 1 | " + " | ".join(fuzz) + " |")
    print()
    print("| probe | guards | traces reaching it (" + ", ".join(allocs) + ") |")
    print("|---|---|---|")
    for (family, probe), (guards, by_alloc) in reach.items():
        counts = ", ".join(str(by_alloc[x]) if x in by_alloc else "-" for x in allocs)
        print(f"| {family}: {probe} | {guards} | {counts} |")


if __name__ == "__main__":
    main()
