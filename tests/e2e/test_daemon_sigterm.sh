#!/usr/bin/env bash
# SIGTERM while actiondropd applies a large file: the file is abandoned at the next
# 20,000-row step, its transaction rolls back (nothing half-applied), the daemon exits 0
# within 10 s, and the claim waits in STATE_DIR/claims/ without counting as a failed attempt.
# The next start resumes the same batch and applies every row exactly once.
# The inbox is found by the sweep alone (inotify: false), which this also covers.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
setup_ledger
IN="$WORK/srv/in"; OUT="$WORK/srv/out"; STATE="$WORK/state"
mkdir -p "$IN" "$OUT"
CONFIG="$WORK/actiondrop.yaml"
cat > "$CONFIG" <<YAML
store: $STORE
state_dir: $STATE
sweep_interval: 200ms
inotify: false
inboxes:
  - {name: big, account: "1000", type: conversions, kind: local, path: $IN, outbox: $OUT, pattern: "*.csv", settle: 200ms}
YAML
ROWS=400000
python3 - "$WORK/big.csv" "$ROWS" "$(days_ago 2)" <<'PY'
import sys
path, rows, day = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w", newline="") as f:
    f.write("ActionId,CampaignId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n")
    f.writelines(f"BIG-{i},CMP,19816,P-77,O-{i},{day},10.00\r\n" for i in range(rows))
PY
mv "$WORK/big.csv" "$IN/big.csv"

LOG="$WORK/daemon.log"
PID=
trap 'if [ -n "$PID" ]; then kill -9 $PID 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
start_daemon() {
    "$ACTIONDROPD" --config "$CONFIG" 2>> "$LOG" &
    PID=$!
}
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || { cat "$LOG" >&2; fail "timed out waiting for: $*"; }
        kill -0 $PID 2>/dev/null || { cat "$LOG" >&2; fail "actiondropd exited while waiting for: $*"; }
        sleep 0.05
    done
}
# stop_within SECONDS: SIGTERM, then the daemon must have exited 0 before the deadline.
stop_within() {
    local started=$SECONDS
    kill -TERM $PID
    local deadline=$((SECONDS + $1))
    while kill -0 $PID 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            cat "$LOG" >&2
            fail "actiondropd did not exit within $1 s of SIGTERM"
        fi
        sleep 0.05
    done
    local code=0
    wait $PID || code=$?
    PID=
    [ "$code" = 0 ] || { cat "$LOG" >&2; fail "actiondropd exited $code on SIGTERM"; }
    echo "exited $((SECONDS - started)) s after SIGTERM"
}
spooled_result() { compgen -G "$STATE/spool/*/result_big.csv" > /dev/null; }

# 1. SIGTERM as soon as rows are being applied (the spool's result file exists).
start_daemon
wait_for 120 spooled_result
stop_within 10
grep -q "file=big.csv abandoned to stop" "$LOG" || { cat "$LOG" >&2; fail "no log line for the abandoned file"; }
expect_exit 0 ad report actions --account 1000 --json
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/last.out")" = 0 ] \
    || fail "rows of big.csv are in the ledger after the stop: $(head -c 300 "$WORK/last.out")"
[ "$(ls -A "$STATE/claims/big" | wc -l)" = 1 ] || fail "the claims folder should hold the claim: $(ls -A "$STATE/claims/big")"
[ ! -e "$OUT/result_big.csv" ] && [ ! -e "$OUT/big.csv_summary.json" ] || fail "big.csv answered although rolled back"
expect_exit 0 ad batches list --account 1000 --json
python3 - "$WORK/last.out" <<'PY' || fail "the journal after the stop: $(cat "$WORK/last.out")"
import json, sys
batches = json.load(open(sys.argv[1]))
assert len(batches) == 1, batches
b = batches[0]
assert b["status"] == "" and b["attempts"] == 0, b  # open, and the stop was not counted
PY
first_batch=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["batch_id"])' "$WORK/last.out")

# 2. The next start resumes the claim and applies every row once.
start_daemon
wait_for 170 test -f "$OUT/big.csv_summary.json"
[ "$(json_field "$OUT/big.csv_summary.json" status)" = COMPLETE ] || fail "big.csv not COMPLETE"
[ "$(json_field "$OUT/big.csv_summary.json" applied)" = "$ROWS" ] || fail "big.csv: not every row applied"
[ "$(json_field "$OUT/big.csv_summary.json" batch_id)" = "$first_batch" ] || fail "big.csv not resumed under batch $first_batch"
wait_for 20 archived big "${first_batch}_big.csv" > /dev/null
stop_within 10
[ -z "$(ls -A "$STATE/claims/big")" ] || fail "the claims folder not emptied: $(ls -A "$STATE/claims/big")"
ad report actions --account 1000 > "$WORK/actions.csv"
[ "$(grep -c '^BIG-' "$WORK/actions.csv")" = "$ROWS" ] || fail "expected $ROWS actions of big.csv"
[ "$(cut -d, -f1 "$WORK/actions.csv" | grep '^BIG-' | sort -u | wc -l)" = "$ROWS" ] || fail "an action id appears twice"
for id in BIG-0 BIG-19999 BIG-20000 BIG-399999; do
    expect_exit 0 ad action history --account 1000 "$id" --json
    python3 - "$WORK/last.out" "$first_batch" <<'PY' || fail "history of $id: $(cat "$WORK/last.out")"
import json, sys
h = json.load(open(sys.argv[1]))
assert [e["operation"] for e in h] == ["CREATE"] and h[0]["batch_id"] == sys.argv[2], h
PY
done
expect_exit 0 ad batches list --account 1000 --json
python3 - "$WORK/last.out" <<'PY' || fail "the journal at the end: $(cat "$WORK/last.out")"
import json, sys
batches = json.load(open(sys.argv[1]))
assert len(batches) == 1, batches
assert batches[0]["status"] == "COMPLETE" and batches[0]["attempts"] == 1, batches
PY
echo "daemon sigterm: ok"
