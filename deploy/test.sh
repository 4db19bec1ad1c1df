#!/usr/bin/env bash
# Installs what the tests need, builds actiondrop and runs every test (CTest).
# This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh --test
BUILD=${BUILD_DIR:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" --timeout 900
