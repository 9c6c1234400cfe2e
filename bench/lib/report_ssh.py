#!/usr/bin/env python3
"""The docs section of bench/ssh-migrate-vs-cli.sh from its raw CSV.

Usage: report_ssh.py CSV MACHINE_MD REPETITIONS [SUMMARY_JSON]
"""
import json
import sys
from collections import defaultdict

from benchlib import median, read_rows, spread, table, verdict

VARIANTS = {"bare": "bare CRIU command line (no SSH)", "bare-ssh": "bare CRIU command line over OpenSSH",
            "engine-cold": "criu-migrate, first contact", "engine": "criu-migrate, warm, no daemon",
            "engine-daemon": "criu-migrate through warm agent daemons"}
# Issue 12's targets: (size, variant, column, limit as a ratio to bare).
TARGETS = [("64M", "engine-daemon", "total_us", 2.0), ("64M", "engine-cold", "total_us", 4.0),
           ("1G", "engine-daemon", "frozen_window_us", 1.05), ("1G", "engine-daemon", "total_us", 1.3)]
COLUMN_NAMES = {"total_us": "total", "frozen_window_us": "frozen window"}
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
           " --no-tls --json` (the one-shot migration with the commit point; a plain page stream like the bare"
           " variants') three ways: at first contact (no agent on the hosts, no host checks kept, no daemon),"
           " warm without a daemon (the agent deployed and its checks kept: one agent JVM per host), and"
           " through each host's warm `criu-agent daemon` reached through the SSH connection (no agent JVM at"
           " all). Each repetition runs them all, starting with a different one; every migration was"
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
        for variant in [v for v in VARIANTS if v != "bare" and by[(size, v)]]:
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
    header = ["size", "variant"] + header[1:]
    lines = []
    for size in sizes:
        for variant in [v for v in VARIANTS if v.startswith("engine") and by[(size, v)]]:
            phases = [median(values(size, variant, c)) / 1000 for c, _ in ENGINE_PHASES]
            rest = median([int(r["total_us"]) - sum(int(r[c]) for c, _ in ENGINE_PHASES)
                           for r in by[(size, variant)].values()]) / 1000
            lines.append([size, variant] + [f"{p:.0f}" for p in phases] + [f"{rest:.0f}"])
    out += ["The engine's phases from its report, median milliseconds:", "", table(header, lines), ""]

    summary["targets"] = []
    for size, variant, column, limit in TARGETS:
        measured = summary["sizes"].get(size, {}).get(variant)
        name = f"{size} {variant} {COLUMN_NAMES[column]} <= {limit}x bare"
        if not measured:
            out.append(f"- **Target** {name}: not measured in this run.")
            continue
        ratio = measured[column]
        outcome = verdict(ratio["per_repetition"], ratio["ratio_of_medians"], ratio["ratio_of_minima"], limit)
        summary["targets"].append({"target": name, "verdict": outcome})
        out.append(f"- **Target** {name}: ratios {ratio['per_repetition_median']:.3f} (median per repetition),"
                   f" {ratio['ratio_of_medians']:.3f} (of the medians), {ratio['ratio_of_minima']:.3f} (of the best"
                   f" runs): **{outcome}**.")
    if "64M" in summary["sizes"] and "engine-daemon" in summary["sizes"]["64M"]:
        daemon = median(values("64M", "engine-daemon", "total_us"))
        over_ssh = median(values("64M", "bare-ssh", "total_us"))
        below = daemon < over_ssh
        summary["targets"].append({"target": "64M engine-daemon total below bare-ssh", "verdict": "met" if below else "not met"})
        out.append(f"- **Target** 64M engine-daemon total below the bare commands over OpenSSH: {daemon / 1000:.0f} ms"
                   f" against {over_ssh / 1000:.0f} ms (medians): **{'met' if below else 'not met'}**.")
    print("\n".join(out))
    if summary_path:
        with open(summary_path, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
