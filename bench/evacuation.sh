#!/usr/bin/env bash
# Benchmark (issue 12): evacuating a host - several workloads migrated off it - one at a time against
# two at a time, side by side in one run. See --help.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/flows.sh"
source "$(dirname "$0")/lib/sshd.sh"
NAME=evacuation

usage() {
  cat <<EOF
Usage: bench/$NAME.sh [options]

Two SSH "hosts" on loopback (OpenSSH sshd, own host keys, strict checking; one kernel, each workload
in its own PID namespace). Each repetition starts WORKLOADS stateful workloads of SIZE on the source
and moves them all to the destination with criu-migrate (plain page stream, through warm agent
daemons reached over the SSH connections), in turn
  in-a-row   one migration after the other
  2-at-once  two criu-migrate processes at a time
(the repetition's first mode alternates). Every migration is verified (source gone, restored root
alive, counter continues, checksum unchanged). Reports the wall time of the whole evacuation and the
frozen window of each migration.

Writes bench/results/$NAME-<time>.csv and replaces the section "$NAME" of docs/benchmarks.md. Run as root.

Options:
  --workloads N        workloads per evacuation (default: 4)
  --memory SIZE        each workload's memory (default: 64M)
  --repetitions N      evacuations per mode (default: 3)
  --interval SECONDS   the workloads' tick interval (default: 3)
  --step-timeout SEC   deadline of each migration (default: 300)
  --max-minutes MIN    deadline of the whole run (default: 60)
  --no-docs            leave docs/benchmarks.md alone
  -h, --help           this text
EOF
}

WORKLOADS=4
MEMORY=64M
REPETITIONS=3
INTERVAL=3
STEP_TIMEOUT=300
MAX_SECONDS=3600
WRITE_DOCS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --workloads) WORKLOADS=${2:?--workloads needs a number}; shift 2 ;;
    --memory) MEMORY=${2:?--memory needs a size}; shift 2 ;;
    --repetitions) REPETITIONS=${2:?--repetitions needs a number}; shift 2 ;;
    --interval) INTERVAL=${2:?--interval needs seconds}; shift 2 ;;
    --step-timeout) STEP_TIMEOUT=${2:?--step-timeout needs seconds}; shift 2 ;;
    --max-minutes) MAX_SECONDS=$(( ${2:?--max-minutes needs minutes} * 60 )); shift 2 ;;
    --no-docs) WRITE_DOCS=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$NAME.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$WORKLOADS" =~ ^[1-9][0-9]*$ ]] || { echo "--workloads: give a positive number, not '$WORKLOADS'" >&2; exit 2; }
[[ "$REPETITIONS" =~ ^[1-9][0-9]*$ ]] || { echo "--repetitions: give a positive number, not '$REPETITIONS'" >&2; exit 2; }
[[ "$STEP_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || { echo "--step-timeout: give seconds, not '$STEP_TIMEOUT'" >&2; exit 2; }
size_bytes "$MEMORY" >/dev/null || { echo "--memory: '$MEMORY' is not a size like 64M or 1G" >&2; exit 2; }

require_root_and_tools
ensure_agent_jar
ensure_migrate_jar
mkdir -p "$RESULTS_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
CSV="$RESULTS_DIR/$NAME-$STAMP.csv"
SCRATCH=$(mktemp -d /var/tmp/criu-bench.XXXXXX)
CLEANUP_DIRS+=("$SCRATCH")
MACHINE="${CSV%.csv}.machine.md"
machine_description >"$MACHINE"
echo "repetition,mode,position,workload,evacuation_us,frozen_us,total_us" >"$CSV"

log "starting two sshd hosts on loopback"
init_ssh_hosts "$SCRATCH/ssh"
start_sshd_host source
start_sshd_host destination
SOURCE_HOST="root@127.0.0.1:$SSHD_PORT_source" DESTINATION_HOST="root@127.0.0.1:$SSHD_PORT_destination"
deploy_agents "$SCRATCH/agent" "$SCRATCH/engine-images"
start_agent_daemon "$SCRATCH/agent" "$SCRATCH/engine-images"

# migrate_one N: workload N off the source, its report in $RUN_DIR/N.json.
migrate_one() {
  run_criu_migrate "$RUN_DIR/$1.json" $(( STEP_TIMEOUT * 3 )) --pid "${PIDS[$1]}" --no-tls --agent-socket "$DAEMON_SOCKET"
}

# evacuate MODE REPETITION POSITION: one verified evacuation, one CSV row per workload.
evacuate() {
  local mode=$1 repetition=$2 position=$3 n partner pair start elapsed restored problem
  RUN_DIR="$SCRATCH/$repetition-$mode"
  mkdir -p "$RUN_DIR"
  PIDS=() CHECKSUMS=() TICKS=()
  for n in $(seq 1 "$WORKLOADS"); do
    start_workload "$RUN_DIR/$n.log" "$MEMORY" "$INTERVAL"
    PIDS[$n]=$WORKLOAD_PID CHECKSUMS[$n]=$(first_checksum "$RUN_DIR/$n.log") TICKS[$n]=$(last_tick "$RUN_DIR/$n.log")
  done
  log "#$repetition $mode: evacuating $WORKLOADS workloads of $MEMORY"
  start=$(now_us)
  if [ "$mode" = in-a-row ]; then
    for n in $(seq 1 "$WORKLOADS"); do migrate_one "$n"; done
  else
    for n in $(seq 1 2 "$WORKLOADS"); do
      partner=$(( n + 1 ))
      migrate_one "$n" &
      pair=$!
      if (( partner <= WORKLOADS )); then migrate_one "$partner"; fi
      wait "$pair" || fail "workload $n did not migrate"
    done
  fi
  elapsed=$(( $(now_us) - start ))
  for n in $(seq 1 "$WORKLOADS"); do
    restored=$(json_get "$RUN_DIR/$n.json" restoredPid)
    CLEANUP_PIDS+=("$restored")
    forget_pid "${PIDS[$n]}"
    problem=$(verify_migration "$RUN_DIR/$n.log" "${TICKS[$n]}" "${CHECKSUMS[$n]}" "$restored" "${PIDS[$n]}") \
      || fail "workload $n did not migrate intact: $problem"
    echo "$repetition,$mode,$position,$n,$elapsed,$(( $(json_get "$RUN_DIR/$n.json" frozenMillis) * 1000 )),$(( $(json_get "$RUN_DIR/$n.json" totalMillis) * 1000 ))" >>"$CSV"
    kill_tree "$restored"
  done
  log "#$repetition $mode: all verified in $(( elapsed / 1000 )) ms"
  check_run_deadline
}

MODES=(in-a-row 2-at-once)
for repetition in $(seq 1 "$REPETITIONS"); do
  for i in 0 1; do
    evacuate "${MODES[$(( (i + repetition - 1) % 2 ))]}" "$repetition" $(( i + 1 ))
  done
done
log "all evacuations verified; raw rows in $CSV"
echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared; see the note at the top)" >>"$MACHINE"

python3 "$BENCH_DIR/lib/report_evacuation.py" "$CSV" "$MACHINE" "$WORKLOADS" "$MEMORY" "$REPETITIONS" >"$SCRATCH/section.md"
cat "$SCRATCH/section.md"
if (( WRITE_DOCS )); then
  replace_docs_section "$NAME" "$SCRATCH/section.md"
  log "docs/benchmarks.md: section $NAME replaced"
fi
