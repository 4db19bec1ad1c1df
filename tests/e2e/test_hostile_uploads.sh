#!/usr/bin/env bash
# actiondropd against uploaders who attack their own inboxes, each a throw-away account that
# owns its inbox as a deployment has it (deploy/README.md), acting with its own rights:
# 1. a claim folder inside the inbox pointed at another account's folder: another account's
#    leftovers would be applied as one's own;
# 2. names too long for their answers: one stopped its inbox's sweep for good, another was
#    applied, not answered, and in a `duplicates: reprocess` inbox applied again and again;
# 3. a flood of names in one's own inbox (150,000 of 200 bytes, none a batch file): the
#    daemon's memory grew about 1 KiB a name, for good, until it was killed for lack of it;
# 4. a flood of files to be applied in one's own inbox: another account's file waited for
#    all of them.
# Each time the other files keep flowing, nothing is applied twice or to the wrong account,
# and the refused files are set aside with a log line and a metric.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
setup_ledger
UA="ad-a-$SUFFIX"
UB="ad-b-$SUFFIX"
add_account "$UA"
add_account "$UB"
A="$WORK/a"
B="$WORK/b"
SRC="$WORK/src"
mkdir -p "$A/in" "$A/out" "$B/in" "$B/out" "$SRC"
chown "$UA:" "$A/in"
chown "$UB:" "$B/in"
chmod 0755 "$WORK" "$A" "$B" "$SRC"
as_a() { runuser -u "$UA" -- "$@"; }
as_b() { runuser -u "$UB" -- "$@"; }
# upload USER NAME [MTIME]: the user writes stdin to its inbox under NAME as a client
# would (a hidden name, then a rename), with the modification time MTIME if given.
upload() {
    local user=$1 name=$2 inbox
    inbox=$([ "$user" = "$UA" ] && echo "$A/in" || echo "$B/in")
    cat > "$SRC/upload"
    chmod 0644 "$SRC/upload"
    runuser -u "$user" -- cp "$SRC/upload" "$inbox/.upload"
    if [ -n "${3:-}" ]; then runuser -u "$user" -- touch -c -d "$3" "$inbox/.upload"; fi
    runuser -u "$user" -- mv "$inbox/.upload" "$inbox/$name"
}
summary_status() { json_field "$1" status 2> /dev/null; }
modifications() {
    ad action show --account 1000 "$1" --json > "$WORK/action.json" || fail "action show $1"
    json_field "$WORK/action.json" modification_count
}

# The ledger: two actions of account 1000 to modify.
{ conv_header; conv_row R-1 100.00; conv_row R-2 100.00; } > "$SRC/seed.csv"
expect_exit 0 ad apply --account 1000 --type conversions "$SRC/seed.csv"

# 1. B has a leftover in its own inbox's claim folder (the layout of older versions); A
#    points its inbox's claim folder at B's. Neither may be taken.
as_b mkdir "$B/in/.processing"
{ conv_header; conv_row THEIRS-1 55.00; } > "$SRC/theirs.csv"
chmod 0644 "$SRC/theirs.csv"
as_b cp "$SRC/theirs.csv" "$B/in/.processing/20260101T000000Z-000000000001_theirs.csv"
as_a ln -s "$B/in/.processing" "$A/in/.processing"

{
    config_head "sweep_interval: 200ms"
    echo "  - {name: a, account: \"1000\", type: modifications, kind: local, path: $A/in, outbox: $A/out, pattern: \"*.csv\", settle: 200ms, duplicates: reprocess}"
    echo "  - {name: b, account: \"2000\", type: conversions, kind: local, path: $B/in, outbox: $B/out, pattern: \"*.csv\", settle: 200ms}"
} > "$CONFIG"
touch "$WORK/started"
daemon_start 2

# 2. A file applied and answered, then the same content under a name whose summary's
#    temporary name is one byte too long (it depends on the daemon's pid), a name too long
#    even for a claim (older, so it comes first), and an ordinary file.
printf 'ActionId,Amount,Reason\r\nR-1,80.00,ORDER_UPDATE\r\n' | upload "$UA" x.csv
wait_for 30 test -f "$A/out/x.csv_summary.json"
[ "$(summary_status "$A/out/x.csv_summary.json")" = COMPLETE ] || fail "x.csv was not applied"
[ "$(modifications R-1)" = 1 ] || fail "R-1 should have one modification"

LONG=$(printf 'L%.0s' $(seq 1 $((220 - ${#DAEMON_PID} - 4)))).csv
LONGER=$(printf 'M%.0s' $(seq 1 236)).csv
printf 'ActionId,Amount,Reason\r\nR-1,80.00,ORDER_UPDATE\r\n' | upload "$UA" "$LONG"
printf 'ActionId,Amount,Reason\r\nR-1,10.00,ORDER_UPDATE\r\n' | upload "$UA" "$LONGER" '1 hour ago'
printf 'ActionId,Amount,Reason\r\nR-2,90.00,ORDER_UPDATE\r\n' | upload "$UA" ok.csv
wait_for 30 test -f "$A/out/ok.csv_summary.json"
[ "$(summary_status "$A/out/ok.csv_summary.json")" = COMPLETE ] || fail "ok.csv was not applied"
# Time for retries, had any file been left to be retried (1 s, 2 s, 4 s ...).
sleep 8
[ "$(modifications R-1)" = 1 ] || { show_logs; fail "R-1 was modified again by a file that could not be answered"; }
[ "$(modifications R-2)" = 1 ] || fail "R-2 should have one modification"
[ ! -e "$A/in/$LONG" ] && [ ! -e "$A/in/$LONGER" ] || fail "the long names are still in the inbox"
[ "$(find "$STATE/failed/a" -type f | wc -l)" = 2 ] || { ls -la "$STATE/failed/a" >&2; fail "the long names were not set aside in failed/a"; }
wait_for 10 metric_is 'actiondrop_files_set_aside_total{inbox="a"}' 2
grep -q "inbox=a .*cannot be answered" "$DLOG" || { show_logs; fail "no log line for a name set aside"; }

# 1, continued: nothing of B's leftover reached account 1000 or A's outbox; it stays where
# it was, and the old claim folders are reported.
ad batches list --json > "$WORK/batches.json" || fail "batches list failed"
python3 - "$WORK/batches.json" <<'PY' || fail "B's leftover was taken"
import json, sys
taken = [b for b in json.load(open(sys.argv[1])) if b["file"] == "theirs.csv"]
sys.exit(1 if taken else 0)
PY
if ad action show --account 1000 THEIRS-1 > /dev/null 2>&1; then fail "B's leftover was applied to account 1000"; fi
[ ! -e "$A/out/theirs.csv_summary.json" ] || fail "A got an answer for B's file"
[ -f "$B/in/.processing/20260101T000000Z-000000000001_theirs.csv" ] || fail "B's leftover was moved"
grep -q "inbox=a: .*holds claims of an older version" "$DLOG" || { show_logs; fail "the old claim folder of a is not reported"; }
grep -q "inbox=b: .*holds claims of an older version" "$DLOG" || { show_logs; fail "the old claim folder of b is not reported"; }
# Claims are made outside the uploaders' folders only.
[ -d "$STATE/claims/a" ] || fail "no claims folder in the state folder"
[ -z "$(find "$B/in/.processing/" -newer "$WORK/started" -type f)" ] || fail "a claim was made in an uploader's folder"

# 3. A floods its inbox with names; B's files flow, and the daemon's memory stays small.
as_a python3 - "$A/in" <<'PY'
import os, sys
for i in range(150000):
    os.close(os.open(os.path.join(sys.argv[1], "%08d" % i + "x" * 188 + ".txt"), os.O_CREAT | os.O_WRONLY, 0o644))
PY
sleep 3  # sweeps of the flooded folder
{ conv_header; conv_row FLOOD-1 12.00; } | upload "$UB" after-flood.csv
wait_for 30 test -f "$B/out/after-flood.csv_summary.json"
[ "$(summary_status "$B/out/after-flood.csv_summary.json")" = COMPLETE ] || fail "B's file was not applied during A's flood"
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$DAEMON_PID/status")
echo "daemon peak RSS with 150,000 names in an inbox: $((hwm / 1024)) MiB"
[ "$hwm" -lt $((96 * 1024)) ] || fail "the daemon's peak RSS grew to $((hwm / 1024)) MiB with a flooded inbox"
[ "$(grep -c "inbox=a.*more than 50000 entries" "$DLOG")" = 1 ] || { show_logs; fail "the flood is not said once"; }
[ "$(grep -c "inbox=a skipped file=" "$DLOG")" -le 10001 ] || fail "every flooded name was logged"

# 4. A floods its inbox with files that are all to be applied; B's file, uploaded after
#    them, has its turn within about a second of A's work rather than after all of them.
as_a find "$A/in" -maxdepth 1 -name '*.txt' -delete
as_a python3 - "$A/in" <<'PY'
import os, sys
for i in range(500):
    hidden = os.path.join(sys.argv[1], ".up")
    with open(hidden, "w") as f:
        f.write("ActionId,Amount,Reason\r\nR-2,90.00,ORDER_UPDATE\r\n")
    os.rename(hidden, os.path.join(sys.argv[1], "f%04d.csv" % i))
PY
{ conv_header; conv_row TURN-1 13.00; } | upload "$UB" in-turn.csv
wait_for 60 test -f "$B/out/in-turn.csv_summary.json"
answered_of_a() { find "$A/out" -name 'f*.csv_summary.json' | wc -l; }
answered=$(answered_of_a)
echo "B's file answered after $answered of A's 500 files"
[ "$answered" -lt 500 ] || fail "B's file waited for all of A's files"
all_of_a_answered() { [ "$(answered_of_a)" = 500 ]; }
wait_for 300 all_of_a_answered
daemon_stop
echo "ok"
