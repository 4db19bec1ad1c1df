#!/usr/bin/env bash
# The store behind PgBouncer in transaction mode (docs/postgres.md, "Poolers"), Debian's
# PgBouncer (1.18, which does not keep prepared statements across server connections), with
# two server connections for many clients: every transaction may run on another server
# connection than the one before. A daemon applies files from two inboxes while the CLI
# applies others, deposits and runs the life cycle; everything is applied once and the
# figures add up, as on a direct connection.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../sshd_lib.sh"
command -v pgbouncer > /dev/null || fail "pgbouncer is not installed (deploy/install-deps.sh --test installs it)"
DIRECT=$(cat "$ACTIONDROP_TEST_PG_URL_FILE")
# postgresql://postgres@127.0.0.1:PORT/actiondrop_test
PG_PORT=$(sed -E 's|.*:([0-9]+)/.*|\1|' <<< "$DIRECT")
DB="actiondrop_pool_$$"
BOUNCER=$(mktemp -d "${TMPDIR:-/tmp}/actiondrop-pgbouncer.XXXXXX")
chown postgres "$BOUNCER"
BPORT=$(free_port)
trap 'kill_tree "${DAEMON_PID:-0}"; [ -f "$BOUNCER/pid" ] && kill "$(cat "$BOUNCER/pid")"; sleep 0.3;
      psql -X -q "$DIRECT" -c "DROP DATABASE IF EXISTS $DB" > /dev/null 2>&1; rm -rf "$BOUNCER"; sftp_cleanup' EXIT
psql -X -q "$DIRECT" -c "CREATE DATABASE $DB" > /dev/null || fail "cannot create $DB"
cat > "$BOUNCER/pgbouncer.ini" <<EOF
[databases]
$DB = host=127.0.0.1 port=$PG_PORT dbname=$DB user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BPORT
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 2
max_client_conn = 100
logfile = $BOUNCER/pgbouncer.log
pidfile = $BOUNCER/pid
EOF
chown postgres "$BOUNCER/pgbouncer.ini"
runuser -u postgres -- pgbouncer -d "$BOUNCER/pgbouncer.ini" || fail "pgbouncer did not start"
STORE="postgresql://postgres@127.0.0.1:$BPORT/$DB"
wait_for 10 sh -c 'psql -X -q "$1" -c "SELECT 1" > /dev/null 2>&1' _ "$STORE"

setup_ledger
# Files: conversions, then modifications of them, some from the CLI and some from the daemon
# at the same time.
FILES=8
mkdir -p "$WORK/in-a" "$WORK/in-b" "$WORK/out-a" "$WORK/out-b" "$WORK/cli"
for i in $(seq 1 $FILES); do
    { conv_header; for k in 1 2 3 4 5; do conv_row "A-$i-$k"; done; } > "$WORK/cli/conv-a-$i.csv"
    { conv_header; for k in 1 2 3 4 5; do conv_row "B-$i-$k" 20.00; done; } > "$WORK/in-b/.conv-b-$i.csv"
done
STATE="$WORK/state-d"
{
    config_head "sweep_interval: 200ms"
    printf '  - {name: a, account: "1000", type: conversions, kind: local, path: %s, outbox: %s, settle: 100ms}\n' "$WORK/in-a" "$WORK/out-a"
    printf '  - {name: b, account: "1000", type: conversions, kind: local, path: %s, outbox: %s, settle: 100ms}\n' "$WORK/in-b" "$WORK/out-b"
} > "$WORK/d.yaml"
"$ACTIONDROPD" --config "$WORK/d.yaml" 2> "$WORK/daemon.log" &
DAEMON_PID=$!
wait_for 30 grep -qs "serving 2 inboxes" "$WORK/daemon.log"
for i in $(seq 1 $FILES); do mv "$WORK/in-b/.conv-b-$i.csv" "$WORK/in-b/conv-b-$i.csv"; done
pids=()
for i in $(seq 1 $FILES); do
    ad apply --account 1000 --type conversions "$WORK/cli/conv-a-$i.csv" > "$WORK/cli/a-$i.out" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || { cat "$WORK"/cli/*.out >&2; fail "a CLI apply through the pooler failed"; }; done
expect_exit 0 ad funds deposit --account 1000 1000.00 --reference pool-1
wait_for 60 sh -c '[ "$(ls "$1" | grep -c _summary.json)" -ge "$2" ]' _ "$WORK/out-b" "$FILES"
for f in "$WORK"/out-b/*_summary.json; do
    [ "$(json_field "$f" status)" = COMPLETE ] && [ "$(json_field "$f" applied)" = 5 ] || fail "$f: $(cat "$f")"
done
expect_exit 0 ad lifecycle run --account 1000 --now "$(date -u -d '+800 days' +%Y-%m-%dT%H:%M:%SZ)"

expect_exit 0 ad report actions --account 1000 --json; cp "$WORK/last.out" "$WORK/actions.json"
expect_exit 0 ad report funds --account 1000 --json; cp "$WORK/last.out" "$WORK/funds.json"
expect_exit 0 ad report invoices --account 1000 --json; cp "$WORK/last.out" "$WORK/invoices.json"
expect_exit 0 ad funds balance --account 1000 --json; cp "$WORK/last.out" "$WORK/balance.json"
python3 - "$WORK" "$FILES" <<'PY' || fail "the ledger through the pooler"
import json, sys
from decimal import Decimal as D
w, n = sys.argv[1], int(sys.argv[2])
load = lambda name: json.load(open(f"{w}/{name}.json"))
actions, funds, invoices, balance = load("actions"), load("funds"), load("invoices"), load("balance")
want = {f"{s}-{i}-{k}" for s in "AB" for i in range(1, n + 1) for k in range(1, 6)}
assert {a["action_id"] for a in actions} == want and len(actions) == len(want), len(actions)
deposits = sum(D(e["amount"]) for e in funds if e["kind"] == "DEPOSIT")
debits = sum(D(e["amount"]) for e in funds if e["kind"] != "DEPOSIT")  # signed: negative
assert deposits == D("1000.00") and deposits + debits == D(balance["balance"]), (deposits, debits, balance)
assert sum(D(e["amount"]) for e in funds) == D(balance["balance"]), funds
cleared = {a["action_id"]: D(a["payout"]) for a in actions if a["cleared_at"] is not None}
assert cleared, "nothing cleared"
assert cleared == {e["reference"]: -D(e["amount"]) for e in funds if e["kind"] == "CLEARING"}
assert invoices and all(D(i["total"]) == sum(D(l["payout"]) for l in i["lines"]) for i in invoices)
PY
expect_exit 0 ad batches list --json
python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); assert len(b) == 2 * int(sys.argv[2]) and all(x["status"] == "COMPLETE" for x in b), b' \
    "$WORK/last.out" "$FILES" || fail "the journal"
grep -q "prepared statement" "$WORK/daemon.log" && fail "the daemon met a missing prepared statement"
echo "ok: $((2 * FILES)) files and a lifecycle run through PgBouncer $(pgbouncer --version | head -1 | cut -d' ' -f2) in transaction mode, 2 server connections"
