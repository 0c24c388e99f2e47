#!/usr/bin/env bash
# Builds pprsim with its tests (installing what is missing) and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/bootstrap.sh
# What only the tests use: Chromium, for the tests that open the HTML report in a real browser,
# and universal-ctags, for the layout check's function lengths (tools/check_layout.py). Without
# them those tests skip with a message, so a failed install is not fatal.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ctags --version 2>/dev/null | grep -q "Universal Ctags" || missing+=(universal-ctags)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "test: installing ${missing[*]} (for the browser tests and the layout check)"
  { "${sudo_cmd[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
    echo "test: ${missing[*]} could not be installed; the tests that need them will be skipped" >&2
fi
ctest --test-dir build --output-on-failure --timeout 600 -j"$(nproc)"
