#!/bin/sh
# Builds the libFuzzer targets of the trace parsers with clang in their own build directory and
# runs each for a while. Usage: tools/run_fuzzers.sh [SECONDS] (default 20 per parser).
# Exit status: 0 when no fuzzer found anything; otherwise the first failing fuzzer's status.
# Crashing inputs are left in the build directory (crash-*), with the fuzzer's report.
set -eu

seconds=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PPRSIM_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${PPRSIM_FUZZ_JOBS:-2}

cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DPPRSIM_FUZZ=ON -DPPRSIM_TESTS=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target pprsim_native_fuzz pprsim_csapp_fuzz pprsim_mtrace_fuzz

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
    [ "$status" -eq 0 ] && status=1
  fi
done
exit "$status"
