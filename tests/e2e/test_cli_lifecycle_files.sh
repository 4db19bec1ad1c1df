#!/usr/bin/env bash
# `actiondrop lifecycle run` when an account's invoice files cannot be written (docs/lifecycle.md,
# "Invoice files"): the account's run is committed and printed, the accounts after it still
# run, the command names the account on stderr and exits 74, and a later run writes the
# files once the folder can be made.
source "$(dirname "$0")/lib.sh"
expect_exit 0 ad init
expect_exit 0 ad catalog load "$SOURCE_DIR/etc/catalog.yaml"
mkdir -p "$WORK/in"
D=$(days_ago 3)
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nE-1,19816,P-77,O-1,%s,100.00\r\n' \
    "$D" > "$WORK/in/acme.csv"
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nJ-1,30001,P-10,O-1,%s,10000\r\n' \
    "$D" > "$WORK/in/sakura.csv"
expect_exit 0 ad apply --account 1000 --type conversions --outbox "$WORK/out" "$WORK/in/acme.csv"
expect_exit 0 ad apply --account 2000 --type conversions --outbox "$WORK/out" "$WORK/in/sakura.csv"
expect_exit 0 ad funds deposit --account 1000 1000.00 --reference opening
# Far enough ahead that E-1 locks, clears and is invoiced, and J-1 locks.
T=$(date -u -d "150 days" +%Y-%m-%dT%H:%M:%SZ)

# The folder of account 1000's invoice files cannot be made: a file holds its name.
mkdir -p "$WORK/state/invoices"
echo "not a folder" > "$WORK/state/invoices/1000"
expect_exit 74 ad lifecycle run --now "$T"
grep -q '^account 1000 at .*invoices 1,' "$WORK/last.out" || fail "account 1000's run not printed"
grep -q '^account 2000 at .*locked 1,' "$WORK/last.out" || fail "account 2000 did not run after 1000"
grep -q '^account 1000: the files of 1 invoice were not written: .*invoices/1000' \
    "$WORK/last.err" || fail "stderr does not name the account and the folder"
expect_exit 0 ad report invoices --account 1000 --json
INVOICE=$(python3 -c 'import json,sys; [i] = json.load(open(sys.argv[1])); print(i["invoice_id"])' \
    "$WORK/last.out")

# Once the folder can be made, the same run writes the files, and changes nothing else.
rm "$WORK/state/invoices/1000"
expect_exit 0 ad lifecycle run --now "$T"
grep -q '^account 1000 at .*locked 0, cleared 0, overdue 0 .*invoices 0,' "$WORK/last.out" \
    || fail "the second run changed the ledger"
[ -s "$WORK/state/invoices/1000/invoice_$INVOICE.json" ] || fail "invoice_$INVOICE.json not written"
[ -s "$WORK/state/invoices/1000/invoice_$INVOICE.csv" ] || fail "invoice_$INVOICE.csv not written"
[ ! -s "$WORK/last.err" ] || fail "stderr: $(cat "$WORK/last.err")"
echo "ok"
