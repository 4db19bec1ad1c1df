#!/usr/bin/env bash
# actiondropd and 512 MiB hostile files: one record spanning millions of lines through a
# quoted field, and a record of millions of fields. Each is answered with a file-level code,
# the daemon's peak memory stays at most 128 MB, and a file dropped into another inbox right
# after is answered within seconds.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
setup_ledger
H="$WORK/h"; N="$WORK/n"; STATE="$WORK/state"; SRC="$WORK/src"
mkdir -p "$H/in" "$H/out" "$N/in" "$N/out" "$SRC"
CONFIG="$WORK/actiondrop.yaml"
cat > "$CONFIG" <<YAML
store: $STORE
state_dir: $STATE
sweep_interval: 200ms
inboxes:
  - {name: h, account: "1000", type: modifications, kind: local, path: $H/in, outbox: $H/out, pattern: "*.csv", settle: 200ms}
  - {name: n, account: "2000", type: conversions, kind: local, path: $N/in, outbox: $N/out, pattern: "*.csv", settle: 200ms}
YAML
LOG="$WORK/daemon.log"
PID=
trap 'if [ -n "$PID" ]; then kill -9 $PID 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

# The files, 512 MiB each, streamed to disk.
python3 - "$SRC" <<'PY'
import sys
folder = sys.argv[1]
size = 512 * 1024 * 1024
def make(name, head, piece):
    with open(f"{folder}/{name}", "wb") as out:
        out.write(head)
        block = piece * ((1 << 20) // len(piece) + 1)
        written = len(head)
        while written < size:
            n = min(len(block), size - written)
            out.write(block[:n])
            written += n
# One record whose quoted Reason runs over millions of short lines.
make("lines.csv", b'ActionId,Amount,Reason\r\nA-1,1.00,"', b"x\r\n")
# One record of millions of fields, each a quoted line break.
make("fields.csv", b'ActionId,Amount,Reason\r\nA-1,1.00,', b'"\n",')
PY
day=$(date -u +%Y-%m-%d)

wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || { cat "$LOG" >&2; fail "timed out waiting for: $*"; }
        kill -0 "$PID" 2> /dev/null || { cat "$LOG" >&2; fail "actiondropd died"; }
        sleep 0.05
    done
}
peak_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status"; }

"$ACTIONDROPD" --config "$CONFIG" 2> "$LOG" &
PID=$!
wait_for 30 grep -qs "serving 2 inboxes" "$LOG"
for f in lines fields; do
    rm -f "$N/out/small_$f.csv_summary.json"
    mv "$SRC/$f.csv" "$H/in/$f.csv"
    sleep 0.3
    printf 'ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nT1,P-1,O-%s,%s,1000\r\n' "$f" "$day" > "$SRC/small.csv"
    mv "$SRC/small.csv" "$N/in/small_$f.csv"
    started=$SECONDS
    wait_for 60 test -f "$N/out/small_$f.csv_summary.json"
    took=$((SECONDS - started))
    wait_for 120 test -f "$H/out/$f.csv_summary.json"
    code=$(json_field "$H/out/$f.csv_summary.json" error_code)
    echo "$f.csv: $code; the other inbox's file answered within ${took}s; daemon peak $(peak_kib) KiB"
    [ "$(json_field "$N/out/small_$f.csv_summary.json" status)" = COMPLETE ] || fail "the small file was not applied"
    [ "$took" -le 20 ] || fail "the other inbox waited ${took}s"
done
[ "$(json_field "$H/out/lines.csv_summary.json" error_code)" = RECORD_TOO_LONG ] || fail "lines.csv: expected RECORD_TOO_LONG"
[ "$(json_field "$H/out/fields.csv_summary.json" error_code)" = TOO_MANY_FIELDS ] || fail "fields.csv: expected TOO_MANY_FIELDS"
peak=$(peak_kib)
[ "$peak" -le 131072 ] || fail "the daemon's peak memory was $peak KiB, over 128 MB"
kill -TERM $PID
wait $PID || fail "actiondropd did not exit cleanly"
PID=
echo ok
