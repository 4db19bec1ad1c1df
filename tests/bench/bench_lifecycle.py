#!/usr/bin/env python3
"""Benchmark: one lifecycle run locking and clearing 1,000,000 due actions.

Builds a ledger of --rows pending actions of account 1000 through the product (`actiondrop
apply` of a conversions file, rows in shuffled id order so that the store's row order is not
the queue's), deposits the payouts of the first --cover share of the clear queue (the rest
stay overdue), and picks a run time T after every clearing date and before the next invoice
date. Then, in each of --runs runs, on fresh copies of that ledger, it measures:
  (a) `actiondrop lifecycle run --now T --account 1000`: wall time, rows/s (actions locked),
      peak RSS and CPU of the process; the ledger afterwards is checked (every action locked,
      the queue cleared up to the first uncovered payout, the balance the deposit less the
      debits);
  (b) the reference: one raw bulk `UPDATE actions SET status = ..., finance_status = ...` of
      the same rows in one transaction with the store's settings (reference_lifecycle);
and prints the ratio of (a)'s rate to (b)'s, and medians with their range over the runs.
--step lock measures a run that only locks (the figure of docs/lifecycle.md, "Scale").
--postgres URL runs the same on PostgreSQL (docs/postgres.md, "The life cycle"): the ledger is
copied with `actiondrop store copy` into a database of the server at URL (a superuser's URL,
e.g. the one `tests/pg/pg_cluster.sh start DIR` prints), and each run and each reference (the
same raw UPDATE, through psql) has a fresh copy of that database (CREATE DATABASE ... TEMPLATE).
Run through `cmake --build build --target bench_lifecycle`.
"""
import argparse
import contextlib
import datetime
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time


def measured_run(cmd, stdout=None):
    """Runs a command; returns its wall time, its own peak RSS in MiB and its CPU seconds."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        out = os.open(stdout or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.execvp(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} exited {code}")
    return wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def iso(millis):
    return datetime.datetime.fromtimestamp(millis / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--actiondrop", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cover", type=float, default=0.9,
                    help="share of the clear queue the deposit covers; the rest is left overdue")
    ap.add_argument("--id-order", choices=("shuffled", "sorted"), default="shuffled",
                    help="order of the conversions file, hence of the store's rows: shuffled ids (the queue "
                         "visits the rows in random order, the worst case) or ids in row order")
    ap.add_argument("--step", choices=("lock-and-clear", "lock"), default="lock-and-clear",
                    help="lock-and-clear: run after every clearing date (the default); lock: run after "
                         "the locking date and before the clearing date, so the run only locks")
    ap.add_argument("--runs", type=int, default=1, help="runs, each on fresh copies; medians and ranges printed")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (and its ledger, for --reuse)")
    ap.add_argument("--reuse", metavar="WORK", help="a folder kept by an earlier --keep run: skips building the ledger")
    ap.add_argument("--postgres", metavar="URL",
                    help="run on PostgreSQL: a superuser's URL of the server to make the databases on")
    args = ap.parse_args()
    work = args.reuse or tempfile.mkdtemp(prefix="actiondrop-bench-lifecycle.")
    db = os.path.join(work, "ledger.db")
    pristine = os.path.join(work, "ledger-due.db")
    reference_db = os.path.join(work, "reference.db")
    base = [args.actiondrop, "--store", f"sqlite:{db}", "--state-dir", os.path.join(work, "state")]

    def start_from(ledger, to):
        shutil.copyfile(ledger, to)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(to + suffix):
                os.remove(to + suffix)

    if not args.reuse:
        n = args.rows
        rng = random.Random(20261204)
        # Events of the last hour, all in the same local month: one locking date and one
        # clearing date for all (ties, so the queue goes by action id), both ahead of the clock.
        now = datetime.datetime.now(datetime.timezone.utc)
        ids = list(range(n))
        if args.id_order == "shuffled":
            rng.shuffle(ids)
        conv = os.path.join(work, "conversions.csv")
        with open(conv, "w", newline="") as f:
            f.write("ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n")
            for i in ids:
                event = (now - datetime.timedelta(seconds=3600 - i % 3000)).strftime("%Y-%m-%dT%H:%M:%SZ")
                f.write(f"A{i:07d},19816,P-77,O{i},{event},{10 + i % 990}.{i % 100:02d}\r\n")
        subprocess.run(base + ["init"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(base + ["catalog", "load", args.catalog], check=True, stdout=subprocess.DEVNULL)
        out = os.path.join(work, "out")
        os.makedirs(out, exist_ok=True)
        wall, rss, _ = measured_run(base + ["apply", "--account", "1000", "--type", "conversions", "--outbox", out, conv])
        print(f"build ledger: {n} conversions in {wall:.2f} s, peak RSS {rss:.1f} MiB")
        os.remove(conv)
        shutil.rmtree(out)
        with contextlib.closing(sqlite3.connect(db)) as c:
            payouts = [p for (p,) in c.execute(
                "SELECT payout FROM actions WHERE account_id = '1000' ORDER BY clearing_date, action_id")]
        covered = sum(payouts[: int(len(payouts) * args.cover)])
        if covered > 0:
            subprocess.run(base + ["funds", "deposit", "--account", "1000", f"{covered // 100}.{covered % 100:02d}",
                                   "--reference", "bench"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["sqlite3", db, "PRAGMA wal_checkpoint(TRUNCATE);"], check=True, stdout=subprocess.DEVNULL)
        shutil.copyfile(db, pristine)

    with contextlib.closing(sqlite3.connect(pristine)) as c:
        n, last_clearing, first_locking, first_clearing = c.execute(
            "SELECT count(*), max(clearing_date), min(locking_date), min(clearing_date) FROM actions "
            "WHERE account_id = '1000' AND status = 'PENDING'").fetchone()
        balance = c.execute("SELECT coalesce(sum(amount), 0) FROM funds_entries WHERE account_id = '1000'").fetchone()[0]
        payouts = [p for (p,) in c.execute(
            "SELECT payout FROM actions WHERE account_id = '1000' ORDER BY clearing_date, action_id")]
    # A day after the last clearing date: every action locks and is due; the next invoice date
    # (day 1 of the next month) is weeks away, so the run issues no invoice.
    lock_only = args.step == "lock"
    t_millis = first_locking + 86_400_000 if lock_only else last_clearing + 86_400_000
    if lock_only and t_millis >= first_clearing:
        sys.exit("the clearing date is within a day of the locking date: no run only locks")
    t = iso(t_millis)
    expected_cleared, left = 0, balance
    for p in payouts:
        if lock_only or p > left:
            break
        left -= p
        expected_cleared += 1
    print(f"work folder {work}: {n} pending actions, balance {balance / 100:.2f}, run at {t}; "
          + ("they lock, none is due yet" if lock_only else
             f"{expected_cleared} clear, {n - expected_cleared} stay overdue"))

    counts_sql = ("SELECT status || ' ' || finance_status, count(*) FROM actions WHERE account_id = '1000' "
                  "GROUP BY 1")
    balance_sql = ("SELECT coalesce(sum(CASE kind WHEN 'DEPOSIT' THEN amount ELSE -amount END), 0) "
                   "FROM funds_entries WHERE account_id = '1000'")
    entries_sql = "SELECT count(*) FROM history WHERE operation IN ('LOCK', 'CLEAR', 'OVERDUE')"
    if args.postgres:
        server = args.postgres.rsplit("/", 1)[0]
        pristine_pg, run_pg = "bench_lifecycle_pristine", "bench_lifecycle_run"

        def psql(database, sql, stdout=None):
            return subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", f"{server}/{database}", "-c", sql],
                                  check=True, stdout=stdout or subprocess.PIPE, text=True,
                                  env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}).stdout

        def fresh(database, template=None):
            psql("postgres", f"DROP DATABASE IF EXISTS {database}")
            psql("postgres", f"CREATE DATABASE {database}" + (f" TEMPLATE {template}" if template else ""))

        fresh(pristine_pg)
        wall, _, _ = measured_run([args.actiondrop, "--store", f"sqlite:{pristine}", "store", "copy", "--to",
                                   f"{server}/{pristine_pg}"])
        print(f"copied the ledger into {server}/{pristine_pg} in {wall:.2f} s")
        base = [args.actiondrop, "--store", f"{server}/{run_pg}", "--state-dir", os.path.join(work, "state")]

    rates, refs, ratios, peaks, walls = [], [], [], [], []
    for run in range(args.runs):
        shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
        if args.postgres:
            fresh(run_pg, pristine_pg)
        else:
            start_from(pristine, db)
            start_from(pristine, reference_db)
        wall, rss, cpu = measured_run(base + ["lifecycle", "run", "--now", t, "--account", "1000"])
        if args.postgres:
            counts = {k: int(v) for k, v in (line.split("|") for line in psql(run_pg, counts_sql).splitlines())}
            after = int(psql(run_pg, balance_sql))
            entries = int(psql(run_pg, entries_sql))
        else:
            with contextlib.closing(sqlite3.connect(db)) as c:
                counts = dict(c.execute(counts_sql).fetchall())
                after = c.execute(balance_sql).fetchone()[0]
                entries = c.execute(entries_sql).fetchone()[0]
        want = ({"APPROVED DUE": n} if lock_only else
                {"APPROVED CLEARED": expected_cleared, "APPROVED OVERDUE": n - expected_cleared})
        want_entries = n if lock_only else 2 * n
        if {k: v for k, v in want.items() if v} != counts or after != left or entries != want_entries:
            sys.exit(f"the run left {counts}, balance {after}, {entries} history entries; expected {want}, "
                     f"balance {left}, {want_entries} entries")
        if args.postgres:
            # The same UPDATE as reference_lifecycle, on a fresh copy, timed with the client's
            # start; the server's own CPU is not the client's and is not counted.
            fresh(run_pg, pristine_pg)
            seconds, _, ref_cpu = measured_run(
                ["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", f"{server}/{run_pg}", "-c",
                 "WITH u AS (UPDATE actions SET status = 'APPROVED', finance_status = 'CLEARED' WHERE "
                 f"account_id = '1000' AND status = 'PENDING' AND locking_date <= {t_millis} RETURNING 1) "
                 "SELECT count(*) FROM u"], stdout=os.path.join(work, "reference.out"))
            with open(os.path.join(work, "reference.out")) as f:
                rows = f.read().strip()
            psql("postgres", f"DROP DATABASE {run_pg}")
        else:
            _, _, ref_cpu = measured_run([args.reference, reference_db, "1000", str(t_millis)],
                                         stdout=os.path.join(work, "reference.out"))
            with open(os.path.join(work, "reference.out")) as f:
                rows, seconds = f.read().split()
        if int(rows) != n:
            sys.exit(f"the reference updated {rows} rows, not {n}")
        rates.append(n / wall)
        refs.append(int(rows) / float(seconds))
        ratios.append(rates[-1] / refs[-1])
        peaks.append(rss)
        walls.append(wall)
        print(f"run {run + 1}: lifecycle run {n} locked, {expected_cleared} cleared in {wall:.2f} s = "
              f"{rates[-1]:,.0f} rows/s, peak RSS {rss:.1f} MiB, CPU {cpu:.2f} s; reference UPDATE {rows} rows in "
              f"{float(seconds):.2f} s = {refs[-1]:,.0f} rows/s, CPU {ref_cpu:.2f} s; ratio {ratios[-1]:.2f}")
    med = statistics.median
    print(f"median of {args.runs}: lifecycle run {med(walls):.2f} s ({min(walls):.2f}-{max(walls):.2f}) = "
          f"{med(rates):,.0f} rows/s; reference {med(refs):,.0f} rows/s ({min(refs):,.0f}-{max(refs):,.0f}); "
          f"ratio {med(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}); peak RSS {med(peaks):.1f} MiB "
          f"({min(peaks):.1f}-{max(peaks):.1f})")
    print("goal: ratio >= 0.50 and peak RSS <= 128 MiB")
    if args.postgres:
        psql("postgres", f"DROP DATABASE IF EXISTS {pristine_pg}")
    for f in (db, reference_db):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f + suffix):
                os.remove(f + suffix)
    if not args.keep and not args.reuse:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
