#!/usr/bin/env bash
# A hostile file cannot make actiondrop hold much memory (README.md, "Limits"): quoted line
# breaks let one record span any number of lines, so records are capped in bytes and in
# fields while they are read, and every batch of records held at once closes at a byte
# bound. Each file below is checked by `validate` and by `apply --dry-run` with the default
# limits, and each run's peak RSS must stay under 128 MiB:
#   one_record.csv    one record of almost 512 MiB, millions of lines in one quoted field
#                     -> RECORD_TOO_LONG, line 2
#   many_fields.csv   one record of 8 million fields, 32 KiB lines -> TOO_MANY_FIELDS, line 2
#   huge_ids.csv      records of exactly max_record_bytes (1 MiB), each its own ActionId:
#                     accepted, applied in key order, every row ACTION_REF_NOT_FOUND
#   huge_orders.csv   the same with OrderIds: applied in file order
# The files are written by streaming to disk, once each, and removed after use.
source "$(dirname "$0")/lib.sh"
setup_ledger
[ -x /usr/bin/time ] || fail "/usr/bin/time is missing (package time: bash deploy/install-deps.sh --test)"

MAX_RSS_KIB=131072             # 128 MiB
MAX_FILE_BYTES=$((512 << 20))  # the default limits (lib/batch/csv_reader.hpp)
MAX_RECORD_BYTES=$((1 << 20))
HUGE_RECORDS=80
mkdir -p "$WORK/out"

# generate KIND FILE: writes a hostile file, in pieces of about 1 MiB.
generate() {
    python3 - "$1" "$2" "$MAX_FILE_BYTES" "$MAX_RECORD_BYTES" "$HUGE_RECORDS" <<'PY'
import sys
kind, path = sys.argv[1], sys.argv[2]
max_file, max_record, records = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
with open(path, "wb", buffering=0) as out:
    if kind == "one_record":
        # A quoted field opened on line 2 and closed at the end, lines of 100 bytes.
        head = b"ActionId,Reason\nA-1,\""
        tail = b"\"\n"
        out.write(head)
        line = b"x" * 99 + b"\n"
        block = line * 10_000
        left = max_file - len(head) - len(tail)
        while left >= len(block):
            out.write(block)
            left -= len(block)
        out.write(line * (left // len(line)) + b"x" * (left % len(line)) + tail)
    elif kind == "many_fields":
        # Each line closes the quoted field the line before opened, has 16,000 one-byte
        # fields, and opens another: one record, 512 lines, 8 million fields.
        out.write(b"ActionId,Reason\n\"\n")
        line = b"\"," + b"a," * 16_000 + b"\"\n"
        for _ in range(512):
            out.write(line)
        out.write(b"\",x\n")
    elif kind in ("huge_ids", "huge_orders"):
        # Records of exactly max_record bytes (the line break after them not counted): one
        # big quoted value in lines of 60,000 bytes.
        if kind == "huge_ids":
            out.write(b"ActionId,Reason\n")
            before, after = b"\"", b"\",ORDER_UPDATE"
        else:
            out.write(b"ActionId,OrderId,ActionTrackerId,Reason\n")
            before, after = b",\"", b"\",19816,ORDER_UPDATE"
        for r in range(records):
            size = max_record - len(before) - len(after)
            value = bytearray(b"R%06d-" % r)
            while len(value) < size:
                part = min(60_000, size - len(value))
                value += b"y" * (part - 1) + b"\n" if part > 1 else b"y"
            out.write(before + bytes(value[:size]) + after + b"\n")
PY
}

failures=0
# measured NAME WANT_EXIT ARGS...: runs actiondrop (as ad does), checks its exit status and
# its peak RSS, prints the figure; a failure is counted, so that every figure is seen.
measured() {
    local name=$1 want=$2 got=0 rss
    shift 2
    /usr/bin/time -f %M -o "$WORK/rss" "$ACTIONDROP" --store "$STORE" --state-dir "$WORK/state" "$@" > "$WORK/last.out" 2> "$WORK/last.err" || got=$?
    rss=$(tail -n 1 "$WORK/rss")
    echo "$name: exit $got, peak RSS $rss KiB"
    if [ "$got" != "$want" ]; then
        head -c 2000 "$WORK/last.out" "$WORK/last.err" >&2
        echo "FAIL: $name: expected exit $want, got $got" >&2
        failures=$((failures + 1))
    fi
    if [ "$rss" -gt "$MAX_RSS_KIB" ]; then
        echo "FAIL: $name: peak RSS $rss KiB is above $MAX_RSS_KIB KiB" >&2
        failures=$((failures + 1))
    fi
}
# expect_text NAME PATTERN: the last command's output holds PATTERN.
expect_text() {
    grep -q -- "$2" "$WORK/last.out" || {
        head -c 2000 "$WORK/last.out" >&2
        echo "FAIL: $1: no '$2' in the output" >&2
        failures=$((failures + 1))
    }
}
# expect_summary NAME FIELD VALUE: the dry run's summary of NAME says FIELD is VALUE.
expect_summary() {
    local summary="$WORK/out/$1_summary.json" got
    got=$(json_field "$summary" "$2" 2> /dev/null || echo "(no summary)")
    if [ "$got" != "$3" ]; then
        echo "FAIL: $1: summary $2 is '$got', expected '$3'" >&2
        failures=$((failures + 1))
    fi
}

# check FILE.csv WANT_CODE: the file-level code (empty: none) from both commands.
check_rejected() {
    local name=$1 code=$2 file="$WORK/$1"
    measured "validate $name" 65 validate "$file"
    expect_text "validate $name" "REJECTED $code (line 2)"
    measured "apply --dry-run $name" 65 apply --account 1000 --dry-run --outbox "$WORK/out" "$file"
    expect_summary "$name" status REJECTED
    expect_summary "$name" error_code "$code"
    expect_summary "$name" line 2
}

generate one_record "$WORK/one_record.csv"
[ "$(stat -c %s "$WORK/one_record.csv")" = "$MAX_FILE_BYTES" ] || fail "one_record.csv is not 512 MiB"
check_rejected one_record.csv RECORD_TOO_LONG
rm -f "$WORK/one_record.csv" "$WORK/out/"*

generate many_fields "$WORK/many_fields.csv"
check_rejected many_fields.csv TOO_MANY_FIELDS
rm -f "$WORK/many_fields.csv" "$WORK/out/"*

for name in huge_ids huge_orders; do
    generate "$name" "$WORK/$name.csv"
    measured "validate $name.csv" 0 validate "$WORK/$name.csv"
    expect_text "validate $name.csv" "form checked: $HUGE_RECORDS rows, 0 with errors"
    measured "apply --dry-run $name.csv" 3 apply --account 1000 --dry-run --outbox "$WORK/out" "$WORK/$name.csv"
    expect_summary "$name.csv" status COMPLETE
    expect_summary "$name.csv" rejected "$HUGE_RECORDS"
    [ "$(grep -c ',ACTION_REF_NOT_FOUND,' "$WORK/out/result_$name.csv" 2> /dev/null)" = "$HUGE_RECORDS" ] || {
        echo "FAIL: $name.csv: not every row is ACTION_REF_NOT_FOUND in its result file" >&2
        failures=$((failures + 1))
    }
    rm -f "$WORK/$name.csv" "$WORK/out/"*
done

[ "$failures" = 0 ] || fail "$failures checks failed"
echo "hostile memory: ok"
