#!/usr/bin/env bash
# Benchmark (issue 2): the disk-less migration of one workload on this machine, by the bare CRIU
# command line and by criu-agent, side by side in one run. See --help.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/flows.sh"
NAME=diskless-agent-vs-cli

usage() {
  cat <<EOF
Usage: bench/$NAME.sh [options]

Migrates the same stateful workload (src/workloads/start-workload.sh: random memory, own PID
namespace) on this machine through the disk-less flow, alternately
  (a) bare:  mount a tmpfs; criu page-server -d; criu dump --leave-stopped --page-server
             --network-lock nftables; copy the non-page images; wait for the page server to end;
             criu restore -d; kill the source
  (b) agent: criu-agent page-server --tmpfs-size --detach; criu-agent dump --leave-stopped
             --page-server; copy the non-page images; criu-agent page-server-status;
             criu-agent restore; criu-agent kill
Each repetition runs both, (a) first in odd repetitions and (b) first in even ones. Every migration is
verified (source gone, restored root alive, counter continues, checksum unchanged) or the run fails.
Frozen time is CRIU's stats-dump frozen_time, read for both with criu-agent images --json.

Writes the raw rows to bench/results/$NAME-<time>.csv (and a summary .json) and replaces the
section "$NAME" of docs/benchmarks.md. Run as root; takes ~10 min with the defaults.

Options:
  --sizes LIST         workload memory sizes, comma-separated (default: 256M,1G)
  --repetitions N      migrations per size and method (default: 3)
  --interval SECONDS   the workload's tick interval (default: 3; every tick hashes all its memory)
  --port PORT          first page-server port; each migration takes the next (default: 27100)
  --step-timeout SEC   deadline of each step (default: 300)
  --max-minutes MIN    deadline of the whole run (default: 60)
  --no-docs            leave docs/benchmarks.md alone
  -h, --help           this text
EOF
}

SIZES=256M,1G
REPETITIONS=3
INTERVAL=3
PORT=27100
STEP_TIMEOUT=300
MAX_SECONDS=3600
WRITE_DOCS=1
parse_comparison_options "$@"

require_root_and_tools
ensure_agent_jar
mkdir -p "$RESULTS_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
CSV="$RESULTS_DIR/$NAME-$STAMP.csv"
SCRATCH=$(mktemp -d /var/tmp/criu-bench.XXXXXX)
export CRIU_AGENT_IMAGES_BASE="$SCRATCH"  # criu-agent refuses images directories outside its base
CLEANUP_DIRS+=("$SCRATCH")
MACHINE="${CSV%.csv}.machine.md"  # kept with the raw rows: the report can be made again from both
machine_description >"$MACHINE"
echo "size,repetition,method,position,frozen_us,freezing_us,memdump_us,memwrite_us,pages_written,page_server_us,dump_us,copy_us,page_server_check_us,restore_us,kill_us,total_us,agent_reported_frozen_us,criu_restore_us" >"$CSV"
TLS_DIR=""

# migrate METHOD SIZE REPETITION POSITION: one verified migration, one CSV row.
migrate() {
  local method=$1 size=$2 repetition=$3 position=$4 agent_frozen=""
  RUN_NAME="$size #$repetition $method"
  STATE_DIR="$SCRATCH/$size-$repetition-$method"
  measured_migration "$method" "$size" "$INTERVAL"
  if [ "$method" = agent ]; then agent_frozen=$(json_get "$STATE_DIR/dump.json" stats.frozen_time_micros); fi
  echo "$size,$repetition,$method,$position,$FROZEN_US,$FREEZING_US,$MEMDUMP_US,$MEMWRITE_US,$PAGES_WRITTEN,${STEP[page_server]},${STEP[dump]},${STEP[copy]},${STEP[page_server_check]},${STEP[restore]},${STEP[kill]},${STEP[total]},$agent_frozen,$RESTORE_TIME_US" >>"$CSV"
  check_run_deadline
}

for size in "${SIZE_LIST[@]}"; do
  bytes=$(size_bytes "$size")
  TMPFS_BYTES=$(( bytes + bytes / 4 + (128 << 20) ))  # the pages plus the interpreter's own memory
  for repetition in $(seq 1 "$REPETITIONS"); do
    if (( repetition % 2 )); then order=(bare agent); else order=(agent bare); fi
    migrate "${order[0]}" "$size" "$repetition" 1
    migrate "${order[1]}" "$size" "$repetition" 2
  done
done
log "all migrations verified; raw rows in $CSV"
echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared; see the note at the top)" >>"$MACHINE"

python3 "$BENCH_DIR/lib/report_diskless.py" "$CSV" "$MACHINE" "$REPETITIONS" "${CSV%.csv}.json" >"$SCRATCH/section.md"
cat "$SCRATCH/section.md"
if (( WRITE_DOCS )); then
  replace_docs_section "$NAME" "$SCRATCH/section.md"
  log "docs/benchmarks.md: section $NAME replaced"
fi
