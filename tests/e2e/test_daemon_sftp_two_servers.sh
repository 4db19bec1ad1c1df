#!/usr/bin/env bash
# Two pull inboxes on two servers and a local inbox, in one daemon. Server s2 goes down:
# the daemon says it retries (backing off, not storming), while files on s1 and in the
# local inbox keep flowing. When s2 is back, its files flow again, each once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
setup_ledger
sshd_up s1 s2
mkdir -p "$R"/{in1,out1,in2,out2} "$WORK/local/in" "$WORK/local/out"
{
    config_head "sweep_interval: 200ms"
    sftp_inbox one s1 "$R/in1" "$R/out1"
    sftp_inbox two s2 "$R/in2" "$R/out2"
    echo "  - {name: loc, account: \"1000\", type: conversions, kind: local, path: $WORK/local/in, outbox: $WORK/local/out, settle: 300ms}"
} > "$CONFIG"
daemon_start 3

# file FOLDER NAME ID: a one-row conversions file.
file() { conv_file "$1/$2" "$3 10.00"; }
answered() { [ -f "$1/$2_summary.json" ] && [ "$(json_field "$1/$2_summary.json" applied)" = 1 ]; }
file "$R/in1" a1.csv A-1; file "$R/in2" b1.csv B-1; file "$WORK/local/in" l1.csv L-1
wait_for 30 answered "$R/out1" a1.csv
wait_for 30 answered "$R/out2" b1.csv
wait_for 30 answered "$WORK/local/out" l1.csv

# s2 down: s1 and the local inbox keep flowing, file after file.
sshd_stop s2
down_at=$SECONDS
connects_before=$(metric 'actiondrop_sftp_connects_total{inbox="two"}')
[ -n "$connects_before" ] || fail "no actiondrop_sftp_connects_total for inbox two on /metrics"
file "$R/in2" b2.csv B-2
for n in 2 3 4; do
    t0=$SECONDS
    file "$R/in1" "a$n.csv" "A-$n"; file "$WORK/local/in" "l$n.csv" "L-$n"
    wait_for 30 answered "$R/out1" "a$n.csv"
    wait_for 30 answered "$WORK/local/out" "l$n.csv"
    echo "with s2 down: a$n.csv and l$n.csv answered in $((SECONDS - t0)) s"
done
wait_for 30 grep -qE "inbox=two[^a-z0-9_.-].*retrying in [0-9]+ ?s" "$DLOG"
grep -E "inbox=two[^a-z0-9_.-].*retrying in" "$DLOG" | head -5
while [ $((SECONDS - down_at)) -lt 20 ]; do sleep 0.5; done
connects=$(( $(metric 'actiondrop_sftp_connects_total{inbox="two"}') - connects_before ))
echo "inbox two: $connects connection attempts in $((SECONDS - down_at)) s with its server down"
# 1 s, 2 s, 4 s, 8 s ... with jitter: at most 6 in 20 s.
[ "$connects" -ge 2 ] || fail "inbox two: $connects connection attempts in 20 s: does it retry at all?"
[ "$connects" -le 6 ] || fail "inbox two: $connects connection attempts in 20 s: no exponential backoff"
[ ! -e "$R/out2/b2.csv_summary.json" ] || fail "b2.csv answered while its server was down"
[ "$(metric 'actiondrop_sftp_host_key_alert{inbox="two"}')" != 1 ] || fail "a server down raised a host key alert"

# s2 back: its file flows, and so do the others.
sshd_start s2
back_at=$SECONDS
wait_for 120 answered "$R/out2" b2.csv
echo "b2.csv answered $((SECONDS - back_at)) s after s2 came back"
file "$R/in1" a5.csv A-5; file "$R/in2" b3.csv B-3
wait_for 30 answered "$R/out1" a5.csv
wait_for 30 answered "$R/out2" b3.csv
[ "$(batches_of one)" = 5 ] && [ "$(batches_of two)" = 3 ] && [ "$(batches_of loc)" = 4 ] \
    || fail "batches: one $(batches_of one), two $(batches_of two), loc $(batches_of loc); expected 5, 3, 4"
for d in "$R/out1" "$R/out2"; do no_temporaries "$d"; done
daemon_stop
echo "sftp two servers: ok"
