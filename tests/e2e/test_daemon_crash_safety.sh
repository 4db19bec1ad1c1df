#!/usr/bin/env bash
# Crash safety of actiondropd: 50 conversions files (1 to 20,000 rows, distinct action
# ids) are dropped into an inbox while the daemon is killed with SIGKILL at random moments
# at least 20 times and started again each time. In the end every file was applied exactly
# once: one COMPLETE answer and one journal batch per file, every row once in the ledger
# with a single CREATE in its history, every original archived once, and no temporary
# file, claim or spool left behind.
#
# A kill during a file counts as a failed attempt (three make a quarantine, docs/ingest.md), so
# after a kill the next one waits until the daemon has finished a file (the claim a kill
# leaves is always taken first) or lands within 150 ms of the start: no file can be hit
# three times.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
setup_ledger
IN="$WORK/srv/in"; OUT="$WORK/srv/out"; STATE="$WORK/state"; FILES="$WORK/files"
mkdir -p "$IN" "$OUT" "$FILES"
CONFIG="$WORK/actiondrop.yaml"
cat > "$CONFIG" <<YAML
store: $STORE
state_dir: $STATE
sweep_interval: 200ms
inboxes:
  - {name: conv, account: "1000", type: conversions, kind: local, path: $IN, outbox: $OUT, pattern: "*.csv", settle: 100ms}
YAML
SEED=${CRASH_SEED:-$RANDOM}
echo "seed $SEED (CRASH_SEED=$SEED reproduces the file sizes and kill moments)"
RANDOM=$SEED
NFILES=50
python3 - "$FILES" "$NFILES" "$SEED" "$(days_ago 2)" <<'PY'
import math, random, sys
folder, n, seed, day = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(seed)
sizes = [1, 20000] + [int(math.exp(rng.uniform(0, math.log(20000)))) for _ in range(n - 2)]
rng.shuffle(sizes)
for f, rows in enumerate(sizes):
    with open(f"{folder}/f{f:02d}.csv", "w", newline="") as out:
        out.write("ActionId,CampaignId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n")
        out.writelines(f"K{f:02d}-{i},CMP,19816,P-77,O-{f}-{i},{day},{1 + i % 97}.50\r\n"
                       for i in range(rows))
print(f"{n} files, {sum(sizes)} rows")
PY
NAMES=($(cd "$FILES" && ls))

LOG="$WORK/daemon.log"
PID=
trap 'if [ -n "$PID" ]; then kill -9 $PID 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
start_daemon() {
    echo "--- start" >> "$LOG"
    "$ACTIONDROPD" --config "$CONFIG" 2>> "$LOG" &
    PID=$!
}
kill_daemon() {
    kill -9 $PID 2>/dev/null || true
    wait $PID 2>/dev/null || true
    PID=
}
archived() { if [ -d "$STATE/archive" ]; then find "$STATE/archive" -type f | wc -l; else echo 0; fi; }
# Drops the next N files: written elsewhere, then moved in, so each appears whole.
dropped=0
drop() {
    local n=$1
    while [ $n -gt 0 ] && [ $dropped -lt $NFILES ]; do
        cp "$FILES/${NAMES[$dropped]}" "$WORK/${NAMES[$dropped]}"
        mv "$WORK/${NAMES[$dropped]}" "$IN/${NAMES[$dropped]}"
        dropped=$((dropped + 1)); n=$((n - 1))
    done
}
# sleep_ms N: sleeps N milliseconds.
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

drop 5
kills=0
deadline=$((SECONDS + 150))
while [ $kills -lt 20 ] || [ $dropped -lt $NFILES ]; do
    [ $SECONDS -lt $deadline ] || { tail -n 40 "$LOG" >&2; fail "only $kills kills and $dropped files dropped in time"; }
    before=$(archived)
    start_daemon
    drop 2
    if [ $((kills % 2)) = 1 ]; then
        sleep_ms $((RANDOM % 150))  # at start: recovery of the last claim, the first sweep
    else
        # After the daemon finished a file (or has nothing left to do), somewhere in the next.
        until [ "$(archived)" -gt "$before" ] || [ "$(archived)" -ge "$dropped" ]; do
            [ $SECONDS -lt $deadline ] || { tail -n 40 "$LOG" >&2; fail "no progress after kill $kills"; }
            kill -0 $PID 2>/dev/null || { tail -n 40 "$LOG" >&2; fail "actiondropd exited by itself"; }
            sleep 0.02
        done
        sleep_ms $((RANDOM % 400))
    fi
    kill_daemon
    kills=$((kills + 1))
done
echo "$kills kills; $(archived) of $NFILES files archived before the last start"
[ "$(grep -c '^--- start' "$LOG")" -ge 20 ] || fail "fewer than 20 restarts"

# The last start takes everything to its end; SIGTERM once it serves (signals are set up).
served=$(grep -c "serving 1 inboxes" "$LOG" || true)
start_daemon
final_deadline=$((SECONDS + 120))
until [ "$(archived)" -ge $NFILES ] && [ "$(grep -c "serving 1 inboxes" "$LOG")" -gt "$served" ]; do
    [ $SECONDS -lt $final_deadline ] || { tail -n 40 "$LOG" >&2; fail "only $(archived) of $NFILES files archived in time"; }
    kill -0 $PID 2>/dev/null || { tail -n 40 "$LOG" >&2; fail "actiondropd exited by itself"; }
    sleep 0.05
done
kill -TERM $PID
code=0; wait $PID || code=$?
PID=
[ "$code" = 0 ] || { tail -n 40 "$LOG" >&2; fail "exit $code on SIGTERM"; }
# Where the kills landed, as the restarts saw it.
echo "after the kills: $(grep -c 'redelivered' "$LOG" || true) batches answered again from the store," \
     "$(grep -c 'left behind by a process' "$LOG" || true) leftovers removed," \
     "$(grep -c 'status=COMPLETE' "$LOG" || true) files taken to their end"
grep -q "QUARANTINE" "$LOG" && { grep "QUARANTINE" "$LOG" >&2; fail "a file was quarantined"; }

# Answers: one result, errors, receipt and COMPLETE summary per file; no temporary file.
for name in "${NAMES[@]}"; do
    rows=$(($(wc -l < "$FILES/$name") - 1))
    for f in "receipt_$name.txt" "result_$name" "errors_$name" "${name}_summary.json"; do
        [ -f "$OUT/$f" ] || fail "no $f"
    done
    [ "$(json_field "$OUT/${name}_summary.json" status)" = COMPLETE ] || fail "$name: not COMPLETE"
    [ "$(json_field "$OUT/${name}_summary.json" applied)" = "$rows" ] || fail "$name: not $rows rows applied"
    [ "$(($(wc -l < "$OUT/result_$name") - 1))" = "$rows" ] || fail "result_$name: not one line per row"
done
[ "$(ls "$OUT" | grep -c '^result_')" = $NFILES ] || fail "not exactly one result_ file per file: $(ls "$OUT")"
leftover=$(ls -A "$OUT" | grep -E '^\..*\.tmp$' || true)
[ -z "$leftover" ] || fail "temporary files left in the outbox: $leftover"
[ -z "$(ls -A "$IN")" ] || fail "files left in the inbox: $(ls -A "$IN")"
[ -z "$(ls -A "$STATE/claims/conv")" ] || fail "claims left: $(ls -A "$STATE/claims/conv")"
[ -z "$(ls -A "$STATE/spool" 2>/dev/null)" ] || fail "spool not empty: $(ls -A "$STATE/spool")"

# Originals: each archived exactly once, unchanged.
find "$STATE/archive" -type f > "$WORK/archived.txt"
[ "$(wc -l < "$WORK/archived.txt")" = $NFILES ] || fail "expected $NFILES archived originals: $(cat "$WORK/archived.txt")"
for name in "${NAMES[@]}"; do
    matches=$(grep -c "/[^/]*_$name\$" "$WORK/archived.txt" || true)
    [ "$matches" = 1 ] || fail "$name archived $matches times"
    cmp -s "$(grep "/[^/]*_$name\$" "$WORK/archived.txt")" "$FILES/$name" || fail "archived $name differs"
done
[ ! -e "$STATE/failed" ] || [ -z "$(find "$STATE/failed" -type f)" ] || fail "originals in failed/: $(find "$STATE/failed" -type f)"

# Journal: exactly one batch per file content, COMPLETE, answered and archived.
expect_exit 0 ad batches list --json
python3 - "$WORK/last.out" "$FILES" <<'PY' || fail "journal"
import hashlib, json, os, sys
batches = json.load(open(sys.argv[1]))
folder = sys.argv[2]
want = {hashlib.sha256(open(os.path.join(folder, n), "rb").read()).hexdigest(): n
        for n in os.listdir(folder)}
by_sha = {}
for b in batches:
    by_sha.setdefault(b["sha256"], []).append(b)
assert set(by_sha) == set(want), f"journal contents differ: {len(by_sha)} != {len(want)}"
for sha, name in want.items():
    bs = by_sha[sha]
    assert len(bs) == 1, f"{name}: {len(bs)} batches {[(b['batch_id'], b['status']) for b in bs]}"
    b = bs[0]
    assert b["status"] == "COMPLETE" and b["file"] == name, b
    assert b["state"] == "archived", b
    assert 1 <= b["attempts"] <= 3, b
PY

# Ledger: exactly the union of every file's rows, once each.
cat "$FILES"/*.csv | grep -v '^ActionId,' | cut -d, -f1 | sort > "$WORK/want_ids.txt"
expect_exit 0 ad report actions --account 1000 --json
python3 - "$WORK/last.out" "$WORK/want_ids.txt" <<'PY' || fail "ledger"
import json, sys
ids = json.load(open(sys.argv[1]), object_hook=lambda o: o.get("action_id", o))
want = open(sys.argv[2]).read().split()
assert len(ids) == len(want), f"{len(ids)} actions, expected {len(want)}"
assert sorted(ids) == sorted(want), "the action ids differ from the files' rows"
print(f"ledger: {len(ids)} actions, each once")
PY
# A sample: each action has one history entry, its CREATE.
for id in $(shuf -n 25 --random-source=<(yes "$SEED") "$WORK/want_ids.txt"); do
    expect_exit 0 ad action history --account 1000 "$id" --json
    python3 - "$WORK/last.out" <<'PY' || fail "history of $id: $(cat "$WORK/last.out")"
import json, sys
h = json.load(open(sys.argv[1]))
assert [e["operation"] for e in h] == ["CREATE"], h
PY
done
echo "daemon crash safety: ok"
