#!/usr/bin/env python3
"""The docs section of bench/agent-start.sh from its raw CSV.

Usage: report_agent_start.py CSV MACHINE_MD REPETITIONS [SUMMARY_JSON]
"""
import json
import sys
from collections import defaultdict

from benchlib import median, read_rows, spread, table

QUIET = "`-Xlog:disable -Xlog:all=warning:stderr`"
VARIANTS = {
    "plain": "`java -jar` (no flags)",
    "quiet": f"quiet: {QUIET}",
    "c1": "quiet + `-XX:TieredStopAtLevel=1`",
    "serial-gc": "quiet + `-XX:+UseSerialGC`",
    "no-perf-data": "quiet + `-XX:-UsePerfData`",
    "cds": "quiet + `-XX:SharedArchiveFile=criu-agent-<sha256>.jsa`",
    "launch": "**the deployed launch**: quiet + archive",
    "launch-but-cds": "the launch without the archive",
    "launch+c1": "the launch + `-XX:TieredStopAtLevel=1` (rejected: the relay's TLS without C2, 20x slower)",
    "launch+serial-gc": "the launch + `-XX:+UseSerialGC` (rejected)",
    "launch+no-perf-data": "the launch + `-XX:-UsePerfData` (rejected)",
    "ssh-plain": "over SSH: `java -jar` (no flags)",
    "ssh-launch": "over SSH: the deployed launch",
}


def main():
    csv_path, machine_path, repetitions = sys.argv[1:4]
    summary_path = sys.argv[4] if len(sys.argv) > 4 else None
    rows = read_rows(csv_path)
    by = defaultdict(dict)
    for r in rows:
        by[r["variant"]][r["repetition"]] = int(r["first_answer_us"])

    def saved(variant, baseline):
        """Per repetition: how many ms the variant starts faster than its baseline."""
        pairs = [(by[baseline][k], by[variant][k]) for k in by[variant] if k in by[baseline]]
        return [(b - v) / 1000 for b, v in pairs]

    out = ["## The agent's JVM start: flags and class-data sharing", "",
           "`bench/agent-start.sh` (issue 12). `criu-agent serve` started again and again, each time with one"
           " launch variant, timed from the exec to the agent's Result for its first request (host_facts"
           " written to stdin, the answer read from stdout; any stray byte on stdout fails the run). The"
           " archive is a dynamic CDS archive made once by the deployer's training run. Each repetition runs"
           " every variant, starting with a different one each time.", ""]
    out += open(machine_path).read().rstrip().splitlines()
    out += [f"- {repetitions} starts per variant; raw rows: `bench/results/{csv_path.split('/')[-1]}`", "",
            "Milliseconds from exec to the first answer: median (min–max). Saved: plain − variant within each"
            " repetition (over SSH: against plain over SSH). The flag's share, what the flag itself saves: quiet −"
            " variant for a flag alone, (launch without it) − launch for a kept flag, launch − (launch + it) for"
            " a rejected one; median (min–max) over repetitions.", ""]
    header = ["variant", "first answer", "saved against plain", "the flag's share"]
    lines = []
    summary = {"csv": csv_path, "variants": {}}
    for variant, label in VARIANTS.items():
        if variant not in by:
            continue
        values = list(by[variant].values())
        baseline = "ssh-plain" if variant.startswith("ssh-") else "plain"
        gain = "" if variant == baseline else spread(saved(variant, baseline), 1, 0)
        # One flag's own effect: against "quiet" alone, what leaving it out of the launch costs, or
        # what adding it to the launch saves.
        share = ""
        if variant in ("c1", "serial-gc", "no-perf-data", "cds"):
            share = spread(saved(variant, "quiet"), 1, 0)
        elif variant.startswith("launch-but-"):
            share = spread(saved("launch", variant), 1, 0)
        elif variant.startswith("launch+"):
            share = spread(saved(variant, "launch"), 1, 0)
        lines.append([label, spread(values, 1000, 0), gain, share])
        summary["variants"][variant] = {"median_ms": median(values) / 1000,
                                        "saved_ms": median(saved(variant, baseline)) if gain else 0}
    out.append(table(header, lines))
    print("\n".join(out))
    if summary_path:
        with open(summary_path, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
