#!/usr/bin/env bash
# A lifecycle run on PostgreSQL changes most of an account's actions in one transaction, so
# the planner's statistics about their status are wrong for the run's own later statements
# (they say no action is APPROVED while 100,000 are). The run's statements must not depend on
# them: with a plan that trusted them (a nested loop over every approved action for each
# decision), the clear of 100,000 actions took hours. Here the statistics are made stale on
# purpose (ANALYZE while every action is PENDING), and the planner may only join by nested
# loops: the join it chose on a ledger of 1,000,000 actions, which a test cannot build in a
# few seconds (on 100,000 it happens to choose a hash join, which hides the fault). Each
# statement of the run has 20 s, about twenty times what it needs. The run locks, clears up
# to the deposit, leaves the rest overdue and issues invoices, and the money reconciles.
source "$(dirname "$0")/../lib.sh"
[ -n "$PG_SCHEMA" ] || fail "a PostgreSQL test: run it through CTest's PostgreSQL runs"
N=100000
q() { psql -X -qAt "$PG_DATABASE" -c "SET search_path = $PG_SCHEMA; $1" | tail -1; }
setup_ledger
python3 - "$WORK/conv.csv" "$N" <<'PY'
import datetime, random, sys
path, n = sys.argv[1], int(sys.argv[2])
ids = list(range(n))
random.Random(7).shuffle(ids)
now = datetime.datetime.now(datetime.timezone.utc)
with open(path, "w", newline="") as f:
    f.write("ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n")
    for i in ids:
        event = (now - datetime.timedelta(days=2, seconds=i % 86400)).strftime("%Y-%m-%dT%H:%M:%SZ")
        f.write(f"A{i:06d},19816,P-77,O{i},{event},{10 + i % 990}.{i % 100:02d}\r\n")
PY
mkdir -p "$WORK/out"
expect_exit 0 ad apply --account 1000 --type conversions --outbox "$WORK/out" "$WORK/conv.csv"
pg "ANALYZE $PG_SCHEMA.actions" > /dev/null
# The deposit covers the first 90% of the queue (clearing date, then id).
COVER=$(q "SELECT sum(payout) FROM (SELECT payout FROM actions ORDER BY clearing_date, action_id LIMIT $((N * 9 / 10))) q")
expect_exit 0 ad funds deposit --account 1000 "$((COVER / 100)).$(printf %02d $((COVER % 100)))" --reference stale
T=$(date -u -d "400 days" +%Y-%m-%dT%H:%M:%SZ)
STORE="$STORE%20-cstatement_timeout%3D20000%20-cenable_hashjoin%3Doff%20-cenable_mergejoin%3Doff"
expect_exit 0 ad lifecycle run --now "$T" --account 1000
head -1 "$WORK/last.out"
[ "$(q "SELECT count(*) FROM actions WHERE status = 'APPROVED'")" = "$N" ] || fail "not every action locked"
CLEARED=$(q "SELECT count(*) FROM actions WHERE finance_status IN ('CLEARED', 'INVOICED')")
OVERDUE=$(q "SELECT count(*) FROM actions WHERE finance_status = 'OVERDUE'")
[ "$CLEARED" = $((N * 9 / 10)) ] && [ "$OVERDUE" = $((N / 10)) ] ||
    fail "cleared $CLEARED and overdue $OVERDUE, expected $((N * 9 / 10)) and $((N / 10))"
[ "$(q "SELECT count(*) FROM actions WHERE finance_status = 'INVOICED'")" = "$CLEARED" ] ||
    fail "not every cleared action is on an invoice"
[ "$(q "SELECT (SELECT sum(amount) FROM funds_entries WHERE kind = 'DEPOSIT') - (SELECT sum(amount) FROM funds_entries WHERE kind = 'CLEARING')")" = 0 ] ||
    fail "the debits are not the deposit"
[ "$(q "SELECT sum(payout) FROM actions WHERE finance_status = 'INVOICED'")" = "$COVER" ] ||
    fail "the cleared payouts are not the deposit"
[ "$(q "SELECT count(*) FROM invoices i WHERE total <> (SELECT sum(payout) FROM invoice_lines l WHERE l.invoice_id = i.invoice_id)")" = 0 ] ||
    fail "an invoice's total is not the sum of its lines"
[ "$(q "SELECT count(*) FROM history WHERE operation IN ('LOCK', 'CLEAR', 'OVERDUE', 'INVOICE')")" = $((N + CLEARED + OVERDUE + CLEARED)) ] ||
    fail "not one history entry per step of each action"
# The run's entries in the order decided: the LOCK entries by action (seq), then the CLEAR
# entries, then the OVERDUE ones, each in the queue's order (clearing date, then id); the
# clearing debits in the queue's order too.
[ "$(q "SELECT count(*) FROM (SELECT operation, action_seq, lag(action_seq) OVER (ORDER BY entry_id) AS prev FROM history WHERE operation = 'LOCK') h WHERE prev >= action_seq")" = 0 ] ||
    fail "the LOCK entries are not in the actions' order"
[ "$(q "SELECT count(*) FROM (SELECT h.operation, lag(h.operation) OVER w AS prev_op, a.clearing_date, a.action_id, lag(a.clearing_date) OVER w AS prev_date, lag(a.action_id) OVER w AS prev_id FROM history h JOIN actions a ON a.seq = h.action_seq WHERE h.operation IN ('CLEAR', 'OVERDUE') WINDOW w AS (ORDER BY h.entry_id)) x WHERE (prev_date, prev_id) >= (clearing_date, action_id) OR (prev_op = 'OVERDUE' AND operation = 'CLEAR')")" = 0 ] ||
    fail "the CLEAR and OVERDUE entries are not in the queue's order"
[ "$(q "SELECT (SELECT max(entry_id) FROM history WHERE operation = 'LOCK') < (SELECT min(entry_id) FROM history WHERE operation = 'CLEAR')")" = t ] ||
    fail "a CLEAR entry comes before a LOCK entry"
[ "$(q "SELECT count(*) FROM (SELECT a.clearing_date, a.action_id, lag(a.clearing_date) OVER w AS prev_date, lag(a.action_id) OVER w AS prev_id FROM funds_entries f JOIN actions a ON a.seq = f.item WHERE f.kind = 'CLEARING' WINDOW w AS (ORDER BY f.id)) x WHERE (prev_date, prev_id) >= (clearing_date, action_id)")" = 0 ] ||
    fail "the clearing debits are not in the queue's order"
echo ok
