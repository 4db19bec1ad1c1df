#!/usr/bin/env bash
# actiondropd on a funds_transfers inbox (docs/rules.md, "Funds transfers"): a file dropped
# is applied against the account's funds and answered; the same content under another name
# is a duplicate and moves nothing; a restart applies nothing again.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
setup_ledger
IN="$WORK/srv/in"; OUT="$WORK/srv/out"
mkdir -p "$IN" "$OUT"
CONFIG="$WORK/actiondrop.yaml"
cat > "$CONFIG" <<YAML
store: $STORE
state_dir: $WORK/state
sweep_interval: 200ms
inboxes:
  - {name: acme-transfers, account: "1000", type: funds_transfers, kind: local, path: $IN, outbox: $OUT,
     pattern: "*.csv", settle: 300ms}
YAML
expect_exit 0 "$ACTIONDROP" --config "$CONFIG" funds deposit --account 1000 50.00 --reference opening

LOG="$WORK/daemon.log"
PID=
start() {
    "$ACTIONDROPD" --config "$CONFIG" 2>> "$LOG" &
    PID=$!
}
trap 'kill -9 $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || { cat "$LOG" >&2; fail "timed out waiting for: $*"; }
        kill -0 $PID 2>/dev/null || { cat "$LOG" >&2; fail "actiondropd exited while waiting for: $*"; }
        sleep 0.05
    done
}
drop() {  # drop NAME CONTENT: as an uploader would, under a temporary name first
    printf '%b' "$2" > "$IN/.$1.part"
    mv "$IN/.$1.part" "$IN/$1"
}
balance() {
    "$ACTIONDROP" --config "$CONFIG" funds balance --account 1000 --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["balance"])'
}
start
wait_for 20 grep -q "serving 1 inboxes" "$LOG"
grep -q "not applied by this version" "$LOG" && fail "the transfers inbox is not served"

FILE='TransferType,PartnerId,Amount,Comments\r\nMAKE_GOOD,P-77,30.00,A-1 locked short\r\nBONUS,P-88,30.00,\r\n'
drop goods.csv "$FILE"
wait_for 20 test -f "$OUT/goods.csv_summary.json"
[ "$(json_field "$OUT/goods.csv_summary.json" status)" = COMPLETE ] || fail "goods.csv not complete"
[ "$(json_field "$OUT/goods.csv_summary.json" applied)" = 1 ] || fail "goods.csv: one row applies"
grep -q ',TRANSFER,REJECTED,Validation,INSUFFICIENT_FUNDS,' "$OUT/result_goods.csv" || fail "the second row is not INSUFFICIENT_FUNDS"
grep -q 'INSUFFICIENT_FUNDS' "$OUT/errors_goods.csv" || fail "no errors file line"
[ "$(balance)" = "20.00" ] || fail "balance $(balance) after goods.csv"

# The same content again, under another name: a duplicate.
drop goods_again.csv "$FILE"
wait_for 20 test -f "$OUT/goods_again.csv_summary.json"
[ "$(json_field "$OUT/goods_again.csv_summary.json" error_code)" = DUPLICATE_FILE ] || fail "not a duplicate"
[ "$(balance)" = "20.00" ] || fail "a duplicate moved money"

# A restart takes nothing again.
kill -TERM $PID; wait $PID || fail "actiondropd did not exit cleanly"
start
started_twice() { [ "$(grep -c 'serving 1 inboxes' "$LOG")" -ge 2 ]; }
wait_for 20 started_twice
sleep 1
[ "$(balance)" = "20.00" ] || fail "a restart moved money"
"$ACTIONDROP" --config "$CONFIG" report funds --account 1000 --json > "$WORK/funds.json"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); assert [x["kind"] for x in e] == ["DEPOSIT", "TRANSFER"], e' "$WORK/funds.json" ||
    fail "funds entries"
kill -TERM $PID; wait $PID || fail "actiondropd did not exit cleanly"
echo ok
