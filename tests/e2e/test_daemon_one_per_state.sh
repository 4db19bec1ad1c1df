#!/usr/bin/env bash
# One service per state folder (docs/ingest.md, "One service per state folder"): a second
# actiondropd on the same state folder, with the same config or another, refuses to start,
# exits 78 and names the one that serves it, without opening the store; the first goes on
# applying files once. A service killed leaves no lock behind: the next one starts at once.
# A lock file removed is locked again; one replaced by another's stops the service.
# A ledger gone while no service runs is not made again, empty, by the next one.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
setup_ledger
IN="$WORK/in"; OUT="$WORK/out"; STATE="$WORK/state"; mkdir -p "$IN" "$OUT"
config() {  # config FILE PORT: the inbox on $STATE, metrics on PORT
    cat > "$1" <<YAML
store: $STORE
state_dir: $STATE
sweep_interval: 200ms
metrics: {listen: "127.0.0.1:$2"}
inboxes:
  - {name: conv, account: "1000", type: conversions, kind: local, path: $IN, outbox: $OUT,
     settle: 200ms}
YAML
}
config "$WORK/a.yaml" "$(free_port)"
config "$WORK/b.yaml" "$(free_port)"
PIDS=()
HOLDER=
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
      [ -z "$HOLDER" ] || { pkill -P "$HOLDER" || true; kill "$HOLDER" 2>/dev/null || true; }
      e2e_cleanup' EXIT
start() {  # start CONFIG LOG: a service in the background, its pid in $PID
    "$ACTIONDROPD" --config "$1" 2> "$2" &
    PID=$!
    PIDS+=("$PID")
}
wait_serving() { wait_until 30 grep -qs "serving 1 inboxes" "$1"; }
D=$(days_ago 1)
upload() {  # upload NAME ID: one new action, 10.00
    printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n' > "$WORK/$1.tmp"
    printf '%s,19816,P-77,O-%s,%s,10.00\r\n' "$2" "$2" "$D" >> "$WORK/$1.tmp"
    mv "$WORK/$1.tmp" "$IN/$1"
}
wait_complete() {
    wait_until 20 test -f "$OUT/$1_summary.json"
    [ "$(json_field "$OUT/$1_summary.json" status)" = COMPLETE ] ||
        fail "$1: $(cat "$OUT/$1_summary.json")"
}
# refused CONFIG LOG WHAT: a service on CONFIG exits 78 at once, naming the state folder and
# the first service's pid, and never reaches its store.
refused() {
    local rc=0
    timeout 20 "$ACTIONDROPD" --config "$1" 2> "$2" || rc=$?
    [ "$rc" = 78 ] || { cat "$2"; fail "$3: exited $rc, not 78"; }
    grep -q "another actiondropd serves the state folder $STATE .*process $FIRST" "$2" ||
        { cat "$2"; fail "$3: the message does not name the folder and process $FIRST"; }
    ! grep -q "at schema version" "$2" || { cat "$2"; fail "$3: the store was opened"; }
}

start "$WORK/a.yaml" "$WORK/first.log"
FIRST=$PID
wait_serving "$WORK/first.log"
refused "$WORK/a.yaml" "$WORK/same.log" "a second service on the same config"
refused "$WORK/b.yaml" "$WORK/other.log" "a service on another config, same state folder"
kill -0 "$FIRST" || fail "the first service stopped"
upload a.csv M-1
wait_complete a.csv

# Killed, the first leaves no lock: the next service starts and applies files.
kill -9 "$FIRST"
wait "$FIRST" 2> /dev/null || true
start "$WORK/b.yaml" "$WORK/next.log"
wait_serving "$WORK/next.log"
upload b.csv M-2
wait_complete b.csv
for id in M-1 M-2; do
    n=$(ad action history --account 1000 "$id" | grep -Ec '^[0-9]{4}-' || true)
    [ "$n" = 1 ] || { ad action history --account 1000 "$id"; fail "$id: $n history lines"; }
done

# The lock file removed by hand: the service locks a new one, and a second is still refused.
FIRST=$PID
rm "$STATE/actiondropd.lock"
wait_until 10 grep -q "actiondropd.lock was removed or replaced: locked again" "$WORK/next.log"
refused "$WORK/a.yaml" "$WORK/after-rm.log" "a second service after the lock file was removed"

# The lock file replaced by one another process holds (made and locked aside, then renamed
# in, so that the service cannot lock it first): the service stops, exit 78, saying why.
: > "$WORK/taken.lock"
flock "$WORK/taken.lock" sleep 60 &
HOLDER=$!
held() { ! flock -n "$1" true; }
wait_until 10 held "$WORK/taken.lock"
mv "$WORK/taken.lock" "$STATE/actiondropd.lock"
rc=0
timeout 20 tail --pid="$PID" -f /dev/null || fail "the service went on with its lock taken"
wait "$PID" || rc=$?
[ "$rc" = 78 ] || { cat "$WORK/next.log"; fail "the service exited $rc, not 78"; }
grep -q "another actiondropd took the state folder $STATE" "$WORK/next.log" ||
    { cat "$WORK/next.log"; fail "the service did not say why it stopped"; }

# The ledger gone while no service runs (a restore half done, a disk not mounted yet): a
# service on a state folder that one served before does not make an empty ledger in its
# place, which would answer every file "unknown account". It exits 78 naming the ledger, and
# starts once the ledger is back.
pkill -P "$HOLDER" || true; kill "$HOLDER" 2> /dev/null || true; HOLDER=
for f in "$WORK"/ledger.db*; do mv "$f" "$WORK/away.${f##*/}"; done
rc=0
timeout 20 "$ACTIONDROPD" --config "$WORK/a.yaml" 2> "$WORK/gone.log" || rc=$?
[ "$rc" = 78 ] || { cat "$WORK/gone.log"; fail "a service without its ledger exited $rc, not 78"; }
grep -q "the ledger $WORK/ledger.db is missing, and a service has served the state folder $STATE" \
    "$WORK/gone.log" || { cat "$WORK/gone.log"; fail "the service did not say the ledger is missing"; }
[ ! -e "$WORK/ledger.db" ] || fail "the service made an empty ledger"
for f in "$WORK"/away.ledger.db*; do mv "$f" "$WORK/${f##*/away.}"; done
start "$WORK/a.yaml" "$WORK/back.log"
wait_serving "$WORK/back.log"
upload c.csv M-3
wait_complete c.csv
