#!/usr/bin/env python3
"""Compares an output CSV with an expected one, line by line, on the expected columns.

usage: check_csv.py ACTUAL EXPECTED
The expected file's header names the columns to compare (a subset of the actual ones);
each expected line must equal the actual line at the same position on those columns.
Also checks that the actual file is UTF-8 without BOM and uses CRLF line ends.
"""
import csv
import io
import sys


def main():
    actual_path, expected_path = sys.argv[1], sys.argv[2]
    raw = open(actual_path, "rb").read()
    problems = []
    if raw.startswith(b"\xef\xbb\xbf"):
        problems.append("actual file starts with a BOM")
    if b"\n" in raw.replace(b"\r\n", b""):
        problems.append("actual file has a line end other than CRLF")
    actual = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    expected = list(csv.DictReader(open(expected_path, newline="", encoding="utf-8")))
    if len(actual) != len(expected):
        problems.append(f"{len(actual)} data lines, expected {len(expected)}")
    for n, (a, e) in enumerate(zip(actual, expected), start=2):
        for column, want in e.items():
            if column not in a:
                problems.append(f"no column {column}")
                continue
            if a[column] != want:
                problems.append(f"line {n} {column}: got {a[column]!r}, expected {want!r}")
    if problems:
        print(f"{actual_path} differs from {expected_path}:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
