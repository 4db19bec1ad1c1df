#!/usr/bin/env bash
# Answers that cannot be uploaded are kept, not lost: with the result folder missing on
# the server, a pulled file is still applied once, its answers wait in the spool's
# .outbox/ and the daemon says why; once the folder exists, they are delivered (no
# temporary name left behind) and the file is neither pulled nor applied again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
setup_ledger
sshd_up s1
mkdir -p "$R/in"
{ config_head; sftp_inbox later s1 "$R/in" "$R/out"; } > "$CONFIG"
conv_file "$R/in/r1.csv" "RF-1 10.00" "RF-2 10.00 99999"
daemon_start 1
wait_for 30 grep -q "file=r1.csv status=COMPLETE total=2 applied=1 rejected=1" "$DLOG"
staged() { [ -n "$(find "$STATE/pull/later/.outbox" -type f -name '*r1.csv*' 2> /dev/null)" ]; }
wait_for 10 staged
wait_for 10 grep -qE "inbox=later[^a-z0-9_.-].*$R/out" "$DLOG"
grep -E "inbox=later[^a-z0-9_.-].*$R/out" "$DLOG" | head -1
echo "$(grep -cE "inbox=later[^a-z0-9_.-].*$R/out" "$DLOG") log lines about the missing result folder"
[ ! -e "$R/out" ] || fail "the result folder was made by the daemon"

mkdir "$R/out"
wait_for 30 test -f "$R/out/r1.csv_summary.json"
for f in receipt_r1.csv.txt result_r1.csv errors_r1.csv; do wait_for 10 test -f "$R/out/$f"; done
check_csv "$R/out/result_r1.csv" /dev/stdin <<'CSV' || fail "result_r1.csv"
Line,ActionId,Outcome,ErrorCode
2,RF-1,APPLIED,
3,RF-2,REJECTED,ACTIONTRACKER_NOT_FOUND
CSV
spools_empty() { [ -z "$(find "$STATE/pull" -type f 2> /dev/null)" ]; }
wait_for 20 spools_empty
no_temporaries "$R/out"
[ "$(sftp_opens s1 "$R/in/r1.csv")" = 1 ] || fail "r1.csv was downloaded $(sftp_opens s1 "$R/in/r1.csv") times"
[ "$(batches_of later)" = 1 ] || fail "$(batches_of later) batches, expected 1"
[ "$(grep -c "file=r1.csv status=" "$DLOG")" = 1 ] || fail "r1.csv applied more than once"
daemon_stop
echo "sftp result folder: ok"
