#!/usr/bin/env python3
"""Benchmark: apply a 1,000,000-row modification file to a 1,000,000-action ledger on the
PostgreSQL store.

Starts a private PostgreSQL cluster on 127.0.0.1 (tests/pg/pg_cluster.sh; as root it runs
the server as the postgres user), builds the ledger on SQLite and moves it over with
`actiondrop store copy`, then, for each run, on fresh copies of that database (CREATE
DATABASE … TEMPLATE): `actiondrop apply` of the file, and the reference: the same changes
written raw, the file's ActionId and Amount loaded by COPY into a temporary table and one
UPDATE … FROM over the ledger, in one transaction (psql). With --pipeline, also the same
changes as one prepared UPDATE per row in libpq's pipeline mode (reference_pg_pipeline.cpp).
Prints rows/s of each, the ratios and our peak RSS. The goal (docs/postgres.md): ratio to the
COPY reference >= 1.0 and peak RSS <= 128 MiB.
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

HERE = os.path.dirname(os.path.abspath(__file__))
PG_CLUSTER = os.path.join(HERE, "..", "pg", "pg_cluster.sh")
sys.path.insert(0, HERE)
from bench_apply import measured_run  # noqa: E402  (wall time, own peak RSS, CPU seconds)


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--actiondrop", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pipeline", help="reference_pg_pipeline, to time pipeline mode too")
    args = ap.parse_args()
    rng = random.Random(20261124)
    work = tempfile.mkdtemp(prefix="actiondrop-bench-pg.")
    cluster = tempfile.mkdtemp(prefix="actiondrop-bench-pgdata.")
    n = args.rows
    event = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    conv = os.path.join(work, "conversions.csv")
    mods = os.path.join(work, "modifications.csv")
    # The same files as bench_apply.py: one action in five with items; the modifications in
    # random order, 5% bad rows, 15% reversals, the rest new amounts or items.
    with open(conv, "w", newline="") as f:
        f.write("ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount,Sku1,Quantity1,Amount1,Category1,Sku2,Quantity2,Amount2,Category2\r\n")
        for i in range(n):
            if i % 5 == 0:
                f.write(f"A{i:07d},19816,P-77,O{i:07d},{event},,TV,1,{200 + i % 100}.00,electronics,BAG,2,60.00,outdoor\r\n")
            else:
                f.write(f"A{i:07d},19816,P-77,O{i:07d},{event},{100 + i % 50}.00,,,,,,,,\r\n")
    order = list(range(n))
    rng.shuffle(order)
    with open(mods, "w", newline="") as f:
        f.write("ActionId,Amount,Reason,Sku1,Quantity1\r\n")
        for i in order:
            r = rng.random()
            if r < 0.05:
                f.write(f"X{i:07d},10.00,ORDER_UPDATE,,\r\n" if r < 0.025 else f"A{i:07d},1e3,ORDER_UPDATE,,\r\n")
            elif r < 0.20:
                f.write(f"A{i:07d},,CONS_FRAUD,,\r\n")
            elif i % 5 == 0:
                f.write(f"A{i:07d},,ORDER_UPDATE,BAG,1\r\n")
            else:
                f.write(f"A{i:07d},{50 + i % 40}.25,ORDER_UPDATE,,\r\n")

    subprocess.run(["bash", PG_CLUSTER, "start", cluster], check=True, stdout=subprocess.DEVNULL)
    try:
        with open(os.path.join(cluster, "url")) as f:
            base_url = f.read().strip()
        server = base_url.rsplit("/", 1)[0]
        state = os.path.join(work, "state")
        sqlite = ["--store", f"sqlite:{os.path.join(work, 'ledger.db')}", "--state-dir", state]
        subprocess.run([args.actiondrop, *sqlite, "init"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([args.actiondrop, *sqlite, "catalog", "load", args.catalog], check=True,
                       stdout=subprocess.DEVNULL)
        os.makedirs(os.path.join(work, "out"))
        measured_run([args.actiondrop, *sqlite, "apply", "--account", "1000", "--type", "conversions",
                      "--outbox", os.path.join(work, "out"), conv])
        psql(f"{server}/postgres", "CREATE DATABASE ledger_base")
        wall, _, _ = measured_run([args.actiondrop, *sqlite, "store", "copy", "--to", f"{server}/ledger_base"])
        print(f"work folder {work}; ledger of {n} actions copied into PostgreSQL in {wall:.1f} s")
        psql(f"{server}/ledger_base", "VACUUM ANALYZE")

        ratios, pipeline_ratios, peaks = [], [], []
        for run in range(args.runs):
            for name in ("ours", "reference", "pipeline"):
                psql(f"{server}/postgres", f"DROP DATABASE IF EXISTS {name}")
                psql(f"{server}/postgres", f"CREATE DATABASE {name} TEMPLATE ledger_base")
            out = os.path.join(work, f"out-{run}")
            os.makedirs(out)
            wall, rss, cpu = measured_run([args.actiondrop, "--store", f"{server}/ours", "--state-dir", state,
                                           "apply", "--account", "1000", "--outbox", out, mods])
            ours = n / wall
            peaks.append(rss)
            print(f"run {run + 1}: actiondrop apply on PostgreSQL: {n} rows in {wall:.2f} s = {ours:,.0f} rows/s, "
                  f"peak RSS {rss:.1f} MiB, CPU {cpu:.2f} s")
            script = os.path.join(work, "reference.sql")
            with open(script, "w") as f:
                f.write("BEGIN;\n"
                        "CREATE TEMPORARY TABLE m (action_id text, amount text, reason text, sku text, qty text) "
                        "ON COMMIT DROP;\n"
                        f"\\copy m FROM '{mods}' WITH (FORMAT csv, HEADER true)\n"
                        "UPDATE actions a SET amount = coalesce(round(nullif(m.amount, '')::numeric * 100)::bigint, "
                        "a.amount), modification_count = a.modification_count + 1 FROM m "
                        "WHERE a.account_id = '1000' AND a.action_id = m.action_id;\n"
                        "COMMIT;\n")
            wall, _, _ = measured_run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", f"{server}/reference", "-f", script])
            ref = n / wall
            print(f"run {run + 1}: reference COPY + UPDATE … FROM: {n} rows in {wall:.2f} s = {ref:,.0f} rows/s")
            ratios.append(ours / ref)
            print(f"run {run + 1}: ratio actiondrop / reference: {ratios[-1]:.2f}")
            if args.pipeline:
                answer = os.path.join(work, "pipeline.out")
                measured_run([args.pipeline, f"{server}/pipeline", mods], stdout=answer)
                with open(answer) as f:
                    rows, seconds = f.read().split()
                piped = int(rows) / float(seconds)
                pipeline_ratios.append(ours / piped)
                print(f"run {run + 1}: reference pipeline mode: {rows} UPDATEs in {float(seconds):.2f} s = "
                      f"{piped:,.0f} rows/s; COPY reference / pipeline: {ref / piped:.2f}, "
                      f"actiondrop / pipeline: {pipeline_ratios[-1]:.2f}")
        print(f"median over {args.runs} runs: ratio {statistics.median(ratios):.2f} "
              f"(range {min(ratios):.2f}-{max(ratios):.2f}), peak RSS at most {max(peaks):.1f} MiB")
        if pipeline_ratios:
            print(f"median actiondrop / pipeline mode: {statistics.median(pipeline_ratios):.2f} "
                  f"(range {min(pipeline_ratios):.2f}-{max(pipeline_ratios):.2f})")
        print("goal: ratio >= 1.00 and peak RSS <= 128 MiB")
    finally:
        subprocess.run(["bash", PG_CLUSTER, "stop", cluster], stdout=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
