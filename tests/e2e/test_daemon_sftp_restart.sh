#!/usr/bin/env bash
# The server dies mid-download: sshd (the listener and every per-connection process, or
# the transfer would go on) is killed while the daemon's .download/ holds part of a 1 GiB
# file, and started again on the same port after a few seconds. The part is never applied,
# the daemon says it retries, reconnects by itself, and the file is processed once: one
# batch, one summary, every row, the sha256 of the whole file.
# The file is a header, a few rows and a long run of blank lines (which the reader skips),
# so that it takes seconds to download but little to apply.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
setup_ledger
sshd_setup s1
sshd_start s1
KH="$WORK/known_hosts"
sshd_known_hosts s1 "$KH"
R="$WORK/remote"
mkdir -p "$R/in" "$R/out"
cat > "$CONFIG" <<YAML
store: sqlite:$WORK/ledger.db
state_dir: $STATE
metrics: {listen: "127.0.0.1:$METRICS_PORT"}
inboxes:
  - {name: big, account: "1000", type: conversions, kind: sftp, host: 127.0.0.1, port: ${SSHD_PORT[s1]}, user: root,
     identity_file: $(sshd_dir s1)/client_key, known_hosts: $KH, folder: $R/in, pattern: "*.csv",
     result_folder: $R/out, poll_interval: 1s, settle: 1s, limits: {max_file_bytes: 2GiB}}
YAML
ROWS=5
SIZE=$((1024 * 1024 * 1024))
{
    printf '%s\r\n' "$CONV_HEADER"
    for i in $(seq 1 $ROWS); do conv_row "BIG-$i" "$i.00"; done
} > "$WORK/head.csv"
python3 - "$WORK/head.csv" "$R/in/.big.csv.writing" "$SIZE" <<'PY'
import sys
head = open(sys.argv[1], "rb").read()
size = int(sys.argv[3])
with open(sys.argv[2], "wb") as out:
    out.write(head)
    left = size - len(head)
    chunk = b"\r\n" * (4 << 20)
    while left > 0:
        out.write(chunk[:left])
        left -= min(left, len(chunk))
PY
[ "$(stat -c %s "$R/in/.big.csv.writing")" = $SIZE ] || fail "could not write the big file"
SHA=$(sha256sum < "$R/in/.big.csv.writing" | cut -d' ' -f1)
mv "$R/in/.big.csv.writing" "$R/in/big.csv"

daemon_start 1
DL="$STATE/pull/big/.download"
# In progress: the server's log shows big.csv opened and not yet closed, and the spool's
# .download/ holds the file being written.
closes() { grep -cF "close \"$R/in/big.csv\"" "$(sshd_dir s1)/sftp.log" || true; }
in_progress() { [ "$(sftp_opens s1 "$R/in/big.csv")" -gt "$(closes)" ] && [ -n "$(find "$DL" -type f 2> /dev/null)" ]; }
deadline=$((SECONDS + 60))
until in_progress; do
    [ "$(closes)" = 0 ] || fail "the download was not caught in progress: 1 GiB took less than a poll of this test"
    [ $SECONDS -lt $deadline ] || { show_logs; fail "no download in progress in $DL within 60 s"; }
    kill -0 "$DAEMON_PID" 2> /dev/null || { show_logs; fail "actiondropd exited"; }
    sleep 0.02
done
sleep 0.3
in_progress || fail "the download was not caught in progress: it ended within 0.3 s"
cut_at=$(find "$DL" -type f -printf '%s ' 2> /dev/null)
sshd_stop s1
echo "server killed with ${cut_at}bytes of $SIZE in $DL"
down_at=$SECONDS

# While the server is down: the daemon says it retries; nothing is applied or answered.
wait_for 30 grep -qE "inbox=big[^a-z0-9_.-].*retrying in [0-9]+ ?s" "$DLOG"
grep -E "inbox=big[^a-z0-9_.-].*retrying in" "$DLOG" | head -3
sleep 3
[ -z "$(find "$STATE/pull/big/.processing" -type f 2> /dev/null)" ] || fail "a partial file reached .processing: $(ls -la "$STATE/pull/big/.processing")"
[ ! -e "$R/out/big.csv_summary.json" ] || fail "big.csv answered while the server was down"
if grep -q "file=big.csv status=" "$DLOG"; then show_logs; fail "big.csv applied while the server was down"; fi
expect_exit 0 ad batches list --json
python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); sys.exit(1 if [x for x in b if x["status"]] else 0)' "$WORK/last.out" \
    || fail "a batch was decided from a partial download: $(cat "$WORK/last.out")"
echo "server down for $((SECONDS - down_at)) s; starting it again"

sshd_start s1
restarted_at=$SECONDS
wait_for 120 test -f "$R/out/big.csv_summary.json"
echo "big.csv answered $((SECONDS - restarted_at)) s after the server came back"
S="$R/out/big.csv_summary.json"
[ "$(json_field "$S" status)" = COMPLETE ] || fail "big.csv: $(cat "$S")"
[ "$(json_field "$S" total)" = $ROWS ] && [ "$(json_field "$S" applied)" = $ROWS ] || fail "big.csv: wrong counts: $(cat "$S")"
[ "$(json_field "$S" sha256)" = "$SHA" ] || fail "big.csv: the applied content is not the whole file"
check_csv "$R/out/result_big.csv" /dev/stdin <<'CSV' || fail "result_big.csv"
Line,ActionId,Outcome
2,BIG-1,APPLIED
3,BIG-2,APPLIED
4,BIG-3,APPLIED
5,BIG-4,APPLIED
6,BIG-5,APPLIED
CSV
[ "$(sftp_opens s1 "$R/in/big.csv")" -ge 2 ] || fail "big.csv was not downloaded again after the server came back"
[ "$(batches_of big)" = 1 ] || fail "$(batches_of big) batches, expected 1: $(cat "$WORK/batches.json")"
[ "$(grep -c "file=big.csv status=" "$WORK"/daemon.*.log | awk -F: '{ s += $NF } END { print s }')" = 1 ] \
    || { show_logs; fail "big.csv was applied more than once"; }
batch=$(json_field "$S" batch_id)
archived="$STATE/archive/big/$(date -u +%Y/%m/%d)/${batch}_big.csv"
wait_for 20 test -f "$archived"
[ "$(stat -c %s "$archived")" = $SIZE ] || fail "the archived copy has $(stat -c %s "$archived") bytes"
spools_empty() { [ -z "$(find "$STATE/pull" -type f 2> /dev/null)" ]; }
wait_for 20 spools_empty
no_temporaries "$R/out"
[ "$(stat -c %s "$R/in/big.csv")" = $SIZE ] || fail "the original changed"
daemon_stop
echo "sftp restart mid-download: ok"
