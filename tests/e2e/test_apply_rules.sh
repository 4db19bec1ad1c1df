#!/usr/bin/env bash
# Conversions then a modification file covering every kind of row; both result files are
# checked line by line, the errors_ file and the summary too, and the ledger afterwards.
source "$(dirname "$0")/lib.sh"
setup_ledger
D=$(days_ago 2)
mkdir -p "$WORK/in" "$WORK/out"
cat > "$WORK/in/conv.csv" <<CSV
ActionId,CampaignId,ActionTrackerId,PartnerId,OrderId,CustomerId,CustomerStatus,PromoCode,EventDate,Amount,CurrencyCode,Sku1,Quantity1,Amount1,Category1,Sku2,Quantity2,Amount2,Category2
A-1,CMP,19816,P-77,O-1,CU-1,,,$D,100.00,,,,,,,,,
A-2,CMP,19816,P-77,O-2,CU-2,NEW,,$D,250.00,,,,,,,,,
A-3,CMP,19816,P-77,O-3,CU-3,,,$D,,,SKU-TV,1,400.00,electronics,SKU-BAG,2,60.00,outdoor
A-4,CMP,19817,P-77,O-4,CU-4,,,$D,300.00,,,,,,,,,
A-5,CMP,19816,P-77,O-5,CU-5,,,$D,100.00,EUR,,,,,,,,
A-1,CMP,19816,P-77,O-6,CU-6,,,$D,1.00,,,,,,,,,
A-7,CMP,99999,P-77,O-7,CU-7,,,$D,1.00,,,,,,,,,
CSV
expect_exit 3 ad apply --account 1000 --type conversions --outbox "$WORK/out" "$WORK/in/conv.csv"
check_csv "$WORK/out/result_conv.csv" "$SOURCE_DIR/tests/data/e2e/expected_result_conv.csv"
[ -f "$WORK/out/receipt_conv.csv.txt" ] || fail "no receipt"
grep -q "^sha256: $(sha256sum "$WORK/in/conv.csv" | cut -d' ' -f1)" "$WORK/out/receipt_conv.csv.txt" || fail "receipt without the file's SHA-256"

cat > "$WORK/in/mods.csv" <<'CSV'
ActionId,OrderId,ActionTrackerId,Amount,CurrencyCode,CustomerStatus,Reason,DispositionCode,Sku1,NewSku1,Quantity1,Amount1
A-1,,,80.00,,,ORDER_UPDATE,,,,,
A-2,,,,,,CONS_FRAUD,,,,,
,O-3,19816,,,,ORDER_UPDATE,,SKU-BAG,,1,
A-4,,,,,,,STAY_COMPLETE,,,,
A-9,,,,,,ORDER_UPDATE,,,,,
A-4,,,50.00,,,ORDER_UPDATE,,,,,
A-2,,,10.00,,,ORDER_UPDATE,,,,,
A-2,,,,,,RESET,,,,,
A-1,,,1e3,,,ORDER_UPDATE,,,,,
A-3,,,100.00,,,ORDER_UPDATE,,,,,
A-5,,,90.00,USD,,ORDER_UPDATE,,,,,
A-3,,,,,,ORDER_UPDATE,,SKU-X,SKU-Y,,
A-3,,,,,,ORDER_UPDATE,,SKU-TV,SKU-TV2,,
A-1,,,,,,ORDER_UPDATE,,,,,
A-1,,,,,,,NOPE,,,,
A-1,,,,,,WHATEVER,,,,,
A-1,,,,,,,,,,,
,,,,,,ORDER_UPDATE,,,,,
A-1,O-999,,,,,REJECTED,,,,,
A-5,,,0,,,ORDER_UPDATE,,,,,
A-1,,,=HYPERLINK(1),,,ORDER_UPDATE,,,,,
CSV
expect_exit 3 ad apply --account 1000 --outbox "$WORK/out" "$WORK/in/mods.csv"
check_csv "$WORK/out/result_mods.csv" "$SOURCE_DIR/tests/data/e2e/expected_result_mods.csv"
check_csv "$WORK/out/errors_mods.csv" "$SOURCE_DIR/tests/data/e2e/expected_errors_mods.csv"
S="$WORK/out/mods.csv_summary.json"
[ "$(json_field "$S" status)" = COMPLETE ] || fail "summary status"
[ "$(json_field "$S" total)" = 21 ] || fail "summary total"
[ "$(json_field "$S" applied)" = 7 ] || fail "summary applied"
[ "$(json_field "$S" rejected)" = 14 ] || fail "summary rejected"

# The ledger agrees with the result file, and the history explains every change.
ad action show --account 1000 --json A-3 > "$WORK/a3.json"
[ "$(json_field "$WORK/a3.json" amount)" = 430.00 ] || fail "A-3 amount"
[ "$(json_field "$WORK/a3.json" payout)" = 14.40 ] || fail "A-3 payout"
ad action history --account 1000 --json A-2 > "$WORK/h2.json"
python3 - "$WORK/h2.json" <<'PY' || fail "A-2 history"
import json, sys
h = json.load(open(sys.argv[1]))
ops = [(e["operation"], e["reason"], e["new_status"]) for e in h]
assert ops == [("CREATE", "", "PENDING"), ("REVERSE", "CONS_FRAUD", "REVERSED"), ("RESET", "RESET", "PENDING")] or \
       [o[0] for o in ops] == ["CREATE", "REVERSE", "RESET"], ops
PY
# Another account never sees account 1000's actions.
expect_exit 1 ad action show --account 2000 A-1
