#!/usr/bin/env bash
# Installs what pprsim needs (Debian packages) and builds it into build/.
# Usage: bash tools/bootstrap.sh [extra cmake arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make librapidcheck-dev libfmt-dev libcli11-dev nlohmann-json3-dev libabsl-dev
          libgtest-dev libbenchmark-dev libxml2-dev python3
          libssl-dev clang binutils  # `--alloc native:`: SHA-256 cache keys, the pinned compiler, objcopy and nm
                                     # (clang also builds the example plugin with edge coverage)
          libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4)  # the allocators `pprsim bench` compares
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Line tables (-g1) serve perf and backtraces; full debug info made the build a third slower.
# Link-time optimisation lets the simulator's memory calls (SimMemory -> AddressSpace, across
# files) inline: a replay takes 0.94-0.95 of the time without it.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON "$@" >/dev/null
cmake --build build -j"$(nproc)"
