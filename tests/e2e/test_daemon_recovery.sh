#!/usr/bin/env bash
# actiondropd after a crash and under failure: claims left in STATE_DIR/claims/ are taken at
# start (applied once, or only archived when their batch was already answered); a file
# whose processing fails is retried with backoff while other inboxes keep flowing; the
# service tells systemd READY, STATUS, WATCHDOG, RELOADING and STOPPING.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
setup_ledger
STATE="$WORK/state"
A_IN="$WORK/srv/a/in"; A_OUT="$WORK/srv/a/out"; B_IN="$WORK/srv/b/in"; B_OUT="$WORK/srv/b/out"
CLAIMS="$STATE/claims/a"
mkdir -p "$CLAIMS" "$A_IN" "$B_IN" "$B_OUT"
CONFIG="$WORK/actiondrop.yaml"
cat > "$CONFIG" <<YAML
store: $STORE
state_dir: $STATE
sweep_interval: 200ms
inboxes:
  - {name: a, account: "1000", type: conversions, kind: local, path: $A_IN, outbox: $A_OUT, settle: 300ms}
  - {name: b, account: "1000", type: conversions, kind: local, path: $B_IN, outbox: $B_OUT, settle: 300ms}
YAML
D=$(days_ago 2)
HEADER='ActionId,CampaignId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount'

# 1. A crash after the claim, before anything was applied.
printf '%s\r\nR-1,CMP,19816,P-77,O-1,%s,10.00\r\n' "$HEADER" "$D" > "$CLAIMS/20261124T000000Z-0000000000aa_left.csv"
# 2. A crash after the batch was committed and answered, before the original was moved:
#    `actiondrop apply --inbox a` leaves the journal exactly there; the claim's name carries
#    the batch id it was journalled under.
printf '%s\r\nR-2,CMP,19816,P-77,O-2,%s,20.00\r\n' "$HEADER" "$D" > "$WORK/done.csv"
expect_exit 0 ad --config "$CONFIG" apply --inbox a "$WORK/done.csv"
done_batch=$(json_field "$A_OUT/done.csv_summary.json" batch_id)
cp "$WORK/done.csv" "$CLAIMS/${done_batch}_done.csv"
# 3. Inbox b's outbox cannot be created (a plain file is in the way): its files wait.
rmdir "$B_OUT"; echo "in the way" > "$B_OUT"

# A stand-in for systemd's notify socket records what the service says.
NOTIFY="$WORK/notify.sock"
python3 - "$NOTIFY" "$WORK/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", " | ") + "\n")
PY
LISTENER=$!
disown $LISTENER  # no job report when the trap kills it
LOG="$WORK/daemon.log"
trap 'kill -9 $PID $LISTENER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -S "$NOTIFY" ] && break; sleep 0.05; done
[ -S "$NOTIFY" ] || fail "the notify stand-in did not start"
NOTIFY_SOCKET="$NOTIFY" WATCHDOG_USEC=400000 "$ACTIONDROPD" --config "$CONFIG" 2> "$LOG" &
PID=$!

wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || { cat "$LOG" >&2; fail "timed out waiting for: $*"; }
        kill -0 $PID 2>/dev/null || { cat "$LOG" >&2; fail "actiondropd exited while waiting for: $*"; }
        sleep 0.05
    done
}

# 1: applied once, archived.
wait_for 20 test -f "$A_OUT/left.csv_summary.json"
[ "$(json_field "$A_OUT/left.csv_summary.json" status)" = COMPLETE ] || fail "left.csv not COMPLETE"
left_batch=$(json_field "$A_OUT/left.csv_summary.json" batch_id)
wait_for 5 archived a "${left_batch}_left.csv" > /dev/null
ad action show --account 1000 R-1 > /dev/null || fail "R-1 not applied"

# 2: only archived under its own batch; no second batch, no DUPLICATE_FILE answer.
wait_for 20 archived a "${done_batch}_done.csv" > /dev/null
[ "$(json_field "$A_OUT/done.csv_summary.json" batch_id)" = "$done_batch" ] || fail "done.csv answered again"
[ "$(json_field "$A_OUT/done.csv_summary.json" status)" = COMPLETE ] || fail "done.csv summary overwritten"
[ -z "$(ls -A "$CLAIMS")" ] || fail "claims not emptied: $(ls -A "$CLAIMS")"

# 3: a file in b fails and is retried with a growing delay; inbox a keeps flowing.
printf '%s\r\nR-3,CMP,19816,P-77,O-3,%s,30.00\r\n' "$HEADER" "$D" > "$B_IN/waits.csv"
wait_for 20 grep -q "inbox=b account=1000 file=waits.csv failed: .*retrying in 1s" "$LOG"
wait_for 20 grep -q "inbox=b account=1000 file=waits.csv failed: .*retrying in 2s" "$LOG"
printf '%s\r\nR-4,CMP,19816,P-77,O-4,%s,40.00\r\n' "$HEADER" "$D" > "$A_IN/flows.csv"
wait_for 20 test -f "$A_OUT/flows.csv_summary.json"
rm "$B_OUT"
wait_for 20 test -f "$B_OUT/waits.csv_summary.json"
[ "$(json_field "$B_OUT/waits.csv_summary.json" status)" = COMPLETE ] || fail "waits.csv not COMPLETE after the retry"
[ "$(json_field "$B_OUT/waits.csv_summary.json" applied)" = 1 ] || fail "waits.csv not applied once"

# What systemd was told.
kill -HUP $PID
wait_for 20 grep -q "RELOADING=1" "$WORK/notify.log"
kill -TERM $PID
code=0; wait $PID || code=$?
[ "$code" = 0 ] || { cat "$LOG" >&2; fail "exit $code on SIGTERM"; }
sleep 0.2
for message in "READY=1 | STATUS=serving 2 inboxes" "WATCHDOG=1" "STATUS=serving 2 inboxes; 4 files taken" "RELOADING=1" "STOPPING=1"; do
    grep -qF "$message" "$WORK/notify.log" || { cat "$WORK/notify.log" >&2; fail "systemd was not told $message"; }
done
[ "$(tail -n 1 "$WORK/notify.log")" = "STOPPING=1" ] || fail "STOPPING=1 is not the last message"
echo "daemon recovery: ok"
