#!/usr/bin/env python3
"""Benchmark: apply a 1,000,000-row modification file to a 1,000,000-action ledger.

Prints rows/s, wall time and peak RSS of `actiondrop apply`, and in the same run two
references on copies of the same database with the same SQLite settings: 1,000,000
prepared UPDATEs by primary key in file order in one transaction, and the same sorted
by key (the practical limit). Run through `cmake --build build --target bench_apply`.
"""
import argparse
import datetime
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def measured_run(cmd, stdout=None):
    """Runs a command; returns its wall time, its own peak RSS (not the maximum over all
    children) and its CPU seconds (user + system), which a machine busy with other work
    distorts less than the wall time."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        out = os.open(stdout or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.execvp(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        sys.exit(f"{' '.join(cmd)} exited {code}")
    return wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def peak_rss_run(cmd):
    wall, rss, _ = measured_run(cmd)
    return wall, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--actiondrop", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--runs", type=int, default=1,
                    help="apply and both references this many times, alternating, and print the medians: "
                         "one run on a shared machine is noise")
    ap.add_argument("--reuse", metavar="WORK",
                    help="a folder kept by an earlier --keep run of the same --rows: skips building the ledger")
    args = ap.parse_args()
    rng = random.Random(20261124)
    work = args.reuse or tempfile.mkdtemp(prefix="actiondrop-bench.")
    db = os.path.join(work, "ledger.db")
    pristine = os.path.join(work, "ledger-base.db")
    base = [args.actiondrop, "--store", f"sqlite:{db}", "--state-dir", os.path.join(work, "state")]
    n = args.rows
    event = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    conv = os.path.join(work, "conversions.csv")
    mods = os.path.join(work, "modifications.csv")
    out = os.path.join(work, "out")

    def start_from(ledger):
        """The ledger copied from `ledger`, no WAL, no state, an empty outbox."""
        shutil.copyfile(ledger, db)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)

    if args.reuse:
        start_from(pristine)
    else:
        with open(conv, "w", newline="") as f:
            f.write("ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount,Sku1,Quantity1,Amount1,Category1,Sku2,Quantity2,Amount2,Category2\r\n")
            for i in range(n):
                if i % 5 == 0:  # one action in five has items
                    f.write(f"A{i:07d},19816,P-77,O{i:07d},{event},,TV,1,{200 + i % 100}.00,electronics,BAG,2,60.00,outdoor\r\n")
                else:
                    f.write(f"A{i:07d},19816,P-77,O{i:07d},{event},{100 + i % 50}.00,,,,,,,,\r\n")
        order = list(range(n))
        rng.shuffle(order)
        kinds = {"order": 0, "item": 0, "reverse": 0, "bad": 0}
        with open(mods, "w", newline="") as f:
            f.write("ActionId,Amount,Reason,Sku1,Quantity1\r\n")
            for i in order:
                r = rng.random()
                if r < 0.05:
                    kinds["bad"] += 1
                    f.write(f"X{i:07d},10.00,ORDER_UPDATE,,\r\n" if r < 0.025 else f"A{i:07d},1e3,ORDER_UPDATE,,\r\n")
                elif r < 0.20:
                    kinds["reverse"] += 1
                    f.write(f"A{i:07d},,CONS_FRAUD,,\r\n")
                elif i % 5 == 0:
                    kinds["item"] += 1
                    f.write(f"A{i:07d},,ORDER_UPDATE,BAG,1\r\n")
                else:
                    kinds["order"] += 1
                    f.write(f"A{i:07d},{50 + i % 40}.25,ORDER_UPDATE,,\r\n")
        print(f"work folder {work}; {n} rows: {kinds}")

        subprocess.run(base + ["init"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(base + ["catalog", "load", args.catalog], check=True, stdout=subprocess.DEVNULL)
        os.makedirs(out)
        wall, rss = peak_rss_run(base + ["apply", "--account", "1000", "--type", "conversions", "--outbox", out, conv])
        print(f"build ledger: {n} conversions in {wall:.2f} s ({n / wall:,.0f} rows/s), peak RSS {rss:.1f} MiB")
        subprocess.run(["sqlite3", db, "PRAGMA wal_checkpoint(TRUNCATE);"], check=True, stdout=subprocess.DEVNULL)
        if args.keep:
            shutil.copyfile(db, pristine)
    pristine_now = os.path.join(work, "ledger-run.db")
    shutil.copyfile(db, pristine_now)
    ratios, sorted_ratios, peaks = [], [], []
    for run in range(args.runs):
        if run > 0:  # each run starts from the same ledger
            start_from(pristine_now)
        copies = {}
        for mode in ("file-order", "sorted"):
            copies[mode] = os.path.join(work, f"reference-{mode}.db")
            shutil.copyfile(pristine_now, copies[mode])
        if args.runs > 1:
            print(f"run {run + 1}:")
        wall, rss, cpu = measured_run(base + ["apply", "--account", "1000", "--outbox", out, mods])
        ours = n / wall
        peaks.append(rss)
        print(f"actiondrop apply: {n} rows in {wall:.2f} s = {ours:,.0f} rows/s, peak RSS {rss:.1f} MiB, "
              f"CPU {cpu:.2f} s")
        refs, ref_cpu = {}, {}
        for mode, copy in copies.items():
            answer = os.path.join(work, f"reference-{mode}.out")
            _, _, ref_cpu[mode] = measured_run([args.reference, copy, mods, "1000", mode], stdout=answer)
            with open(answer) as f:
                rows, seconds = f.read().split()
            refs[mode] = int(rows) / float(seconds)
            print(f"reference {mode:<10}: {rows} UPDATEs in {float(seconds):.2f} s = {refs[mode]:,.0f} rows/s, "
                  f"CPU {ref_cpu[mode]:.2f} s")
        ratios.append(ours / refs["file-order"])
        sorted_ratios.append(ours / refs["sorted"])
        print(f"ratio actiondrop / file-order reference: {ratios[-1]:.2f} "
              f"(CPU: {ref_cpu['file-order'] / cpu:.2f})")
        print(f"ratio actiondrop / sorted reference:     {sorted_ratios[-1]:.2f} "
              f"(CPU: {ref_cpu['sorted'] / cpu:.2f})")
    if args.runs > 1:
        print(f"median over {args.runs} runs: ratio to file-order {statistics.median(ratios):.2f} "
              f"(range {min(ratios):.2f}-{max(ratios):.2f}), to sorted {statistics.median(sorted_ratios):.2f}, "
              f"peak RSS at most {max(peaks):.1f} MiB")
    os.remove(pristine_now)
    print(f"goal: ratio to file-order >= 1.00 and peak RSS <= 128 MiB")
    if not args.keep and not args.reuse:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
