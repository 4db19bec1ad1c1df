#!/usr/bin/env bash
# actiondropd and a PostgreSQL server that goes away (docs/postgres.md, "When the server is
# down"), on a private cluster of this test's own, since it stops the server:
#  - the server down at start: the daemon says so, tries again with growing waits, stays up,
#    and serves once the server is back;
#  - the server restarted while a file is applied: the file's transaction is lost, the file is
#    tried again on a new connection and applied exactly once, with one answer;
#  - the server restarted while the daemon is idle: the next file meets the dropped
#    connection, the daemon stays up and takes the file;
#  - the daemon's server processes ended while a file is applied, the server up: the file is
#    applied once on a new connection, and nothing but the daemon's own lines reaches its log.
source "$(dirname "$0")/../lib.sh"
: "${ACTIONDROPD:?set by CTest}"
PG_SH="$SOURCE_DIR/tests/pg/pg_cluster.sh"
# The cluster folder must be reachable by the postgres user: not under $WORK (mode 0700).
PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/actiondrop-pgdown.XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi
    bash "$PG_SH" stop "$PGDIR" > /dev/null 2>&1 || true
    e2e_cleanup
}
trap cleanup EXIT
bash "$PG_SH" start "$PGDIR" > /dev/null
URL=$(cat "$PGDIR/url")
# The server's settings into its config file, so that a plain `pg_ctl start` brings it back
# on the same port.
PORT=${URL##*:}; PORT=${PORT%%/*}
cat >> "$PGDIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$PGDIR'
fsync = off
CONF
PG_BIN=$(bash "$PG_SH" bin)
pg_ctl() { runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w "$@" > /dev/null; }

STORE=$URL
setup_ledger
IN="$WORK/srv/in"; OUT="$WORK/srv/out"
mkdir -p "$IN" "$OUT"
CONFIG="$WORK/actiondrop.yaml"
cat > "$CONFIG" <<YAML
store: $URL
state_dir: $WORK/state
sweep_interval: 200ms
inboxes:
  - {name: drop, account: "1000", type: conversions, kind: local, path: $IN, outbox: $OUT, pattern: "*.csv", settle: 200ms}
YAML
LOG="$WORK/daemon.log"
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}
logged() { grep -q "$1" "$LOG"; }
count_logged() { grep -c "$1" "$LOG" || true; }

# 1. Down at start.
pg_ctl stop -m fast
"$ACTIONDROPD" --config "$CONFIG" 2>> "$LOG" &
PID=$!
wait_for 20 bash -c "[ \$(grep -c 'store unavailable' '$LOG') -ge 3 ]" || { cat "$LOG"; fail "no retries while the server is down"; }
kill -0 "$PID" || fail "the daemon exited while the server was down"
grep -q "trying again in 1s" "$LOG" && grep -q "trying again in 2s" "$LOG" && grep -q "trying again in 4s" "$LOG" ||
    { cat "$LOG"; fail "the waits do not grow"; }
grep -q "cannot connect" "$LOG" || fail "the log does not say why"
pg_ctl start
wait_for 30 logged "at schema version" || { cat "$LOG"; fail "the daemon did not come up after the server"; }
wait_for 10 logged "serving 1 inboxes" || { cat "$LOG"; fail "the daemon does not serve"; }

# 2. The server restarted while a file is applied.
N=100000
big_file() {  # big_file PATH PREFIX: $N new actions PREFIX-0…, orders O-PREFIX-0…
    python3 - "$1" "$N" "$(days_ago 2)" "$2" <<'PY'
import sys
path, rows, day, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(path, "w", newline="") as f:
    f.write("ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n")
    f.writelines(f"{prefix}-{i},19816,P-77,O-{prefix}-{i},{day},10.00\r\n" for i in range(rows))
PY
}
big_file "$WORK/big.csv" BIG
BEFORE=$(wc -l < "$LOG")
mv "$WORK/big.csv" "$IN/big.csv"
# Applying it takes seconds: the restart comes while its rows are written.
wait_for 20 bash -c "ls '$WORK/state/spool' 2>/dev/null | grep -q . || ! [ -e '$IN/big.csv' ]" || fail "the file was not taken"
sleep 1.5
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m fast -w restart > /dev/null
wait_for 180 bash -c "ls '$OUT' | grep -q '^big.csv_summary.json$'" || { cat "$LOG"; fail "no answer after the restart"; }
# grep reads to the end (no -q): an early exit would fail `tail` with SIGPIPE under pipefail.
tail -n +"$((BEFORE + 1))" "$LOG" | grep "file=big.csv failed: PostgreSQL" > /dev/null ||
    { cat "$LOG"; fail "the restart did not meet the file in flight: nothing was tested"; }
[ "$(json_field "$OUT/big.csv_summary.json" status)" = COMPLETE ] || fail "the file is not COMPLETE"
[ "$(json_field "$OUT/big.csv_summary.json" applied)" = "$N" ] || fail "not every row applied"
[ "$(ls "$OUT" | grep -c '^result_big.csv$')" = 1 ] || fail "not one answer"
expect_exit 0 ad report actions --account 1000 --json
python3 - "$WORK/last.out" "$N" <<'PY' || fail "the ledger after the restart"
import json, sys
actions = json.load(open(sys.argv[1]))
ids = [a["action_id"] for a in actions]
assert len(ids) == int(sys.argv[2]) == len(set(ids)), (len(ids), len(set(ids)))
PY
expect_exit 0 ad report changes --account 1000 --json
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert len(c) == int(sys.argv[2]), len(c)' "$WORK/last.out" "$N" ||
    fail "the history holds other than one entry per action: applied more than once?"
expect_exit 0 ad batches list --json
python3 -c 'import json,sys; b=[x for x in json.load(open(sys.argv[1])) if x["status"]]; assert len(b) == 1 and b[0]["status"] == "COMPLETE", b' "$WORK/last.out" ||
    fail "the journal holds other than one decided batch"

# 3. The server restarted while the daemon waits for files: its idle connection is gone, and
# the next file's first statement finds out. The daemon says so, stays up, and takes the file.
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m fast -w restart > /dev/null
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nAFTER-1,19816,P-77,O-after,%s,10.00\r\n' \
    "$(days_ago 1)" > "$WORK/after.csv"
mv "$WORK/after.csv" "$IN/after.csv"
wait_for 60 bash -c "ls '$OUT' | grep -q '^after.csv_summary.json$'" || { cat "$LOG"; fail "no answer after an idle restart"; }
kill -0 "$PID" || { cat "$LOG"; fail "the daemon exited when its idle connection was gone"; }
[ "$(json_field "$OUT/after.csv_summary.json" status)" = COMPLETE ] || fail "the file after the idle restart"

# 4. The daemon's server processes ended while a file is applied, the server staying up: the
# lost transaction is not "rolled back" on the new connection, which would draw a warning of
# libpq's onto stderr, and the file is applied once on a new connection.
big_file "$WORK/big2.csv" TERM
BEFORE=$(wc -l < "$LOG")
mv "$WORK/big2.csv" "$IN/big2.csv"
wait_for 20 bash -c "! [ -e '$IN/big2.csv' ]" || fail "big2.csv was not taken"
sleep 1.5
ended=$(psql -X -q -t -A "$URL" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
    WHERE application_name = 'actiondrop' AND pid <> pg_backend_pid()")
[ "$ended" -ge 1 ] || fail "no server process of the daemon's to end"
wait_for 180 bash -c "ls '$OUT' | grep -q '^big2.csv_summary.json$'" || { cat "$LOG"; fail "no answer after the end"; }
tail -n +"$((BEFORE + 1))" "$LOG" | grep "file=big2.csv failed: PostgreSQL" > /dev/null ||
    { cat "$LOG"; fail "the end of the server processes did not meet big2.csv in flight"; }
[ "$(json_field "$OUT/big2.csv_summary.json" applied)" = "$N" ] || fail "big2.csv: not every row"
# Counted in SQL: the CLI's report of 200,000 entries would add most of a minute.
entries=$(psql -X -q -t -A "$URL" -c "SELECT count(*) FROM history")
[ "$entries" = $((2 * N + 1)) ] ||
    fail "$entries history entries, not $((2 * N + 1)): big2.csv applied other than once?"

kill -TERM "$PID"
wait "$PID" || fail "the daemon did not exit 0 on SIGTERM"
PID=
# Every line is the daemon's own, dated: no message of libpq's reached stderr raw (a
# ROLLBACK sent on the new connection made after the lost one drew "WARNING: there is no
# transaction in progress").
if grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$LOG" > "$WORK/raw.lines"; then
    cat "$WORK/raw.lines"; fail "lines not in the daemon's format reached its log"
fi
echo ok
