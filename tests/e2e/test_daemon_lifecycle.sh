#!/usr/bin/env bash
# actiondropd runs the life cycle every lifecycle.interval (docs/lifecycle.md, "The daemon's
# schedule"): actions lock, clear against the funds or fall overdue, a deposit made while it
# runs clears them, modification files are applied between runs, and the invoices are
# written once each into STATE_DIR/invoices/<account>/ and into the outbox of the inbox with
# send_invoices: true. The balance is the deposits less the cleared payouts, /metrics counts
# what the store holds, SIGTERM exits 0, and a restart writes no invoice twice while it writes
# one that a stopped process left unwritten.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
expect_exit 0 ad init
expect_exit 0 ad catalog load "$SOURCE_DIR/etc/catalog.yaml"  # 1000 invoices monthly_on_day: 1
IN="$WORK/srv/in"; OUT="$WORK/srv/out"; STATE="$WORK/state"
mkdir -p "$IN" "$OUT" "$WORK/conv"

# Six actions of account 1000, created now.
D=$(days_ago 3)
{
    printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n'
    for i in 1 2 3 4 5 6; do
        printf 'E-%s,19816,%s,O-%s,%s,%s00.00\r\n' $i "$([ $((i % 2)) = 1 ] && echo P-77 || echo P-88)" $i "$D" $i
    done
} > "$WORK/conv/conv.csv"
expect_exit 0 ad apply --account 1000 --type conversions --outbox "$WORK/conv" "$WORK/conv/conv.csv"

# A new action clears in the month after it locks at the earliest (docs/rules.md, "Clearing
# date"), so none of these would clear today. E-1 to E-4 are made old in the store, as if
# they had been created months ago: locked 100 days ago, due 70 to 67 days ago, so that their
# clearing is followed by a 1st of the month, an invoice date, before today.
python3 - "$WORK/ledger.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time() * 1000)
day = 86_400_000
for i, aid in enumerate(["E-1", "E-2", "E-3", "E-4"]):
    n = db.execute("UPDATE actions SET locking_date = ?, clearing_date = ? "
                   "WHERE account_id = '1000' AND action_id = ?",
                   (now - 100 * day, now - (70 - i) * day, aid)).rowcount
    assert n == 1, aid
db.commit()
PY

field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print("null" if v is None else v)' "$@"; }
cents() { python3 -c 'import sys; a,b=sys.argv[1].split("."); print(int(a)*100+int(b))' "$1"; }
money() { python3 -c 'import sys; n=int(sys.argv[1]); print(f"{n//100}.{n%100:02d}")' "$1"; }
status_of() { ad action show --account 1000 "$1" --json > "$WORK/$1.json" && field "$WORK/$1.json" finance_status; }
payout() { ad action show --account 1000 "$1" --json > "$WORK/$1.json" && cents "$(field "$WORK/$1.json" payout)"; }
P1=$(payout E-1); P2=$(payout E-2); P3=$(payout E-3); P4=$(payout E-4)
# Funds for E-1 and E-2: E-3, then E-4 behind it, fall overdue.
expect_exit 0 ad funds deposit --account 1000 "$(money $((P1 + P2)))" --reference opening

PORT=$(free_port)
CONFIG="$WORK/actiondrop.yaml"
cat > "$CONFIG" <<YAML
store: sqlite:$WORK/ledger.db
state_dir: $STATE
sweep_interval: 200ms
metrics: {listen: "127.0.0.1:$PORT"}
lifecycle: {interval: 200ms}
inboxes:
  - {name: acme-mods, account: "1000", type: modifications, kind: local, path: $IN,
     outbox: $OUT, pattern: "*.csv", settle: 100ms, send_invoices: true}
YAML
expect_exit 0 "$ACTIONDROPD" --config "$CONFIG" --check-config

LOG="$WORK/daemon.log"; : > "$LOG"
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
stop() {
    kill -TERM $PID
    local code=0
    wait $PID || code=$?
    [ $code = 0 ] || { cat "$LOG" >&2; fail "actiondropd exited $code on SIGTERM"; }
}
is() { [ "$(status_of "$1")" = "$2" ]; }
start
wait_for 20 grep -q "serving 1 inboxes" "$LOG"

# The first runs: E-1 and E-2 clear on their clearing dates and are invoiced on the next 1st;
# E-3 and E-4 are overdue.
wait_for 20 is E-2 INVOICED
wait_for 20 is E-1 INVOICED
is E-3 OVERDUE || fail "E-3 is $(status_of E-3), not OVERDUE"
is E-4 OVERDUE || fail "E-4 is $(status_of E-4), not OVERDUE"
grep -q "account=1000 lifecycle at=.* locked=4 cleared=2 overdue=2 newly_overdue=2 overdue_amount=$(money $((P3 + P4))) currency=USD invoices=" "$LOG" ||
    { cat "$LOG" >&2; fail "no log line of the first run"; }
# Later runs change nothing: no line for them (only lines of accounts where something happened).
sleep 1
[ "$(grep -c 'account=1000 lifecycle' "$LOG")" = 1 ] || { cat "$LOG" >&2; fail "a run that changed nothing was logged"; }
grep -q 'account=2000 lifecycle' "$LOG" && fail "account 2000 had nothing to do and was logged"

# Modification files for the pending actions, applied while runs go on; a row on a locked
# action is refused.
for n in 1 2 3 4 5; do
    printf 'ActionId,Amount,Reason\r\nE-5,%s.00,ORDER_UPDATE\r\nE-6,%s.00,ORDER_UPDATE\r\nE-1,1.00,ORDER_UPDATE\r\n' \
        $((400 + n)) $((500 + n)) > "$IN/mods-$n.csv"
    sleep 0.1
done
# The money for E-3 and E-4 arrives while the daemon runs: the next run clears them.
expect_exit 0 ad funds deposit --account 1000 "$(money $((P3 + P4)))" --reference top-up
for n in 1 2 3 4 5; do wait_for 20 test -f "$OUT/mods-$n.csv_summary.json"; done
for n in 1 2 3 4 5; do
    [ "$(json_field "$OUT/mods-$n.csv_summary.json" applied)" = 2 ] || fail "mods-$n.csv: not 2 rows applied"
    grep -q ',E-1,.*ACTION_LOCKED' "$OUT/result_mods-$n.csv" || fail "mods-$n.csv: E-1 not refused as locked"
done
wait_for 20 is E-3 CLEARED
wait_for 20 is E-4 CLEARED
is E-5 ESTIMATED || fail "E-5 is $(status_of E-5)"
[ "$(field "$WORK/E-5.json" amount)" = 405.00 ] || fail "E-5's amount is not the last file's"

# Metrics: counters of what the runs did, equal to what the store says.
metrics() { curl -fsS --max-time 5 "http://127.0.0.1:$PORT/metrics" > "$WORK/metrics"; }
sample() { sed -n "s/^$1 //p" "$WORK/metrics"; }
wait_for 10 metrics
expect_exit 0 ad report invoices --account 1000 --json; cp "$WORK/last.out" "$WORK/invoices.json"
INVOICES=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/invoices.json")
[ "$INVOICES" -ge 2 ] || fail "only $INVOICES invoices"   # P-77 (E-1) and P-88 (E-2)
[ "$(sample 'actiondrop_actions_locked_total{account="1000"}')" = 4 ] || { cat "$WORK/metrics"; fail "locked_total"; }
[ "$(sample 'actiondrop_actions_cleared_total{account="1000"}')" = 4 ] || { cat "$WORK/metrics"; fail "cleared_total"; }
[ "$(sample 'actiondrop_actions_overdue_total{account="1000"}')" = 2 ] || { cat "$WORK/metrics"; fail "overdue_total"; }
[ "$(sample 'actiondrop_invoices_issued_total{account="1000"}')" = "$INVOICES" ] || { cat "$WORK/metrics"; fail "invoices_issued_total"; }
[ "$(sample 'actiondrop_overdue_amount{account="1000",currency="USD"}')" = 0 ] || { cat "$WORK/metrics"; fail "overdue amount after the top-up"; }
[ "$(sample 'actiondrop_lifecycle_failures_total{account="1000"}')" = 0 ] || { cat "$WORK/metrics"; fail "failures"; }
python3 -c 'import sys,time; t=float(sys.argv[1]); assert time.time() - 30 < t <= time.time() + 1, t' \
    "$(sample actiondrop_lifecycle_last_run_timestamp_seconds)" || { cat "$WORK/metrics"; fail "last run time"; }
stop
grep -q "stopping" "$LOG" || fail "no stopping line"

# The money: the balance is the deposits less the cleared payouts, and the funds entries add up.
expect_exit 0 ad report funds --account 1000 --json; cp "$WORK/last.out" "$WORK/funds.json"
expect_exit 0 ad report actions --account 1000 --json; cp "$WORK/last.out" "$WORK/actions.json"
expect_exit 0 ad funds balance --account 1000 --json; cp "$WORK/last.out" "$WORK/balance.json"
python3 - "$WORK" <<'PY' || fail "the funds do not reconcile"
import json, sys
from decimal import Decimal as dec
w = sys.argv[1]
load = lambda n: json.load(open(f"{w}/{n}.json"))
funds, actions, balance = load("funds"), load("actions"), load("balance")
deposits = sum(dec(e["amount"]) for e in funds if e["kind"] == "DEPOSIT")
cleared = sum(dec(a["payout"]) for a in actions if a["cleared_at"] is not None)
assert deposits - cleared == dec(balance["balance"]) == 0, (deposits, cleared, balance)
assert sorted(a["action_id"] for a in actions if a["cleared_at"] is not None) == ["E-1", "E-2", "E-3", "E-4"]
PY

# The invoice files: each invoice once in STATE_DIR/invoices/1000/ and once in the outbox,
# as the store has it, and no temporary file left.
check_invoice_files() {
    python3 - "$WORK/invoices.json" "$STATE/invoices/1000" "$OUT" <<'PY'
import json, os, sys
invoices = {i["invoice_id"]: i for i in json.load(open(sys.argv[1]))}
for folder in sys.argv[2:]:
    names = sorted(n for n in os.listdir(folder) if n.startswith("invoice_") or n.startswith(".invoice_"))
    want = sorted(f"invoice_{i}.{x}" for i in invoices for x in ("csv", "json"))
    assert names == want, (folder, names, want)
    for i, inv in invoices.items():
        assert json.load(open(f"{folder}/invoice_{i}.json")) == inv, (folder, i)
    assert not [n for n in os.listdir(folder) if n.endswith(".tmp")], os.listdir(folder)
PY
}
check_invoice_files || fail "the invoice files are not the stored invoices, once each"
for f in "$OUT"/invoice_*.csv; do
    id=$(basename "$f" .csv); id=${id#invoice_}
    expect_exit 0 ad invoices show "$id"
    cmp -s "$WORK/last.out" "$f" || fail "$f is not what invoices show prints"
done

# A restart writes nothing again: not the files already there, nor one that the partner took
# from the outbox. An invoice committed by a process stopped before its files (both copies
# missing) is written at the first run after the start.
FIRST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["invoice_id"])' "$WORK/invoices.json")
LAST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[-1]["invoice_id"])' "$WORK/invoices.json")
rm "$OUT/invoice_$FIRST.csv" "$OUT/invoice_$FIRST.json"   # taken by the partner
rm "$OUT/invoice_$LAST.csv" "$OUT/invoice_$LAST.json" "$STATE/invoices/1000/invoice_$LAST.csv" "$STATE/invoices/1000/invoice_$LAST.json"
python3 - "$WORK/ledger.db" "$LAST" <<'PY'  # nor the store's record of them
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("DELETE FROM invoice_files WHERE invoice_id = ?", (sys.argv[2],)).rowcount == 1
db.commit()
PY
# snapshot: every invoice file of both folders with its inode and mtime, but those of LAST.
snapshot() {
    python3 - "$LAST" "$STATE/invoices/1000" "$OUT" <<'PY'
import os, sys
for folder in sys.argv[2:]:
    for n in sorted(os.listdir(folder)):
        if "invoice_" in n and f"invoice_{sys.argv[1]}." not in n:
            st = os.stat(os.path.join(folder, n))
            print(folder, n, st.st_ino, st.st_mtime_ns)
PY
}
snapshot > "$WORK/before"
start
wait_for 20 test -f "$OUT/invoice_$LAST.json"
wait_for 20 test -f "$STATE/invoices/1000/invoice_$LAST.json"
sleep 1   # several more runs
grep -q "account=1000 lifecycle .*invoice_files=1 " "$LOG" || { cat "$LOG" >&2; fail "no line for the invoice written after the restart"; }
stop
[ ! -e "$OUT/invoice_$FIRST.json" ] || fail "an invoice the partner took was written again"
snapshot > "$WORK/after"
diff "$WORK/before" "$WORK/after" || fail "a restart wrote invoice files again"
python3 - "$WORK/invoices.json" "$FIRST" <<'PY' > "$WORK/invoices-left.json"
import json, sys
print(json.dumps([i for i in json.load(open(sys.argv[1])) if i["invoice_id"] != sys.argv[2]]))
PY
python3 - "$WORK/invoices.json" "$STATE/invoices/1000" <<'PY' || fail "the record after the restart"
import json, os, sys
want = sorted(f"invoice_{i['invoice_id']}.{x}" for i in json.load(open(sys.argv[1])) for x in ("csv", "json"))
assert sorted(os.listdir(sys.argv[2])) == want, os.listdir(sys.argv[2])
PY
python3 - "$WORK/invoices-left.json" "$OUT" <<'PY' || fail "the outbox after the restart"
import json, os, sys
want = sorted(f"invoice_{i['invoice_id']}.{x}" for i in json.load(open(sys.argv[1])) for x in ("csv", "json"))
assert sorted(n for n in os.listdir(sys.argv[2]) if "invoice_" in n) == want, os.listdir(sys.argv[2])
PY
grep "lifecycle" "$LOG"; echo "ok: $INVOICES invoices"
