#!/usr/bin/env python3
"""The docs section of bench/soak.sh from its raw CSV.

Usage: report_soak.py CSV MACHINE_MD VIA MEMORY [SUMMARY_JSON]
"""
import json
import sys

from benchlib import median, read_rows, table

RESOURCES = [("stray_processes", "other processes using the scratch directory (not the workload, not sshd)"),
             ("stray_fds", "their open descriptors"),
             ("workload_processes", "workload processes"),
             ("sshd_processes", "sshd processes"),
             ("sshd_fds", "sshd open descriptors"),
             ("mounts", "mounts under the scratch directory"),
             ("images_bytes", "disk usage of the images bases (bytes)")]
DAEMON_RESOURCES = [("daemon_threads", "the agent daemon's threads"),
                    ("daemon_fds", "the agent daemon's open descriptors"),
                    ("daemon_rss_kb", "the agent daemon's resident memory (KiB)")]
VIA = {"agent": "criu-agent's three-step flow (command line)", "engine": "criu-migrate over SSH",
       "daemon": "criu-migrate over SSH through one warm agent daemon"}


def slope(xs, ys):
    """Least-squares slope of ys over xs."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0


def main():
    csv_path, machine_path, via, memory = sys.argv[1:5]
    summary_path = sys.argv[5] if len(sys.argv) > 5 else None
    rows = read_rows(csv_path)
    baseline, rounds = rows[0], rows[1:]
    n = len(rounds)
    decile = max(1, n // 10)
    total_ms = [int(r["total_us"]) / 1000 for r in rounds]
    frozen_ms = [int(r["frozen_us"]) / 1000 for r in rounds]
    first, last = total_ms[:decile], total_ms[-decile:]
    drift = median(last) / median(first) - 1
    per_round = slope(list(range(1, n + 1)), total_ms)

    out = [f"## Soak: {n} migrations in a row, {VIA.get(via, via)}", "",
           f"`bench/soak.sh --via {via}` (issue 6). One workload (`start-workload.sh --memory {memory}`, own PID"
           " namespace) migrated back and forth between two hosts (both this machine),"
           " each migration verified (source gone, restored root alive, counter continued, checksum unchanged);"
           " at the end the workload's whole log was one unbroken count with one checksum.", ""]
    out += open(machine_path).read().rstrip().splitlines()
    out += [f"- Raw rows: `bench/results/{csv_path.split('/')[-1]}`", ""]

    header = ["", f"first {decile}", f"last {decile}", f"all {n}"]
    lines = [["time per migration, median ms", f"{median(first):.0f}", f"{median(last):.0f}", f"{median(total_ms):.0f}"],
             ["frozen time, median ms", f"{median(frozen_ms[:decile]):.0f}", f"{median(frozen_ms[-decile:]):.0f}",
              f"{median(frozen_ms):.0f}"],
             ["time per migration, min–max ms", f"{min(first):.0f}–{max(first):.0f}", f"{min(last):.0f}–{max(last):.0f}",
              f"{min(total_ms):.0f}–{max(total_ms):.0f}"]]
    if "load_1min" in rounds[0]:  # the machine is shared: what else ran explains much of any drift
        load = [float(r["load_1min"]) for r in rounds]
        lines.append(["load average (1 min) on the machine, median", f"{median(load[:decile]):.1f}",
                      f"{median(load[-decile:]):.1f}", f"{median(load):.1f}"])
    out += [table(header, lines), "",
            f"Drift: the last decile's median is {drift * 100:+.1f}% of the first's; the least-squares trend over"
            f" all rounds is {per_round:+.1f} ms per migration.", ""]

    checkpoints = sorted({1, n // 2, n})
    header = ["after round", "before"] + [str(c) for c in checkpoints] + ["max"]
    lines = []
    leaks = {}
    for column, label in RESOURCES:
        values = [int(r[column]) for r in rounds]
        lines.append([label, baseline[column]] + [str(values[c - 1]) for c in checkpoints] + [str(max(values))])
        leaks[column] = values[-1] - values[0]
    out += ["What the run held after each migration (and its cleanup):", "", table(header, lines), ""]
    grew = [label for column, label in RESOURCES if leaks[column] > 0]
    out.append("**Leaks**: " + ("none: every count at the end equals the one after the first migration."
                                 if not grew else "grew from the first migration to the last: " + "; ".join(grew) + "."))
    daemon = {}
    if via == "daemon":
        # A JVM warms up (threads started on first use, the heap grown to its working size): judged from
        # the tenth round on, the daemon must not grow in threads or descriptors, and its memory by < 10%.
        warm = min(10, n)
        lines = []
        for column, label in DAEMON_RESOURCES:
            values = [int(r[column]) for r in rounds]
            lines.append([label, baseline[column]] + [str(values[c - 1]) for c in checkpoints] + [str(max(values))])
            daemon[column] = {"after_warm_up": values[warm - 1], "end": values[-1], "max_after_warm_up": max(values[warm - 1:])}
        out += ["", "The warm agent daemon after each migration:", "", table(header, lines), ""]
        flat = (daemon["daemon_threads"]["max_after_warm_up"] <= daemon["daemon_threads"]["after_warm_up"]
                and daemon["daemon_fds"]["max_after_warm_up"] <= daemon["daemon_fds"]["after_warm_up"]
                and daemon["daemon_rss_kb"]["end"] < 1.10 * daemon["daemon_rss_kb"]["after_warm_up"])
        daemon["flat"] = flat
        out.append(f"**The daemon** from round {warm} on: " + (
            "flat (no more threads or descriptors than after that round, resident memory within 10%)." if flat
            else "grew (see the table)."))
    print("\n".join(out))
    if summary_path:
        with open(summary_path, "w") as f:
            json.dump({"csv": csv_path, "rounds": n, "first_decile_median_ms": median(first),
                       "last_decile_median_ms": median(last), "drift": drift, "trend_ms_per_round": per_round,
                       "growth_first_to_last": leaks, "daemon": daemon}, f, indent=2)


if __name__ == "__main__":
    main()
