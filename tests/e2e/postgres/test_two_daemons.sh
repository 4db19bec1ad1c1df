#!/usr/bin/env bash
# Two actiondropd on one PostgreSQL store (docs/postgres.md, "Instances"), sharing a local
# inbox and an SFTP pull inbox, each with a state folder of its own: 200 files (100 dropped,
# 100 left on the server), and one of the two SIGKILLed at random moments 10 times and started
# again. Every file is applied exactly once, with one answer, by one of the two, and nothing is
# lost: 600 actions, 600 history entries, 200 batches in the journal, all COMPLETE. Halfway,
# the PostgreSQL server is restarted too; the store is a cluster of this test's own for that.
# With TWO_DAEMONS_DROP (test_two_daemons_across_mounts.sh) the local inbox is in that folder,
# on another file system than the state folders, as a folder shared by two hosts is: claims
# are then copies, each behind a rename to a hidden name in the inbox.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../sshd_lib.sh"
PG_SH="$SOURCE_DIR/tests/pg/pg_cluster.sh"
PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/actiondrop-pgtwo.XXXXXX")
bash "$PG_SH" start "$PGDIR" > /dev/null
STORE=$(cat "$PGDIR/url")
PG_BIN=$(bash "$PG_SH" bin)
setup_ledger
sshd_up s1
DROP=${TWO_DAEMONS_DROP:-$WORK/drop}
mkdir -p "$R/in" "$R/out" "$DROP/in" "$DROP/out"
chmod -R 0755 "$R"
FILES=100
KILLS=10
SEED=${TWO_DAEMONS_SEED:-$RANDOM}
echo "kill seed $SEED (TWO_DAEMONS_SEED repeats it)"
RANDOM=$SEED

# config NAME: the config of one service; only its state folder and metrics port are its own.
config() {
    STATE="$WORK/state-$1"
    METRICS_PORT=$(free_port)
    {
        config_head "sweep_interval: 200ms"
        printf '  - {name: drop, account: "1000", type: conversions, kind: local, path: %s, outbox: %s, pattern: "*.csv", settle: 200ms}\n' \
            "$DROP/in" "$DROP/out"
        sftp_inbox pull s1 "$R/in" "$R/out" 'pattern: "*.csv"' "poll_interval: 300ms" "settle: 300ms"
    } > "$WORK/$1.yaml"
}
config a
config b
declare -A PID=() RUNS=()
start() {
    RUNS[$1]=$((${RUNS[$1]:-0} + 1))
    "$ACTIONDROPD" --config "$WORK/$1.yaml" 2> "$WORK/daemon.$1-${RUNS[$1]}.log" &
    PID[$1]=$!
}
stop_all() {
    local name
    for name in a b; do [ -n "${PID[$name]:-}" ] && kill_tree "${PID[$name]}"; done
}
trap 'stop_all; bash "$PG_SH" stop "$PGDIR" > /dev/null 2>&1; [ -z "${TWO_DAEMONS_DROP:-}" ] || rm -rf "$TWO_DAEMONS_DROP"; sftp_cleanup' EXIT
start a
start b

# drop FIRST LAST: local and remote files FIRST..LAST, as advertisers leave them.
drop() {
    local i k
    for i in $(seq "$1" "$2"); do
        { conv_header; for k in 1 2 3; do conv_row "L-$i-$k"; done; } > "$DROP/.l$i.writing"
        mv "$DROP/.l$i.writing" "$DROP/in/local-$i.csv"
        { conv_header; for k in 1 2 3; do conv_row "R-$i-$k"; done; } | put_remote "$R/in/remote-$i.csv"
    done
}

# The files come in ten waves; after each, one service is killed at a random moment, and
# started again.
PER_WAVE=$((FILES / KILLS))
for k in $(seq 1 $KILLS); do
    drop $(((k - 1) * PER_WAVE + 1)) $((k * PER_WAVE))
    sleep "$((RANDOM % 15 + 3))e-1"
    kill_tree "${PID[a]}"
    wait "${PID[a]}" 2> /dev/null || true
    start a
    if [ "$k" = $((KILLS / 2)) ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m fast -w restart > /dev/null ||
            fail "the PostgreSQL server did not restart"
    fi
done

answered() { ls "$1" | grep -c '_summary\.json$' || true; }
deadline=$((SECONDS + 300))
until [ "$(answered "$DROP/out")" -ge $FILES ] && [ "$(answered "$R/out")" -ge $FILES ]; do
    [ $SECONDS -lt $deadline ] || { show_logs; fail "not every file answered: $(answered "$DROP/out") local, $(answered "$R/out") pulled"; }
    for name in a b; do kill -0 "${PID[$name]}" 2> /dev/null || { show_logs; fail "service $name exited"; }; done
    sleep 0.2
done

expect_exit 0 ad report actions --account 1000 --json
python3 - "$WORK/last.out" "$FILES" <<'PY' || fail "the actions"
import json, sys
ids = [a["action_id"] for a in json.load(open(sys.argv[1]))]
n = int(sys.argv[2])
want = {f"{s}-{i}-{k}" for s in "LR" for i in range(1, n + 1) for k in (1, 2, 3)}
assert len(ids) == len(set(ids)) == len(want) and set(ids) == want, (len(ids), len(set(ids)))
PY
expect_exit 0 ad report changes --account 1000 --json
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert len(c) == 6 * int(sys.argv[2]), len(c)' "$WORK/last.out" "$FILES" ||
    fail "the history holds other than one entry per action"
expect_exit 0 ad batches list --json
python3 - "$WORK/last.out" "$FILES" <<'PY' || fail "the journal"
import collections, json, sys
batches = json.load(open(sys.argv[1]))
names = collections.Counter((b["inbox"], b["file"]) for b in batches)
twice = [n for n, c in names.items() if c > 1]
assert not twice, f"files with more than one batch: {twice[:5]}"
assert len(batches) == 2 * int(sys.argv[2]), len(batches)
assert all(b["status"] == "COMPLETE" and b["applied"] == 3 for b in batches), \
    [b for b in batches if b["status"] != "COMPLETE" or b["applied"] != 3][:3]
PY
for folder in "$DROP/out" "$R/out"; do
    python3 - "$folder" <<'PY' || fail "the answers in $folder"
import json, os, sys
for f in os.listdir(sys.argv[1]):
    if f.endswith("_summary.json"):
        s = json.load(open(os.path.join(sys.argv[1], f)))
        assert s["status"] == "COMPLETE" and s["applied"] == 3, (f, s)
PY
done
# No claim across mounts was left half done in the inbox.
left=$(ls -A "$DROP/in")
[ -z "$left" ] || fail "left in the inbox: $left"
# Both services took files: the sharing was real.
for name in a b; do
    # grep reads the files itself: `cat | grep -q` fails under pipefail once grep stops early.
    grep -qs "status=COMPLETE" "$WORK"/daemon.$name-*.log || { show_logs; fail "service $name applied nothing"; }
done
echo "ok: $KILLS kills of service a, ${RUNS[a]} runs, one server restart;" \
    "$(cat "$WORK"/daemon.*.log | grep -c 'failed: PostgreSQL\|store unavailable' || true) store failures met and retried"
