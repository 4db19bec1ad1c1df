#!/usr/bin/env bash
# Checks the floors of docs/layers.md; tests/layers/CMakeLists.txt registers each mode.
#   check_floors.sh BUILD_DIR PROBES refused  every probe marked "refused" fails to compile,
#                                             for want of the very header it includes
#   check_floors.sh BUILD_DIR PROBES builds   every probe marked "builds" compiles
#   check_floors.sh SOURCE_DIR - paths        no source of lib/ names a header by a relative
#                                             or absolute path, which no include root limits
set -uo pipefail
dir=$1 probes=$2 mode=$3
failed=0 checked=0

if [[ $mode == paths ]]; then
    # `#include "../ingest/service.hpp"` would be found next to the including file whatever
    # the include roots say.
    if grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<][./]' "$dir/lib"; then
        echo "FAIL: the includes above name a path; name a header as <layer>/<file> instead"
        exit 1
    fi
    echo "no include in lib/ names a relative or absolute path"
    exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
while read -r expect target header; do
    [[ $expect == "$mode" ]] || continue
    checked=$((checked + 1))
    cmake --build "$dir" --target "$target" >"$log" 2>&1
    rc=$?
    if [[ $mode == builds ]]; then
        if ((rc != 0)); then
            echo "FAIL: $target does not build, but its layer may include $header:"
            tail -n 20 "$log"
            failed=$((failed + 1))
        fi
    elif ((rc == 0)); then
        echo "FAIL: $target builds: its layer can include $header, a floor it may not use"
        failed=$((failed + 1))
    elif ! grep -qF -e "$header: No such file or directory" -e "'$header' file not found" "$log"; then
        echo "FAIL: $target did not build, but not for want of $header:"
        tail -n 20 "$log"
        failed=$((failed + 1))
    fi
done <"$probes"
echo "$mode: $((checked - failed)) of $checked probes as expected"
((checked > 0 && failed == 0))
