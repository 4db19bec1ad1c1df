#!/usr/bin/env bash
# SIGTERM drains: the file being applied is finished and answered, no other file is taken,
# and actiondropd exits 0. A second SIGTERM abandons the file instead: it is left at the next
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
# conversions FILE PREFIX ROWS
conversions() {
    python3 - "$1" "$2" "$3" "$(days_ago 2)" <<'PY'
import sys
path, prefix, rows, day = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(path, "w", newline="") as f:
    f.write("ActionId,CampaignId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n")
    f.writelines(f"{prefix}-{i},CMP,19816,P-77,O-{prefix}-{i},{day},10.00\r\n"
                 for i in range(rows))
PY
}
ROWS=400000
DRAIN_ROWS=100000
conversions "$WORK/big.csv" BIG "$ROWS"
conversions "$WORK/drain.csv" DRAIN "$DRAIN_ROWS"
conversions "$WORK/later.csv" LATER 3

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
read_more_than() {
    [ "$(grep -c "the file being applied is finished first" "$LOG" || true)" -gt "$1" ]
}
# stop_within SECONDS [again]: SIGTERM, and with `again` a second one once the daemon said it
# read the first (two pending SIGTERMs are one), then the daemon must have exited 0 before the
# deadline.
stop_within() {
    local started=$SECONDS
    local read_before
    read_before=$(grep -c "the file being applied is finished first" "$LOG" || true)
    kill -TERM $PID
    if [ "${2:-}" = again ]; then
        wait_for 30 read_more_than "$read_before"
        kill -TERM $PID
    fi
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
# spooled_result NAME: rows of NAME are being applied (the spool's result file exists).
spooled_result() { compgen -G "$STATE/spool/*/result_$1" > /dev/null; }
# actions PREFIX: how many actions of the ledger have ids starting with PREFIX-.
actions() { ad report actions --account 1000 > "$WORK/actions.csv"; grep -c "^$1-" "$WORK/actions.csv" || true; }
# the_batch NAME: the journal record of the batch of file NAME, as JSON.
the_batch() {
    expect_exit 0 ad batches list --account 1000 --json
    python3 - "$WORK/last.out" "$1" <<'PY'
import json, sys
found = [b for b in json.load(open(sys.argv[1])) if b["file"] == sys.argv[2]]
assert len(found) == 1, found
print(json.dumps(found[0]))
PY
}

# 1. One SIGTERM while drain.csv is being applied: it is finished and answered, later.csv
#    (dropped meanwhile) waits for the next start, and the daemon exits 0.
mv "$WORK/drain.csv" "$IN/drain.csv"
start_daemon
wait_for 120 spooled_result drain.csv
mv "$WORK/later.csv" "$IN/later.csv"
stop_within 60
grep -q "the file being applied is finished first" "$LOG" || { cat "$LOG" >&2; fail "no log line for the drain"; }
! grep -q "abandoned to stop" "$LOG" || { cat "$LOG" >&2; fail "drain.csv was abandoned, not finished"; }
[ "$(json_field "$OUT/drain.csv_summary.json" status)" = COMPLETE ] || fail "drain.csv not COMPLETE"
[ "$(json_field "$OUT/drain.csv_summary.json" applied)" = "$DRAIN_ROWS" ] || fail "drain.csv: not every row applied"
[ "$(actions DRAIN)" = "$DRAIN_ROWS" ] || fail "drain.csv's rows are not all in the ledger"
[ ! -e "$OUT/later.csv_summary.json" ] && [ "$(actions LATER)" = 0 ] || fail "later.csv was taken during the stop"

# 2. The next start takes later.csv. Two SIGTERMs while big.csv is being applied: it is
#    abandoned, nothing of it stays, and its claim waits.
start_daemon
wait_for 60 test -f "$OUT/later.csv_summary.json"
[ "$(actions LATER)" = 3 ] || fail "later.csv not applied at the next start"
mv "$WORK/big.csv" "$IN/big.csv"
wait_for 120 spooled_result big.csv
stop_within 10 again
grep -q "file=big.csv abandoned to stop" "$LOG" || { cat "$LOG" >&2; fail "no log line for the abandoned file"; }
[ "$(actions BIG)" = 0 ] || fail "rows of big.csv are in the ledger after the stop"
[ "$(ls -A "$STATE/claims/big" | wc -l)" = 1 ] || fail "the claims folder should hold the claim: $(ls -A "$STATE/claims/big")"
[ ! -e "$OUT/result_big.csv" ] && [ ! -e "$OUT/big.csv_summary.json" ] || fail "big.csv answered although rolled back"
the_batch big.csv > "$WORK/big.json" || fail "the journal after the stop: $(cat "$WORK/last.out")"
python3 - "$WORK/big.json" <<'PY' || fail "the journal after the stop: $(cat "$WORK/big.json")"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["status"] == "" and b["attempts"] == 0, b  # open, and the stop was not counted
PY
first_batch=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$WORK/big.json")

# 3. The next start resumes the claim and applies every row once.
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
the_batch big.csv > "$WORK/big.json" || fail "the journal at the end: $(cat "$WORK/last.out")"
python3 - "$WORK/big.json" <<'PY' || fail "the journal at the end: $(cat "$WORK/big.json")"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["status"] == "COMPLETE" and b["attempts"] == 1, b
PY
echo "daemon sigterm: ok"
