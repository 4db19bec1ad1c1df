#!/usr/bin/env bash
# Installs what actiondrop needs, builds it, and runs the demo on the embedded default:
# a SQLite ledger, local drop folders, the demo catalog (etc/catalog.yaml) and the sample
# files (etc/samples). Everything it makes stays in ./demo (or $ACTIONDROP_DEMO_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash deploy/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACTIONDROP_TESTS=OFF > /dev/null
cmake --build build -j"$(nproc)" --target actiondrop actiondropd

DEMO=${ACTIONDROP_DEMO_DIR:-$ROOT/demo}
rm -rf "$DEMO"
mkdir -p "$DEMO/state" "$DEMO/1000/inbox" "$DEMO/1000/outbox" "$DEMO/1000/conversions" "$DEMO/1000/conversions-outbox" \
    "$DEMO/1000/transfers" "$DEMO/1000/transfers-outbox"
cat > "$DEMO/actiondrop.yaml" <<YAML
# The demo's service config: the embedded default store and local drop folders.
store: sqlite:$DEMO/ledger.db
state_dir: $DEMO/state
sweep_interval: 1s
lifecycle: {interval: 60s}
inboxes:
  - {name: acme-drop, account: "1000", type: modifications, kind: local,
     path: $DEMO/1000/inbox, outbox: $DEMO/1000/outbox, pattern: "*.csv", settle: 500ms,
     send_invoices: true}
  - {name: acme-conversions, account: "1000", type: conversions, kind: local,
     path: $DEMO/1000/conversions, outbox: $DEMO/1000/conversions-outbox, pattern: "*.csv", settle: 500ms}
  - {name: acme-transfers, account: "1000", type: funds_transfers, kind: local,
     path: $DEMO/1000/transfers, outbox: $DEMO/1000/transfers-outbox, pattern: "*.csv", settle: 500ms}
YAML
AD=("$ROOT/build/actiondrop" --config "$DEMO/actiondrop.yaml")

# The sample files are dated November 2026; move their dates (with or without a time) to
# about the same distance from today, so that a demo run on any day sees recent conversions.
python3 - "$ROOT/etc/samples" "$DEMO/samples" <<'PY'
import datetime, os, re, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst)
# P-88's cap is per calendar month, and its events (16 to 22 November) must stay in one month
# and unlocked (14 days after the event day; a later one is a late conversion, moved to
# today and out of the cap's month); no sample may be dated after today (23 November is the
# last). From the 9th, 24 November becomes today; on the 8th, the 9th (16 November becomes
# the 1st); before, the 2nd (22 November becomes the last day of the month before, and 16
# November locks on the 8th).
today = datetime.date.today()
if today.day >= 9:
    anchor = today
elif today.day == 8:
    anchor = today + datetime.timedelta(days=1)
else:
    anchor = today.replace(day=2)
shift = anchor - datetime.date(2026, 11, 24)
def move(m):
    d = datetime.date.fromisoformat(m.group(0)) + shift
    return d.isoformat()
for name in os.listdir(src):
    text = open(os.path.join(src, name), encoding="utf-8").read()
    if name.endswith(".csv"):
        text = re.sub(r"\b20\d\d-\d\d-\d\d(?=T|\b)", move, text)  # also dates with a time
    open(os.path.join(dst, name), "w", encoding="utf-8", newline="").write(text)
PY

show() {
    local outbox=$1 name=$2
    echo "--- result_$name"
    column -s, -t < "$outbox/result_$name" | cut -c1-200 || cat "$outbox/result_$name"
}
step() { printf '\n=== %s\n' "$*"; }

step "init the ledger and load the demo catalog"
"${AD[@]}" init
"${AD[@]}" catalog load "$ROOT/etc/catalog.yaml"

step "start actiondropd on the demo's drop folders (log: $DEMO/actiondropd.log)"
"$ROOT/build/actiondropd" --config "$DEMO/actiondrop.yaml" > "$DEMO/actiondropd.log" 2>&1 &
DAEMON=$!
trap 'kill -TERM $DAEMON 2>/dev/null || true; wait $DAEMON 2>/dev/null || true' EXIT

# Drops a sample into an inbox as an uploader would (write elsewhere, then rename) and
# waits for the daemon's answer.
run() {
    local inbox=$1 file=$2 folder outbox
    case "$inbox" in
        acme-drop) folder=$DEMO/1000/inbox; outbox=$DEMO/1000/outbox ;;
        acme-conversions) folder=$DEMO/1000/conversions; outbox=$DEMO/1000/conversions-outbox ;;
        acme-transfers) folder=$DEMO/1000/transfers; outbox=$DEMO/1000/transfers-outbox ;;
    esac
    step "$file -> inbox $inbox"
    cp "$DEMO/samples/$file" "$folder/.$file.part"
    mv "$folder/.$file.part" "$folder/$file"
    for _ in $(seq 1 300); do
        [ -f "$outbox/${file}_summary.json" ] && break
        sleep 0.1
    done
    [ -f "$outbox/${file}_summary.json" ] || { echo "no answer within 30 s; see $DEMO/actiondropd.log"; return 1; }
    cat "$outbox/${file}_summary.json"
    [ -f "$outbox/result_$file" ] && show "$outbox" "$file"
    return 0
}

run acme-conversions conversions_seed.csv
run acme-conversions budget_cap.csv
for f in returned_order.csv attribution_fraud.csv wrong_sku.csv hotel_stay_approved.csv stock_shortage.csv; do
    run acme-drop "$f"
done

step "the history of one action, as a partner would see it"
"${AD[@]}" action history --account 1000 A-1001

step "the advertiser's funds: a deposit, then make-goods and a bonus taken from them"
"${AD[@]}" funds deposit --account 1000 150.00 --reference "opening balance"
run acme-transfers make_goods.csv

step "stop actiondropd"
kill -TERM $DAEMON; wait $DAEMON || true
trap - EXIT
tail -n 12 "$DEMO/actiondropd.log"

# The life cycle at dates ahead (docs/lifecycle.md): the daemon runs it every
# lifecycle.interval at the real time; here `lifecycle run --now` shows what the coming weeks
# bring. T1 is a day after the last clearing date of the demo's actions, T2 and T3 forty and
# eighty days later.
read -r T1 T2 T3 < <("${AD[@]}" report actions --account 1000 --json | python3 -c '
import json, sys, datetime as d
t = max(d.datetime.fromisoformat(a["clearing_date"].replace("Z", "+00:00"))
        for a in json.load(sys.stdin) if a["status"] != "REVERSED")
f = lambda x: x.strftime("%Y-%m-%dT%H:%M:%SZ")
print(*(f(t + d.timedelta(days=n)) for n in (1, 41, 81)))')
step "lifecycle run at $T1: every action locks, the funds clear them in clearing-date order until they run out, invoices are issued"
"${AD[@]}" lifecycle run --account 1000 --now "$T1"
OVERDUE=$("${AD[@]}" report actions --account 1000 --json | python3 -c '
import json, sys
print(next((a["action_id"] for a in json.load(sys.stdin) if a["finance_status"] == "OVERDUE"), ""))')
if [ -n "$OVERDUE" ]; then
    step "an overdue action: its clearing date came and the funds did not cover it"
    "${AD[@]}" action show --account 1000 "$OVERDUE"
fi
step "a deposit, then lifecycle run at $T2: the overdue actions clear in their order while the money lasts"
"${AD[@]}" funds deposit --account 1000 100.00 --reference "top-up" --at "$T1"
"${AD[@]}" lifecycle run --account 1000 --now "$T2"
step "lifecycle run at $T3: what cleared late goes on the next month's invoices"
"${AD[@]}" lifecycle run --account 1000 --now "$T3"
step "the funds: every deposit and debit, with the running balance"
"${AD[@]}" report funds --account 1000
step "the invoices, and the largest line by line (also in $DEMO/state/invoices/1000 and $DEMO/1000/outbox)"
"${AD[@]}" report invoices --account 1000
LARGEST=$("${AD[@]}" report invoices --account 1000 --json | python3 -c '
import json, sys
print(max(json.load(sys.stdin), key=lambda i: len(i["lines"]))["invoice_id"])')
"${AD[@]}" invoices show "$LARGEST"

step "done: the ledger is $DEMO/ledger.db, the answers are in $DEMO/1000/*outbox, the originals in $DEMO/state/archive"
echo "try: ${AD[*]} report actions --account 1000"
