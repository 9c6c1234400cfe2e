#!/usr/bin/env python3
"""Helpers the benchmark scripts share: reading JSON results, statistics over raw CSV rows, Markdown
tables, and replacing one benchmark's section of docs/benchmarks.md while keeping the others.

Subcommands:
  json-get FILE PATH...          print the value at each dotted PATH of a JSON document (one per line)
  replace-section DOC NAME FILE  put FILE's text between NAME's markers in DOC (appended if missing)
  scan DIR SEED [PID...]         what a run holds now, one line: stray processes and their descriptors
                                 (processes using DIR other than the workload and the trees rooted at
                                 PID...), workload processes (stateful_counter.py --seed SEED),
                                 processes and descriptors of the trees rooted at PID... (sshd),
                                 mounts under DIR
"""
import csv
import json
import os
import statistics
import sys
import tempfile


def json_get(document, path):
    value = document
    for key in path.split("."):
        if isinstance(value, list):
            value = value[int(key)]
        else:
            value = value[key]
    return value


def cmd_json_get(args):
    with open(args[0]) as f:
        document = json.load(f)
    for path in args[1:]:
        try:
            print(json_get(document, path))
        except (KeyError, IndexError, TypeError, ValueError):
            sys.exit(f"json-get: {args[0]} has no {path}")


def markers(name):
    return f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"


def replace_section(doc_path, name, body):
    begin, end = markers(name)
    text = open(doc_path).read() if os.path.exists(doc_path) else "# Benchmarks\n"
    section = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    # Written next to the page and renamed, so an interrupted run never leaves half a page.
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(doc_path)), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, doc_path)


def cmd_replace_section(args):
    doc_path, name, body_path = args
    with open(body_path) as f:
        replace_section(doc_path, name, f.read())


def read_rows(csv_path):
    with open(csv_path) as f:
        return list(csv.DictReader(f))


def spread(values, scale=1.0, digits=2):
    """'median (min–max)' of values divided by scale."""
    values = [v / scale for v in values]
    if not values:
        return "n/a"
    med = statistics.median(values)
    return f"{med:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def median(values):
    return statistics.median(values) if values else float("nan")


def verdict(per_repetition, ratio_of_medians, ratio_of_minima, limit):
    """'met' when every view of the ratio is within limit, 'not met' when none is, else 'inconclusive'."""
    views = [median(per_repetition), ratio_of_medians, ratio_of_minima]
    if all(v <= limit for v in views):
        return "met"
    if all(v > limit for v in views):
        return "not met"
    return "inconclusive"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def proc_entries():
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def links(pid):
    """Where the process's cwd, root and descriptors point; [] when it is gone or a zombie."""
    targets = []
    for name in ("cwd", "root"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/{name}"))
        except OSError:
            pass
    return targets + [target for _, target in descriptors(pid)]


def descriptors(pid):
    result = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                result.append((fd, os.readlink(f"/proc/{pid}/fd/{fd}")))
            except OSError:
                pass
    except OSError:
        pass
    return result


def children_map():
    children = {}
    for pid in proc_entries():
        stat = read_text(f"/proc/{pid}/stat")
        if stat:
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(pid)
    return children


def cmd_scan(args):
    directory, seed, roots = os.path.abspath(args[0]), args[1], [int(a) for a in args[2:]]
    prefix = directory + "/"
    children = children_map()
    tree, pending = set(), list(roots)
    while pending:
        pid = pending.pop()
        if os.path.exists(f"/proc/{pid}") and pid not in tree:
            tree.add(pid)
            pending += children.get(pid, [])
    tree_fds = sum(len(descriptors(pid)) for pid in tree)
    me = os.getpid()
    stray = stray_fds = workload = 0
    for pid in proc_entries():
        if pid == me or pid in tree:
            continue
        cmdline = read_text(f"/proc/{pid}/cmdline").rstrip("\0").split("\0")
        if "stateful_counter.py" in " ".join(cmdline) and cmdline[-2:] == ["--seed", seed]:
            workload += 1
            continue
        if any(t == directory or t.startswith(prefix) for t in links(pid)) or any(prefix in a for a in cmdline):
            stray += 1
            stray_fds += len(descriptors(pid))
            if os.environ.get("BENCH_SCAN_VERBOSE"):
                print(pid, " ".join(cmdline), file=sys.stderr)
    mounts = sum(1 for line in read_text("/proc/self/mountinfo").splitlines()
                 if line.split()[4].startswith(prefix))
    print(stray, stray_fds, workload, len(tree), tree_fds, mounts)


def main():
    commands = {"json-get": cmd_json_get, "replace-section": cmd_replace_section, "scan": cmd_scan}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
