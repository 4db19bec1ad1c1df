#!/usr/bin/env bash
# The life cycle from the CLI (docs/lifecycle.md): the demo catalog, conversions applied, funds
# deposited, `lifecycle run --now` at dates ahead, an overdue action, invoices, and the money
# reconciled: the deposits less the debits are the balance, and every invoice's total is the
# sum of its lines and of the payouts of the actions that carry its id.
source "$(dirname "$0")/lib.sh"
expect_exit 0 ad init
expect_exit 0 ad catalog load "$SOURCE_DIR/etc/catalog.yaml"
mkdir -p "$WORK/in"
D=$(days_ago 3)
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nE-1,19816,P-77,O-1,%s,1000.00\r\nE-2,19816,P-77,O-2,%s,500.00\r\nE-3,19816,P-88,O-3,%s,200.00\r\n' \
    "$D" "$D" "$D" > "$WORK/in/conv.csv"
expect_exit 0 ad apply --account 1000 --type conversions --outbox "$WORK/out" "$WORK/in/conv.csv"

# field FILE KEY: a top-level key of a JSON object.
field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print("null" if v is None else v)' "$@"; }
show() { expect_exit 0 ad action show --account 1000 "$1" --json; cp "$WORK/last.out" "$WORK/$1.json"; }
for id in E-1 E-2 E-3; do show $id; done
[ "$(field "$WORK/E-1.json" cleared_at)" = null ] || fail "cleared_at before any run"
[ "$(field "$WORK/E-1.json" invoice_id)" = null ] || fail "invoice_id before any run"
# report_csv_matches_json WHAT: `report WHAT --account 1000` as CSV holds the scalar fields
# of its --json, a cell each; a null (cleared_at, invoice_id until set) is an empty cell,
# never the text "null" (docs/formats.md, "The JSON of an action").
report_csv_matches_json() {
    expect_exit 0 ad report "$1" --account 1000 --json; cp "$WORK/last.out" "$WORK/report.json"
    expect_exit 0 ad report "$1" --account 1000; cp "$WORK/last.out" "$WORK/report.csv"
    python3 - "$WORK/report.json" "$WORK/report.csv" <<'PY' || fail "report $1: CSV and JSON differ"
import csv, json, re, sys
rows = json.load(open(sys.argv[1]))
table = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(table) == len(rows) > 0, (len(table), len(rows))
def cell(v):
    s = "" if v is None else v if isinstance(v, str) else json.dumps(v)
    # A plain number (a debit's -1.25) is written as it is; other text a spreadsheet would
    # run gets a leading '.
    formula = s[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(r"-?\d+(\.\d+)?", s)
    return "'" + s if formula else s
for j, c in zip(rows, table):
    want = {k: cell(v) for k, v in j.items() if not isinstance(v, (list, dict))}
    assert c == want, (c, want)
    assert "null" not in c.values(), c
PY
}
report_csv_matches_json actions
report_csv_matches_json changes
# cents MONEY: "12.30" as 1230.
cents() { python3 -c 'import sys; a,b=sys.argv[1].split("."); print(int(a)*100+int(b))' "$1"; }
money() { python3 -c 'import sys; n=int(sys.argv[1]); print(f"{n//100}.{n%100:02d}")' "$1"; }
P1=$(cents "$(field "$WORK/E-1.json" payout)")
P2=$(cents "$(field "$WORK/E-2.json" payout)")
P3=$(cents "$(field "$WORK/E-3.json" payout)")
[ "$P1" -gt 0 ] && [ "$P2" -gt 0 ] && [ "$P3" -gt 0 ] || fail "payouts $P1 $P2 $P3"
# A day after the last clearing date of the three, and later dates from it.
after() { python3 -c 'import sys,datetime as d; t=max(d.datetime.fromisoformat(x.replace("Z","+00:00")) for x in sys.argv[2:]); print((t+d.timedelta(days=int(sys.argv[1]))).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$@"; }
CLEARINGS=("$(field "$WORK/E-1.json" clearing_date)" "$(field "$WORK/E-2.json" clearing_date)" "$(field "$WORK/E-3.json" clearing_date)")
T1=$(after 1 "${CLEARINGS[@]}"); T2=$(after 3 "${CLEARINGS[@]}"); T3=$(after 80 "${CLEARINGS[@]}")

# Funds for E-3 and E-1, not for E-2: the clear queue (E-1, E-2 by id) stops at E-2.
expect_exit 0 ad funds deposit --account 1000 "$(money $((P1 + P3)))" --reference opening
expect_exit 64 ad funds deposit --account 1000 0.00
expect_exit 64 ad funds deposit --account 1000 1.005
expect_exit 64 ad funds deposit --account 1000 -- -5.00
expect_exit 64 ad funds deposit --account nosuch 5.00
expect_exit 64 ad lifecycle run --now soon
expect_exit 64 ad lifecycle run --account nosuch
expect_exit 0 ad funds balance --account 1000 --json
[ "$(field "$WORK/last.out" balance)" = "$(money $((P1 + P3)))" ] || fail "balance after the deposit"

expect_exit 0 ad lifecycle run --now "$T1" --account 1000 --json
cp "$WORK/last.out" "$WORK/run1.json"
python3 - "$WORK/run1.json" <<'PY' || fail "the first run"
import json, sys
[run] = json.load(open(sys.argv[1]))
ids = lambda k: sorted(x["action_id"] for x in run[k])
assert ids("locked") == ["E-1", "E-2", "E-3"], run["locked"]
assert ids("cleared") == ["E-1", "E-3"], run["cleared"]
assert ids("overdue") == ["E-2"] and run["overdue"][0]["first_time"], run["overdue"]
assert run["balance"] == "0.00", run["balance"]
PY
show E-2
[ "$(field "$WORK/E-2.json" finance_status)" = OVERDUE ] || fail "E-2 is not overdue"
[ "$(field "$WORK/E-2.json" status)" = APPROVED ] || fail "E-2 is not locked"
[ "$(field "$WORK/E-2.json" cleared_at)" = null ] || fail "an overdue action has cleared_at"
expect_exit 0 ad action history --account 1000 E-2 --json
grep -q '"operation": "OVERDUE"' "$WORK/last.out" || fail "no OVERDUE in E-2's history"
# As text, an entry of a run names the run (its note), not an empty batch at line 0.
expect_exit 0 ad action history --account 1000 E-2
grep -Eq '^[0-9T:.-]+Z +OVERDUE .* lifecycle run ' "$WORK/last.out" ||
    { cat "$WORK/last.out"; fail "E-2's OVERDUE entry does not name its run"; }
! grep -q 'batch  line 0' "$WORK/last.out" || fail "an entry of a run names an empty batch"

# The same run again changes nothing; a later one only reports E-2 again.
expect_exit 0 ad lifecycle run --now "$T1" --account 1000 --json
python3 -c 'import json,sys; [r]=json.load(open(sys.argv[1])); assert not (r["locked"] or r["cleared"] or r["invoices"]) and not r["overdue"][0]["first_time"], r' "$WORK/last.out" || fail "a second run at the same time changed something"
expect_exit 0 ad lifecycle run --now "$T2"
# Every account in one JSON list, each once, its decisions in arrays (they are written out as
# the store hands them over, not built in memory); as text, one line per decision.
expect_exit 0 ad lifecycle run --now "$T2" --json
python3 - "$WORK/last.out" "$(grep -c '^  - id:' "$SOURCE_DIR/etc/catalog.yaml")" <<'PY' || fail "the run of every account as JSON"
import json, sys
runs = json.load(open(sys.argv[1]))
assert len(runs) == int(sys.argv[2]) and len({r["account_id"] for r in runs}) == len(runs), runs
for r in runs:
    assert all(isinstance(r[k], list) for k in ("locked", "cleared", "overdue", "invoices")), r
[acme] = [r for r in runs if r["account_id"] == "1000"]
assert [o["action_id"] for o in acme["overdue"]] == ["E-2"] and not acme["overdue"][0]["first_time"], acme
assert acme["overdue_amount"] == acme["overdue"][0]["payout"], acme
PY
expect_exit 0 ad lifecycle run --now "$T2" --account 1000
grep -q "^account 1000 at .*: locked 0, cleared 0, overdue 1 " "$WORK/last.out" || { cat "$WORK/last.out"; fail "the text run's count line"; }
[ "$(grep -c '^  overdue  E-2 .* (still)$' "$WORK/last.out")" = 1 ] || { cat "$WORK/last.out"; fail "the text run's overdue line"; }

# The money for E-2 comes; the next run clears it at the run's time; later runs invoice it.
expect_exit 0 ad funds deposit --account 1000 "$(money "$P2")" --reference top-up
expect_exit 0 ad lifecycle run --now "$T3" --account 1000
grep -q "cleared  E-2" "$WORK/last.out" || { cat "$WORK/last.out"; fail "E-2 did not clear after the deposit"; }
show E-2
[ "$(field "$WORK/E-2.json" cleared_at)" = "$T3" ] || fail "E-2's cleared_at is not the run's time"
T4=$(after 40 "$T3"); T5=$(after 80 "$T3")
# No room for the run's listing: the run fails before its commit, names the folder, and
# changes nothing (the same run afterwards still has its invoice to issue).
expect_exit 0 ad report invoices --account 1000 --json; cp "$WORK/last.out" "$WORK/invoices-before.json"
TMPDIR="$WORK/nosuch" expect_exit 74 ad lifecycle run --now "$T4" --account 1000
grep -q "temporary file for the run's listing in $WORK/nosuch" "$WORK/last.err" || { cat "$WORK/last.err"; fail "the failure does not name the folder"; }
expect_exit 0 ad report invoices --account 1000 --json
cmp -s "$WORK/last.out" "$WORK/invoices-before.json" || fail "the failed run issued an invoice"
expect_exit 0 ad lifecycle run --now "$T4"
grep -q "^  invoiced INV-1000-" "$WORK/last.out" || { cat "$WORK/last.out"; fail "the run after the failed one issued no invoice"; }
expect_exit 0 ad lifecycle run --now "$T5"
for id in E-1 E-2 E-3; do
    show $id
    [ "$(field "$WORK/$id.json" finance_status)" = INVOICED ] || fail "$id is not invoiced"
done

INV=$(field "$WORK/E-2.json" invoice_id)
expect_exit 0 ad invoices show "$INV"
grep -q "^$INV,.*,P-77,ACTION,E-2," "$WORK/last.out" || { cat "$WORK/last.out"; fail "no line of E-2 on $INV"; }
expect_exit 0 ad invoices show "$INV" --json
[ "$(field "$WORK/last.out" total)" = "$(money "$P2")" ] || fail "$INV's total"
expect_exit 1 ad invoices show INV-1000-19990101-P-77
# The run wrote each invoice's files into STATE_DIR/invoices/<account>/, as the store has it.
for f in "$WORK"/state/invoices/1000/invoice_*.json; do
    id=$(field "$f" invoice_id)
    [ "$f" = "$WORK/state/invoices/1000/invoice_$id.json" ] || fail "$f names $id"
    expect_exit 0 ad invoices show "$id" --json
    python3 -c 'import json,sys; assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))' "$f" "$WORK/last.out" || fail "$f is not the stored invoice"
    expect_exit 0 ad invoices show "$id"
    cmp -s "$WORK/last.out" "${f%.json}.csv" || fail "${f%.json}.csv is not the stored invoice"
done
[ -f "$WORK/state/invoices/1000/invoice_$INV.csv" ] || fail "no file of $INV"

expect_exit 0 ad report funds --account 1000 --json; cp "$WORK/last.out" "$WORK/funds.json"
expect_exit 0 ad report invoices --account 1000 --json; cp "$WORK/last.out" "$WORK/invoices.json"
expect_exit 0 ad report actions --account 1000 --json; cp "$WORK/last.out" "$WORK/actions.json"
expect_exit 0 ad funds balance --account 1000 --json; cp "$WORK/last.out" "$WORK/balance.json"
python3 - "$WORK" <<'PY' || fail "the funds and the invoices do not reconcile"
import json, sys
from decimal import Decimal
w = sys.argv[1]
load = lambda n: json.load(open(f"{w}/{n}.json"))
funds, invoices, actions, balance = load("funds"), load("invoices"), load("actions"), load("balance")
dec = lambda s: Decimal(s)
# The amounts are signed as the balance counts them: the entries add up to the balance.
assert all(dec(e["amount"]) > 0 for e in funds if e["kind"] == "DEPOSIT"), funds
assert all(dec(e["amount"]) < 0 for e in funds if e["kind"] != "DEPOSIT"), funds
assert sum(dec(e["amount"]) for e in funds) == dec(balance["balance"]), (funds, balance)
assert dec(funds[-1]["balance"]) == dec(balance["balance"]), funds[-1]
running = Decimal(0)
for e in funds:
    running += dec(e["amount"])
    assert running == dec(e["balance"]) and running >= 0, e
cleared = {a["action_id"]: dec(a["payout"]) for a in actions if a["cleared_at"] is not None}
debit_of = {e["reference"]: -dec(e["amount"]) for e in funds if e["kind"] == "CLEARING"}
assert cleared == debit_of, (cleared, debit_of)
assert len(invoices) >= 2, invoices
on_invoice = set()
for inv in invoices:
    lines = sum(dec(l["payout"]) for l in inv["lines"])
    payouts = sum(dec(a["payout"]) for a in actions if a["invoice_id"] == inv["invoice_id"])
    assert dec(inv["total"]) == lines == payouts, inv
    assert inv["actions"] == len(inv["lines"]) > 0, inv
    for l in inv["lines"]:
        assert l["id"] not in on_invoice, l
        on_invoice.add(l["id"])
assert on_invoice == {"E-1", "E-2", "E-3"}, on_invoice
PY
report_csv_matches_json actions
expect_exit 0 ad report funds --account 1000
head -1 "$WORK/last.out" | grep -q '^account_id,at,kind,amount,reference,balance,currency' || fail "report funds CSV header"
grep -q '^1000,[^,]*,CLEARING,-[0-9]' "$WORK/last.out" || fail "report funds CSV: a clearing's amount is not a plain negative number"
report_csv_matches_json funds
expect_exit 0 ad report invoices
[ "$(wc -l < "$WORK/last.out")" -ge 3 ] || fail "report invoices lists too few"
echo "ok"
