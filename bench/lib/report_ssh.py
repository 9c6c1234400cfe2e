#!/usr/bin/env python3
"""The docs section of bench/ssh-migrate-vs-cli.sh from its raw CSV.

Usage: report_ssh.py CSV MACHINE_MD REPETITIONS [SUMMARY_JSON]
"""
import json
import sys
from collections import defaultdict

from benchlib import median, read_rows, spread, table, verdict

VARIANTS = {"bare": "bare CRIU command line (no SSH)", "bare-ssh": "bare CRIU command line over OpenSSH",
            "engine": "criu-migrate (engine over SSH)"}
WINDOW_TARGET = 1.10  # issue 3: the frozen window within 10% of bare at 1 GiB
TARGET_SIZE = "1G"
ENGINE_PHASES = [("preflight_us", "preflight"), ("page_server_us", "page server"), ("dump_us", "dump"),
                 ("copy_us", "copy images"), ("page_server_check_us", "page-server status"),
                 ("restore_us", "restore"), ("commit_us", "commit"), ("cleanup_us", "cleanup")]


def main():
    csv_path, machine_path, repetitions = sys.argv[1:4]
    summary_path = sys.argv[4] if len(sys.argv) > 4 else None
    rows = read_rows(csv_path)
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    by = defaultdict(dict)
    for r in rows:
        by[(r["size"], r["variant"])][r["repetition"]] = r

    def values(size, variant, column):
        return [int(r[column]) for r in by[(size, variant)].values()]

    def ratios(size, variant, column):
        base, other = by[(size, "bare")], by[(size, variant)]
        return [int(other[k][column]) / int(base[k][column]) for k in sorted(base) if k in other]

    out = ["## Migration over SSH: criu-migrate against the bare CRIU command line", "",
           "`bench/ssh-migrate-vs-cli.sh` (issue 3). Two SSH hosts on loopback (OpenSSH sshd, own host keys,"
           " strict host-key checking; one kernel, the workload in its own PID namespace); the same workload"
           " (`start-workload.sh --memory SIZE`) migrated from the source host to the destination host by the"
           " bare CRIU command line without SSH, by the same commands run on each host through OpenSSH (one"
           " multiplexed connection per host opened before the freeze), and by `criu-migrate --from --to --pid"
           " --json` (the one-shot migration with the commit point; its agent jar deployed by an untimed dry"
           " run first). Each repetition runs the three, starting with a different one; every migration was"
           " verified.", ""]
    out += open(machine_path).read().rstrip().splitlines()
    out += [f"- {repetitions} repetitions per size and variant; raw rows: `bench/results/{csv_path.split('/')[-1]}`",
            "", "The frozen window is how long the tree does not run: for the engine its report's `frozenMillis`"
            " (CRIU's `frozen_time`, which with the commit point lasts until the source is finished); for the bare"
            " variants CRIU's `frozen_time` plus the wall time from the end of the dump to the source killed."
            " Total is the whole wall time (for the engine, the `criu-migrate` process, from its JVM's start to"
            " its exit, cleanup included); \"before the freeze\" is what precedes the dump (engine: its JVM, SSH"
            " connections, the agents' checks and start-up, the page server). Median (min–max) milliseconds.", ""]

    header = ["size", "variant", "frozen window", "total", "before the freeze"]
    lines = []
    for size in sizes:
        for variant, label in VARIANTS.items():
            lines.append([size, label] + [spread(values(size, variant, c), 1000, 0)
                                          for c in ("frozen_window_us", "total_us", "before_freeze_us")])
    out += [table(header, lines), ""]

    summary = {"csv": csv_path, "sizes": {}}
    header = ["size", "variant / bare", "", "per repetition", "ratio of the medians", "ratio of the best runs"]
    lines = []
    for size in sizes:
        for variant in ("bare-ssh", "engine"):
            entry = summary["sizes"].setdefault(size, {})[variant] = {}
            for column, label in (("frozen_window_us", "frozen window"), ("total_us", "total time")):
                per_repetition = ratios(size, variant, column)
                bare, other = values(size, "bare", column), values(size, variant, column)
                of_medians, of_minima = median(other) / median(bare), min(other) / min(bare)
                lines.append([size, VARIANTS[variant], label, spread(per_repetition, 1, 3), f"{of_medians:.3f}",
                              f"{of_minima:.3f}"])
                entry[column] = {"per_repetition": per_repetition, "per_repetition_median": median(per_repetition),
                                 "ratio_of_medians": of_medians, "ratio_of_minima": of_minima}
    out += ["What SSH and the agents add, as ratios to the bare command line without SSH: the median (min–max)"
            " of the ratios per repetition, the ratio of the medians, and the ratio of the best run of each.", "",
            table(header, lines), ""]

    header = ["size"] + [label for _, label in ENGINE_PHASES] + ["JVM start and the rest"]
    lines = []
    for size in sizes:
        phases = [median(values(size, "engine", c)) / 1000 for c, _ in ENGINE_PHASES]
        rest = median([int(r["total_us"]) - sum(int(r[c]) for c, _ in ENGINE_PHASES)
                       for r in by[(size, "engine")].values()]) / 1000
        lines.append([size] + [f"{p:.0f}" for p in phases] + [f"{rest:.0f}"])
    out += ["The engine's phases from its report, median milliseconds:", "", table(header, lines), ""]

    if TARGET_SIZE in summary["sizes"]:
        window = summary["sizes"][TARGET_SIZE]["engine"]["frozen_window_us"]
        outcome = verdict(window["per_repetition"], window["ratio_of_medians"], window["ratio_of_minima"],
                          WINDOW_TARGET)
        summary["target"] = {"size": TARGET_SIZE, "limit": WINDOW_TARGET, "verdict": outcome}
        out.append(f"**Target** (the engine's frozen window within 10% of the bare command line's at 1 GiB): ratios"
                   f" {window['per_repetition_median']:.3f} (median per repetition), {window['ratio_of_medians']:.3f}"
                   f" (of the medians), {window['ratio_of_minima']:.3f} (of the best runs): **{outcome}**"
                   + (" (the three views disagree: the spread between repetitions is wider than the 10% asked)."
                      if outcome == "inconclusive" else "."))
    else:
        out.append("**Target** (frozen window within 10% at 1 GiB): not measured in this run (no 1G size).")
    print("\n".join(out))
    if summary_path:
        with open(summary_path, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
