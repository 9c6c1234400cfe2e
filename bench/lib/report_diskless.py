#!/usr/bin/env python3
"""The docs section of bench/diskless-agent-vs-cli.sh from its raw CSV.

Usage: report_diskless.py CSV MACHINE_MD REPETITIONS [SUMMARY_JSON]
Prints Markdown; writes the summary (medians, ratios, the target's verdict) as JSON when asked.
"""
import json
import sys
from collections import defaultdict

from benchlib import median, read_rows, spread, table

METHODS = {"bare": "bare CRIU command line", "agent": "criu-agent"}
STEPS = [("page_server_us", "page server"), ("dump_us", "dump"), ("copy_us", "copy"),
         ("page_server_check_us", "page server ended?"), ("restore_us", "restore"), ("kill_us", "kill source")]
FROZEN_TARGET = 1.05  # issue 2: the agent's frozen time within 5% of bare at 1 GiB
TARGET_SIZE = "1G"


def main():
    csv_path, machine_path, repetitions = sys.argv[1:4]
    summary_path = sys.argv[4] if len(sys.argv) > 4 else None
    rows = read_rows(csv_path)
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    by = defaultdict(list)
    for r in rows:
        by[(r["size"], r["method"])].append(r)

    def values(size, method, column):
        return [int(r[column]) for r in by[(size, method)]]

    def ratios(size, column):
        bare = {r["repetition"]: int(r[column]) for r in by[(size, "bare")]}
        agent = {r["repetition"]: int(r[column]) for r in by[(size, "agent")]}
        return [agent[k] / bare[k] for k in sorted(bare) if k in agent and bare[k] > 0]

    out = ["## Disk-less migration on one machine: criu-agent against the bare CRIU command line", "",
           "`bench/diskless-agent-vs-cli.sh` (issue 2). The stateful workload (`src/workloads/start-workload.sh"
           " --memory SIZE`, random bytes, its own PID namespace) is migrated on this machine through the"
           " disk-less flow, by (a) the bare CRIU command line of PLATFORM.md's seed flow (`criu page-server -d`"
           " on a tmpfs, `criu dump --leave-stopped --page-server --network-lock nftables`, copy of the non-page"
           " images, wait for the page server to end, `criu restore -d`, source killed) and (b) `criu-agent`"
           " (`page-server --tmpfs-size --detach`, `dump --leave-stopped --page-server`, the same copy,"
           " `page-server-status`, `restore`, `kill`). Each repetition runs both, alternating which goes first;"
           " every migration was verified (source gone, restored root alive, counter continued, memory"
           " checksum unchanged).", ""]
    out += open(machine_path).read().rstrip().splitlines()
    out += [f"- {repetitions} repetitions per size and method; raw rows: `bench/results/{csv_path.split('/')[-1]}`",
            "", "Frozen time is CRIU's `frozen_time` from the dump's `stats-dump`, read for both methods with"
            " `criu-agent images --json`. Total is the sum of the steps below (page server start to source"
            " killed). Each cell: median (min–max) in milliseconds.", ""]

    header = ["size", "method", "frozen", "dump", "restore", "total"]
    lines = []
    for size in sizes:
        for method, label in METHODS.items():
            lines.append([size, label] + [spread(values(size, method, c), 1000, 0)
                                          for c in ("frozen_us", "dump_us", "restore_us", "total_us")])
    out += [table(header, lines), ""]

    summary = {"csv": csv_path, "sizes": {}}
    header = ["size", "agent/bare frozen time", "agent/bare total time"]
    lines = []
    for size in sizes:
        frozen, total = ratios(size, "frozen_us"), ratios(size, "total_us")
        lines.append([size, spread(frozen, 1, 3), spread(total, 1, 3)])
        summary["sizes"][size] = {
            "frozen_ratio_median": median(frozen), "total_ratio_median": median(total),
            "frozen_ratios": frozen, "total_ratios": total,
            **{f"{m}_{c}_median": median(values(size, m, c)) for m in METHODS
               for c in ("frozen_us", "dump_us", "restore_us", "total_us")}}
    out += ["The agent's overhead as a ratio agent/bare, per repetition (the two migrations of a repetition"
            " ran back to back): median (min–max).", "", table(header, lines), ""]

    header = ["size", "method"] + [label for _, label in STEPS]
    lines = []
    for size in sizes:
        for method, label in METHODS.items():
            lines.append([size, label] + [f"{median(values(size, method, c)) / 1000:.0f}" for c, _ in STEPS])
    out += ["Where the time goes, median milliseconds per step (each `criu-agent` step includes starting a"
            " JVM):", "", table(header, lines), ""]

    if TARGET_SIZE in summary["sizes"]:
        ratio = summary["sizes"][TARGET_SIZE]["frozen_ratio_median"]
        met = ratio <= FROZEN_TARGET
        summary["target"] = {"size": TARGET_SIZE, "frozen_ratio_median": ratio, "limit": FROZEN_TARGET, "met": met}
        out.append(f"**Target** (the agent's frozen time within 5% of the bare command line's at 1 GiB): "
                   f"median ratio {ratio:.3f}, **{'met' if met else 'not met'}**.")
    else:
        out.append("**Target** (frozen time within 5% at 1 GiB): not measured in this run (no 1G size).")
    print("\n".join(out))
    if summary_path:
        with open(summary_path, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
