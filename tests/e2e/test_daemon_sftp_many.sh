#!/usr/bin/env bash
# A pull folder of 10,000 small files (one row each, each content distinct): every file is
# applied exactly once (one batch and one open on the server each), every file's summary
# lands in the result folder with no temporary name left, and the time it took is printed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
N=${SFTP_MANY_FILES:-10000}
setup_ledger
sshd_up s1
mkdir -p "$R/in" "$R/out"
python3 - "$R/in" "$N" "$CONV_HEADER" "$EVENT_DATE" <<'PY'
import os, sys
folder, n, header, date = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
for i in range(n):
    with open(os.path.join(folder, f"f{i:05d}.csv"), "w", newline="") as f:
        f.write(f"{header}\r\nMANY-{i},CMP,19816,P-77,O-{i},{date},{1 + i % 97}.{i % 100:02d}\r\n")
PY
[ "$(find "$R/in" -type f | wc -l)" = "$N" ] || fail "could not write $N files"
{ config_head; sftp_inbox many s1 "$R/in" "$R/out" 'pattern: "f*.csv"'; } > "$CONFIG"
start_ns=$(date +%s%N)
daemon_start 1
summaries() { find "$R/out" -maxdepth 1 -name '*_summary.json' | wc -l; }
# A stall fails after 120 s without a new summary. The whole run may take much longer on a
# slow or busy machine (66 files a second idle, far fewer under load), so the deadline is
# only there to show the logs before CTest's timeout (1500 s) would kill the test without them.
last=0; last_change=$SECONDS; deadline=$((SECONDS + 1380))
until [ "$(summaries)" -ge "$N" ]; do
    now=$(summaries)
    if [ "$now" != "$last" ]; then last=$now; last_change=$SECONDS; fi
    [ $((SECONDS - last_change)) -lt 120 ] || { show_logs; fail "no new summary for 120 s: $now of $N answered"; }
    [ $SECONDS -lt $deadline ] || { show_logs; fail "only $now of $N answered in 1380 s"; }
    kill -0 "$DAEMON_PID" 2> /dev/null || { show_logs; fail "actiondropd exited with $now of $N answered"; }
    sleep 1
done
took_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
echo "$N files pulled, applied and answered in $((took_ms / 1000)).$(printf '%03d' $((took_ms % 1000))) s" \
    "($(python3 -c "print(f'{$N / ($took_ms / 1000):.0f}')") files/s, from the daemon's start)"
spools_empty() { [ -z "$(find "$STATE/pull" -type f 2> /dev/null)" ]; }
wait_for 60 spools_empty
daemon_stop

python3 - "$R/in" "$R/out" "$N" <<'PY' || fail "the summaries"
import hashlib, json, os, sys
folder, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
batches, problems = set(), []
for i in range(n):
    name = f"f{i:05d}.csv"
    try:
        s = json.load(open(os.path.join(out, name + "_summary.json")))
    except Exception as e:
        problems.append(f"{name}: {e}")
        continue
    sha = hashlib.sha256(open(os.path.join(folder, name), "rb").read()).hexdigest()
    if (s["status"], s["total"], s["applied"], s["sha256"], s["file"]) != ("COMPLETE", 1, 1, sha, name):
        problems.append(f"{name}: {s}")
    batches.add(s["batch_id"])
    for other in ("receipt_" + name + ".txt", "result_" + name):
        if not os.path.isfile(os.path.join(out, other)):
            problems.append(f"{name}: no {other}")
    errors = os.path.join(out, "errors_" + name)
    if os.path.exists(errors) and len(open(errors, "rb").read().splitlines()) != 1:
        problems.append(f"{name}: errors_{name} lists rows")
if len(batches) != n - sum(1 for p in problems if "No such file" in p):
    problems.append(f"{len(batches)} distinct batch ids for {n} files")
hidden = [f for f in os.listdir(out) if f.startswith(".")]
if hidden:
    problems.append(f"temporary names left: {hidden[:5]} ({len(hidden)})")
expected = 3 * n + sum(1 for f in os.listdir(out) if f.startswith("errors_"))
if len(os.listdir(out)) != expected:
    problems.append(f"{len(os.listdir(out))} files in the result folder, expected {expected}")
for p in problems[:20]:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
[ "$(find "$R/in" -type f | wc -l)" = "$N" ] || fail "the originals were not left alone"
[ "$(batches_of many)" = "$N" ] || fail "$(batches_of many) batches for $N files"
opened=$(grep -cF "open \"$R/in/f" "$(sshd_dir s1)/sftp.log" || true)
[ "$opened" = "$N" ] || fail "the server saw $opened opens of the $N files (each should be downloaded once)"
echo "server: $(sshd_connections s1) connections, $(sftp_listings s1 "$R/in") listings"
expect_exit 0 ad report actions --account 1000 --json
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); ids=[x["action_id"] for x in a if x["action_id"].startswith("MANY-")]; sys.exit(0 if len(ids)==len(set(ids))==int(sys.argv[2]) else 1)' \
    "$WORK/last.out" "$N" || fail "the ledger does not hold each of the $N actions once"
echo "sftp many files: ok"
