#!/usr/bin/env bash
# Builds pprsim with its tests (installing what is missing) and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/bootstrap.sh
# The tests that open the HTML report in a real browser need Chromium; without it they skip
# (with a message), so a failed install is not fatal.
if ! command -v chromium >/dev/null 2>&1; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "test: installing chromium (for the tests that render the HTML report)"
  { "${sudo_cmd[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq chromium >/dev/null; } ||
    echo "test: chromium could not be installed; the browser tests will be skipped" >&2
fi
ctest --test-dir build --output-on-failure --timeout 600 -j"$(nproc)"
