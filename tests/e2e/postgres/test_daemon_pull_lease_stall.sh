#!/usr/bin/env bash
# A service that stalls past its lease while it applies a pulled file, and then wakes up
# (docs/postgres.md, "Claims and leases"): service a is stopped (SIGSTOP) in the middle of the
# file, longer than pull_lease; service b takes the pull over and applies the same batch,
# waiting for a's turn to write; a is then let go (SIGCONT) and commits. b's attempt, which
# read the batch as claimed, reaches its commit second, finds the batch committed and writes
# nothing. The file is applied once: one batch, its rows once in the history, one answer.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../sshd_lib.sh"
trap 'for p in ${PID_A:-} ${PID_B:-}; do kill -CONT "$p" 2> /dev/null; kill_tree "$p"; done; sftp_cleanup' EXIT
setup_ledger
sshd_up s1
mkdir -p "$R/in" "$R/out"
chmod -R 0755 "$R"
ROWS=200000

# config NAME SETTLE: one service's config; b waits longer for a file to settle, so that a
# takes it. The life cycle runs once, at the start, before the file comes.
config() {
    STATE="$WORK/state-$1"
    METRICS_PORT=$(free_port)
    {
        config_head "pull_lease: 2s" "lifecycle: {interval: 1h}"
        sftp_inbox pull s1 "$R/in" "$R/out" 'pattern: "*.csv"' "poll_interval: 300ms" "settle: $2"
    } > "$WORK/$1.yaml"
}
config a 300ms
config b 20s
"$ACTIONDROPD" --config "$WORK/a.yaml" 2> "$WORK/daemon.a.log" &
PID_A=$!
"$ACTIONDROPD" --config "$WORK/b.yaml" 2> "$WORK/daemon.b.log" &
PID_B=$!
wait_for 30 grep -qs "serving 1 inboxes" "$WORK/daemon.a.log"
wait_for 30 grep -qs "serving 1 inboxes" "$WORK/daemon.b.log"
sleep 2

python3 - "$ROWS" "$EVENT_DATE" "$CONV_HEADER" <<'PY' | put_remote "$R/in/big.csv"
import sys
rows, date, header = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = [header] + [f"B-{i},CMP,19816,P-77,O-B-{i},{date},10.00" for i in range(rows)]
sys.stdout.write("\r\n".join(out) + "\r\n")
PY

wait_for 60 grep -qs "file=big.csv pulled from" "$WORK/daemon.a.log"
sleep 0.3
kill -STOP "$PID_A"
grep -q "file=big.csv status=" "$WORK/daemon.a.log" && fail "service a finished big.csv before it was stopped"
batch=$(find "$WORK/state-a/pull/pull/.processing" -name '*_big.csv' -printf '%f\n')
batch=${batch%_big.csv}
[ -n "$batch" ] || fail "service a holds no copy of big.csv"

wait_for 60 grep -qs "took over $R/in/big.csv from .*state-a, whose lease ended: it is downloaded again as batch $batch" "$WORK/daemon.b.log"
wait_for 60 grep -qs "file=big.csv pulled from" "$WORK/daemon.b.log"
sleep 2  # b applies it too, and waits for a's turn to write to end
kill -CONT "$PID_A"

wait_for 180 test -f "$R/out/big.csv_summary.json"
# Both services are done with it: each logged an answer for the batch.
wait_for 180 grep -qs "batch=$batch file=big.csv status=COMPLETE" "$WORK/daemon.a.log"
wait_for 180 grep -qs "batch=$batch file=big.csv status=COMPLETE" "$WORK/daemon.b.log"
for name in a b; do
    pid_var=PID_${name^^}
    kill -0 "${!pid_var}" 2> /dev/null || { cat "$WORK/daemon.$name.log" >&2; fail "service $name exited"; }
done

expect_exit 0 ad batches list --json
python3 - "$WORK/last.out" "$batch" "$ROWS" <<'PY' || { cat "$WORK"/daemon.*.log >&2; fail "the journal"; }
import json, sys
batches = json.load(open(sys.argv[1]))
assert len(batches) == 1, batches
b = batches[0]
assert b["batch_id"] == sys.argv[2] and b["status"] == "COMPLETE", b
assert b["applied"] == int(sys.argv[3]) and b["rejected"] == 0, b
PY
expect_exit 0 ad report changes --account 1000 --json
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert len(c) == int(sys.argv[2]), len(c)' \
    "$WORK/last.out" "$ROWS" || fail "the history holds other than one entry per row"
[ "$(json_field "$R/out/big.csv_summary.json" applied)" = "$ROWS" ] || fail "the answer: $(cat "$R/out/big.csv_summary.json")"
dropped=$(cat "$WORK"/daemon.*.log | grep -c "batch=$batch file=big.csv status=COMPLETE.* redelivered" || true)
echo "ok: batch $batch applied once by one of two services holding its claim ($dropped later attempt(s) answered from the store)"
