#!/usr/bin/env bash
# Exactly once: the same file applied twice is DUPLICATE_FILE with the ledger unchanged;
# `actiondrop apply` SIGKILLed in the middle of a 200,000-row file leaves the ledger
# untouched, and running it again applies every row once.
source "$(dirname "$0")/lib.sh"
setup_ledger
ROWS=200000
D=$(days_ago 1)
python3 - "$WORK" "$ROWS" "$D" <<'PY'
import sys
work, rows, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(f"{work}/conv.csv", "w", newline="") as f:
    f.write("ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n")
    for i in range(1, rows + 1):
        f.write(f"A-{i:06d},19816,P-77,O-{i:06d},{d},{100 + i % 50}.00\r\n")
with open(f"{work}/mods.csv", "w", newline="") as f:
    f.write("ActionId,Amount,Reason\r\n")
    for i in range(1, rows + 1):
        f.write(f"A-{i:06d},{50 + i % 40}.25,ORDER_UPDATE\r\n")
PY
mkdir -p "$WORK/out"
expect_exit 0 ad apply --account 1000 --type conversions --outbox "$WORK/out" "$WORK/conv.csv"
snapshot() { ad report actions --account 1000 | sha256sum; }
before=$(snapshot)

# The same content again, under another name: rejected as a whole, nothing changes.
cp "$WORK/conv.csv" "$WORK/conv_again.csv"
expect_exit 65 ad apply --account 1000 --type conversions --outbox "$WORK/out" "$WORK/conv_again.csv"
S="$WORK/out/conv_again.csv_summary.json"
[ "$(json_field "$S" status)" = REJECTED ] || fail "duplicate: status"
[ "$(json_field "$S" error_code)" = DUPLICATE_FILE ] || fail "duplicate: error code"
first_batch=$(json_field "$WORK/out/conv.csv_summary.json" batch_id)
grep -q "$first_batch" "$S" || fail "duplicate: the summary does not name the earlier batch $first_batch"
[ ! -e "$WORK/out/result_conv_again.csv" ] || fail "duplicate: a result file was written"
[ "$(snapshot)" = "$before" ] || fail "duplicate: the ledger changed"

# Kill the apply in the middle of the file.
# The binary itself, not the ad() function: a background function is a subshell, and
# killing it would leave actiondrop running.
"$ACTIONDROP" --store "$STORE" --state-dir "$WORK/state" apply --account 1000 --outbox "$WORK/out" "$WORK/mods.csv" > "$WORK/kill.out" 2>&1 &
pid=$!
killed=no
for _ in $(seq 1 600); do
    spool=$(find "$WORK/state/spool" -name result_mods.csv 2>/dev/null | head -n 1)
    if [ -n "$spool" ] && [ "$(stat -c %s "$spool" 2>/dev/null || echo 0)" -gt 2000000 ]; then
        kill -KILL "$pid"; killed=yes; echo "killed at $(stat -c %s "$spool") bytes of results"; break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
wait "$pid" 2>/dev/null || true
[ "$killed" = yes ] || fail "the apply finished before it could be killed (make the file larger)"
[ ! -e "$WORK/out/result_mods.csv" ] || fail "a result was delivered by the killed run"
kill -0 "$pid" 2>/dev/null && fail "actiondrop still runs after SIGKILL"
after_kill=$(snapshot)
[ "$after_kill" = "$before" ] || fail "the killed run changed the ledger"

# Again: every row applied once.
expect_exit 0 ad apply --account 1000 --outbox "$WORK/out" "$WORK/mods.csv"
ad report actions --account 1000 --json > "$WORK/after.json"
python3 - "$WORK/after.json" "$ROWS" <<'PY' || fail "report actions: not each row once, one array"
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
actions = json.loads(text)
rows = int(sys.argv[2])
assert len(actions) == rows, len(actions)
for a in actions:
    i = int(a["action_id"][2:])
    assert a["amount"] == f"{50 + i % 40}.25", a
    assert a["modification_count"] == 1, a
# Written row by row as read (docs/formats.md), it is still one array indented throughout.
assert text == json.dumps(actions, indent=2, ensure_ascii=False) + "\n", "not one indented array"
PY
# Every change, action by action in creation order, each action's entries in date order.
ad report changes --account 1000 > "$WORK/changes.csv"
python3 - "$WORK/changes.csv" "$ROWS" <<'PY' || fail "report changes: not each change once, in order"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
n = int(sys.argv[2])
assert len(rows) == 2 * n, len(rows)
for k, r in enumerate(rows):
    assert r["action_id"] == f"A-{k // 2 + 1:06d}", (k, r)
    assert r["operation"] == ("CREATE" if k % 2 == 0 else "MODIFY"), (k, r)
PY
S="$WORK/out/mods.csv_summary.json"
[ "$(json_field "$S" applied)" = "$ROWS" ] || fail "summary applied"
# And once more: a duplicate.
expect_exit 65 ad apply --account 1000 --outbox "$WORK/out" "$WORK/mods.csv"
