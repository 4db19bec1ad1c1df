#!/usr/bin/env python3
"""Benchmark: how fast actiondropd picks up files dropped into a local inbox.

1. Pickup latency: 200 conversions files of 100 rows are moved into the inbox one at a
   time; for each, the time from the rename into the inbox to its result_ file appearing
   in the outbox. p50/p99 with inotify, then with the sweep alone (`inotify: false`).
   The goal is p50 < settle + 250 ms with inotify.
2. Throughput: 1,000 small files moved into the inbox at once; files/s from the first
   rename to the last result_ file (one settle period included).

Run through `cmake --build build --target bench_pickup`, or directly:
  bench_pickup.py --actiondrop BIN --actiondropd BIN --catalog tests/data/e2e/catalog.yaml
"""
import argparse
import datetime
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def percentile(values, p):
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]


class Outbox:
    """Polls a folder every 2 ms and notes when each name first appears (monotonic)."""

    def __init__(self, folder):
        self.folder = folder
        self.seen = {}
        self.stop = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            now = time.monotonic()
            try:
                names = os.listdir(self.folder)
            except FileNotFoundError:
                names = []
            with self.lock:
                for n in names:
                    self.seen.setdefault(n, now)
            time.sleep(0.002)

    def when(self, name):
        with self.lock:
            return self.seen.get(name)

    def close(self):
        self.stop = True
        self.thread.join()


class Daemon:
    """A store, a catalog, one conversions inbox and actiondropd serving it."""

    def __init__(self, args, label, inotify):
        self.work = tempfile.mkdtemp(prefix=f"actiondrop-pickup-{label}.")
        self.inbox = os.path.join(self.work, "in")
        self.outbox = os.path.join(self.work, "out")
        self.staging = os.path.join(self.work, "staging")  # same file system: mv is a rename
        for d in (self.inbox, self.outbox, self.staging):
            os.makedirs(d)
        store = f"sqlite:{os.path.join(self.work, 'ledger.db')}"
        cli = [args.actiondrop, "--store", store, "--state-dir", os.path.join(self.work, "state")]
        subprocess.run(cli + ["init"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(cli + ["catalog", "load", args.catalog], check=True, stdout=subprocess.DEVNULL)
        config = os.path.join(self.work, "actiondrop.yaml")
        with open(config, "w") as f:
            f.write(f"store: {store}\n"
                    f"state_dir: {os.path.join(self.work, 'state')}\n"
                    f"sweep_interval: {args.sweep_interval}\n"
                    f"inotify: {'true' if inotify else 'false'}\n"
                    "inboxes:\n"
                    f"  - {{name: bench, account: \"1000\", type: conversions, kind: local, "
                    f"path: {self.inbox}, outbox: {self.outbox}, pattern: \"*.csv\", "
                    f"settle: {args.settle}}}\n")
        self.log = open(os.path.join(self.work, "daemon.log"), "w")
        self.proc = subprocess.Popen([args.actiondropd, "--config", config], stderr=self.log)
        deadline = time.monotonic() + 30
        while "serving 1 inboxes" not in open(self.log.name).read():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"actiondropd did not start; see {self.log.name}")
            time.sleep(0.02)
        self.outbox_watch = Outbox(self.outbox)
        self.day = (datetime.datetime.now(datetime.timezone.utc)
                    - datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def stage(self, name, rows):
        path = os.path.join(self.staging, name)
        with open(path, "w", newline="") as f:
            f.write("ActionId,CampaignId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n")
            stem = name.removesuffix(".csv")
            f.writelines(f"{stem}-{i},CMP,19816,P-77,O-{stem}-{i},{self.day},10.00\r\n"
                         for i in range(rows))

    def drop(self, name):
        os.rename(os.path.join(self.staging, name), os.path.join(self.inbox, name))
        return time.monotonic()

    def wait_result(self, name, timeout):
        deadline = time.monotonic() + timeout
        while True:
            t = self.outbox_watch.when(f"result_{name}")
            if t is not None:
                return t
            if time.monotonic() > deadline or self.proc.poll() is not None:
                sys.exit(f"no result for {name} within {timeout} s; see {self.log.name}")
            time.sleep(0.002)

    def close(self, keep):
        self.outbox_watch.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if not keep:
            shutil.rmtree(self.work)


def latency(args, label, inotify):
    d = Daemon(args, label, inotify)
    names = [f"{label}{i:04d}.csv" for i in range(args.files)]
    for n in names:
        d.stage(n, args.rows)
    dropped = {}
    for n in names:
        dropped[n] = d.drop(n)
        time.sleep(args.gap)
    waits = [d.wait_result(n, 60) - dropped[n] for n in names]
    d.close(args.keep)
    ms = [w * 1000 for w in waits]
    print(f"pickup latency, {label:8s} ({args.files} files x {args.rows} rows, one every "
          f"{args.gap * 1000:.0f} ms, settle {args.settle}, sweep {args.sweep_interval}): "
          f"p50 {percentile(ms, 50):.0f} ms, p99 {percentile(ms, 99):.0f} ms, "
          f"mean {statistics.mean(ms):.0f} ms, max {max(ms):.0f} ms", flush=True)
    return percentile(ms, 50)


def throughput(args):
    d = Daemon(args, "burst", True)
    names = [f"burst{i:04d}.csv" for i in range(args.burst)]
    for n in names:
        d.stage(n, args.burst_rows)
    first = time.monotonic()
    for n in names:
        d.drop(n)
    last = max(d.wait_result(n, 600) for n in names)
    d.close(args.keep)
    elapsed = last - first
    print(f"throughput: {args.burst} files x {args.burst_rows} rows dropped at once, all answered "
          f"in {elapsed:.2f} s (settle {args.settle} included): {args.burst / elapsed:.0f} files/s",
          flush=True)


def parse_ms(text):
    if text.endswith("ms"):
        return float(text[:-2])
    if text.endswith("s"):
        return float(text[:-1]) * 1000
    raise SystemExit(f"expected a duration such as 200ms or 1s, not {text}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--actiondrop", required=True)
    ap.add_argument("--actiondropd", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--rows", type=int, default=100)
    ap.add_argument("--gap", type=float, default=0.1, help="seconds between two drops")
    ap.add_argument("--settle", default="200ms")
    ap.add_argument("--sweep-interval", default="1s")
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--burst-rows", type=int, default=100)
    ap.add_argument("--keep", action="store_true", help="keep the work folders and logs")
    args = ap.parse_args()

    goal = parse_ms(args.settle) + 250
    p50 = latency(args, "inotify", True)
    latency(args, "sweep", False)
    throughput(args)
    print(f"goal p50 < settle + 250 ms = {goal:.0f} ms with inotify: "
          f"{'met' if p50 < goal else 'NOT met'}")


if __name__ == "__main__":
    main()
