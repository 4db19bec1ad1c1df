#!/usr/bin/env bash
# Funds-transfer files from the CLI (docs/rules.md, "Funds transfers"; docs/lifecycle.md):
# rows checked in their order, earlier rows using up the funds for later ones, one TRANSFER
# debit per applied row named by its generated id, the file applied once only, nothing
# moved by a dry run or a rejected file, and the transfers on the partner's next invoice,
# once, with the money reconciled.
source "$(dirname "$0")/lib.sh"
expect_exit 0 ad init
expect_exit 0 ad catalog load "$SOURCE_DIR/etc/catalog.yaml"
mkdir -p "$WORK/in"
expect_exit 0 ad funds deposit --account 1000 100.00 --reference opening

PAID=$(days_ago 2)
LATER=$(date -u -d '2 days' +%Y-%m-%dT%H:%M:%SZ)
{
    printf 'TransferType,PartnerId,Amount,CurrencyCode,PaymentDate,CampaignId,Comments\r\n'
    printf 'MAKE_GOOD,P-77,60.00,,,,order O-1 locked at 0\r\n'                    # 2: applied
    printf 'MAKE_GOOD,P-77,40.01,USD,,,\r\n'                                    # 3: 40.00 left
    printf 'BONUS,P-404,1.00,,,,\r\n'                                            # 4
    printf 'BONUS,P-88,1.00,EUR,,,\r\n'                                          # 5
    printf 'PAID_PLACEMENT,P-88,40.00,USD,%s,CMP-9,"spring, homepage"\r\n' "$PAID"  # 6: applied
    printf 'MAKE_GOOD,P-77,1.00,,%s,,\r\n' "$LATER"                              # 7: future
    printf ',P-77,1.00,,,,\r\n'                                                  # 8
    printf 'MAKE_GOOD,P-77,0.00,,,,\r\n'                                         # 9
    printf 'BONUS,P-77,0.01\r\n'                                                 # 10: short
} > "$WORK/in/make_goods.csv"

expect_exit 3 ad validate --type funds_transfers "$WORK/in/make_goods.csv"
grep -q 'line 7: MALFORMED: PaymentDate' "$WORK/last.out" || fail "validate missed the future PaymentDate"

expect_exit 3 ad apply --account 1000 --type funds_transfers --outbox "$WORK/out" "$WORK/in/make_goods.csv"
cat > "$WORK/expected_result.csv" <<'CSV'
Line,OrderId,Operation,Outcome,ErrorType,ErrorCode,NewAmount,Currency,NewPayout,PayoutCurrency,Status
2,,TRANSFER,APPLIED,,,60.00,USD,60.00,USD,
3,,TRANSFER,REJECTED,Validation,INSUFFICIENT_FUNDS,,,,,
4,,TRANSFER,REJECTED,Validation,PARTNER_NOT_FOUND,,,,,
5,,TRANSFER,REJECTED,Validation,CURRENCY_MISMATCH,,,,,
6,,TRANSFER,APPLIED,,,40.00,USD,40.00,USD,
7,,TRANSFER,REJECTED,Validation,MALFORMED,,,,,
8,,TRANSFER,REJECTED,Validation,MISSING_FIELD,,,,,
9,,TRANSFER,REJECTED,Validation,MALFORMED,,,,,
10,,TRANSFER,REJECTED,Validation,MALFORMED,,,,,
CSV
check_csv "$WORK/out/result_make_goods.csv" "$WORK/expected_result.csv" || fail "result_make_goods.csv"
BATCH=$(json_field "$WORK/out/make_goods.csv_summary.json" batch_id)
python3 - "$WORK/out/result_make_goods.csv" "$BATCH" <<'PY' || fail "transfer ids in the result"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
ids = {r["Line"]: r["ActionId"] for r in rows}
assert ids["2"] == f"TR-{sys.argv[2]}-2" and ids["6"] == f"TR-{sys.argv[2]}-6", ids
assert all(ids[l] == "" for l in ids if l not in ("2", "6")), ids
msg = {r["Line"]: r["Message"] for r in rows}
assert msg["3"] == "Amount: 40.01 USD is more than the funds left, 40.00 USD", msg["3"]
assert msg["7"].startswith("PaymentDate: "), msg["7"]
PY
# The errors file keeps the rejected rows as written, ready to fix and upload again.
python3 - "$WORK/out/errors_make_goods.csv" <<'PY' || fail "errors_make_goods.csv"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["TransferType", "PartnerId", "Amount", "CurrencyCode", "PaymentDate", "CampaignId",
                   "Comments", "ErrorCode", "ErrorMessage"], rows[0]
assert [r[-2] for r in rows[1:]] == ["INSUFFICIENT_FUNDS", "PARTNER_NOT_FOUND", "CURRENCY_MISMATCH",
                                      "MALFORMED", "MISSING_FIELD", "MALFORMED", "MALFORMED"], rows
PY
[ "$(json_field "$WORK/out/make_goods.csv_summary.json" type)" = funds_transfers ] || fail "summary type"

# funds_json: the account's funds entries as JSON.
expect_exit 0 ad funds balance --account 1000 --json
[ "$(json_field "$WORK/last.out" balance)" = "0.00" ] || fail "balance after the transfers"
expect_exit 0 ad report funds --account 1000 --json
cp "$WORK/last.out" "$WORK/funds.json"
python3 - "$WORK/funds.json" "$BATCH" <<'PY' || fail "the funds report"
import json, sys
entries = json.load(open(sys.argv[1]))
kinds = [(e["kind"], e["amount"], e["reference"]) for e in entries]
b = sys.argv[2]
assert kinds == [("DEPOSIT", "100.00", "opening"), ("TRANSFER", "-60.00", f"TR-{b}-2"),
                 ("TRANSFER", "-40.00", f"TR-{b}-6")], kinds
assert entries[-1]["balance"] == "0.00", entries[-1]
PY

# Once only: the same content again is a duplicate, and moves nothing.
cp "$WORK/in/make_goods.csv" "$WORK/in/again.csv"
expect_exit 65 ad apply --account 1000 --type funds_transfers --outbox "$WORK/out" "$WORK/in/again.csv"
[ "$(json_field "$WORK/out/again.csv_summary.json" error_code)" = DUPLICATE_FILE ] || fail "not a duplicate"
expect_exit 0 ad funds deposit --account 1000 10.00 --reference top-up
printf 'TransferType,PartnerId,Amount\r\nBONUS,P-77,5.00\r\n' > "$WORK/in/bonus.csv"
# A dry run and an all-or-nothing failure move nothing either.
expect_exit 0 ad apply --account 1000 --type funds_transfers --dry-run --outbox "$WORK/dry" "$WORK/in/bonus.csv"
grep -q ',TRANSFER,APPLIED,' "$WORK/dry/result_bonus.csv" || fail "the dry run's result"
expect_exit 0 ad funds balance --account 1000 --json
[ "$(json_field "$WORK/last.out" balance)" = "10.00" ] || fail "a dry run moved money"
expect_exit 0 ad apply --account 1000 --type funds_transfers --outbox "$WORK/out" "$WORK/in/bonus.csv"
expect_exit 0 ad funds balance --account 1000 --json
[ "$(json_field "$WORK/last.out" balance)" = "5.00" ] || fail "the bonus was not taken"
BONUS=TR-$(json_field "$WORK/out/bonus.csv_summary.json" batch_id)-2

# The transfers go on the partners' next invoices: the 1st of a month ahead, in New York.
T=$(date -u -d '40 days' +%Y-%m-%dT%H:%M:%SZ)
expect_exit 0 ad lifecycle run --now "$T" --account 1000
T2=$(date -u -d '80 days' +%Y-%m-%dT%H:%M:%SZ)
expect_exit 0 ad lifecycle run --now "$T2" --account 1000
expect_exit 0 ad report invoices --account 1000 --json
cp "$WORK/last.out" "$WORK/invoices.json"
python3 - "$WORK/invoices.json" "$BATCH" "$PAID" "$BONUS" <<'PY' || fail "the invoices"
import json, sys
invoices = json.load(open(sys.argv[1]))
b, paid, bonus = sys.argv[2], sys.argv[3], sys.argv[4]
lines = [(i["partner_id"], l["kind"], l["id"]) for i in invoices for l in i["lines"]]
# Each transfer on exactly one invoice, of its partner.
assert sorted(lines) == sorted([("P-77", "MAKE_GOOD", f"TR-{b}-2"), ("P-88", "PAID_PLACEMENT", f"TR-{b}-6"),
                                ("P-77", "BONUS", bonus)]), lines
cents = lambda s: int(s.replace(".", ""))
for i in invoices:
    assert cents(i["total"]) == sum(cents(l["payout"]) for l in i["lines"]), i
placement = [l for i in invoices for l in i["lines"] if l["kind"] == "PAID_PLACEMENT"][0]
assert placement["event_date"] == paid, placement
assert placement["comments"] == "spring, homepage", placement
assert sum(cents(i["total"]) for i in invoices) == 6000 + 4000 + 500, invoices
PY
# invoice files in the state folder name the transfer lines by kind.
grep -rq ",MAKE_GOOD,TR-$BATCH-2," "$WORK/state/invoices/1000/" || fail "no MAKE_GOOD line in the invoice files"
echo "ok"
