#!/usr/bin/env python3
"""The docs section of bench/evacuation.sh from its raw CSV.

Usage: report_evacuation.py CSV MACHINE_MD WORKLOADS MEMORY REPETITIONS
"""
import sys
from collections import defaultdict

from benchlib import median, read_rows, spread, table

MODES = {"in-a-row": "one at a time", "2-at-once": "two at a time"}


def main():
    csv_path, machine_path, workloads, memory, repetitions = sys.argv[1:6]
    rows = read_rows(csv_path)
    evacuation = defaultdict(dict)  # mode -> repetition -> microseconds
    frozen, total = defaultdict(list), defaultdict(list)
    for r in rows:
        evacuation[r["mode"]][r["repetition"]] = int(r["evacuation_us"])
        frozen[r["mode"]].append(int(r["frozen_us"]))
        total[r["mode"]].append(int(r["total_us"]))
    out = [f"## Evacuation: {workloads} workloads of {memory} off one host, one at a time against two at a time", "",
           f"`bench/evacuation.sh` (issue 12). Two SSH hosts on loopback (OpenSSH sshd, strict host keys; one kernel,"
           f" each workload in its own PID namespace); {workloads} stateful workloads of {memory} moved from the source"
           " to the destination by `criu-migrate --no-tls` through warm agent daemons, one migration after the other or"
           " two `criu-migrate` processes at a time. Each repetition runs both, starting with a different one; every"
           " migration was verified.", ""]
    out += open(machine_path).read().rstrip().splitlines()
    out += [f"- {repetitions} evacuations per mode; raw rows: `bench/results/{csv_path.split('/')[-1]}`", "",
            "Median (min–max) milliseconds; the frozen window and the migration's own total are per workload.", ""]
    header = ["mode", "whole evacuation", "frozen window per workload", "one migration's total"]
    lines = [[label, spread(list(evacuation[mode].values()), 1000, 0), spread(frozen[mode], 1000, 0),
              spread(total[mode], 1000, 0)] for mode, label in MODES.items() if mode in evacuation]
    out += [table(header, lines), ""]
    if all(mode in evacuation for mode in MODES):
        ratio = median(list(evacuation["2-at-once"].values())) / median(list(evacuation["in-a-row"].values()))
        out.append(f"Two at a time take {ratio:.2f}x the time of one at a time (ratio of the medians).")
    print("\n".join(out))


if __name__ == "__main__":
    main()
