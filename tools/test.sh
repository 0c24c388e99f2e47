#!/usr/bin/env bash
# Builds pprsim with its tests (installing what is missing) and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/bootstrap.sh
ctest --test-dir build --output-on-failure --timeout 600 -j"$(nproc)"
