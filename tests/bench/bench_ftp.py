#!/usr/bin/env python3
"""Runs bench_ftp_client several times (each run starts its own loopback vsftpd, once with
explicit TLS and once plain, and measures FtpSession and the curl command-line client in
alternating order) and prints every run and, per mode, the median ratios across runs,
because one run on a shared 2-core machine is noise.
Exits non-zero when a goal is missed: download >= 1.0x curl's rate, listing no slower."""
import argparse
import re
import statistics
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True, help="path of bench_ftp_client")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each per run")
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--files", type=int, default=10000)
    args = parser.parse_args()

    figures = {}  # mode -> lists of download ratios, listing ratios, our MB/s, curl's MB/s
    for run in range(args.runs):
        out = subprocess.run([args.bench, str(args.mib), str(args.files), str(args.rounds)],
                             check=True, capture_output=True, text=True, timeout=3600).stdout
        print(f"run {run + 1}:\n{out}", end="", flush=True)
        for mode, ours, curl, ratio in re.findall(
                r"^(\w+) download \d+ MiB: ours (\d+) MB/s, curl (\d+) MB/s, rate ratio ([\d.]+)x", out, re.M):
            f = figures.setdefault(mode, {"download": [], "listing": [], "ours": [], "curl": [], "cold": []})
            f["download"].append(float(ratio))
            f["ours"].append(float(ours))
            f["curl"].append(float(curl))
        for mode, ours_s, cold_s, ratio in re.findall(
                r"^(\w+) listing \d+ files: ours ([\d.]+) s \(cold, with MDTM: ([\d.]+) s\), curl [\d.]+ s, "
                r"speed ratio ([\d.]+)x", out, re.M):
            figures[mode]["listing"].append(float(ratio))
            figures[mode]["cold"].append(float(cold_s))
    ok = True
    med = statistics.median
    for mode, f in figures.items():
        d, l = med(f["download"]), med(f["listing"])
        print(f"{mode}: median download rate ours {med(f['ours']):.0f} MB/s, curl {med(f['curl']):.0f} MB/s; "
              f"ratio {d:.2f}x ({min(f['download']):.2f}-{max(f['download']):.2f}) (goal >= 1.0x)")
        print(f"{mode}: median listing speed ours/curl {l:.2f}x ({min(f['listing']):.2f}-{max(f['listing']):.2f}) "
              f"(goal >= 1.0x); cold listing with MDTM {med(f['cold']):.3f} s")
        ok = ok and d >= 1.0 and l >= 1.0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
