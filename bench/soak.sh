#!/usr/bin/env bash
# Soak (issue 6): one workload migrated back and forth between two "hosts" many times in a row,
# watching for leaks and drift. See --help.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/flows.sh"
source "$(dirname "$0")/lib/sshd.sh"
NAME=soak

usage() {
  cat <<EOF
Usage: bench/$NAME.sh [options]

Migrates one stateful workload (src/workloads/start-workload.sh, own PID namespace) back and forth
between two hosts ROUNDS times in a row. Both hosts are this machine.
  --via agent   criu-agent's three-step flow (page-server --tmpfs-size --detach, dump --leave-stopped,
                copy, page-server-status, restore, kill), then criu-agent cleanup of both directories;
                each host has its own images base (host-a/images, host-b/images in a scratch directory)
  --via engine  criu-migrate --from --to --pid between two OpenSSH sshd hosts on loopback (own host
                keys, strict checking), the agent deployed by an untimed dry run first; the images
                base is the engine's --images-dir (one path, both hosts)
  --via daemon  the same through one warm criu-agent daemon that both hosts reach through their SSH
                connections (no agent JVM per migration); its threads, open descriptors and resident
                memory are recorded after every round

After every round it checks the migration (source gone, restored root alive, counter continues,
checksum unchanged) and records what the run holds: processes other than the workload that use the
scratch directory and their open descriptors, the workload's processes, the sshd hosts' processes and
descriptors (engine), mounts under the scratch directory, and the disk usage of the images bases. At the end the workload's whole log must be one
unbroken count with one checksum. Reports time per migration (first and last decile, drift).

A benchmark CI does not run. Writes bench/results/$NAME-<time>.csv and replaces the section "$NAME"
of docs/benchmarks.md. Run as root.

Options:
  --rounds N           migrations (default: 100)
  --memory SIZE        the workload's memory (default: 64M)
  --via agent|engine|daemon   what migrates (default: agent)
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
    --via) VIA=${2:?--via needs agent, engine or daemon}; shift 2 ;;
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
  agent|engine|daemon) ;;
  *) echo "--via: give agent, engine or daemon, not '$VIA'" >&2; exit 2 ;;
esac

require_root_and_tools
ensure_agent_jar
if [ "$VIA" != agent ]; then ensure_migrate_jar; fi
mkdir -p "$RESULTS_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
CSV="$RESULTS_DIR/$NAME-$VIA-$STAMP.csv"
SCRATCH=$(mktemp -d /var/tmp/criu-soak.XXXXXX)
export CRIU_AGENT_IMAGES_BASE="$SCRATCH"  # criu-agent refuses images directories outside its base
CLEANUP_DIRS+=("$SCRATCH")
MACHINE="${CSV%.csv}.machine.md"  # kept with the raw rows: the report can be made again from both
machine_description >"$MACHINE"
HOSTS=(host-a host-b)
if [ "$VIA" = agent ]; then
  IMAGES_BASES=("$SCRATCH/host-a/images" "$SCRATCH/host-b/images")
else
  IMAGES_BASES=("$SCRATCH/engine-images")
fi
mkdir -p "${IMAGES_BASES[@]}"
TMPFS_BYTES=$(( MEMORY_BYTES + MEMORY_BYTES / 4 + (128 << 20) ))
TLS_DIR=""
SEED=$$  # tells this run's workload from any other's
echo "round,from,to,total_us,frozen_us,stray_processes,stray_fds,workload_processes,sshd_processes,sshd_fds,mounts,images_bytes,daemon_threads,daemon_fds,daemon_rss_kb,load_1min" >"$CSV"

# What the run holds now: sets STRAY_PROCS STRAY_FDS WORKLOAD_PROCS SSHD_PROCS SSHD_FDS MOUNTS IMAGES_BYTES.
sample() {
  read -r STRAY_PROCS STRAY_FDS WORKLOAD_PROCS SSHD_PROCS SSHD_FDS MOUNTS < <(python3 "$BENCH_LIB" scan "$SCRATCH" "$SEED" "${SSHD_PIDS[@]}")
  IMAGES_BYTES=$(du -sbc "${IMAGES_BASES[@]}" | tail -n1 | cut -f1)
  DAEMON_THREADS=0 DAEMON_FDS=0 DAEMON_RSS_KB=0
  if [ -n "${DAEMON_PID:-}" ]; then
    DAEMON_THREADS=$(awk '/^Threads:/ {print $2}' "/proc/$DAEMON_PID/status")
    DAEMON_FDS=$(ls "/proc/$DAEMON_PID/fd" | wc -l)
    DAEMON_RSS_KB=$(awk '/^VmRSS:/ {print $2}' "/proc/$DAEMON_PID/status")
  fi
}

# One migration by criu-agent's three-step flow, from host-a's images base to host-b's or back.
migrate_by_agent() {
  SRC_DIR="$SCRATCH/$from/images/migration-$round" DST_DIR="$SCRATCH/$to/images/migration-$round"
  PORT=$(( PORT + 1 ))
  migrate_steps agent
  TOTAL_US=${STEP[total]}
  FROZEN_US=$(json_get "$STATE_DIR/dump.json" stats.frozen_time_micros)
  agent_cleanup
}

# One migration by criu-migrate over SSH; the source's last tick is not known, the count is checked
# from the last tick before the migration started.
migrate_by_engine() {
  local port_from=SSHD_PORT_${from//-/_} port_to=SSHD_PORT_${to//-/_} start
  SOURCE_HOST="root@127.0.0.1:${!port_from}" DESTINATION_HOST="root@127.0.0.1:${!port_to}"
  TICK_AT_DUMP=$(last_tick "$WORKLOAD_LOG")
  start=${EPOCHREALTIME/./}
  run_criu_migrate "$STATE_DIR/report.json" $(( STEP_TIMEOUT * 3 )) --pid "$SOURCE" "${ENGINE_OPTIONS[@]}"
  TOTAL_US=$(( ${EPOCHREALTIME/./} - start ))
  RESTORED=$(json_get "$STATE_DIR/report.json" restoredPid)
  CLEANUP_PIDS+=("$RESTORED")
  FROZEN_US=$(( $(json_get "$STATE_DIR/report.json" frozenMillis) * 1000 ))
}
migrate_by_daemon() { migrate_by_engine; }

ENGINE_OPTIONS=(--agent-socket '')
if [ "$VIA" != agent ]; then
  log "starting two sshd hosts on loopback"
  init_ssh_hosts "$SCRATCH/ssh"
  start_sshd_host host-a
  start_sshd_host host-b
  SOURCE_HOST="root@127.0.0.1:$SSHD_PORT_host_a" DESTINATION_HOST="root@127.0.0.1:$SSHD_PORT_host_b"
  deploy_agents "$SCRATCH/agent" "$SCRATCH/engine-images"
  if [ "$VIA" = daemon ]; then
    start_agent_daemon "$SCRATCH/agent" "$SCRATCH/engine-images"
    ENGINE_OPTIONS=(--agent-socket "$DAEMON_SOCKET")
  fi
fi

WORKLOAD_LOG="$SCRATCH/workload.log"
log "starting the workload ($MEMORY, seed $SEED)"
start_workload "$WORKLOAD_LOG" "$MEMORY" "$INTERVAL" --seed "$SEED"
SOURCE=$WORKLOAD_PID
CHECKSUM=$(first_checksum "$WORKLOAD_LOG")
sample
echo "0,,,,,$STRAY_PROCS,$STRAY_FDS,$WORKLOAD_PROCS,$SSHD_PROCS,$SSHD_FDS,$MOUNTS,$IMAGES_BYTES,$DAEMON_THREADS,$DAEMON_FDS,$DAEMON_RSS_KB,$(cut -d' ' -f1 /proc/loadavg)" >>"$CSV"

for round in $(seq 1 "$ROUNDS"); do
  from=${HOSTS[$(( (round - 1) % 2 ))]} to=${HOSTS[$(( round % 2 ))]}
  RUN_NAME="round $round ($from -> $to)"
  STATE_DIR="$SCRATCH/state/$round"
  mkdir -p "$STATE_DIR"
  "migrate_by_$VIA"
  forget_pid "$SOURCE"
  problem=$(verify_migration "$WORKLOAD_LOG" "$TICK_AT_DUMP" "$CHECKSUM" "$RESTORED" "$SOURCE") \
    || fail "the migration did not work: $problem"
  SOURCE=$RESTORED
  sample
  echo "$round,$from,$to,$TOTAL_US,$FROZEN_US,$STRAY_PROCS,$STRAY_FDS,$WORKLOAD_PROCS,$SSHD_PROCS,$SSHD_FDS,$MOUNTS,$IMAGES_BYTES,$DAEMON_THREADS,$DAEMON_FDS,$DAEMON_RSS_KB,$(cut -d' ' -f1 /proc/loadavg)" >>"$CSV"
  log "$RUN_NAME: $(( TOTAL_US / 1000 )) ms (frozen $(( FROZEN_US / 1000 )) ms); stray processes $STRAY_PROCS, sshd fds $SSHD_FDS, mounts $MOUNTS, images $IMAGES_BYTES bytes${DAEMON_PID:+, daemon threads $DAEMON_THREADS fds $DAEMON_FDS rss ${DAEMON_RSS_KB} kB}"
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
