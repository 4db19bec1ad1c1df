#!/usr/bin/env bash
# A service that dies for good while it holds pulls (docs/postgres.md, "Claims and leases"):
# service a pulls 11 files from an SFTP server and is SIGKILLed while it applies the largest;
# it is never started again. Service b, on the same store with a state folder of its own,
# takes its pulls over once their lease (pull_lease: 2s) has ended: the file a was applying
# is downloaded again and applied once, under the batch id a gave it, and the files a had
# applied are not applied again. Every file has one batch, COMPLETE, and one answer.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
trap 'for p in ${PID_A:-} ${PID_B:-}; do kill_tree "$p"; done; sftp_cleanup' EXIT
setup_ledger
sshd_up s1
mkdir -p "$R/in" "$R/out"
chmod -R 0755 "$R"
BIG_ROWS=200000

# config NAME: one service's config; only its state folder and metrics port are its own.
config() {
    STATE="$WORK/state-$1"
    METRICS_PORT=$(free_port)
    {
        config_head "pull_lease: 2s"
        sftp_inbox pull s1 "$R/in" "$R/out" 'pattern: "*.csv"' "poll_interval: 300ms" "settle: 300ms"
    } > "$WORK/$1.yaml"
}
config a
config b

for i in $(seq 1 10); do conv_file "$R/in/small-$i.csv" "S-$i-1" "S-$i-2"; done
python3 - "$BIG_ROWS" "$EVENT_DATE" "$CONV_HEADER" <<'PY' | put_remote "$R/in/zz-big.csv"
import sys
rows, date, header = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = [header]
out += [f"B-{i},CMP,19816,P-77,O-B-{i},{date},10.00" for i in range(rows)]
sys.stdout.write("\r\n".join(out) + "\r\n")
PY
# The big file is the newest: it is pulled last.
touch -d '+2 seconds' "$R/in/zz-big.csv"

"$ACTIONDROPD" --config "$WORK/a.yaml" 2> "$WORK/daemon.a.log" &
PID_A=$!
wait_for 60 grep -qs "file=zz-big.csv pulled from" "$WORK/daemon.a.log"
sleep 0.3
kill_tree "$PID_A"
wait "$PID_A" 2> /dev/null || true
PID_A=""
big_claim=$(find "$WORK/state-a/pull/pull/.processing" -name '*_zz-big.csv' -printf '%f\n')
[ -n "$big_claim" ] || { cat "$WORK/daemon.a.log" >&2; fail "service a was not applying zz-big.csv when killed"; }
big_batch=${big_claim%_zz-big.csv}
grep -q "batch=$big_batch .*status=COMPLETE" "$WORK/daemon.a.log" && fail "service a finished zz-big.csv before it was killed"

"$ACTIONDROPD" --config "$WORK/b.yaml" 2> "$WORK/daemon.b.log" &
PID_B=$!
answered() { ls "$R/out" | grep -c '_summary\.json$' || true; }
deadline=$((SECONDS + 180))
until [ "$(answered)" -ge 11 ]; do
    [ $SECONDS -lt $deadline ] || { cat "$WORK"/daemon.*.log >&2; fail "only $(answered) of 11 files answered"; }
    kill -0 "$PID_B" 2> /dev/null || { cat "$WORK/daemon.b.log" >&2; fail "service b exited"; }
    sleep 0.2
done
grep -q "took over $R/in/zz-big.csv from .*state-a, whose lease ended: it is downloaded again as batch $big_batch" \
    "$WORK/daemon.b.log" || { cat "$WORK/daemon.b.log" >&2; fail "service b did not take zz-big.csv over"; }

expect_exit 0 ad batches list --json
python3 - "$WORK/last.out" "$big_batch" "$BIG_ROWS" <<'PY' || fail "the journal"
import collections, json, sys
batches = json.load(open(sys.argv[1]))
names = collections.Counter(b["file"] for b in batches)
assert sorted(names) == sorted([f"small-{i}.csv" for i in range(1, 11)] + ["zz-big.csv"]), names
assert all(c == 1 for c in names.values()), names
assert all(b["status"] == "COMPLETE" for b in batches), [b for b in batches if b["status"] != "COMPLETE"]
big = [b for b in batches if b["file"] == "zz-big.csv"][0]
assert big["batch_id"] == sys.argv[2], (big["batch_id"], sys.argv[2])
assert big["applied"] == int(sys.argv[3]), big
PY
expect_exit 0 ad report actions --account 1000 --json
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert len(a) == len({x["action_id"] for x in a}) == int(sys.argv[2]) + 20, len(a)' \
    "$WORK/last.out" "$BIG_ROWS" || fail "the actions"
for f in "$R"/out/*_summary.json; do
    [ "$(json_field "$f" status)" = COMPLETE ] || fail "$f: $(cat "$f")"
done
[ "$(json_field "$R/out/zz-big.csv_summary.json" batch_id)" = "$big_batch" ] || fail "the big file's answer is not of batch $big_batch"
echo "ok: service a killed while applying batch $big_batch; b took over $(grep -c 'took over' "$WORK/daemon.b.log") pulls"
