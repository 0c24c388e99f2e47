#!/usr/bin/env python3
"""Two rows of one `pprsim bench --json` run against each other: A's speed over B's.

    python3 tools/bench_ratio.py RESULTS.json A B

Per trace, the ratio is taken within each round (both measured at the same moment of the
machine), then the median over the rounds; printed per trace, then the geometric mean and
the quartiles over the traces.
"""

import json
import math
import statistics
import sys


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path, a, b = sys.argv[1:]
    with open(path) as f:
        results = json.load(f)["results"]
    rounds = {}
    for e in results:
        if e["status"] == "ok":
            rounds.setdefault(e["trace"], {})[e["allocator"]] = e["rounds_ops_per_second"]
    ratios = []
    for trace, by in rounds.items():
        if a not in by or b not in by:
            continue
        r = statistics.median(x / y for x, y in zip(by[a], by[b]))
        ratios.append(r)
        print(f"{trace.rsplit('/', 1)[-1]:<24} {r:.3f}")
    if len(ratios) < 2:
        print(f"bench_ratio.py: fewer than two traces measured both {a} and {b}", file=sys.stderr)
        return 1
    q = statistics.quantiles(ratios, n=4)
    geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
    print(f"{a} / {b} speed: geomean {geo:.3f}; over the traces min {min(ratios):.3f}, "
          f"quartiles {q[0]:.3f} {q[1]:.3f} {q[2]:.3f}, max {max(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
