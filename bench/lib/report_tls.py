#!/usr/bin/env python3
"""The docs section of bench/tls-cost.sh from its raw CSV.

Usage: report_tls.py CSV MACHINE_MD REPETITIONS [SUMMARY_JSON]

Prints Markdown; writes the summary (medians, ratios, the targets' verdicts) as JSON when asked.
Rows of a run before the relay existed (no relay_* columns, methods bare and agent only) still report.
"""
import json
import os
import sys
from collections import defaultdict

from benchlib import median, read_rows, spread, table

METHODS = {"bare": "bare CRIU command line", "agent": "criu-agent, `--page-transport criu`",
           "relay": "criu-agent, `--page-transport relay`"}
STREAMS = {"plain": "plain TCP", "tls": "TLS", "tls-lz4": "TLS + LZ4"}
TLS_KIND = {"bare": "CRIU's TLS", "agent": "CRIU's TLS", "relay": "the relay's TLS 1.3"}
COLUMNS = [("frozen_us", "frozen"), ("memwrite_us", "memwrite"), ("dump_us", "dump"), ("total_us", "total")]
PAGE_SIZE = 4096
FROZEN_LIMIT = 1.3       # target 1: relay TLS frozen time <= 1.3x plain TCP's
THROUGHPUT_LIMIT = 0.95  # target 2: relay plain throughput >= 0.95x CRIU's direct plain page server's


def memwrite_mbps(row):
    """CRIU's page stream as CRIU saw it: pages written over memwrite time (MB/s, 10^6 bytes)."""
    return int(row["pages_written"]) * PAGE_SIZE / int(row["memwrite_us"])


def relay_mbps(row):
    """The relay's own: CRIU's stream bytes over the relay's time (MB/s); None without a relay."""
    if not row.get("relay_ms") or not row.get("relay_stream_bytes") or int(row["relay_ms"]) == 0:
        return None
    return int(row["relay_stream_bytes"]) / (int(row["relay_ms"]) * 1000)


def wire_share(row):
    if not row.get("relay_wire_bytes") or not row.get("relay_stream_bytes"):
        return None
    return int(row["relay_wire_bytes"]) / int(row["relay_stream_bytes"])


def main():
    csv_path, machine_path, repetitions = sys.argv[1:4]
    summary_path = sys.argv[4] if len(sys.argv) > 4 else None
    rows = read_rows(csv_path)
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    variants = [(m, s) for m in METHODS for s in STREAMS if any(r["method"] == m and r["stream"] == s for r in rows)]
    by = defaultdict(dict)
    for r in rows:
        by[(r["size"], r["method"], r["stream"])][r["repetition"]] = r

    def have(size, variant):
        return bool(by[(size,) + variant])

    def values(size, variant, value):
        return [v for v in (value(r) for r in by[(size,) + variant].values()) if v is not None]

    def ratios(size, numerator, denominator, value, denominator_value=None):
        """value(numerator's row) / denominator_value(denominator's row) (default: value) within each
        repetition that ran both."""
        top, bottom = by[(size,) + numerator], by[(size,) + denominator]
        pairs = [(value(top[k]), (denominator_value or value)(bottom[k])) for k in sorted(bottom) if k in top]
        return [a / b for a, b in pairs if a is not None and b]

    def column(name):
        return lambda r: int(r[name])

    fill = os.environ.get("WORKLOAD_FILL", "random")
    title = "## TLS on the page stream: what it costs, CRIU's TLS against the agents' relay"
    if fill != "random":
        title += f" ({fill} memory)"
    out = [title, "",
           "`bench/tls-cost.sh` (issue 6). The disk-less flow of the benchmark above, with the memory pages"
           " streamed in plain TCP and in TLS (CA, certificate and key on each side; ECDSA P-256 certificates"
           " made for the run), by the bare CRIU command line (`--tls`), by `criu-agent` with CRIU's own page"
           " stream (`--page-transport criu`, the default; `--tls-cacert --tls-cert --tls-key` on `page-server`"
           " and `dump` turn on CRIU's TLS) and by `criu-agent` with its relay (`--page-transport relay` on"
           " `page-server --detach` and `dump`: each CRIU gets one end of a local socket pair and the agents"
           " carry the stream over one connection of their own; the same `--tls-*` files make it TLS 1.3"
           " between the agents; `TLS + LZ4` adds the dump's `--compress lz4`). Each repetition runs every"
           " variant, starting with a different one; every migration was verified (a TLS page server refuses"
           " a plain dump, and each relay's own statistics said TLS and the compression asked for).",
           "", "The workload's memory: " + ("random bytes (nothing compresses)." if fill == "random" else
                                            "text, words and numbers as a heap holds (`--fill text`: LZ4's case)."),
           ""]
    out += open(machine_path).read().rstrip().splitlines()
    out += [f"- {repetitions} repetitions per size and variant; raw rows: `bench/results/{csv_path.split('/')[-1]}`",
            "- The workload's memory is random bytes: LZ4 cannot shrink it (wire/stream is the relay's bytes"
            " on its connection over CRIU's stream bytes)."]

    summary = {"csv": csv_path, "sizes": {}, "targets": {}}
    targets = []  # Markdown lines, put first
    for size in sizes:
        s = summary["sizes"].setdefault(size, {})
        relay_tls, relay_plain = ("relay", "tls"), ("relay", "plain")
        # Target 1: relay TLS frozen time against plain TCP frozen time (the agent's criu transport, bare).
        for base, base_label in ((("agent", "plain"), "criu-agent `--page-transport criu` plain TCP"),
                                 (("bare", "plain"), "bare CRIU plain TCP")):
            if not (have(size, relay_tls) and have(size, base)):
                continue
            r = ratios(size, relay_tls, base, column("frozen_us"))
            met = median(r) <= FROZEN_LIMIT
            within = sum(v <= FROZEN_LIMIT for v in r)
            key = f"{size} relay-tls/{base[0]}-plain frozen"
            summary["targets"][key] = {"limit": FROZEN_LIMIT, "per_repetition": r, "median": median(r), "met": met}
            targets.append(f"- **Target 1** ({size}) relay TLS frozen time <= {FROZEN_LIMIT}x {base_label}: "
                           f"{spread(r, 1, 3)} (median (min–max) per repetition): **{'met' if met else 'not met'}**"
                           f" (within the limit in {within} of {len(r)} repetitions).")
        # Target 2: relay plain throughput against CRIU's direct plain page server (bare), two ways.
        if have(size, relay_plain) and have(size, ("bare", "plain")):
            for label, value in (("CRIU's memwrite throughput with the relay under it", memwrite_mbps),
                                 ("the relay's own throughput (stream bytes / relay time, which includes CRIU's start: a lower bound)",
                                  relay_mbps)):
                r = ratios(size, relay_plain, ("bare", "plain"), value, memwrite_mbps)
                met = median(r) >= THROUGHPUT_LIMIT
                within = sum(v >= THROUGHPUT_LIMIT for v in r)
                key = f"{size} relay-plain/bare-plain throughput ({'memwrite' if value is memwrite_mbps else 'relay'})"
                summary["targets"][key] = {"limit": THROUGHPUT_LIMIT, "per_repetition": r, "median": median(r),
                                           "met": met}
                targets.append(f"- **Target 2** ({size}) relay plain throughput >= {THROUGHPUT_LIMIT}x bare CRIU's"
                               f" plain page server's memwrite throughput, measured as {label}: {spread(r, 1, 3)}:"
                               f" **{'met' if met else 'not met'}** (in {within} of {len(r)} repetitions).")
        for method, stream in variants:
            if have(size, (method, stream)):
                s[f"{method}:{stream}"] = {
                    **{c: median(values(size, (method, stream), column(c))) for c, _ in COLUMNS},
                    "memwrite_mbps": median(values(size, (method, stream), memwrite_mbps)),
                    "relay_mbps": median(values(size, (method, stream), relay_mbps))}

    out += ["", "Targets (issue: relay TLS frozen <= 1.3x plain TCP, where CRIU's TLS was 1.7–2.2x; relay plain"
            " throughput >= 0.95x CRIU's direct plain page server), as ratios within each repetition:", ""]
    out += targets or ["- not measured in this run (it needs the relay and plain variants)."]

    out += ["", "Median (min–max) milliseconds; frozen and memwrite are CRIU's `stats-dump` times. CRIU MB/s is"
            " pages written × 4096 over memwrite time; relay MB/s is CRIU's stream bytes over the dumping"
            " relay's own time (the dump's `relay.millis`: from the relay's start, connected and authenticated"
            " before CRIU runs, to the end of the stream, so it includes CRIU's start, freezing and memdump and"
            " understates the stream's rate); 1 MB = 10^6 bytes.", ""]
    header = ["size", "method", "stream"] + [label for _, label in COLUMNS] + ["CRIU MB/s", "relay MB/s", "wire/stream"]
    lines = []
    for size in sizes:
        for method, stream in variants:
            v = (method, stream)
            if not have(size, v):
                continue
            relay = values(size, v, relay_mbps)
            share = values(size, v, wire_share)
            lines.append([size, METHODS[method], STREAMS[stream]]
                         + [spread(values(size, v, column(c)), 1000, 0) for c, _ in COLUMNS]
                         + [spread(values(size, v, memwrite_mbps), 1, 0),
                            spread(relay, 1, 0) if relay else "–", spread(share, 1, 3) if share else "–"])
    out += [table(header, lines), ""]

    header = ["size", "method", "stream", "TLS", "/plain frozen", "/plain memwrite", "/plain total"]
    lines = []
    for size in sizes:
        for method, stream in variants:
            if stream == "plain" or not have(size, (method, "plain")) or not have(size, (method, stream)):
                continue
            r = {c: ratios(size, (method, stream), (method, "plain"), column(c))
                 for c in ("frozen_us", "memwrite_us", "total_us")}
            lines.append([size, METHODS[method], STREAMS[stream], TLS_KIND[method]]
                         + [spread(r[c], 1, 3) for c in ("frozen_us", "memwrite_us", "total_us")])
            summary["sizes"][size][f"{method}:{stream}/plain"] = {c: median(v) for c, v in r.items()}
    out += ["The cost of TLS as a ratio against the same method's plain TCP within each repetition: median"
            " (min–max).", "", table(header, lines)]
    print("\n".join(out))
    if summary_path:
        with open(summary_path, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
