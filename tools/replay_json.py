"""`pprsim replay ... --json -` for the scripts in tools/: the run objects, or exit status 2."""
import json
import subprocess
import sys


def fail(prog, why):
    print(f"{prog}: {why}", file=sys.stderr)
    sys.exit(2)


def replay_runs(prog, pprsim, args):
    """The run objects of `pprsim replay ARGS --json - --quiet` (a list, one per trace and
    allocator). A pprsim that cannot start or that fails (exit status other than 0 and 1)
    ends the script with status 2 and one line naming `prog`."""
    cmd = [pprsim, "replay", *args, "--json", "-", "--quiet"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        fail(prog, f"cannot run {pprsim}: {e.strerror}")
    if done.returncode not in (0, 1):
        fail(prog, f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")
    runs = json.loads(done.stdout)
    return runs if isinstance(runs, list) else [runs]
