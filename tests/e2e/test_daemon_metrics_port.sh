#!/usr/bin/env bash
# A metrics.listen address taken by another program when actiondropd starts: the service
# serves its inboxes all the same, says why /metrics is missing once, and listens as soon as
# the address is free, without a reload (README.md, "The service: actiondropd").
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
setup_ledger
IN="$WORK/in"; OUT="$WORK/out"; mkdir -p "$IN" "$OUT"
PORT=$(free_port)
cat > "$WORK/actiondrop.yaml" <<YAML
store: $STORE
state_dir: $WORK/state
sweep_interval: 200ms
metrics: {listen: "127.0.0.1:$PORT"}
inboxes:
  - {name: conv, account: "1000", type: conversions, kind: local, path: $IN, outbox: $OUT, settle: 200ms}
YAML
python3 - "$PORT" "$WORK/held" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
open(sys.argv[2], "w").close()
time.sleep(60)
PY
HOLDER=$!
wait_until 10 test -f "$WORK/held"
"$ACTIONDROPD" --config "$WORK/actiondrop.yaml" 2> "$WORK/daemon.log" &
PID=$!
trap 'kill -9 $PID $HOLDER 2>/dev/null || true; rm -rf "$WORK"' EXIT
wait_until 20 grep -q "cannot listen on 127.0.0.1:$PORT" "$WORK/daemon.log"

# The inboxes are served meanwhile.
D=$(days_ago 1)
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nP-1,19816,P-77,O-1,%s,10.00\r\n' "$D" > "$WORK/f.csv"
mv "$WORK/f.csv" "$IN/f.csv"
wait_until 20 test -f "$OUT/f.csv_summary.json"
kill -0 $PID || fail "actiondropd stopped"

# Freed: /healthz answers within the retry's period, without a SIGHUP.
sleep 3
[ "$(grep -c "cannot listen on 127.0.0.1:$PORT" "$WORK/daemon.log")" = 1 ] ||
    { cat "$WORK/daemon.log"; fail "the failure to listen is logged more than once"; }
kill $HOLDER; wait $HOLDER 2>/dev/null || true
healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1; }
wait_until 30 healthy
grep -q "metrics on http://127.0.0.1:$PORT/metrics" "$WORK/daemon.log" || fail "no word that metrics are served"
