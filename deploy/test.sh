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

# The libFuzzer targets (tests/fuzz/README.md): a clang build of their own, each target run
# for 20 seconds on its seed corpus. About 3 minutes on 2 cores.
FUZZ_BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
cmake -S . -B "$FUZZ_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-16 -DACTIONDROP_FUZZ=ON -DACTIONDROP_FUZZ_SECONDS=20 \
  -DACTIONDROP_TESTS=OFF
cmake --build "$FUZZ_BUILD" -j"$(nproc)" --target fuzz
ctest --test-dir "$FUZZ_BUILD" --output-on-failure --no-tests=error -j"$(nproc)"
