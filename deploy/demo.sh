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
mkdir -p "$DEMO/state" "$DEMO/1000/inbox" "$DEMO/1000/outbox" "$DEMO/1000/conversions" "$DEMO/1000/conversions-outbox"
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
YAML
AD=("$ROOT/build/actiondrop" --config "$DEMO/actiondrop.yaml")

# The sample files are dated November 2026; move their dates to the same distance from
# today, so that a demo run on any day sees recent conversions.
python3 - "$ROOT/etc/samples" "$DEMO/samples" <<'PY'
import datetime, os, re, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst)
shift = datetime.date.today() - datetime.date(2026, 11, 24)
def move(m):
    d = datetime.date.fromisoformat(m.group(0)) + shift
    return d.isoformat()
for name in os.listdir(src):
    text = open(os.path.join(src, name), encoding="utf-8").read()
    if name.endswith(".csv"):
        text = re.sub(r"\b20\d\d-\d\d-\d\d\b", move, text)
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

step "stop actiondropd"
kill -TERM $DAEMON; wait $DAEMON || true
trap - EXIT
tail -n 12 "$DEMO/actiondropd.log"

step "done: the ledger is $DEMO/ledger.db, the answers are in $DEMO/1000/*outbox, the originals in $DEMO/state/archive"
echo "try: ${AD[*]} report actions --account 1000"
