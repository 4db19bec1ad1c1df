#!/usr/bin/env bash
# actiondropd on local inboxes: a file written slowly is taken only once complete and
# stable, answered in its outbox and archived; empty and binary files are rejected as a
# whole; a symlink and a FIFO are skipped and logged while other files keep flowing;
# SIGHUP adds an inbox, and takes the claims it left; a bad config on SIGHUP keeps the old
# one; SIGTERM exits 0 promptly.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
setup_ledger
IN="$WORK/srv/in"; OUT="$WORK/srv/out"; STATE="$WORK/state"
mkdir -p "$IN" "$OUT"
CONFIG="$WORK/actiondrop.yaml"
write_config() {
    cat > "$CONFIG" <<YAML
store: $STORE
state_dir: $STATE
sweep_interval: 200ms
inboxes:
  - {name: acme-conv, account: "1000", type: conversions, kind: local, path: $IN, outbox: $OUT, pattern: "*.csv", settle: 300ms}
$1
YAML
}
write_config ""

# --check-config: a valid file exits 0, an unknown key 78 naming file, line and key.
expect_exit 0 "$ACTIONDROPD" --config "$CONFIG" --check-config
printf 'store: sqlite:%s/x.db\nsweep_intervall: 1s\n' "$WORK" > "$WORK/bad.yaml"
expect_exit 78 "$ACTIONDROPD" --config "$WORK/bad.yaml" --check-config
grep -q "bad.yaml:2:.*sweep_intervall" "$WORK/last.err" || { cat "$WORK/last.err"; fail "config error without file, line and key"; }
expect_exit 78 "$ACTIONDROPD" --config "$WORK/bad.yaml"

LOG="$WORK/daemon.log"
"$ACTIONDROPD" --config "$CONFIG" 2> "$LOG" &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

# wait_for SECONDS CONDITION...: polls until the condition holds, or fails the test.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || { cat "$LOG" >&2; fail "timed out waiting for: $*"; }
        kill -0 $PID 2>/dev/null || { cat "$LOG" >&2; fail "actiondropd exited while waiting for: $*"; }
        sleep 0.05
    done
}
wait_for 20 grep -q "serving 1 inboxes" "$LOG"

# A file written in pieces with pauses shorter than settle, then left alone.
D=$(days_ago 2)
HEADER='ActionId,CampaignId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount'
{
    printf '%s\r\n' "$HEADER"
    sleep 0.15
    printf 'D-1,CMP,19816,P-77,O-1,%s,100.00\r\n' "$D"
    sleep 0.15
    printf 'D-2,CMP,19816,P-77,O-2,%s,50.00\r\n' "$D"
    sleep 0.15
    printf 'D-3,CMP,19816,P-77,O-3,%s,' "$D"
    # The file is still being written: nothing may have been taken yet.
    [ -f "$IN/slow.csv" ] || fail "slow.csv was taken while it was still being written"
    [ ! -e "$OUT/receipt_slow.csv.txt" ] || fail "slow.csv answered while still being written"
    sleep 0.15
    printf '20.00\r\n'
} > "$IN/slow.csv"
written_at=$(date +%s%N)
wait_for 20 test -f "$OUT/slow.csv_summary.json"
picked_ms=$(( ($(date +%s%N) - written_at) / 1000000 ))
echo "slow.csv answered ${picked_ms} ms after its last write (settle 300ms)"
[ "$(json_field "$OUT/slow.csv_summary.json" status)" = COMPLETE ] || fail "slow.csv not COMPLETE"
[ "$(json_field "$OUT/slow.csv_summary.json" applied)" = 3 ] || fail "slow.csv: not every row applied (a partial read?)"
for f in receipt_slow.csv.txt result_slow.csv errors_slow.csv; do [ -f "$OUT/$f" ] || fail "no $f"; done
[ ! -e "$IN/slow.csv" ] || fail "slow.csv still in the inbox"
batch=$(json_field "$OUT/slow.csv_summary.json" batch_id)
wait_for 5 archived acme-conv "${batch}_slow.csv" > /dev/null
archived=$(archived acme-conv "${batch}_slow.csv")
cmp -s "$archived" <(printf '%s\r\nD-1,CMP,19816,P-77,O-1,%s,100.00\r\nD-2,CMP,19816,P-77,O-2,%s,50.00\r\nD-3,CMP,19816,P-77,O-3,%s,20.00\r\n' "$HEADER" "$D" "$D" "$D") \
    || fail "the archived original differs from what was written"
grep -q "inbox=acme-conv account=1000 batch=$batch file=slow.csv status=COMPLETE total=3 applied=3 rejected=0" "$LOG" \
    || { cat "$LOG" >&2; fail "no log line for slow.csv"; }
ad action show --account 1000 D-3 > /dev/null || fail "D-3 not in the ledger"

# A symlink and a FIFO are skipped (and logged once); an empty and a binary file are
# rejected as a whole and set aside in failed/.
ln -s "$WORK/actiondrop.yaml" "$IN/link.csv"
mkfifo "$IN/pipe.csv"
: > "$IN/empty.csv"
printf '%s\r\nD-9,CMP,19816,P-77,O-9,%s,1\xff\xfe.00\r\n' "$HEADER" "$D" > "$IN/binary.csv"
printf '%s\r\nD-4,CMP,19816,P-77,O-4,%s,10.00\r\n' "$HEADER" "$D" > "$IN/after.csv"
wait_for 20 test -f "$OUT/empty.csv_summary.json"
wait_for 20 test -f "$OUT/binary.csv_summary.json"
wait_for 20 test -f "$OUT/after.csv_summary.json"
[ "$(json_field "$OUT/empty.csv_summary.json" error_code)" = EMPTY_FILE ] || fail "empty.csv: expected EMPTY_FILE"
[ "$(json_field "$OUT/binary.csv_summary.json" error_code)" = NOT_UTF8 ] || fail "binary.csv: expected NOT_UTF8"
[ "$(json_field "$OUT/after.csv_summary.json" status)" = COMPLETE ] || fail "after.csv: expected COMPLETE"
ls "$STATE/failed/acme-conv/" | grep -q '_empty.csv$' || fail "empty.csv not in failed/"
ls "$STATE/failed/acme-conv/" | grep -q '_binary.csv$' || fail "binary.csv not in failed/"
[ -L "$IN/link.csv" ] && [ -p "$IN/pipe.csv" ] || fail "the symlink or the FIFO was moved"
[ "$(grep -c 'skipped file=link.csv: a symbolic link' "$LOG")" = 1 ] || { cat "$LOG" >&2; fail "symlink not logged once"; }
[ "$(grep -c 'skipped file=pipe.csv: a FIFO' "$LOG")" = 1 ] || { cat "$LOG" >&2; fail "FIFO not logged once"; }

# SIGHUP with an invalid config keeps the old one; with a new inbox, serves it.
IN2="$WORK/srv/in2"; OUT2="$WORK/srv/out2"
printf 'inboxes: [\n' > "$CONFIG"
kill -HUP $PID
wait_for 20 grep -q "SIGHUP: the config is not valid; keeping the old one" "$LOG"
# A claim of an inbox the config does not name (removed before a crash, say) is said at each
# start and reload, and taken once the inbox is served again.
mkdir -p "$STATE/claims/acme-mods"
printf 'ActionId,Amount,Reason\r\nD-3,15.00,ORDER_UPDATE\r\n' \
    > "$STATE/claims/acme-mods/20261201T000000Z-000000000001_early.csv"
write_config ""
kill -HUP $PID
wait_for 20 grep -q "inbox=acme-mods is not in the config, and 1 of its claimed files wait in $STATE/claims/acme-mods" "$LOG"
write_config "  - {name: acme-mods, account: \"1000\", kind: local, path: $IN2, outbox: $OUT2, settle: 300ms}"
kill -HUP $PID
wait_for 20 grep -q "SIGHUP: config reloaded; serving 2 inboxes" "$LOG"
wait_for 20 test -f "$OUT2/early.csv_summary.json"
[ "$(json_field "$OUT2/early.csv_summary.json" applied)" = 1 ] || fail "early.csv: expected 1 applied"
[ "$(grep -c "inbox=acme-mods is not in the config" "$LOG")" = 1 ] || fail "the claim was said again once served"
printf 'ActionId,Amount,Reason\r\nD-1,80.00,ORDER_UPDATE\r\nD-404,1.00,ORDER_UPDATE\r\n' > "$IN2/fix.csv"
wait_for 20 test -f "$OUT2/fix.csv_summary.json"
[ "$(json_field "$OUT2/fix.csv_summary.json" applied)" = 1 ] || fail "fix.csv: expected 1 applied"
[ "$(json_field "$OUT2/fix.csv_summary.json" rejected)" = 1 ] || fail "fix.csv: expected 1 rejected"
grep -q '^D-404,.*,ACTION_REF_NOT_FOUND,' "$OUT2/errors_fix.csv" || fail "errors_fix.csv lacks the rejected row"

# On PostgreSQL, a warning the server sends is a line of the service's log that names the
# server, never bare text on stderr (docs/postgres.md). A trigger of this test's makes one
# at each new journal record.
taken=6
if [ -n "$PG_SCHEMA" ]; then
    pg "CREATE FUNCTION $PG_SCHEMA.warn() RETURNS trigger LANGUAGE plpgsql AS \$\$
        BEGIN RAISE WARNING 'batch % seen by the test', NEW.batch_id; RETURN NEW; END \$\$;
        CREATE TRIGGER warn AFTER INSERT ON $PG_SCHEMA.batches
        FOR EACH ROW EXECUTE FUNCTION $PG_SCHEMA.warn()" > /dev/null
    printf 'ActionId,Amount,Reason\r\nD-2,40.00,ORDER_UPDATE\r\n' > "$IN2/warned.csv"
    wait_for 20 test -f "$OUT2/warned.csv_summary.json"
    id=$(json_field "$OUT2/warned.csv_summary.json" batch_id)
    grep -Eq "^[0-9T:.-]+ warning: PostgreSQL [^ ]+: WARNING:  batch $id seen by the test\$" \
        "$LOG" || { cat "$LOG" >&2; fail "the server's warning is not a line of the log"; }
    taken=7
fi

# SIGTERM: exits 0 within a few seconds.
kill -TERM $PID
deadline=$((SECONDS + 10))
while kill -0 $PID 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "actiondropd did not stop within 10 s of SIGTERM"
    sleep 0.05
done
code=0; wait $PID || code=$?
[ "$code" = 0 ] || { cat "$LOG" >&2; fail "actiondropd exited $code on SIGTERM"; }
grep -q "stopping: $taken files taken" "$LOG" || { cat "$LOG" >&2; fail "no stop line"; }
cat "$LOG"
echo "daemon local inbox: ok"
