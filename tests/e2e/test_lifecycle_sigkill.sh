#!/usr/bin/env bash
# A lifecycle run killed at any moment (docs/lifecycle.md, "A run killed"): two accounts with
# 200,000 actions between them, due at the run's time, with funds for most of them but not
# all. A copy of the ledger is run once, uninterrupted: the reference. On the ledger itself,
# `lifecycle run --now T` is started 20 times and SIGKILLed at moments spread over the
# reference run's duration (early, late, after its commit), then run once more to the end.
# When the runs go faster than the reference and fewer than 8 kills land before a commit, the
# 20 are made again on a fresh copy of the ledger (3 rounds at most).
# Then nothing is taken twice, no invoice is issued twice, the balance is the sum of the
# entries and the deposits less the cleared payouts, and the ledger, the invoices, their files
# and the funds entries are the reference's. Every run has the same --now, so even cleared_at
# must agree. LIFECYCLE_KILL_SEED=<n> repeats the kill moments of an earlier run.
source "$(dirname "$0")/lib.sh"
SEED=${LIFECYCLE_KILL_SEED:-$(( $(date +%s) % 32768 ))}
echo "kill seed $SEED (LIFECYCLE_KILL_SEED=$SEED repeats it)"
DB="$WORK/ledger.db"
REF_DB="$WORK/reference.db"
adref() { "$ACTIONDROP" --store "sqlite:$REF_DB" --state-dir "$WORK/ref-state" "$@"; }
q() { sqlite3 -batch -noheader "$1" "$2"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
T0=$(now_ms)

# Actions lock the day after their event and clear at the start of the month after; the run's
# time T is 120 days ahead, past the clearing dates, the next monthly invoice dates (account
# 1000) and both period ends (account 2000).
read -r TODAY EVENT T P1 P2 < <(python3 -c '
import datetime as d
now = d.datetime.now(d.timezone.utc).replace(microsecond=0)
f = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
print(now.date(), f(now - d.timedelta(hours=20)), f(now + d.timedelta(days=120)),
      now.date() + d.timedelta(days=45), now.date() + d.timedelta(days=75))')
python3 - "$WORK" "$P1" "$P2" <<'PY'
import sys
work, p1, p2 = sys.argv[1:]
def account(id, name, currency, tz, calendar, percents):
    partners = "".join(f'      - {{id: "P-{i}", name: Partner {i}}}\n' for i in range(1, 5))
    contracts = "".join(f'''      - id: C-{i}
        partner: "P-{i}"
        versions:
          - effective_from: 2026-01-01T00:00:00Z
            payout: {{default: {{percent: "{p}"}}}}
            locking: {{after: event_day, days: 0}}
            clearing: {{months: 0, days: 0}}
''' for i, p in enumerate(percents, 1))
    return f'''  - id: "{id}"
    name: {name}
    currency: {currency}
    timezone: {tz}
    invoice_calendar: {calendar}
    trackers:
      - {{id: "T1", name: Online Sale}}
    partners:
{partners}    contracts:
{contracts}'''
with open(f"{work}/catalog.yaml", "w") as f:
    f.write("accounts:\n")
    f.write(account("1000", "Kill Outdoor", "USD", "America/New_York", "{monthly_on_day: 1}", [8, 10, 5, 12]))
    f.write(account("2000", "Kill Shop", "JPY", "Asia/Tokyo", f"{{period_ends: [{p1}, {p2}]}}", [5, 7, 3, 9]))
PY
expect_exit 0 ad init
expect_exit 0 ad catalog load "$WORK/catalog.yaml"

# 150,000 conversions for account 1000 and 50,000 for 2000, applied through the product.
python3 - "$WORK" "$EVENT" <<'PY'
import sys
work, event = sys.argv[1:]
for account, n, cents in (("1000", 150_000, True), ("2000", 50_000, False)):
    with open(f"{work}/conv-{account}.csv", "w", newline="") as f:
        f.write("ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n")
        for i in range(n):
            amount = f"{20 + i % 480}.{(i * 37) % 100:02d}" if cents else f"{1000 + (i * 7919) % 90000}"
            f.write(f"K{i:06d},T1,P-{1 + i % 4},O{i:06d},{event},{amount}\r\n")
PY
mkdir -p "$WORK/out"
for account in 1000 2000; do
    expect_exit 0 ad apply --account $account --type conversions --outbox "$WORK/out" "$WORK/conv-$account.csv"
done
[ "$(q "$DB" "SELECT count(*) FROM actions")" = 200000 ] || fail "the ledger does not hold 200,000 actions"
# Funds for about 90 % of each account's payouts, in two deposits.
money() { python3 -c 'import sys; n, d = map(int, sys.argv[1:]); print(f"{n // 10**d}.{n % 10**d:0{d}d}" if d else n)' "$@"; }
declare -A DIGITS=([1000]=2 [2000]=0)
for account in 1000 2000; do
    total=$(q "$DB" "SELECT sum(payout) FROM actions WHERE account_id = '$account'")
    [ "$total" -gt 0 ] || fail "account $account has no payouts"
    expect_exit 0 ad funds deposit --account $account "$(money $((total * 6 / 10)) "${DIGITS[$account]}")" --reference first
    expect_exit 0 ad funds deposit --account $account "$(money $((total * 3 / 10)) "${DIGITS[$account]}")" --reference second
done
q "$DB" "PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null
cp "$DB" "$REF_DB"
cp -a "$WORK/state" "$WORK/ref-state"
cp "$DB" "$WORK/pristine.db"
cp -a "$WORK/state" "$WORK/pristine-state"
echo "ledger built in $(( ($(now_ms) - T0) / 1000 )) s"

# The reference: one run, uninterrupted, timed; then 20 runs on the ledger itself, killed.
# The kill moments adapt to the durations measured, so that they land inside the runs
# whether a run takes 20 s on a busy machine or 0.5 s once lock and clear are set-based.
python3 - "$ACTIONDROP" "$WORK" "$T" "$SEED" <<'PY' || fail "the killed runs"
import os, random, shutil, sqlite3, subprocess, sys, time
actiondrop, work, T, seed = sys.argv[1:]
def command(db, state):
    return [actiondrop, "--store", f"sqlite:{work}/{db}", "--state-dir", f"{work}/{state}",
            "lifecycle", "run", "--now", T]
def committed(db):
    """How many accounts' runs are committed: both issue invoices, account 1000 first."""
    con = sqlite3.connect(f"{work}/{db}", timeout=10, isolation_level=None)
    try:
        return con.execute("SELECT count(DISTINCT account_id) FROM invoices").fetchone()[0]
    finally:
        con.close()

# The reference run, watched from a reader: when each account's transaction commits, and
# when the process ends (after writing the invoice files of the last one).
start = time.monotonic()
proc = subprocess.Popen(command("reference.db", "ref-state"), stdout=subprocess.DEVNULL)
commits = {}
while proc.poll() is None:
    n = committed("reference.db")
    for k in range(1, n + 1):
        commits.setdefault(k, time.monotonic() - start)
    time.sleep(0.01)
duration = time.monotonic() - start
if proc.returncode != 0 or committed("reference.db") != 2:
    sys.exit(f"the reference run exited {proc.returncode}")
c1 = commits.get(1, duration)
c2 = commits.get(2, duration)
print(f"reference run: {duration:.2f} s, account 1000 committed at {c1:.2f} s, 2000 at {c2:.2f} s")

# The expected time to the next commit in each state of the ledger (how many accounts are
# committed): the whole first account; the second, after a start that finds the first done;
# a run with nothing left but to check the invoice files. A run that ends before its kill
# teaches the true figure for its state.
expected = {0: c1, 1: (c2 - c1) + 0.2 * c1, 2: max(duration - c2, 0.2)}
plan = {0: 12, 1: 5, 2: 3}  # kills for each state, 20 in all; what one leaves goes on
rng = random.Random(int(seed))
outcomes = {"before": 0, "after": 0, "idle": 0, "finished": 0}
# Runs faster than the reference (it ran on a busier machine) commit before most of their
# kills land: then another round of 20, on a fresh copy of the ledger, with the commit
# times learned, until 8 kills have landed before a commit (3 rounds at most).
for round_ in range(3):
    if round_ > 0:
        if outcomes["before"] >= 8:
            break
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{work}/ledger.db{suffix}"):
                os.remove(f"{work}/ledger.db{suffix}")
        shutil.copyfile(f"{work}/pristine.db", f"{work}/ledger.db")
        shutil.rmtree(f"{work}/state")
        shutil.copytree(f"{work}/pristine-state", f"{work}/state", symlinks=True)
        print(f"round {round_}: a fresh copy of the ledger, expecting commits at "
              f"{expected[0]:.2f} s and {expected[1]:.2f} s")
    used = {0: 0, 1: 0, 2: 0}
    for i in range(20):
        state = committed("ledger.db")
        n, j = plan[state], used[state]
        used[state] += 1
        # Spread over 0 to 1.15 times the expected time: early (before the store is open),
        # in the middle of the transaction, and a few past the expected commit.
        delay = expected[state] * ((j % n) + rng.random()) / n * 1.15
        start = time.monotonic()
        proc = subprocess.Popen(command("ledger.db", "state"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            rc = proc.wait(timeout=delay)
            took = time.monotonic() - start
            if rc != 0:
                sys.exit(f"run {i} exited {rc}")
            expected[state] = took if state == 2 else expected[state]
            outcome = "finished"
            outcomes["finished"] += 1
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            after = committed("ledger.db")
            if state == 2:
                outcome, kind = "killed (nothing left to commit)", "idle"
            elif after == state:
                outcome, kind = "killed before its commit", "before"
            else:
                outcome, kind = f"killed after {after - state} commit(s)", "after"
                expected[state] = min(expected[state], delay)  # it commits sooner
            outcomes[kind] += 1
        print(f"run {i}: {state} account(s) committed, kill after {delay:.3f} s: {outcome}")
print(f"kills: {outcomes['before']} before a commit, {outcomes['after']} after one, "
      f"{outcomes['idle']} with nothing left to commit; {outcomes['finished']} runs ended first")
if outcomes["before"] < 8:
    sys.exit("fewer than 8 kills landed before the commit of a run's account: the test tests too little")
PY
expect_exit 0 ad lifecycle run --now "$T"

# Nothing taken twice, no invoice issued twice, no action or transfer on two invoices.
[ "$(q "$DB" "SELECT count(*) FROM (SELECT 1 FROM funds_entries WHERE kind = 'CLEARING' GROUP BY account_id, reference HAVING count(*) > 1)")" = 0 ] ||
    fail "an action was debited twice"
[ "$(q "$DB" "SELECT count(*) FROM (SELECT 1 FROM invoices GROUP BY account_id, partner_id, invoice_date HAVING count(*) > 1)")" = 0 ] ||
    fail "an invoice was issued twice"
[ "$(q "$DB" "SELECT count(*) FROM (SELECT 1 FROM invoice_lines GROUP BY kind, item HAVING count(*) > 1)")" = 0 ] ||
    fail "an item is on two invoices"
[ "$(q "$DB" "SELECT count(*) FROM invoices i WHERE total != (SELECT coalesce(sum(payout), 0) FROM invoice_lines l WHERE l.invoice_id = i.invoice_id) OR total != (SELECT coalesce(sum(payout), 0) FROM actions a WHERE a.invoice_id = i.invoice_id)")" = 0 ] ||
    fail "an invoice's total is not the sum of its lines and of its actions' payouts"
# The balance: what the CLI says, the sum of the entries, the deposits less the cleared payouts.
for account in 1000 2000; do
    expect_exit 0 ad funds balance --account $account --json
    cli=$(python3 -c 'import json,sys; from decimal import Decimal; print(int(Decimal(json.load(open(sys.argv[1]))["balance"]) * 10**int(sys.argv[2])))' "$WORK/last.out" "${DIGITS[$account]}")
    entries=$(q "$DB" "SELECT sum(CASE kind WHEN 'DEPOSIT' THEN amount ELSE -amount END) FROM funds_entries WHERE account_id = '$account'")
    expected=$(q "$DB" "SELECT (SELECT sum(amount) FROM funds_entries WHERE account_id = '$account' AND kind = 'DEPOSIT') - (SELECT sum(payout) FROM actions WHERE account_id = '$account' AND finance_status IN ('CLEARED', 'INVOICED'))")
    [ "$cli" = "$entries" ] && [ "$entries" = "$expected" ] && [ "$entries" -ge 0 ] ||
        fail "account $account: balance $cli, entries $entries, deposits less cleared payouts $expected"
    counts=$(q "$REF_DB" "SELECT sum(finance_status = 'INVOICED') > 0 AND sum(finance_status = 'OVERDUE') > 0 FROM actions WHERE account_id = '$account'")
    [ "$counts" = 1 ] || fail "account $account: the reference run left no invoiced or no overdue action"
done

# The ledger is the reference's: actions, history, funds entries, invoices and their lines.
same() {  # same NAME SQL
    q "$DB" "$2" > "$WORK/$1.test"
    q "$REF_DB" "$2" > "$WORK/$1.ref"
    cmp -s "$WORK/$1.test" "$WORK/$1.ref" || { diff "$WORK/$1.test" "$WORK/$1.ref" | head -20 >&2; fail "$1 differ from the reference's"; }
}
same actions "SELECT seq, account_id, action_id, status, finance_status, payout, cleared_at, invoice_id FROM actions ORDER BY seq"
same history "SELECT entry_id, action_seq, at, operation, reason, old_status, new_status, new_payout FROM history ORDER BY entry_id"
same funds_entries "SELECT id, account_id, kind, amount, at, reference, item FROM funds_entries ORDER BY id"
same invoices "SELECT invoice_id, account_id, partner_id, invoice_date, local_date, currency, total, issued_at FROM invoices ORDER BY invoice_id"
same invoice_lines "SELECT invoice_id, ord, kind, item, id, event_date, cleared_at, payout, comments FROM invoice_lines ORDER BY invoice_id, ord"
# And so is what the CLI prints of them, and the invoice files the runs wrote.
for args in "report invoices --json" "report funds --account 1000 --json" "report funds --account 2000 --json" \
    "funds balance --account 1000 --json" "funds balance --account 2000 --json"; do
    # shellcheck disable=SC2086
    expect_exit 0 ad $args; mv "$WORK/last.out" "$WORK/cli.test"
    # shellcheck disable=SC2086
    expect_exit 0 adref $args
    cmp -s "$WORK/cli.test" "$WORK/last.out" || fail "$args differs from the reference's"
done
diff -r "$WORK/state/invoices" "$WORK/ref-state/invoices" > /dev/null || fail "the invoice files differ from the reference's"
[ "$(find "$WORK/state/invoices" -name 'invoice_*.json' | wc -l)" = "$(q "$DB" "SELECT count(*) FROM invoices")" ] ||
    fail "not every invoice has its files"
echo "ok in $(( ($(now_ms) - T0) / 1000 )) s"
