#!/usr/bin/env bash
# Installs what the tests need, builds actiondrop and runs every test (CTest).
# This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh --test
BUILD=${BUILD_DIR:-build}
# deploy/demo.sh configures the same folder with the tests off: turn them on again, and let
# ctest fail rather than pass when it finds no test at all.
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACTIONDROP_TESTS=ON
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure --no-tests=error -j"$(nproc)" --timeout 900
