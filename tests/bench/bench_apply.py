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
import subprocess
import sys
import tempfile
import time


def peak_rss_run(cmd):
    """Runs a command and measures its own peak RSS (not the maximum over all children)."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.execvp(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        sys.exit(f"{' '.join(cmd)} exited {code}")
    return wall, usage.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--actiondrop", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    rng = random.Random(20261124)
    work = tempfile.mkdtemp(prefix="actiondrop-bench.")
    db = os.path.join(work, "ledger.db")
    base = [args.actiondrop, "--store", f"sqlite:{db}", "--state-dir", os.path.join(work, "state")]
    n = args.rows
    event = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    conv = os.path.join(work, "conversions.csv")
    with open(conv, "w", newline="") as f:
        f.write("ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount,Sku1,Quantity1,Amount1,Category1,Sku2,Quantity2,Amount2,Category2\r\n")
        for i in range(n):
            if i % 5 == 0:  # one action in five has items
                f.write(f"A{i:07d},19816,P-77,O{i:07d},{event},,TV,1,{200 + i % 100}.00,electronics,BAG,2,60.00,outdoor\r\n")
            else:
                f.write(f"A{i:07d},19816,P-77,O{i:07d},{event},{100 + i % 50}.00,,,,,,,,\r\n")
    mods = os.path.join(work, "modifications.csv")
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
    out = os.path.join(work, "out")
    os.makedirs(out)
    wall, rss = peak_rss_run(base + ["apply", "--account", "1000", "--type", "conversions", "--outbox", out, conv])
    print(f"build ledger: {n} conversions in {wall:.2f} s ({n / wall:,.0f} rows/s), peak RSS {rss:.1f} MiB")
    subprocess.run(["sqlite3", db, "PRAGMA wal_checkpoint(TRUNCATE);"], check=True, stdout=subprocess.DEVNULL)
    copies = {}
    for mode in ("file-order", "sorted"):
        copies[mode] = os.path.join(work, f"reference-{mode}.db")
        shutil.copyfile(db, copies[mode])

    wall, rss = peak_rss_run(base + ["apply", "--account", "1000", "--outbox", out, mods])
    ours = n / wall
    print(f"actiondrop apply: {n} rows in {wall:.2f} s = {ours:,.0f} rows/s, peak RSS {rss:.1f} MiB")
    refs = {}
    for mode, copy in copies.items():
        res = subprocess.run([args.reference, copy, mods, "1000", mode], check=True, capture_output=True, text=True)
        rows, seconds = res.stdout.split()
        refs[mode] = int(rows) / float(seconds)
        print(f"reference {mode:<10}: {rows} UPDATEs in {float(seconds):.2f} s = {refs[mode]:,.0f} rows/s")
    print(f"ratio actiondrop / file-order reference: {ours / refs['file-order']:.2f}")
    print(f"ratio actiondrop / sorted reference:     {ours / refs['sorted']:.2f}")
    print(f"goal: ratio to file-order >= 1.00 and peak RSS <= 128 MiB")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
