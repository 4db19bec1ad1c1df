#!/usr/bin/env python3
"""Runs bench_sftp_client several times (each run starts its own loopback sshd and measures
SftpSession and OpenSSH's sftp in alternating order on open connections) and prints every
run and the median ratios across runs, because one run on a shared 2-core machine is noise.
The goal is on the download itself; the rate of the download followed by the SHA-256 that
the claim computes of the copy is printed beside it. The goal is judged on the median of all
rounds' ratios: OpenSSH's sftp is fast in some rounds only, so one run's median swings
(docs/ingest.md, "What bounds an SFTP download's speed").
Exits non-zero when a goal is missed: download >= 1.2x OpenSSH's rate, listing no slower."""
import argparse
import re
import statistics
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True, help="path of bench_sftp_client")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each per run")
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--files", type=int, default=10000)
    args = parser.parse_args()

    download, with_hash, listing, ours_mb, theirs_mb, ciphers = [], [], [], [], [], set()
    cpu = ""
    by_load = {"idle": [], "busy": []}  # per-round download ratios
    for run in range(args.runs):
        out = subprocess.run([args.bench, str(args.mib), str(args.files), str(args.rounds)],
                             check=True, capture_output=True, text=True, timeout=900).stdout
        print(f"run {run + 1}:\n{out}", end="", flush=True)
        download.append(float(re.search(r"^download \d+ MiB .*rate ratio ([\d.]+)x", out, re.M).group(1)))
        with_hash.append(float(re.search(r"^download \+ SHA-256 .*rate ratio ([\d.]+)x", out, re.M).group(1)))
        listing.append(float(re.search(r"speed ratio ([\d.]+)x", out).group(1)))
        rates = re.search(r"^download \d+ MiB .*?\(([\d.]+) MB/s\).*?\(([\d.]+) MB/s\)", out, re.M)
        ours_mb.append(float(rates.group(1)))
        theirs_mb.append(float(rates.group(2)))
        ciphers.update(re.findall(r"^cipher (ours|openssh): (\S+)", out, re.M))
        cpu = re.search(r"^cpu: .*$", out, re.M).group(0) + "\n" + \
            re.search(r"^cipher timing: .*$", out, re.M).group(0)
        for line in re.findall(r"^round .*$", out, re.M):
            ours_s, theirs_s = map(float, re.findall(r"(?:ours|openssh) ([\d.]+) s \(", line))
            by_load["busy" if "machine busy" in line else "idle"].append(theirs_s / ours_s)
    d, l = statistics.median(download), statistics.median(listing)
    print(f"median download rate ours {statistics.median(ours_mb):.0f} MB/s, "
          f"openssh {statistics.median(theirs_mb):.0f} MB/s")
    print("ciphers: " + ", ".join(f"{who} {name}" for who, name in sorted(ciphers)))
    if cpu:
        print(cpu)
    for load, ratios in by_load.items():
        if ratios:
            print(f"download rate ratio in rounds on a {load} machine: median "
                  f"{statistics.median(ratios):.2f}x over {len(ratios)} rounds")
    rounds = by_load["idle"] + by_load["busy"]
    per_round = statistics.median(rounds)
    print(f"median download rate ours/openssh: {d:.2f}x over the runs' medians, "
          f"{per_round:.2f}x over all {len(rounds)} rounds (goal >= 1.2x, judged on the rounds)")
    print(f"median rate of download + the claim's SHA-256, ours/openssh's download: "
          f"{statistics.median(with_hash):.2f}x")
    print(f"median listing speed ours/openssh: {l:.2f}x (goal >= 1.0x)")
    return 0 if per_round >= 1.2 and l >= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
