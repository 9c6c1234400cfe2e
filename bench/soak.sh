#!/usr/bin/env bash
# Soak (issue 6): one workload migrated back and forth between two "hosts" many times in a row,
# watching for leaks and drift. See --help.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/flows.sh"
NAME=soak

usage() {
  cat <<EOF
Usage: bench/$NAME.sh [options]

Migrates one stateful workload (src/workloads/start-workload.sh, own PID namespace) back and forth
between two hosts ROUNDS times in a row. Both hosts are this machine, each with its own images base
(host-a/images, host-b/images under a scratch directory); every migration gets its own directories
under them, made and cleaned by the agent.
  --via agent   criu-agent's three-step flow (page-server --tmpfs-size --detach, dump --leave-stopped,
                copy, page-server-status, restore, kill), then criu-agent cleanup of both directories

After every round it checks the migration (source gone, restored root alive, counter continues,
checksum unchanged) and records what the run holds: processes other than the workload that use the
scratch directory and their open descriptors, the workload's processes, mounts under the scratch
directory, and the disk usage of each images base. At the end the workload's whole log must be one
unbroken count with one checksum. Reports time per migration (first and last decile, drift).

A benchmark CI does not run. Writes bench/results/$NAME-<time>.csv and replaces the section "$NAME"
of docs/benchmarks.md. Run as root.

Options:
  --rounds N           migrations (default: 100)
  --memory SIZE        the workload's memory (default: 64M)
  --via agent          what migrates (default: agent)
  --interval SECONDS   the workload's tick interval (default: 0.5)
  --port PORT          first page-server port; each migration takes the next (default: 28100)
  --step-timeout SEC   deadline of each step (default: 300)
  --max-minutes MIN    deadline of the whole run (default: 180)
  --no-docs            leave docs/benchmarks.md alone
  -h, --help           this text
EOF
}

ROUNDS=100
MEMORY=64M
VIA=agent
INTERVAL=0.5
PORT=28100
STEP_TIMEOUT=300
MAX_SECONDS=$(( 180 * 60 ))
WRITE_DOCS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=${2:?--rounds needs a number}; shift 2 ;;
    --memory) MEMORY=${2:?--memory needs a size}; shift 2 ;;
    --via) VIA=${2:?--via needs agent}; shift 2 ;;
    --interval) INTERVAL=${2:?--interval needs seconds}; shift 2 ;;
    --port) PORT=${2:?--port needs a number}; shift 2 ;;
    --step-timeout) STEP_TIMEOUT=${2:?--step-timeout needs seconds}; shift 2 ;;
    --max-minutes) MAX_SECONDS=$(( ${2:?--max-minutes needs minutes} * 60 )); shift 2 ;;
    --no-docs) WRITE_DOCS=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$NAME.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds: give a positive number, not '$ROUNDS'" >&2; exit 2; }
[[ "$PORT" =~ ^[0-9]+$ ]] && (( PORT >= 1024 && PORT + ROUNDS < 65535 )) \
  || { echo "--port: give 1024 or more, with room for $ROUNDS ports, not '$PORT'" >&2; exit 2; }
[[ "$STEP_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || { echo "--step-timeout: give seconds, not '$STEP_TIMEOUT'" >&2; exit 2; }
[[ "$INTERVAL" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "--interval: give seconds, not '$INTERVAL'" >&2; exit 2; }
MEMORY_BYTES=$(size_bytes "$MEMORY") || { echo "--memory: '$MEMORY' is not a size like 64M or 1G" >&2; exit 2; }
case "$VIA" in
  agent) ;;
  *) echo "--via: give agent, not '$VIA'" >&2; exit 2 ;;
esac

require_root_and_tools
ensure_agent_jar
mkdir -p "$RESULTS_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
CSV="$RESULTS_DIR/$NAME-$VIA-$STAMP.csv"
SCRATCH=$(mktemp -d /var/tmp/criu-soak.XXXXXX)
CLEANUP_DIRS+=("$SCRATCH")
MACHINE="$SCRATCH/machine.md"
machine_description >"$MACHINE"
HOSTS=(host-a host-b)
for host in "${HOSTS[@]}"; do mkdir -p "$SCRATCH/$host/images"; done
TMPFS_BYTES=$(( MEMORY_BYTES + MEMORY_BYTES / 4 + (128 << 20) ))
TLS_DIR=""
SEED=$$  # tells this run's workload from any other's
SSHD_PIDS=()  # the sshd "hosts" (--via engine)
echo "round,from,to,total_us,page_server_us,dump_us,copy_us,page_server_check_us,restore_us,kill_us,frozen_us,stray_processes,stray_fds,workload_processes,sshd_processes,sshd_fds,mounts,images_bytes_a,images_bytes_b" >"$CSV"

# What the run holds now: sets STRAY_PROCS STRAY_FDS WORKLOAD_PROCS SSHD_PROCS SSHD_FDS MOUNTS BYTES_A BYTES_B.
sample() {
  read -r STRAY_PROCS STRAY_FDS WORKLOAD_PROCS SSHD_PROCS SSHD_FDS MOUNTS < <(python3 "$BENCH_LIB" scan "$SCRATCH" "$SEED" "${SSHD_PIDS[@]}")
  BYTES_A=$(du -sb "$SCRATCH/host-a/images" | cut -f1)
  BYTES_B=$(du -sb "$SCRATCH/host-b/images" | cut -f1)
}

WORKLOAD_LOG="$SCRATCH/workload.log"
log "starting the workload ($MEMORY, seed $SEED)"
start_workload "$WORKLOAD_LOG" "$MEMORY" "$INTERVAL" --seed "$SEED"
SOURCE=$WORKLOAD_PID
CHECKSUM=$(first_checksum "$WORKLOAD_LOG")
sample
echo "0,,,,,,,,,,,$STRAY_PROCS,$STRAY_FDS,$WORKLOAD_PROCS,$SSHD_PROCS,$SSHD_FDS,$MOUNTS,$BYTES_A,$BYTES_B" >>"$CSV"

for round in $(seq 1 "$ROUNDS"); do
  from=${HOSTS[$(( (round - 1) % 2 ))]} to=${HOSTS[$(( round % 2 ))]}
  RUN_NAME="round $round ($from -> $to)"
  STATE_DIR="$SCRATCH/state/$round"
  SRC_DIR="$SCRATCH/$from/images/migration-$round" DST_DIR="$SCRATCH/$to/images/migration-$round"
  mkdir -p "$STATE_DIR"
  PORT=$(( PORT + 1 ))
  migrate_steps agent
  problem=$(verify_migration "$WORKLOAD_LOG" "$TICK_AT_DUMP" "$CHECKSUM" "$RESTORED" "$SOURCE") \
    || fail "the migration did not work: $problem"
  FROZEN_US=$(json_get "$STATE_DIR/dump.json" stats.frozen_time_micros)
  agent_cleanup
  SOURCE=$RESTORED
  sample
  echo "$round,$from,$to,${STEP[total]},${STEP[page_server]},${STEP[dump]},${STEP[copy]},${STEP[page_server_check]},${STEP[restore]},${STEP[kill]},$FROZEN_US,$STRAY_PROCS,$STRAY_FDS,$WORKLOAD_PROCS,$SSHD_PROCS,$SSHD_FDS,$MOUNTS,$BYTES_A,$BYTES_B" >>"$CSV"
  log "$RUN_NAME: $(( STEP[total] / 1000 )) ms (frozen $(( FROZEN_US / 1000 )) ms); stray processes $STRAY_PROCS, mounts $MOUNTS, images $BYTES_A + $BYTES_B bytes"
  check_run_deadline
done

# The end state: the workload's whole log is one unbroken count with one checksum.
python3 - "$WORKLOAD_LOG" "$CHECKSUM" <<'EOF' || fail "the workload's log is not one unbroken count"
import sys
ticks = [line.split() for line in open(sys.argv[1]) if line.startswith("tick=")]
numbers = [int(t[0][5:]) for t in ticks]
assert numbers == list(range(len(numbers))), "the count has gaps or repeats"
assert all(t[1] == "checksum=" + sys.argv[2] for t in ticks), "the checksum changed"
print(f"the workload's log: ticks 0 to {numbers[-1]}, one checksum", file=sys.stderr)
EOF
process_running "$SOURCE" || fail "the workload is not running at the end"
kill_tree "$SOURCE"
log "all $ROUNDS migrations verified; raw rows in $CSV"
echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared; see the note at the top)" >>"$MACHINE"

python3 "$BENCH_DIR/lib/report_soak.py" "$CSV" "$MACHINE" "$VIA" "$MEMORY" "${CSV%.csv}.json" >"$SCRATCH/section.md"
cat "$SCRATCH/section.md"
if (( WRITE_DOCS )); then
  replace_docs_section "$NAME-$VIA" "$SCRATCH/section.md"
  log "docs/benchmarks.md: section $NAME-$VIA replaced"
fi
