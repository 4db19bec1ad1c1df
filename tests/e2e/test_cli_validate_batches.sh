#!/usr/bin/env bash
# `validate` checks a file's form (and, with an account, its rows against the ledger)
# without changing or writing anything; `batches list|show|redeliver` read the journal
# and deliver a batch's stored outputs again.
source "$(dirname "$0")/lib.sh"
setup_ledger
mkdir -p "$WORK/in"
D=$(days_ago 1)
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nV-1,19816,P-77,O-1,%s,10.00\r\n' "$D" > "$WORK/in/conv.csv"
expect_exit 0 ad validate --type conversions "$WORK/in/conv.csv"
expect_exit 0 ad apply --account 1000 --type conversions "$WORK/in/conv.csv"

printf 'ActionId,Amount,Reason\r\nV-1,5.00,ORDER_UPDATE\r\nV-1,-5,ORDER_UPDATE\r\nV-404,1.00,ORDER_UPDATE\r\n' > "$WORK/in/mods.csv"
expect_exit 3 ad validate "$WORK/in/mods.csv"
grep -q "line 3: MALFORMED" "$WORK/last.out" || fail "validate: no MALFORMED on line 3"
grep -q "V-404" "$WORK/last.out" && fail "validate without an account looked into the ledger"
before=$(ad report actions --account 1000 | sha256sum)
expect_exit 3 ad validate --account 1000 "$WORK/in/mods.csv"
grep -q "ACTION_REF_NOT_FOUND" "$WORK/last.out" || fail "validate --account: no ACTION_REF_NOT_FOUND"
[ "$(ad report actions --account 1000 | sha256sum)" = "$before" ] || fail "validate changed the ledger"
[ ! -e "$WORK/in/result_mods.csv" ] || fail "validate wrote a result file"
printf 'ActionId,Amount,Colour\r\nV-1,5.00,red\r\n' > "$WORK/in/bad.csv"
expect_exit 65 ad validate "$WORK/in/bad.csv"
grep -q "UNKNOWN_COLUMN" "$WORK/last.out" || fail "validate: no UNKNOWN_COLUMN"

# The journal, and delivering a batch again.
batch=$(json_field "$WORK/in/conv.csv_summary.json" batch_id)
expect_exit 0 ad batches list --account 1000
grep -q "^$batch,1000,,conv.csv," "$WORK/last.out" || fail "batches list does not show $batch"
expect_exit 0 ad batches show "$batch"
grep -q '"state": "delivered"' "$WORK/last.out" || fail "batches show: not delivered"
cp "$WORK/in/result_conv.csv" "$WORK/result.orig"
cp "$WORK/in/receipt_conv.csv.txt" "$WORK/receipt.orig"
rm "$WORK/in/result_conv.csv" "$WORK/in/receipt_conv.csv.txt"
expect_exit 0 ad batches redeliver "$batch" --outbox "$WORK/in"
cmp -s "$WORK/in/result_conv.csv" "$WORK/result.orig" || fail "redelivered result differs"
cmp -s "$WORK/in/receipt_conv.csv.txt" "$WORK/receipt.orig" || fail "redelivered receipt differs"
grep -q "^wrote $WORK/in/receipt_conv.csv.txt" "$WORK/last.out" || fail "redeliver does not name the receipt"
expect_exit 1 ad batches show no-such-batch

# A file name that is not UTF-8 (any uploader may choose one) is kept in the journal as it
# came; JSON shows its bad bytes as U+FFFD, as the summary does, and the journal of every
# account stays readable.
odd=$'\xff\xfe-odd.csv'
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nV-2,19816,P-77,O-2,%s,10.00\r\n' "$D" > "$WORK/in/$odd"
expect_exit 0 ad apply --account 1000 --type conversions "$WORK/in/$odd"
odd_batch=$(json_field "$WORK/in/${odd}_summary.json" batch_id)
expect_exit 0 ad batches list --json
python3 -c 'import json,sys; names=[b["file"] for b in json.load(open(sys.argv[1]))]; assert "\ufffd\ufffd-odd.csv" in names, names' "$WORK/last.out" ||
    fail "batches list --json does not show the odd name"
expect_exit 0 ad batches show "$odd_batch"
grep -qF $'"file": "\xef\xbf\xbd\xef\xbf\xbd-odd.csv"' "$WORK/last.out" ||
    fail "batches show does not show the odd name"
expect_exit 0 ad batches list --account 1000
grep -q "^$odd_batch,1000,,$odd," "$WORK/last.out" || fail "batches list (CSV) does not keep the name's bytes"

# A first install: init makes the state folder and the database's folder.
expect_exit 0 "$ACTIONDROP" --store "sqlite:$WORK/fresh/db/ledger.db" --state-dir "$WORK/fresh/state" init
[ -f "$WORK/fresh/db/ledger.db" ] && [ -d "$WORK/fresh/state" ] || fail "init did not make its folders"
