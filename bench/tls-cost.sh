#!/usr/bin/env bash
# Benchmark (issue 6): what TLS on the page stream costs, plain TCP against TLS, by the bare CRIU command
# line, by criu-agent with CRIU's own page stream and by criu-agent's relay (--page-transport relay),
# side by side in one run. See --help.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/flows.sh"
NAME=tls-cost

usage() {
  cat <<EOF
Usage: bench/$NAME.sh [options]

Migrates the same stateful workload (src/workloads/start-workload.sh, own PID namespace) on this
machine through the disk-less flow of bench/diskless-agent-vs-cli.sh in these variants (METHOD:STREAM):
  bare:plain  bare:tls        the bare CRIU command line, plain TCP and CRIU's TLS (--tls)
  agent:plain agent:tls       criu-agent, --page-transport criu (CRIU's page stream; CRIU's TLS)
  relay:plain relay:tls       criu-agent, --page-transport relay on page-server and dump (the agents
                              carry the stream; with the same --tls-* files: TLS 1.3 between them)
  relay:tls-lz4               the same with the dump's --compress lz4 (the workload's memory is random
                              bytes: expect no gain)
TLS uses a CA, a certificate and a key on each side: an ECDSA P-256 CA and certificates for 127.0.0.1,
made for the run with openssl and thrown away after it. Each repetition runs every variant, starting
with a different one each time. Every migration is verified (source gone, restored root alive,
counter continues, checksum unchanged) or the run fails; a TLS page server refuses a plain dump, so
a verified TLS migration did use TLS, and the relay's own statistics (the dump's relay object) must
say TLS and the compression asked for. CRIU_AGENT_JAR=JAR runs that agent jar.

Writes bench/results/$NAME-<time>.csv (and a summary .json) and replaces the section "$NAME" of
docs/benchmarks.md. Run as root.

Options:
  --sizes LIST         workload memory sizes, comma-separated (default: 256M,1G)
  --variants LIST      METHOD:STREAM variants, comma-separated (default: all seven above)
  --fill random|text   the workload's memory: random bytes (default; nothing compresses) or text
                       (words and numbers, as a heap holds: what LZ4 is for)
  --repetitions N      migrations per size and variant (default: 3)
  --interval SECONDS   the workload's tick interval (default: 3; every tick hashes all its memory)
  --port PORT          first page-server port; each migration takes the next (default: 27400)
  --step-timeout SEC   deadline of each step (default: 300)
  --max-minutes MIN    deadline of the whole run (default: 60)
  --no-docs            leave docs/benchmarks.md alone
  -h, --help           this text
EOF
}

SIZES=256M,1G
REPETITIONS=3
INTERVAL=3
PORT=27400
STEP_TIMEOUT=300
MAX_SECONDS=3600
WRITE_DOCS=1
VARIANT_LIST=bare:plain,bare:tls,agent:plain,agent:tls,relay:plain,relay:tls,relay:tls-lz4
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --variants) VARIANT_LIST=${2:?--variants needs a list}; shift 2 ;;
    --fill) WORKLOAD_FILL=${2:?--fill needs random or text}; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
parse_comparison_options "${args[@]}"
IFS=, read -r -a VARIANTS <<<"$VARIANT_LIST"
for variant in "${VARIANTS[@]}"; do
  case "$variant" in
    bare:plain|bare:tls|agent:plain|agent:tls|relay:plain|relay:tls|relay:tls-lz4) ;;
    *) echo "--variants: '$variant' is not one of the variants in --help" >&2; exit 2 ;;
  esac
done
command -v openssl >/dev/null || die "openssl not found (it makes the run's certificates)"

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
make_tls_files "$SCRATCH/tls"
echo "size,repetition,method,stream,frozen_us,memdump_us,memwrite_us,pages_written,page_server_us,dump_us,restore_us,total_us,relay_ms,relay_stream_bytes,relay_wire_bytes" >"$CSV"

# migrate METHOD STREAM SIZE REPETITION: one verified migration, one CSV row. METHOD relay is criu-agent
# with PAGE_TRANSPORT=relay; STREAM plain, tls or tls-lz4 (relay only: RELAY_COMPRESS=lz4).
migrate() {
  local method=$1 stream=$2 size=$3 repetition=$4 flow=$1
  RUN_NAME="$size #$repetition $method $stream"
  STATE_DIR="$SCRATCH/$size-$repetition-$method-$stream"
  if [ "${stream%-lz4}" = tls ]; then TLS_DIR="$SCRATCH/tls"; else TLS_DIR=""; fi
  PAGE_TRANSPORT="" RELAY_COMPRESS=""
  if [ "$method" = relay ]; then flow=agent PAGE_TRANSPORT=relay; fi
  if [ "$stream" = tls-lz4 ]; then RELAY_COMPRESS=lz4; fi
  measured_migration "$flow" "$size" "$INTERVAL"
  relay_stats
  echo "$size,$repetition,$method,$stream,$FROZEN_US,$MEMDUMP_US,$MEMWRITE_US,$PAGES_WRITTEN,${STEP[page_server]},${STEP[dump]},${STEP[restore]},${STEP[total]},$RELAY_MS,$RELAY_STREAM_BYTES,$RELAY_WIRE_BYTES" >>"$CSV"
  check_run_deadline
}

for size in "${SIZE_LIST[@]}"; do
  bytes=$(size_bytes "$size")
  TMPFS_BYTES=$(( bytes + bytes / 4 + (128 << 20) ))  # the pages plus the interpreter's own memory
  for repetition in $(seq 1 "$REPETITIONS"); do
    for i in "${!VARIANTS[@]}"; do
      variant=${VARIANTS[$(( (i + repetition - 1) % ${#VARIANTS[@]} ))]}
      migrate "${variant%%:*}" "${variant#*:}" "$size" "$repetition"
    done
  done
done
log "all migrations verified; raw rows in $CSV"
echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared; see the note at the top)" >>"$MACHINE"

WORKLOAD_FILL=${WORKLOAD_FILL:-random} python3 "$BENCH_DIR/lib/report_tls.py" "$CSV" "$MACHINE" "$REPETITIONS" \
  "${CSV%.csv}.json" >"$SCRATCH/section.md"
cat "$SCRATCH/section.md"
# One section per kind of memory: random bytes (the default) and text.
SECTION=$NAME${WORKLOAD_FILL:+-$WORKLOAD_FILL}
SECTION=${SECTION%-random}
if (( WRITE_DOCS )); then
  replace_docs_section "$SECTION" "$SCRATCH/section.md"
  log "docs/benchmarks.md: section $SECTION replaced"
fi
