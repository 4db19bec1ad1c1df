#!/usr/bin/env bash
# An invoice's files reach the outboxes once, whichever of the services sharing the store
# runs the life cycle (docs/lifecycle.md, "Invoices in the outboxes"): the store records that
# they were written, so a service with a state folder of its own (another instance on
# PostgreSQL, or one whose state folder was made again) does not write them again after the
# partner took them away. A record in a state folder older than the store's (an upgrade) is
# carried into the store by its next run, unless it is of another invoice of that id.
source "$(dirname "$0")/lib.sh"
setup_ledger
mkdir -p "$WORK/in" "$WORK/out"
cat > "$WORK/actiondrop.yaml" <<YAML
store: $STORE
state_dir: $WORK/state
inboxes:
  - {name: conv, account: "1000", type: conversions, kind: local, path: $WORK/in,
     outbox: $WORK/out, send_invoices: true}
YAML
D=$(days_ago 3)
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nE-1,19816,P-77,O-1,%s,100.00\r\n' \
    "$D" > "$WORK/conv.csv"
expect_exit 0 ad apply --account 1000 --type conversions --outbox "$WORK/answers" "$WORK/conv.csv"
expect_exit 0 ad funds deposit --account 1000 1000.00 --reference opening
# Far enough ahead that E-1 locks, clears and is invoiced.
T=$(date -u -d "150 days" +%Y-%m-%dT%H:%M:%SZ)
# instance STATE_DIR args...: the CLI as the service with that state folder runs it.
instance() { "$ACTIONDROP" --config "$WORK/actiondrop.yaml" --store "$STORE" --state-dir "$1" "${@:2}"; }
# sql STATEMENT: run on the store, SQLite or this test's PostgreSQL schema.
sql() {
    if [ -n "$PG_SCHEMA" ]; then
        pg "SET search_path TO $PG_SCHEMA; $1"
    else
        python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()' \
            "$WORK/ledger.db" "$1"
    fi
}
invoice_files_in() { find "$1" -maxdepth 1 -name 'invoice_*' | wc -l; }

expect_exit 0 instance "$WORK/state" lifecycle run --now "$T"
grep -q '^account 1000 at .*invoices 1,' "$WORK/last.out" || fail "no invoice issued: $(cat "$WORK/last.out")"
[ "$(invoice_files_in "$WORK/out")" = 2 ] || { ls -la "$WORK/out"; fail "the invoice's two files are not in the outbox"; }
rm "$WORK/out"/invoice_*  # the partner took them

# 1. Another service, a state folder of its own: nothing written again.
expect_exit 0 instance "$WORK/state2" lifecycle run --now "$T"
[ "$(invoice_files_in "$WORK/out")" = 0 ] || fail "another service wrote the invoice's files again"

# 2. A record made before the store kept one (an upgrade): the next run of the service
# that wrote it carries it into the store; the other service then leaves it alone.
sql "DELETE FROM invoice_files"
expect_exit 0 instance "$WORK/state" lifecycle run --now "$T"
[ "$(invoice_files_in "$WORK/out")" = 0 ] || fail "the service that wrote them wrote them again"
expect_exit 0 instance "$WORK/state3" lifecycle run --now "$T"
[ "$(invoice_files_in "$WORK/out")" = 0 ] || fail "the record was not carried into the store"

# 3. An invoice no service recorded (a process stopped after the run's commit, before the
# files) is still written, once.
sql "DELETE FROM invoice_files"
expect_exit 0 instance "$WORK/state4" lifecycle run --now "$T"
[ "$(invoice_files_in "$WORK/out")" = 2 ] || fail "an invoice without a record was not written"
rm "$WORK/out"/invoice_*
expect_exit 0 instance "$WORK/state5" lifecycle run --now "$T"
[ "$(invoice_files_in "$WORK/out")" = 0 ] || fail "an invoice was written twice"

# 4. A ledger restored from a backup older than the invoice issues its id again, maybe with
# other lines: a record of that id with other content is said, and nothing is sent or
# recorded until it is moved aside.
REC="$WORK/state4/invoices/1000"
python3 - "$REC"/invoice_*.json <<'PY'
import json, sys
path = sys.argv[1]
inv = json.load(open(path))
inv["total"] = "999.99"
inv["lines"][0]["id"] = "OTHER-1"
open(path, "w").write(json.dumps(inv, indent=2) + "\n")
PY
sql "DELETE FROM invoice_files"
expect_exit 74 instance "$WORK/state4" lifecycle run --now "$T"
grep -q "holds another invoice of that id" "$WORK/last.err" || fail "the other invoice was not said: $(cat "$WORK/last.err")"
[ "$(invoice_files_in "$WORK/out")" = 0 ] || fail "the restored ledger's invoice was sent beside another of its id"
mkdir "$WORK/aside" && mv "$REC"/invoice_* "$WORK/aside/"
expect_exit 0 instance "$WORK/state4" lifecycle run --now "$T"
[ "$(invoice_files_in "$WORK/out")" = 2 ] || fail "the invoice was not sent once the old one was moved aside"
echo "ok"
