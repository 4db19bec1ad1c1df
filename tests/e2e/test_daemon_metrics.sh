#!/usr/bin/env bash
# actiondropd serves Prometheus /metrics and /healthz on its loopback address: a file
# answered shows up in the counters by inbox, outcome and error code; other paths are 404.
# A file that waits (here for its done marker) shows in the oldest-waiting age gauge, which
# grows while it waits and drops back to 0 once the file is answered.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
setup_ledger
IN="$WORK/in"; OUT="$WORK/out"; mkdir -p "$IN" "$OUT"
HELD="$WORK/held"; HELD_OUT="$WORK/held-out"; mkdir -p "$HELD" "$HELD_OUT"
PORT=$(free_port)
cat > "$WORK/actiondrop.yaml" <<YAML
store: $STORE
state_dir: $WORK/state
sweep_interval: 200ms
metrics: {listen: "127.0.0.1:$PORT"}
inboxes:
  - {name: conv, account: "1000", type: conversions, kind: local, path: $IN, outbox: $OUT, settle: 200ms}
  - {name: held, account: "1000", type: conversions, kind: local, path: $HELD, outbox: $HELD_OUT, done_file: true}
YAML
"$ACTIONDROPD" --config "$WORK/actiondrop.yaml" 2> "$WORK/daemon.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
deadline=$((SECONDS + 20))
until curl -fsS --max-time 2 "http://127.0.0.1:$PORT/healthz" > "$WORK/health" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { cat "$WORK/daemon.log"; fail "/healthz never answered 200"; }
    sleep 0.1
done
D=$(days_ago 1)
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nM-1,19816,P-77,O-1,%s,10.00\r\nM-2,99999,P-77,O-2,%s,10.00\r\n' "$D" "$D" > "$WORK/f.csv"
mv "$WORK/f.csv" "$IN/f.csv"
deadline=$((SECONDS + 20))
until [ -f "$OUT/f.csv_summary.json" ]; do
    [ $SECONDS -lt $deadline ] || { cat "$WORK/daemon.log"; fail "f.csv not answered"; }
    sleep 0.1
done
# The counters move once the original is kept, a moment after the summary appears.
deadline=$((SECONDS + 10))
until curl -fsS --max-time 5 "http://127.0.0.1:$PORT/metrics" > "$WORK/metrics" &&
    grep -q '^actiondrop_files_applied_total{inbox="conv"} 1$' "$WORK/metrics"; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.1
done
grep -q '^# TYPE actiondrop_files_applied_total counter' "$WORK/metrics" || fail "no TYPE line"
grep -q '^actiondrop_files_applied_total{inbox="conv"} 1$' "$WORK/metrics" || { cat "$WORK/metrics"; fail "files applied"; }
grep -q '^actiondrop_rows_total{inbox="conv",outcome="applied"} 1$' "$WORK/metrics" || { cat "$WORK/metrics"; fail "rows applied"; }
grep -q '^actiondrop_row_errors_total{inbox="conv",code="ACTIONTRACKER_NOT_FOUND"} 1$' "$WORK/metrics" || { cat "$WORK/metrics"; fail "row errors by code"; }
grep -q '^actiondrop_processing_seconds_count{inbox="conv"} 1$' "$WORK/metrics" || { cat "$WORK/metrics"; fail "latency histogram"; }

# age INBOX: the oldest-waiting age gauge of INBOX, as /metrics shows it now.
age() {
    curl -fsS --max-time 5 "http://127.0.0.1:$PORT/metrics" |
        sed -n "s/^actiondrop_oldest_waiting_file_age_seconds{inbox=\"$1\"} //p"
}
[ "$(age held)" = 0 ] || fail "held: age $(age held) before any file"
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nM-3,19816,P-77,O-3,%s,10.00\r\n' "$D" > "$HELD/w.csv"
deadline=$((SECONDS + 10))
until python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$(age held)"; do
    [ $SECONDS -lt $deadline ] || { cat "$WORK/daemon.log"; fail "held: w.csv never counted as waiting"; }
    sleep 0.1
done
first=$(age held)
sleep 1.5
later=$(age held)
python3 -c 'import sys; sys.exit(0 if float(sys.argv[2]) - float(sys.argv[1]) >= 1.4 else 1)' "$first" "$later" ||
    fail "held: the age did not grow while w.csv waited ($first, then $later)"
[ "$(age conv)" = 0 ] || fail "conv: age $(age conv) with nothing waiting"
: > "$HELD/w.csv.done"
deadline=$((SECONDS + 20))
until [ -f "$HELD_OUT/w.csv_summary.json" ]; do
    [ $SECONDS -lt $deadline ] || { cat "$WORK/daemon.log"; fail "w.csv not answered"; }
    sleep 0.1
done
deadline=$((SECONDS + 5))
until [ "$(age held)" = 0 ]; do
    [ $SECONDS -lt $deadline ] || fail "held: age $(age held) after w.csv was answered"
    sleep 0.1
done

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/nothing")
[ "$code" = 404 ] || fail "/nothing answered $code"
kill -TERM $PID; wait $PID || fail "actiondropd did not exit 0"
