#!/usr/bin/env bash
# Starts stateful_counter.py in its own PID namespace (and, with --net, its own network namespace with
# lo up), detached from this terminal, its output in LOG. Prints the host PID of the workload's root
# (the namespace's init), which is what CRIU dumps.
#
# Usage: start-workload.sh [--net] LOG [stateful_counter.py options...]
# WORKLOAD_START_SECONDS (default 10) bounds the wait for the first tick: filling a GiB of random
# memory takes longer than that on a busy machine.
# One kernel serves both "hosts" in tests: the namespaces let CRIU restore the tree with its original
# PIDs (and ports) while the stopped source still holds them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
net=()
if [ "${1:-}" = "--net" ]; then net=(--net); shift; fi
log=${1:?usage: start-workload.sh [--net] LOG [workload options]}; shift
: > "$log"
# setsid inside the namespace: CRIU refuses a session leader outside the dumped PID namespace.
setsid unshare --pid "${net[@]}" --fork \
  sh -c 'if [ -n "$1" ]; then ip link set lo up; fi; shift; exec setsid python3 "$@"' \
  sh "${net[*]:-}" "$here/stateful_counter.py" "$@" </dev/null >>"$log" 2>&1 &
unshare_pid=$!
for _ in $(seq 1 $(( ${WORKLOAD_START_SECONDS:-10} * 10 ))); do
  root=$(pgrep -P "$unshare_pid" 2>/dev/null | head -n1 || true)
  # The root is ready once it has exec'd python and printed its first tick.
  if [ -n "$root" ] && grep -q '^tick=' "$log" 2>/dev/null; then echo "$root"; exit 0; fi
  sleep 0.1
done
echo "start-workload.sh: the workload did not start; its log says:" >&2
cat "$log" >&2
kill "$unshare_pid" 2>/dev/null || true
exit 1
