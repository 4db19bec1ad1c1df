#!/usr/bin/env bash
# `actiondrop store copy` (docs/postgres.md, "Moving a SQLite ledger over"): a SQLite ledger of
# 100,000 actions, modified, with funds, clearing debits, an overdue action, transfers and
# invoices, copied into an empty PostgreSQL store. Both stores then report the same actions,
# history, funds, invoices and journal byte for byte, a second copy into the filled store is
# refused, and the copy goes on as a ledger: the same file applied to both leaves them equal.
source "$(dirname "$0")/../lib.sh"
[ -n "$PG_SCHEMA" ] || fail "this test copies into PostgreSQL: run it with ACTIONDROP_TEST_PG_URL_FILE"
SRC="sqlite:$WORK/source.db"
src() { "$ACTIONDROP" --store "$SRC" --state-dir "$WORK/state" "$@"; }
expect_exit 0 src init
expect_exit 0 src catalog load "$SOURCE_DIR/etc/catalog.yaml"
mkdir -p "$WORK/in" "$WORK/out"

N=100000
python3 - "$WORK/in" "$N" "$(days_ago 3)" <<'PY'
import sys
folder, n, day = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(f"{folder}/conv.csv", "w", newline="") as f:
    f.write("ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n")
    for i in range(n):
        # A few for the capped partner: each of its rows sums its month's payouts.
        partner = "P-88" if i % 1000 == 0 else "P-77"
        f.write(f"C-{i},19816,{partner},O-{i},{day},{10 + i % 90}.{i % 100:02d}\r\n")
with open(f"{folder}/mods.csv", "w", newline="") as f:
    f.write("ActionId,Amount,Reason\r\n")
    for i in range(0, n, 10):
        f.write(f"C-{i},{5 + i % 7}.00,ORDER_UPDATE\r\n")
with open(f"{folder}/more.csv", "w", newline="") as f:
    f.write("ActionId,Amount,Reason\r\n")
    for i in range(5, n, 1000):
        f.write(f"C-{i},1.00,ORDER_UPDATE\r\n")
PY
expect_exit 0 src apply --account 1000 --type conversions --outbox "$WORK/out" "$WORK/in/conv.csv"
expect_exit 0 src apply --account 1000 --type modifications --outbox "$WORK/out" "$WORK/in/mods.csv"
printf 'TransferType,PartnerId,Amount,CurrencyCode,PaymentDate,CampaignId,Comments\r\nMAKE_GOOD,P-77,60.00,,,,order O-1\r\nBONUS,P-88,5.50,,,,"spring, bonus"\r\n' > "$WORK/in/goods.csv"
expect_exit 0 src funds deposit --account 1000 100.00 --reference opening
expect_exit 0 src apply --account 1000 --type funds_transfers --outbox "$WORK/out" "$WORK/in/goods.csv"
# Enough money for part of the clear queue: some actions clear, the next becomes overdue.
expect_exit 0 src funds deposit --account 1000 250000.00 --reference "top-up"
LATER=$(date -u -d '200 days' +%Y-%m-%dT%H:%M:%SZ)
MUCH_LATER=$(date -u -d '260 days' +%Y-%m-%dT%H:%M:%SZ)
expect_exit 0 src lifecycle run --now "$LATER"
expect_exit 0 src lifecycle run --now "$MUCH_LATER"
expect_exit 0 src report invoices --account 1000 --json
python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) > 0' "$WORK/last.out" || fail "the source ledger has no invoice"
expect_exit 0 src report actions --account 1000 --json
python3 -c 'import json,sys; s={a["finance_status"] for a in json.load(open(sys.argv[1]))}; assert {"INVOICED","OVERDUE"} <= s, s' "$WORK/last.out" ||
    fail "the source ledger lacks invoiced or overdue actions"

# The copy.
expect_exit 0 src store copy --to "$STORE"
grep -q "every count and sum agrees" "$WORK/last.out" || { cat "$WORK/last.out"; fail "store copy did not say it agrees"; }
grep -q "DIFFERS" "$WORK/last.out" && fail "store copy printed a difference"
grep -q "^actions: rows *$((N)) *$((N))$" "$WORK/last.out" || { cat "$WORK/last.out"; fail "the action counts"; }
# The store's record of the invoice files written (by the lifecycle runs above) comes along.
grep -Eq "^invoice_files: rows +([1-9][0-9]*) +\1$" "$WORK/last.out" || { cat "$WORK/last.out"; fail "the invoice files' record was not copied"; }

# same_output WHAT...: the command gives the same bytes on both stores.
same_output() {
    expect_exit 0 src "$@"; cp "$WORK/last.out" "$WORK/a.out"
    expect_exit 0 ad "$@"; cp "$WORK/last.out" "$WORK/b.out"
    cmp -s "$WORK/a.out" "$WORK/b.out" || { diff "$WORK/a.out" "$WORK/b.out" | head -5 >&2; fail "the stores differ in: $*"; }
    [ -s "$WORK/a.out" ] || fail "nothing to compare in: $*"
}
compare_stores() {
    for account in 1000 2000; do
        same_output report actions --account "$account" --json
        same_output report changes --account "$account" --json
        same_output report funds --account "$account" --json
        same_output report invoices --account "$account" --json
        same_output funds balance --account "$account" --json
    done
    same_output batches list --json
    same_output action history --account 1000 C-0 --json
}
compare_stores
# Every batch's stored outputs, byte for byte: the conversions' result file (several MiB) goes
# into PostgreSQL in pieces.
expect_exit 0 src batches list --json
python3 -c 'import json,sys; print("\n".join(b["batch_id"] for b in json.load(open(sys.argv[1]))))' "$WORK/last.out" > "$WORK/batch_ids"
[ "$(wc -l < "$WORK/batch_ids")" -ge 3 ] || fail "too few batches to compare their outputs"
mkdir -p "$WORK/redelivered-src" "$WORK/redelivered-pg"
while read -r id; do
    expect_exit 0 src batches redeliver "$id" --outbox "$WORK/redelivered-src"
    expect_exit 0 ad batches redeliver "$id" --outbox "$WORK/redelivered-pg"
done < "$WORK/batch_ids"
[ "$(stat -c %s "$WORK/redelivered-src/result_conv.csv")" -gt $((4 << 20)) ] || fail "the result file is smaller than the test needs"
diff -r "$WORK/redelivered-src" "$WORK/redelivered-pg" > /dev/null || fail "the batches' stored outputs differ after the copy"
expect_exit 0 ad report changes --account 1000 --json
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert len(c) > 200000, len(c)' "$WORK/last.out" ||
    fail "the history compared is smaller than the ledger's"

# A store that holds a ledger is never copied into.
expect_exit 74 src store copy --to "$STORE"
grep -q "needs an empty store" "$WORK/last.err" || fail "a second copy was not refused for the right reason"

# The copy goes on where the source stopped: counters and sequences follow the copied rows
# (the funds entries' ids are checked by the deposit at the end).
expect_exit 3 src apply --account 1000 --type modifications --outbox "$WORK/out-a" "$WORK/in/more.csv"
expect_exit 3 ad apply --account 1000 --type modifications --outbox "$WORK/out-b" "$WORK/in/more.csv"
# The batch ids differ (each store made its own); the rest of the answers is the same.
cmp -s <(cut -d, -f1-12 "$WORK/out-a/result_more.csv") <(cut -d, -f1-12 "$WORK/out-b/result_more.csv") ||
    fail "the same file gave other answers on the copy"
for account in 1000 2000; do
    expect_exit 0 src report actions --account "$account" --json; cp "$WORK/last.out" "$WORK/a.out"
    expect_exit 0 ad report actions --account "$account" --json
    cmp -s "$WORK/a.out" "$WORK/last.out" || fail "the actions differ after the same file on both stores"
    same_output report funds --account "$account" --json
done
expect_exit 0 ad funds deposit --account 1000 1.00 --reference after
expect_exit 0 ad report funds --account 1000 --json
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); assert e[-1]["reference"] == "after" and len(e) > 2, e[-3:]' "$WORK/last.out" ||
    fail "a deposit on the copy is not the last funds entry"
echo ok
