#!/usr/bin/env bash
# A remote file whose listed size is over the inbox's limits.max_file_bytes is answered
# TOO_LARGE without being downloaded: a 2 GiB file (sparse on the server) over a 1 MiB
# limit gets its receipt and REJECTED summary in the result folder within seconds, the
# server's own log shows it never opened, no file of 1 MiB or more ever appears in the
# state folder, the journal holds one REJECTED batch, and neither a later poll nor a
# restart answers it again. A small file of the same inbox is applied as usual.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
setup_ledger
sshd_up s1
mkdir -p "$R/in" "$R/out"
{ config_head; sftp_inbox big s1 "$R/in" "$R/out" 'pattern: "*.csv"' "limits: {max_file_bytes: 1MiB}"; } > "$CONFIG"
truncate -s 2G "$R/in/huge.csv"
conv_file "$R/in/small.csv" "TL-1 10.00"

# The largest file the state folder ever held, sampled while the daemon works.
( while :; do find "$STATE" -type f -size +1023k -printf '%s %p\n' 2> /dev/null; sleep 0.02; done ) > "$WORK/large_files" &
WATCHER=$!
daemon_start 1
started=$SECONDS
wait_for 30 test -f "$R/out/huge.csv_summary.json"
took=$((SECONDS - started))
wait_answered 30 "$R/out" small.csv
kill "$WATCHER"; wait "$WATCHER" 2> /dev/null || true
echo "huge.csv answered ${took} s after the daemon started"
[ "$took" -le 10 ] || fail "huge.csv took ${took} s to answer: was it downloaded?"
[ ! -s "$WORK/large_files" ] || fail "the state folder held files of 1 MiB or more: $(sort -u "$WORK/large_files" | head -3)"
[ "$(sftp_opens s1 "$R/in/huge.csv")" = 0 ] || fail "huge.csv was opened on the server"

summary="$R/out/huge.csv_summary.json"
[ "$(json_field "$summary" status)" = REJECTED ] || fail "huge.csv: $(cat "$summary")"
[ "$(json_field "$summary" error_code)" = TOO_LARGE ] || fail "huge.csv: $(cat "$summary")"
message=$(json_field "$summary" error_message)
case $message in *2147483648*1048576*) ;; *) fail "the message names neither size nor limit: $message" ;; esac
batch=$(json_field "$summary" batch_id)
grep -q "$batch" "$R/out/receipt_huge.csv.txt" || fail "no receipt of batch $batch"
expect_exit 0 ad batches show "$batch"
grep -q REJECTED "$WORK/last.out" && grep -q TOO_LARGE "$WORK/last.out" || { cat "$WORK/last.out"; fail "batch $batch is not a REJECTED TOO_LARGE batch"; }
grep -E "inbox=big[^a-z0-9_.-].*huge.csv.*TOO_LARGE" "$DLOG" | head -1 | grep . || fail "no log line about huge.csv"
[ -f "$R/in/huge.csv" ] || fail "the original was not left on the server"
[ "$(batches_of big)" = 2 ] || fail "$(batches_of big) batches, expected 2"

# Not answered again: later polls, and a restart.
rm "$R/out/huge.csv_summary.json"
sleep 3
daemon_stop
daemon_start 1
sleep 4
[ ! -e "$R/out/huge.csv_summary.json" ] || fail "huge.csv answered again"
[ "$(batches_of big)" = 2 ] || fail "$(batches_of big) batches after a restart, expected 2"
[ "$(sftp_opens s1 "$R/in/huge.csv")" = 0 ] || fail "huge.csv was opened on the server"
spool_empty big
daemon_stop
echo "sftp too large: ok"
