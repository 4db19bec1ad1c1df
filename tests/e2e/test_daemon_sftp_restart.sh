#!/usr/bin/env bash
# The server dies mid-download: sshd (the listener and every per-connection process, or
# the transfer would go on) is killed while the daemon's .download/ holds part of a 1 GiB
# file, and started again on the same port after a few seconds. The part is never applied,
# the daemon says it retries, reconnects by itself, and the file is processed once: one
# batch, one summary, every row, the sha256 of the whole file.
# Then the daemon itself is killed (SIGKILL) mid-download of a second such file, and
# started again: the part left in .download/ is thrown away and the file processed once.
# The same with delete_after_pull, where the original was already claimed into the remote
# .processing/ when the daemon died: processed once, then deleted.
# A stop while the server is silent mid-download ends the download at once.
# The files are a header, a few rows and a long run of blank lines (which the reader
# skips), so that they take seconds to download but little to apply.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
setup_ledger
sshd_up s1
mkdir -p "$R/in" "$R/out" "$R/del" "$R/del-out"
{
    config_head
    sftp_inbox big s1 "$R/in" "$R/out" 'pattern: "*.csv"' "limits: {max_file_bytes: 2GiB}"
    sftp_inbox bigdel s1 "$R/del" "$R/del-out" 'pattern: "*.csv"' "delete_after_pull: true" "limits: {max_file_bytes: 2GiB}"
} > "$CONFIG"
ROWS=5
SIZE=$((1024 * 1024 * 1024))

# big_file FOLDER NAME PREFIX: puts a 1 GiB conversions file FOLDER/NAME with rows
# PREFIX-1..5 on the server, and prints its sha256.
big_file() {
    local f=$1/$2
    {
        conv_header
        for i in $(seq 1 $ROWS); do conv_row "$3-$i" "$i.00"; done
    } > "$WORK/head.csv"
    python3 - "$WORK/head.csv" "$1/.$2.writing" "$SIZE" <<'PY'
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
    [ "$(stat -c %s "$1/.$2.writing")" = $SIZE ] || fail "could not write $f"
    sha256sum < "$1/.$2.writing" | cut -d' ' -f1
    mv "$1/.$2.writing" "$f"
}

# opens FOLDER NAME, closes FOLDER NAME: the server's count of reads of FOLDER/NAME (or of
# its claimed copy FOLDER/.processing/<id>_NAME) opened, and closed.
opens() { grep -cE "^open \"$1/(\.processing/[^/\"]*_)?$2\" flags READ" "$(sshd_dir s1)/sftp.log" || true; }
closes() { grep -cE "^close \"$1/(\.processing/[^/\"]*_)?$2\"" "$(sshd_dir s1)/sftp.log" || true; }
# catch_download INBOX FOLDER NAME: waits until NAME is being downloaded: the server's log
# shows it opened and not yet closed, and the spool's .download/ holds a file. Prints its size.
in_progress() { [ "$(opens "$2" "$3")" -gt "$(closes "$2" "$3")" ] && [ -n "$(find "$STATE/pull/$1/.download" -type f 2> /dev/null)" ]; }
catch_download() {
    local deadline=$((SECONDS + 60)) done_before
    done_before=$(closes "$2" "$3")
    until in_progress "$@"; do
        [ "$(closes "$2" "$3")" = "$done_before" ] || fail "the download of $3 was not caught in progress: 1 GiB took less than a poll of this test"
        [ $SECONDS -lt $deadline ] || { show_logs; fail "no download of $3 in progress within 60 s"; }
        kill -0 "$DAEMON_PID" 2> /dev/null || { show_logs; fail "actiondropd exited"; }
        sleep 0.02
    done
    sleep 0.3
    in_progress "$@" || fail "the download of $3 was not caught in progress: it ended within 0.3 s"
    find "$STATE/pull/$1/.download" -type f -printf '%s ' 2> /dev/null
}

# check_once INBOX FOLDER RESULT_FOLDER NAME PREFIX SHA: NAME was applied once, whole,
# and answered once.
check_once() {
    local inbox=$1 folder=$2 out=$3
    shift 3
    local S="$out/$1_summary.json" batch archived
    [ "$(json_field "$S" status)" = COMPLETE ] || fail "$1: $(cat "$S")"
    [ "$(json_field "$S" total)" = $ROWS ] && [ "$(json_field "$S" applied)" = $ROWS ] || fail "$1: wrong counts: $(cat "$S")"
    [ "$(json_field "$S" sha256)" = "$3" ] || fail "$1: the applied content is not the whole file"
    check_csv "$out/result_$1" /dev/stdin <<CSV || fail "result_$1"
Line,ActionId,Outcome
2,$2-1,APPLIED
3,$2-2,APPLIED
4,$2-3,APPLIED
5,$2-4,APPLIED
6,$2-5,APPLIED
CSV
    [ "$(opens "$folder" "$1")" -ge 2 ] || fail "$1 was not downloaded again"
    [ "$(grep -c "file=$1 status=" "$WORK"/daemon.*.log | awk -F: '{ s += $NF } END { print s }')" = 1 ] \
        || { show_logs; fail "$1 was applied more than once"; }
    batch=$(json_field "$S" batch_id)
    wait_for 20 archived "$inbox" "${batch}_$1" > /dev/null
    local archived; archived=$(archived "$inbox" "${batch}_$1")
    [ "$(stat -c %s "$archived")" = $SIZE ] || fail "the archived copy of $1 has $(stat -c %s "$archived") bytes"
}
spools_empty() { [ -z "$(find "$STATE/pull" -type f 2> /dev/null)" ]; }
# restarted_once INBOX FOLDER RESULT_FOLDER NAME PREFIX SHA: starts the daemon again and
# waits for NAME's answer, which must show it applied once (check_once).
restarted_once() {
    local restarted_at=$SECONDS
    daemon_start 2
    wait_for 120 test -f "$3/$4_summary.json"
    echo "$4 answered $((SECONDS - restarted_at)) s after the daemon was started again"
    check_once "$@"
}
no_decided_batch() {
    expect_exit 0 ad batches list --json
    python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); sys.exit(1 if [x for x in b if x["file"] == sys.argv[2] and x["status"]] else 0)' \
        "$WORK/last.out" "$1" || fail "a batch of $1 was decided from a partial download: $(cat "$WORK/last.out")"
}

# 1. The server dies mid-download.
SHA1=$(big_file "$R/in" big.csv BIG)
daemon_start 2
cut_at=$(catch_download big "$R/in" big.csv)
sshd_stop s1
echo "server killed with ${cut_at}bytes of $SIZE in the spool's .download/"
down_at=$SECONDS
# While the server is down: the daemon says it retries; nothing is applied or answered.
wait_for 30 grep -qE "inbox=big[^a-z0-9_.-].*retrying in [0-9]+ ?s" "$DLOG"
grep -E "inbox=big[^a-z0-9_.-].*retrying in" "$DLOG" | head -3
sleep 3
[ -z "$(find "$STATE/pull/big/.processing" -type f 2> /dev/null)" ] || fail "a partial file reached .processing: $(ls -la "$STATE/pull/big/.processing")"
[ ! -e "$R/out/big.csv_summary.json" ] || fail "big.csv answered while the server was down"
if grep -q "file=big.csv status=" "$DLOG"; then show_logs; fail "big.csv applied while the server was down"; fi
no_decided_batch big.csv
echo "server down for $((SECONDS - down_at)) s; starting it again"
sshd_start s1
restarted_at=$SECONDS
wait_for 120 test -f "$R/out/big.csv_summary.json"
echo "big.csv answered $((SECONDS - restarted_at)) s after the server came back"
check_once big "$R/in" "$R/out" big.csv BIG "$SHA1"
[ "$(stat -c %s "$R/in/big.csv")" = $SIZE ] || fail "the original big.csv changed"
wait_for 20 spools_empty
[ "$(batches_of big)" = 1 ] || fail "$(batches_of big) batches, expected 1: $(cat "$WORK/batches.json")"

# 2. The daemon dies mid-download (SIGKILL: no chance to tidy up).
SHA2=$(big_file "$R/in" big2.csv BIGB)
cut_at=$(catch_download big "$R/in" big2.csv)
daemon_kill
left=$(find "$STATE/pull/big/.download" -type f -printf '%f ' 2> /dev/null)
echo "actiondropd killed with ${cut_at}bytes of $SIZE in the spool's .download/ (left there: ${left:-nothing})"
[ ! -e "$R/out/big2.csv_summary.json" ] || fail "big2.csv answered before the daemon was killed"
no_decided_batch big2.csv
restarted_once big "$R/in" "$R/out" big2.csv BIGB "$SHA2"
wait_for 20 spools_empty
[ "$(batches_of big)" = 2 ] || fail "$(batches_of big) batches, expected 2: $(cat "$WORK/batches.json")"
no_temporaries "$R/out"

# 3. delete_after_pull: the daemon dies with the original claimed into the remote
# .processing/ and half downloaded. Started again, it takes the claim to its end.
SHA3=$(big_file "$R/del" big3.csv BIGC)
cut_at=$(catch_download bigdel "$R/del" big3.csv)
daemon_kill
claimed=$(find "$R/del" -type f -printf '%P ')
echo "actiondropd killed with ${cut_at}bytes of $SIZE downloaded; on the server: $claimed"
[ ! -e "$R/del/big3.csv" ] || fail "big3.csv was downloaded without being claimed first (delete_after_pull)"
no_decided_batch big3.csv
restarted_once bigdel "$R/del" "$R/del-out" big3.csv BIGC "$SHA3"
deleted() { [ -z "$(find "$R/del" -type f)" ]; }
wait_for 20 deleted
wait_for 20 spools_empty
[ "$(batches_of bigdel)" = 1 ] || fail "$(batches_of bigdel) batches, expected 1: $(cat "$WORK/batches.json")"
no_temporaries "$R/del-out"

# 4. The server goes silent mid-download (its per-connection processes stopped, as a hung
# server would be) and the daemon is asked to stop: it exits at once, not after the 30 s
# silence timeout (the unit's stop timeout is 30 s), and the next start applies the file once.
SHA4=$(big_file "$R/in" big4.csv BIGD)
cut_at=$(catch_download big "$R/in" big4.csv)
descendants() { local p; for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done; }
silenced=$(descendants "${SSHD_PID[s1]}")
[ -n "$silenced" ] || fail "no per-connection sshd process to stop"
kill -STOP $silenced
sleep 1
asked=$(date +%s%N)
daemon_stop
took=$((($(date +%s%N) - asked) / 1000000))
kill -CONT $silenced 2> /dev/null || true
echo "actiondropd stopped ${took} ms after SIGTERM, with ${cut_at}bytes of a download from a silent server"
[ "$took" -lt 5000 ] || fail "the stop waited ${took} ms on a silent server"
[ ! -e "$R/out/big4.csv_summary.json" ] || fail "big4.csv answered from a cut download"
no_decided_batch big4.csv
restarted_once big "$R/in" "$R/out" big4.csv BIGD "$SHA4"
wait_for 20 spools_empty
daemon_stop
echo "sftp restart mid-download: ok"
