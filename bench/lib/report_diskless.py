#!/usr/bin/env python3
"""The docs section of bench/diskless-agent-vs-cli.sh from its raw CSV.

Usage: report_diskless.py CSV MACHINE_MD REPETITIONS [SUMMARY_JSON]
Prints Markdown; writes the summary (medians, ratios, the target's verdict) as JSON when asked.
"""
import json
import sys
from collections import defaultdict

from benchlib import median, read_rows, spread, table, verdict

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
            " `criu-agent images --json`, as is CRIU's `restore_time` from `stats-restore` (the restore step's wall time"
            " includes starting CRIU, and for the agent its JVM and its check that the restored root still runs"
            " 300 ms later). Total is the sum of the steps below (page server start to source"
            " killed). Each cell: median (min–max) in milliseconds.", ""]

    header = ["size", "method", "frozen", "dump", "restore", "CRIU's restore_time", "total"]
    lines = []
    for size in sizes:
        for method, label in METHODS.items():
            lines.append([size, label] + [spread(values(size, method, c), 1000, 0)
                                          for c in ("frozen_us", "dump_us", "restore_us", "criu_restore_us", "total_us")])
    out += [table(header, lines), ""]

    summary = {"csv": csv_path, "sizes": {}}
    header = ["size", "", "per repetition", "ratio of the medians", "ratio of the best runs"]
    lines = []
    for size in sizes:
        entry = summary["sizes"][size] = {}
        for column, label in (("frozen_us", "frozen time"), ("total_us", "total time")):
            per_repetition = ratios(size, column)
            bare, agent = values(size, "bare", column), values(size, "agent", column)
            of_medians, of_minima = median(agent) / median(bare), min(agent) / min(bare)
            lines.append([size, label, spread(per_repetition, 1, 3), f"{of_medians:.3f}", f"{of_minima:.3f}"])
            entry[column] = {"per_repetition": per_repetition, "per_repetition_median": median(per_repetition),
                             "ratio_of_medians": of_medians, "ratio_of_minima": of_minima,
                             "bare_median": median(bare), "agent_median": median(agent)}
    out += ["The agent's overhead as a ratio agent/bare: the median (min–max) of the ratios per repetition (the"
            " two migrations of a repetition ran back to back), the ratio of the two medians, and the ratio of"
            " the best run of each (the least disturbed by other jobs).", "", table(header, lines), ""]

    header = ["size", "method"] + [label for _, label in STEPS]
    lines = []
    for size in sizes:
        for method, label in METHODS.items():
            lines.append([size, label] + [f"{median(values(size, method, c)) / 1000:.0f}" for c, _ in STEPS])
    out += ["Where the time goes, median milliseconds per step (each `criu-agent` step includes starting a"
            " JVM):", "", table(header, lines), ""]

    if TARGET_SIZE in summary["sizes"]:
        frozen = summary["sizes"][TARGET_SIZE]["frozen_us"]
        outcome = verdict(frozen["per_repetition"], frozen["ratio_of_medians"], frozen["ratio_of_minima"],
                          FROZEN_TARGET)
        summary["target"] = {"size": TARGET_SIZE, "limit": FROZEN_TARGET, "verdict": outcome}
        out.append(f"**Target** (the agent's frozen time within 5% of the bare command line's at 1 GiB): ratios"
                   f" {frozen['per_repetition_median']:.3f} (median per repetition), {frozen['ratio_of_medians']:.3f}"
                   f" (of the medians), {frozen['ratio_of_minima']:.3f} (of the best runs): **{outcome}**"
                   + (" (the three views disagree: the spread between repetitions is wider than the 5% asked)."
                      if outcome == "inconclusive" else "."))
    else:
        out.append("**Target** (frozen time within 5% at 1 GiB): not measured in this run (no 1G size).")
    print("\n".join(out))
    if summary_path:
        with open(summary_path, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
