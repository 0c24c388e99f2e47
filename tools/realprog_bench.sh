#!/usr/bin/env bash
# Wall time of real programs under the dmmalloc drop-in against glibc, jemalloc, mimalloc and
# tcmalloc (Debian's packages, preloaded when installed; a missing one is reported and skipped).
# Allocators are interleaved within each round; a program's time per allocator is the median
# over the rounds, and the ratio is glibc's median time over that allocator's (above 1 = faster).
# Each program's output must be the same under every allocator (else it stops with exit 1).
# Usage: bash tools/realprog_bench.sh [ROUNDS]   (default 5; needs build/libpprsim_dmmalloc.so, or
# the library named by PPRSIM_DMMALLOC_LIB; PPRSIM_DMMALLOC_BEFORE=LIB adds a row "before" for
# another build of it, measured in the same rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
source tools/preloads.sh
find_preloads realprog_bench dmmalloc

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/prog.cpp" <<'CPP'
#include <algorithm>
#include <iostream>
#include <map>
#include <regex>
#include <string>
#include <vector>
int main() {
  std::map<std::string, std::vector<int>> m;
  for (int i = 0; i < 2000; ++i) m[std::to_string(i)].push_back(i);
  std::regex re("([0-9]+)");
  std::cout << m.size() << std::regex_replace(std::string("a1b22"), re, "<$1>") << '\n';
}
CPP
seq 300000 | sed 's/$/ some text for sorting/' > "$work/lines"
programs=(
  "python3|python3 -c 'import json; d = {str(i): list(range(i % 100)) for i in range(60000)}; s = json.dumps(d, sort_keys=True); print(len(s), len(json.loads(s)))'"
  "perl|perl -e 'my %h; \$h{\$_} = \$_ x (\$_ % 17) for 1..400000; my \$n = 0; \$n += length(\$h{\$_}) for keys %h; print scalar(keys %h), \" \$n\\n\"'"
  "awk|awk 'BEGIN { for (i = 0; i < 600000; i++) a[i] = i \"x\" i; n = 0; for (k in a) n += length(a[k]); print n }'"
  "sort|sort -r -k1,1n $work/lines | md5sum"
  "g++|g++ -O2 -S -o - $work/prog.cpp | md5sum"
  "xz|xz -T4 -6 -c $work/lines | md5sum"
  "git|git -C $PWD log -p -n 300 --no-color | md5sum"
)

now() { date +%s%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }

printf "%-8s" program; for a in "${order[@]}"; do printf " %16s" "$a"; done; printf "\n"
for entry in "${programs[@]}"; do
  name=${entry%%|*} cmd=${entry#*|}
  command -v "${cmd%% *}" >/dev/null || { echo "$name: not installed, skipped"; continue; }
  ref=$(bash -c "$cmd")
  declare -A times=()
  for ((r = 0; r < rounds; r++)); do
    n=${#order[@]}
    for ((k = 0; k < n; k++)); do
      a=${order[$(((k + r) % n))]}
      t0=$(now)
      out=$(LD_PRELOAD=${preload[$a]} bash -c "$cmd")
      t1=$(now)
      [ "$out" = "$ref" ] || { echo "$name: output under $a differs from glibc's" >&2; exit 1; }
      times[$a]+="$(( (t1 - t0) / 1000 )) "
    done
  done
  base=$(tr ' ' '\n' <<<"${times[glibc]}" | grep . | median)
  printf "%-8s" "$name"
  for a in "${order[@]}"; do
    m=$(tr ' ' '\n' <<<"${times[$a]}" | grep . | median)
    printf " %16s" "$(awk -v m="$m" -v b="$base" 'BEGIN { printf "%.0f ms (%.2f)", m / 1000, b / m }')"
  done
  printf "\n"
  unset times
done
echo "(median wall time of $rounds rounds; in parentheses glibc's time over the allocator's: above 1 is faster)"
