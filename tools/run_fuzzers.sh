#!/bin/sh
# Builds the libFuzzer targets with clang in their own build directory and runs each for a while:
# the three trace parsers, then the run-case target (props/fuzz/run_case_fuzz.cpp) on dmmalloc and
# comalloc from a seed corpus the generator writes, and last on the `shared` control, which it
# must falsify: that run has to end with a counterexample trace that `pprsim replay` fails on.
# Usage: tools/run_fuzzers.sh [PARSER_SECONDS [RUN_CASE_SECONDS]] (default 20 and 20).
# Exit status: 0 when no fuzzer found anything in the parsers, dmmalloc or comalloc, and the
# control was falsified; otherwise 1. Crashing inputs are left in the build directory (crash-*,
# run-case-ALLOC/), with the fuzzer's report.
set -eu

seconds=${1:-20}
run_case_seconds=${2:-20}
shared_limit=60
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PPRSIM_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${PPRSIM_FUZZ_JOBS:-2}
pprsim=${PPRSIM_BIN:-$root/build/pprsim}

cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DPPRSIM_FUZZ=ON -DPPRSIM_TESTS=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target pprsim_native_fuzz pprsim_csapp_fuzz pprsim_mtrace_fuzz \
  pprsim_run_case_fuzz pprsim_run_case_seeds

status=0
for parser in native csapp mtrace; do
  corpus="$build/corpus-$parser"
  mkdir -p "$corpus"
  # Seed each corpus with a few valid inputs, so the fuzzer starts from the formats' shapes.
  case $parser in
    native) printf 'pprtrace 1\nppr\na 0 16\nc 1 2 8\nm 2 64 100\nw 0 0 8\nu 0 8 8\nr 0 32\nend\nf 0\nf -1\n' >"$corpus/seed" ;;
    csapp) printf '0\n2\n4\n1\na 0 16\nr 0 32\na 1 8\nf 0\nf -1\n' >"$corpus/seed" ;;
    mtrace) printf '= Start\n@ ./prog:[0x11bb] + 0x55de3d1bc2a0 0xa\n@ ./prog:[0x1235] < 0x55de3d1bc2a0\n@ ./prog:[0x1235] > 0x55de3d1bc730 0x3e8\n@ /lib/libc.so.6:(_IO_setb+55)[0x83045] - 0x55de3d1bc730\n+ (nil) 0x10\n- 0x1\n= End\n' >"$corpus/seed" ;;
  esac
  echo "== $parser: ${seconds}s"
  if ! (cd "$build" && "./pprsim_${parser}_fuzz" -max_total_time="$seconds" -max_len=8192 \
        -print_final_stats=1 "$corpus"); then
    echo "== $parser: the fuzzer found a failing input (see crash-* in $build)" >&2
    status=1
  fi
done

# Run cases. The seeds are the cases `pprsim fuzz --seed 1` starts its first runs from.
seeds="$build/corpus-run-case-seeds"
rm -rf "$seeds"
"$build/pprsim_run_case_seeds" "$seeds" 200 1
run_case() {  # ALLOC MAX_SECONDS CORPUS... (a fixed -seed: the same search on every CI run)
  alloc=$1 limit=$2
  shift 2
  out="$build/run-case-$alloc"
  rm -rf "$out"
  mkdir -p "$out"
  (cd "$build" && PPRSIM_FUZZ_ALLOC=$alloc PPRSIM_FUZZ_OUT=$out ./pprsim_run_case_fuzz \
     -seed=1 -max_total_time="$limit" -max_len=4096 -print_final_stats=1 -artifact_prefix="$out/" "$@")
}
for alloc in dmmalloc comalloc; do
  corpus="$build/corpus-run-case-$alloc"
  mkdir -p "$corpus"
  echo "== run cases on $alloc: ${run_case_seconds}s"
  if ! run_case "$alloc" "$run_case_seconds" "$corpus" "$seeds"; then
    echo "== run cases on $alloc: a property failed (see $build/run-case-$alloc)" >&2
    status=1
  fi
done

# The control must fall within the limit. From the seeds it falls at once, every time; from an
# empty corpus the search takes from a few seconds to over a minute on a loaded machine, too
# uncertain for CI (set PPRSIM_FUZZ_SHARED_EMPTY=1 to run it that way).
empty="$build/corpus-run-case-shared"
rm -rf "$empty"
mkdir -p "$empty"
shared_seeds=$seeds
[ "${PPRSIM_FUZZ_SHARED_EMPTY:-0}" = 1 ] && shared_seeds=
echo "== run cases on shared (must fail within ${shared_limit}s${shared_seeds:+, from the seeds})"
start=$(date +%s)
log="$build/run-case-shared.log"
found=0
# shellcheck disable=SC2086
run_case shared "$shared_limit" "$empty" $shared_seeds >"$log" 2>&1 || found=1
tail -n 25 "$log"
if [ "$found" -eq 0 ]; then
  echo "== run cases on shared: NOT falsified within ${shared_limit}s: the run-case target is blind" >&2
  status=1
else
  args=$(sed -n 's/^== reproduce: pprsim replay //p' "$log" | head -n 1)
  if [ -z "$args" ]; then
    echo "== run cases on shared: the fuzzer stopped without writing a counterexample trace" >&2
    status=1
  else
    echo "== run cases on shared: falsified in $(($(date +%s) - start))s"
    if [ -x "$pprsim" ]; then
      # The printed command must reproduce the failure: exit status 1, a check failed.
      rc=0
      # shellcheck disable=SC2086
      "$pprsim" replay $args >/dev/null 2>&1 || rc=$?
      if [ "$rc" -ne 1 ]; then
        echo "== run cases on shared: pprsim replay $args exited $rc, not 1" >&2
        status=1
      else
        echo "== run cases on shared: pprsim replay $args fails as it should"
      fi
    else
      echo "== run cases on shared: $pprsim not built, the replay command is not checked"
    fi
  fi
fi
exit "$status"
