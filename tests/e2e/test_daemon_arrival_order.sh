#!/usr/bin/env bash
# Files of one account are applied in the order they came, across services sharing a store
# (docs/ingest.md, "Arrival order"). Service A is killed with SIGKILL in the middle of a long
# modifications file (p3), which leaves its journal record undecided; a later file (p4) for
# the same action reaches service B, with a state folder of its own, meanwhile. B waits for
# p3, says so, and applies p4 only after A, started again, has applied p3: the action ends at
# p4's amount, 444.00, not p3's.
#
# Then a service that dies for good mid-file: its claim holds the account's later files back,
# those of the other service and `apply` on the command line (exit 75, naming the batch), until
# an operator settles it with `batches abandon`; if the service comes back after all, its file
# is answered as set aside and not applied.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
setup_ledger
D=$(days_ago 2)
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nAO-1,19816,P-77,O-1,%s,100.00\r\n' "$D" > "$WORK/seed.csv"
expect_exit 0 ad apply --account 1000 --type conversions "$WORK/seed.csv"

# p3: 400,000 rows naming actions that do not exist (rejected, but read and answered one by
# one), then AO-1 to 333.00; long enough to be killed in the middle.
python3 - "$WORK/p3.csv" <<'PY'
import sys
with open(sys.argv[1], "w", newline="") as out:
    out.write("ActionId,Amount,Reason\r\n")
    out.writelines(f"NONE-{i},1.00,ORDER_UPDATE\r\n" for i in range(400000))
    out.write("AO-1,333.00,ORDER_UPDATE\r\n")
PY
printf 'ActionId,Amount,Reason\r\nAO-1,444.00,ORDER_UPDATE\r\n' > "$WORK/p4.csv"

amount() { ad report actions --account 1000 | python3 -c '
import csv, sys
for row in csv.DictReader(sys.stdin):
    if row["action_id"] == "AO-1": print(row["amount"])'; }

for who in a b; do
    mkdir -p "$WORK/$who/in" "$WORK/$who/out"
    cat > "$WORK/$who.yaml" <<YAML
store: $STORE
state_dir: $WORK/$who/state
sweep_interval: 200ms
metrics: {listen: "127.0.0.1:$(free_port)"}
inboxes:
  - {name: mods-$who, account: "1000", type: modifications, kind: local, path: $WORK/$who/in, outbox: $WORK/$who/out, pattern: "*.csv", settle: 100ms}
YAML
done
PID_A=; PID_B=
stop_all() {
    for p in $PID_A $PID_B; do kill -9 "$p" 2> /dev/null || true; done
    e2e_cleanup
}
trap stop_all EXIT
start() { # start a|b
    "$ACTIONDROPD" --config "$WORK/$1.yaml" 2>> "$WORK/$1.log" &
    if [ "$1" = a ]; then PID_A=$!; else PID_B=$!; fi
}
# wait_for SECONDS DESCRIPTION COMMAND...: until the command succeeds.
wait_for() {
    local until=$((SECONDS + $1)) what=$2; shift 2
    until "$@"; do
        [ $SECONDS -lt $until ] || { tail -n 20 "$WORK"/*.log >&2; fail "no $what in time"; }
        sleep 0.05
    done
}
# The receipt is written once the file's record is: the CLI cannot read the journal while a
# service applies a file on SQLite (it migrates first, which waits for the writer).
p3_claimed() { ad batches list --account 1000 | grep -q ',p3.csv,[^,]*,[^,]*,[^,]*,claimed,'; }
p3_receipt() { [ -e "$WORK/a/out/receipt_p3.csv.txt" ]; }

start a
start b
cp "$WORK/p3.csv" "$WORK/a/p3.csv" && mv "$WORK/a/p3.csv" "$WORK/a/in/p3.csv"
wait_for 60 "receipt of p3" p3_receipt
kill -9 "$PID_A"; wait "$PID_A" 2> /dev/null || true; PID_A=
p3_claimed || fail "p3 was decided before its service was killed: make it longer"

cp "$WORK/p4.csv" "$WORK/b/p4.csv" && mv "$WORK/b/p4.csv" "$WORK/b/in/p4.csv"
waits() { grep -q "warning: inbox=mods-b account=1000 file=p4.csv waits for batch .* (file 'p3.csv', inbox mods-a" "$WORK/b.log"; }
wait_for 30 "wait of p4 for p3 in B's log" waits
sleep 3  # B's next tries find p3 still undecided, and say so no more
[ "$(grep -c "file=p4.csv waits for batch" "$WORK/b.log")" = 1 ] || fail "the wait of p4 is not said once"
grep -q "file=p4.csv failed" "$WORK/b.log" && fail "the wait of p4 is logged as a failure"
[ "$(amount)" = "100.00" ] || fail "p4 was applied while p3 was undecided: AO-1 is $(amount)"
[ ! -e "$WORK/b/out/p4.csv_summary.json" ] || fail "p4 was answered while it waited"

start a
p4_done() { [ -e "$WORK/b/out/p4.csv_summary.json" ]; }
wait_for 120 "answer to p4" p4_done
[ "$(json_field "$WORK/b/out/p4.csv_summary.json" status)" = COMPLETE ] || fail "p4 not COMPLETE"
[ "$(json_field "$WORK/a/out/p3.csv_summary.json" status)" = COMPLETE ] || fail "p3 not COMPLETE"
[ "$(amount)" = "444.00" ] || fail "AO-1 ends at $(amount), not at p4's 444.00"
# In the action's history p3's change comes before p4's.
expect_exit 0 ad action history --account 1000 AO-1
grep -o "333.00\|444.00" "$WORK/last.out" | tr '\n' ' ' | grep -q "^333.00 .*444.00" ||
    fail "history: p3 does not come before p4: $(cat "$WORK/last.out")"
for p in $PID_A $PID_B; do kill -TERM "$p"; wait "$p" 2> /dev/null || true; done
PID_A=; PID_B=

# A service that dies for good mid-file: its claim holds the account's later files, from the
# command line too, until an operator abandons it; then they go on, and when that service
# comes back after all, its file is answered as set aside, not applied.
start a
start b
sed 's/^AO-1,333.00/AO-1,666.00/' "$WORK/p3.csv" > "$WORK/a/p6.csv" && mv "$WORK/a/p6.csv" "$WORK/a/in/p6.csv"
p6_receipt() { [ -e "$WORK/a/out/receipt_p6.csv.txt" ]; }
wait_for 60 "receipt of p6" p6_receipt
kill -9 "$PID_A"; wait "$PID_A" 2> /dev/null || true; PID_A=
p6=$(sed -n 's/^batch_id: *//p' "$WORK/a/out/receipt_p6.csv.txt" | tr -d '\r')
[ -n "$p6" ] || fail "no batch id in p6's receipt"
expect_exit 0 ad batches show "$p6"
grep -q '"state": "claimed"' "$WORK/last.out" || fail "p6 was decided before its service was killed: make it longer"
grep -q '"claim": true' "$WORK/last.out" || fail "batches show does not say p6 is a service's claim"
expect_exit 0 ad batches list --account 1000 --json
python3 -c 'import json, sys
rows = {b["file"]: b["claim"] for b in json.load(open(sys.argv[1]))}
sys.exit(0 if rows["seed.csv"] is False and rows["p6.csv"] is True else 1)' "$WORK/last.out" ||
    fail "batches list does not tell the command line's record from a claim: $(cat "$WORK/last.out")"

# p5: 50,000 rows naming actions that do not exist, then AO-1 to 555.00; large enough that
# reading it again at each try of a waiting `apply` shows in the bytes that process reads.
python3 - "$WORK/p5.csv" <<'PY'
import sys
with open(sys.argv[1], "w", newline="") as out:
    out.write("ActionId,Amount,Reason\r\n")
    out.writelines(f"NONE-{i},1.00,ORDER_UPDATE\r\n" for i in range(50000))
    out.write("AO-1,555.00,ORDER_UPDATE\r\n")
PY
expect_exit 75 ad apply --wait 1 --account 1000 --type modifications "$WORK/p5.csv"
grep -q "p5.csv: nothing was applied; it waits for batch $p6 (file 'p6.csv', inbox mods-a" "$WORK/last.err" ||
    fail "the refused apply does not name the batch it waits for: $(cat "$WORK/last.err")"
[ "$(ad batches list --account 1000 | grep -c ',p5.csv,')" = 0 ] || fail "the refused apply left a record"
printf 'ActionId,Amount,Reason\r\nAO-1,777.00,ORDER_UPDATE\r\n' > "$WORK/b/p7.csv" && mv "$WORK/b/p7.csv" "$WORK/b/in/p7.csv"
waits7() { grep -q "file=p7.csv waits for batch $p6 " "$WORK/b.log"; }
wait_for 30 "wait of p7 for p6 in B's log" waits7
[ "$(amount)" = "444.00" ] || fail "AO-1 changed while p6 was undecided: $(amount)"

# Started now, `apply` waits (it may wait up to 60 s by default) for p6 and for p7, which
# came before it, and goes on once both are decided.
"$ACTIONDROP" --store "$STORE" --state-dir "$WORK/state" apply --account 1000 --type modifications \
    "$WORK/p5.csv" > "$WORK/p5.out" 2>&1 &
CLI=$!
sleep 1
kill -0 "$CLI" 2> /dev/null || fail "apply did not wait for p6: $(cat "$WORK/p5.out")"
# While it waits it reads the record of the file it waits for, not its own file again at
# each try (about 8 reads of p5 in 2 s).
read_bytes() { sed -n 's/^rchar: //p' "/proc/$CLI/io"; }
r0=$(read_bytes); sleep 2; r1=$(read_bytes)
p5_size=$(stat -c %s "$WORK/p5.csv")
[ $((r1 - r0)) -lt "$p5_size" ] ||
    fail "the waiting apply read $((r1 - r0)) bytes in 2 s, p5 having $p5_size: it reads p5 each try"
expect_exit 0 ad batches abandon "$p6"
grep -q "batch $p6 (file 'p6.csv', account 1000) abandoned: nothing of it was applied" "$WORK/last.out" ||
    fail "abandon does not say what it did: $(cat "$WORK/last.out")"
expect_exit 0 ad batches show "$p6"
grep -q '"state": "quarantined"' "$WORK/last.out" || fail "the abandoned batch is not set aside"
grep -q '"error_code": "QUARANTINED"' "$WORK/last.out" || fail "the abandoned batch has no QUARANTINED"
expect_exit 64 ad batches abandon "$p6"  # decided now
grep -q "is decided already (quarantined, REJECTED)" "$WORK/last.err" || fail "abandon twice: $(cat "$WORK/last.err")"
expect_exit 1 ad batches abandon no-such-batch

p7_done() { [ -e "$WORK/b/out/p7.csv_summary.json" ]; }
wait_for 60 "answer to p7" p7_done
[ "$(json_field "$WORK/b/out/p7.csv_summary.json" status)" = COMPLETE ] || fail "p7 not COMPLETE"
cli_rc=0; wait "$CLI" || cli_rc=$?
[ "$cli_rc" = 3 ] || fail "the waiting apply of p5 exited $cli_rc, not 3: $(cat "$WORK/p5.out")"
[ "$(amount)" = "555.00" ] || fail "AO-1 is $(amount) after p7 and p5, not p5's 555.00"
expect_exit 0 ad action history --account 1000 AO-1
grep -o "777.00\|555.00" "$WORK/last.out" | tr '\n' ' ' | grep -q "^777.00 .*555.00" ||
    fail "history: p7 does not come before p5: $(cat "$WORK/last.out")"

start a  # back after all: p6 is answered, not applied
p6_done() { [ -e "$WORK/a/out/p6.csv_summary.json" ]; }
wait_for 60 "answer to p6" p6_done
[ "$(json_field "$WORK/a/out/p6.csv_summary.json" status)" = REJECTED ] || fail "p6 not REJECTED"
[ "$(json_field "$WORK/a/out/p6.csv_summary.json" error_code)" = QUARANTINED ] || fail "p6 not QUARANTINED"
[ "$(amount)" = "555.00" ] || fail "the abandoned p6 was applied: AO-1 is $(amount)"
[ -e "$WORK/a/state/failed/mods-a/${p6}_p6.csv" ] || fail "p6 is not kept in failed/"
echo "ok"
