#!/usr/bin/env bash
# /healthz tells the truth about what keeps the service from applying files (README.md, "The
# service: actiondropd"): its state folder gone, or its SQLite ledger moved away under it.
# Meanwhile an upload waits, untouched and unanswered, with a log line saying why; once the
# folder or the ledger is back, the file is applied once and /healthz is 200 again.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
setup_ledger
IN="$WORK/in"; OUT="$WORK/out"; STATE="$WORK/state"; mkdir -p "$IN" "$OUT"
LEDGER="$WORK/ledger.db"
PORT=$(free_port)
cat > "$WORK/actiondrop.yaml" <<YAML
store: $STORE
state_dir: $STATE
sweep_interval: 200ms
metrics: {listen: "127.0.0.1:$PORT"}
inboxes:
  - {name: conv, account: "1000", type: conversions, kind: local, path: $IN, outbox: $OUT,
     settle: 200ms}
YAML
"$ACTIONDROPD" --config "$WORK/actiondrop.yaml" 2> "$WORK/daemon.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

# health: prints "CODE BODY" of /healthz, the body on one line.
health() {
    curl -sS --max-time 5 -o "$WORK/health.body" -w '%{http_code}' \
        "http://127.0.0.1:$PORT/healthz" 2> /dev/null || true
    printf ' %s\n' "$(cat "$WORK/health.body" 2> /dev/null | tr '\n' ' ')"
}
# wait_health PATTERN WHAT: waits up to 15 s for /healthz to match the extended regex.
wait_health() {
    local deadline=$((SECONDS + 15))
    until health | grep -Eq "$1"; do
        [ $SECONDS -lt $deadline ] ||
            { cat "$WORK/daemon.log"; fail "$2: /healthz said $(health)"; }
        sleep 0.2
    done
}
wait_health '^200 ok' "at start"
# head_status: the status line a probe by HEAD (curl -I) gets from /healthz.
head_status() {
    curl -sS --max-time 5 -I "http://127.0.0.1:$PORT/healthz" | head -1 | tr -d '\r'
}
[ "$(head_status)" = "HTTP/1.1 200 OK" ] || fail "HEAD /healthz at start: $(head_status)"

D=$(days_ago 1)
upload() {  # upload NAME ID: one new action, 10.00
    printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n' > "$WORK/$1.tmp"
    printf '%s,19816,P-77,O-%s,%s,10.00\r\n' "$2" "$2" "$D" >> "$WORK/$1.tmp"
    mv "$WORK/$1.tmp" "$IN/$1"
}
complete() {  # complete NAME: NAME was answered COMPLETE
    [ "$(json_field "$OUT/$1_summary.json" status)" = COMPLETE ] ||
        fail "$1: $(cat "$OUT/$1_summary.json")"
}
wait_answered() { wait_until 20 test -f "$OUT/$1_summary.json"; }

# 1. The state folder moved away: nothing is claimed, the log and /healthz say why.
mv "$STATE" "$WORK/state.away"
upload a.csv M-1
wait_health "^503 .*state folder $STATE" "state folder gone"
[ "$(head_status)" = "HTTP/1.1 503 Service Unavailable" ] ||
    fail "HEAD /healthz with the state folder gone: $(head_status)"
grep -q "state folder $STATE" "$WORK/daemon.log" ||
    { cat "$WORK/daemon.log"; fail "no log line on the state folder"; }
sleep 1
[ -f "$IN/a.csv" ] || fail "a.csv was taken while the state folder was gone"
[ ! -e "$OUT/a.csv_summary.json" ] || fail "a.csv answered while the state folder was gone"
[ ! -e "$STATE" ] || fail "the service made the state folder again"
mv "$WORK/state.away" "$STATE"
wait_answered a.csv
complete a.csv
wait_health '^200 ok' "state folder back"

# 2. The same with the state folder deleted and made again empty, as a sysadmin would: the
# service makes its own folders inside it again.
rm -rf "$STATE"
upload b.csv M-2
wait_health "^503 .*state folder $STATE" "state folder deleted"
mkdir "$STATE"
wait_answered b.csv
complete b.csv
wait_health '^200 ok' "state folder made again"

# 3. The ledger moved away: nothing is committed into the file no longer at its path. (SQLite
# only: the script is not in the PostgreSQL list of tests/CMakeLists.txt.)
mv "$LEDGER" "$WORK/ledger.away"
wait_health "^503 .*$LEDGER" "ledger moved"
upload c.csv M-3
wait_until 10 grep -q "moved or deleted" "$WORK/daemon.log"
sleep 1
[ ! -e "$OUT/c.csv_summary.json" ] || fail "c.csv answered into a ledger no longer at its path"
# The CLI makes no empty ledger beside the log the service still writes.
expect_exit 74 ad action show --account 1000 M-1
grep -q "write-ahead log" "$WORK/last.err" ||
    { cat "$WORK/last.err"; fail "the CLI did not say why"; }
[ ! -e "$LEDGER" ] || fail "a CLI command made a new ledger at the path"
mv "$WORK/ledger.away" "$LEDGER"
wait_answered c.csv
complete c.csv
wait_health '^200 ok' "ledger back"
for id in M-1 M-2 M-3; do
    expect_exit 0 ad action show --account 1000 "$id"
done
n=$(ad action history --account 1000 M-3 | grep -Ec '^[0-9]{4}-' || true)
[ "$n" = 1 ] ||
    { ad action history --account 1000 M-3; fail "M-3 has $n history lines, not 1"; }

# 4. The ledger moved away with its write-ahead log, then a reload that starts a pull
# inbox: its puller opens a store connection of its own, and makes no empty ledger.
for f in "$LEDGER" "$LEDGER-wal" "$LEDGER-shm"; do [ ! -e "$f" ] || mv "$f" "$f.away"; done
wait_health "^503 .*$LEDGER" "ledger and log moved"
echo secret > "$WORK/ftp_password"; chmod 600 "$WORK/ftp_password"
cat >> "$WORK/actiondrop.yaml" <<YAML
  - {name: pull, account: "1000", type: conversions, kind: ftp, tls: none, host: 127.0.0.1,
     port: $(free_port), user: someone, password_file: $WORK/ftp_password, folder: /in,
     result_folder: /out, poll_interval: 1s}
YAML
kill -HUP $PID
wait_until 10 grep -q "config reloaded; serving 2 inboxes" "$WORK/daemon.log"
wait_until 10 grep -q "inbox=pull.*ledger $LEDGER is missing" "$WORK/daemon.log" ||
    { cat "$WORK/daemon.log"; fail "the pull inbox did not say the ledger is missing"; }
[ ! -e "$LEDGER" ] || fail "the pull inbox made an empty ledger at the path"
for f in "$LEDGER" "$LEDGER-wal" "$LEDGER-shm"; do [ ! -e "$f.away" ] || mv "$f.away" "$f"; done
wait_health '^200 ok' "ledger and log back"
expect_exit 0 ad action show --account 1000 M-3
kill -TERM $PID; wait $PID || fail "actiondropd did not exit 0"
