#!/usr/bin/env python3
"""The layout rules of docs/DESIGN.md section 7, checked over the sources (tests aside).

1. Includes run one way, tools -> props -> sim -> {alloc, traces} (native -> alloc): no include
   of a project header from a layer above, and alloc and traces know nothing of each other.
2. No function is longer than 150 lines (measured with universal-ctags, which gives each
   function's first and last line; without ctags this part is skipped with a message).

    python3 tools/check_layout.py [ROOT]

Exit status 0 when both hold, 1 with one line per breach, 2 on bad usage.
"""

import os
import re
import shutil
import subprocess
import sys

LAYERS = {"alloc": 0, "traces": 0, "sim": 1, "native": 1, "props": 2, "tools": 3}
MAX_LINES = 150
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/', re.MULTILINE)


def sources(root):
    for top in LAYERS:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            rel = os.path.relpath(dirpath, root)
            if rel.startswith(os.path.join("props", "tests")):
                continue
            for f in files:
                if f.endswith((".h", ".cpp", ".c")):
                    yield os.path.join(rel, f)


def layer_breaches(root):
    out = []
    for path in sources(root):
        top = path.split(os.sep)[0]
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in INCLUDE.finditer(text):
            to = m.group(1)
            if to not in LAYERS or to == top:
                continue
            sideways = {top, to} == {"alloc", "traces"}
            if LAYERS[to] > LAYERS[top] or sideways or (top == "native" and to != "alloc"):
                line = text.count("\n", 0, m.start()) + 1
                out.append(f"{path}:{line}: includes {to}/ from {top}/ (layers: tools -> props -> sim -> alloc, traces)")
    return out


def long_functions(root):
    ctags = shutil.which("ctags")
    if ctags is None:
        print("check_layout: ctags not found (apt-get install universal-ctags): function lengths not checked")
        return []
    files = list(sources(root))
    done = subprocess.run([ctags, "--kinds-c++=f", "--kinds-c=f", "--fields=+ne", "-o", "-"] + files,
                          cwd=root, capture_output=True, text=True)
    if done.returncode != 0 or "Universal Ctags" not in subprocess.run(
            [ctags, "--version"], capture_output=True, text=True).stdout:
        print("check_layout: this ctags is not universal-ctags: function lengths not checked")
        return []
    out = []
    for row in done.stdout.splitlines():
        fields = row.split("\t")
        start = end = None
        for f in fields[3:]:
            if f.startswith("line:"):
                start = int(f[5:])
            elif f.startswith("end:"):
                end = int(f[4:])
        if start is not None and end is not None and end - start + 1 > MAX_LINES:
            out.append(f"{fields[1]}:{start}: {fields[0]} is {end - start + 1} lines (at most {MAX_LINES})")
    return sorted(out)


def main():
    if len(sys.argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1] if len(sys.argv) == 2 else os.path.join(os.path.dirname(__file__), "..")
    if not os.path.isdir(os.path.join(root, "sim")):
        print(f"check_layout: {root} is not the project's root (no sim/)", file=sys.stderr)
        return 2
    breaches = layer_breaches(root) + long_functions(root)
    for b in breaches:
        print(b)
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
