#!/usr/bin/env python3
"""The docs section of bench/tls-cost.sh from its raw CSV.

Usage: report_tls.py CSV MACHINE_MD REPETITIONS [SUMMARY_JSON]
"""
import json
import sys
from collections import defaultdict

from benchlib import median, read_rows, spread, table

METHODS = {"bare": "bare CRIU command line", "agent": "criu-agent"}
COLUMNS = [("frozen_us", "frozen"), ("memwrite_us", "memwrite"), ("dump_us", "dump"), ("total_us", "total")]


def main():
    csv_path, machine_path, repetitions = sys.argv[1:4]
    summary_path = sys.argv[4] if len(sys.argv) > 4 else None
    rows = read_rows(csv_path)
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    by = defaultdict(dict)
    for r in rows:
        by[(r["size"], r["method"], r["stream"])][r["repetition"]] = r

    def values(size, method, stream, column):
        return [int(r[column]) for r in by[(size, method, stream)].values()]

    def ratios(size, method, column):
        plain, tls = by[(size, method, "plain")], by[(size, method, "tls")]
        return [int(tls[k][column]) / int(plain[k][column]) for k in sorted(plain) if k in tls]

    out = ["## TLS on the page stream: what it costs", "",
           "`bench/tls-cost.sh` (issue 6). The disk-less flow of the benchmark above, with the memory pages"
           " streamed in plain TCP and with CRIU's TLS (`--tls`, CA, certificate and key on each side; ECDSA"
           " P-256 certificates made for the run), by the bare CRIU command line and by `criu-agent`"
           " (`--tls-cacert --tls-cert --tls-key` on `page-server` and `dump`). Each repetition runs the four"
           " variants, starting with a different one; every migration was verified (a TLS page server refuses"
           " a plain dump, so the TLS runs did use TLS).", ""]
    out += open(machine_path).read().rstrip().splitlines()
    out += [f"- {repetitions} repetitions per size and variant; raw rows: `bench/results/{csv_path.split('/')[-1]}`",
            "", "Median (min–max) milliseconds; frozen and memwrite are CRIU's `stats-dump` times.", ""]

    header = ["size", "method", "stream"] + [label for _, label in COLUMNS]
    lines = []
    for size in sizes:
        for method, label in METHODS.items():
            for stream in ("plain", "tls"):
                lines.append([size, label, "TLS" if stream == "tls" else "plain TCP"]
                             + [spread(values(size, method, stream, c), 1000, 0) for c, _ in COLUMNS])
    out += [table(header, lines), ""]

    summary = {"csv": csv_path, "sizes": {}}
    header = ["size", "method", "TLS/plain frozen", "TLS/plain memwrite", "TLS/plain total"]
    lines = []
    for size in sizes:
        for method, label in METHODS.items():
            r = {c: ratios(size, method, c) for c in ("frozen_us", "memwrite_us", "total_us")}
            lines.append([size, label] + [spread(r[c], 1, 3) for c in ("frozen_us", "memwrite_us", "total_us")])
            summary["sizes"].setdefault(size, {})[method] = {c: median(v) for c, v in r.items()}
    out += ["The cost of TLS as a ratio TLS/plain within each repetition: median (min–max).", "",
            table(header, lines)]
    print("\n".join(out))
    if summary_path:
        with open(summary_path, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
