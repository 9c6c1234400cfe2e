#!/usr/bin/env bash
# Benchmark (issue 3): a migration over SSH with criu-migrate against the bare CRIU command line, side
# by side in one run. See --help.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/flows.sh"
source "$(dirname "$0")/lib/sshd.sh"
NAME=ssh-migrate-vs-cli

usage() {
  cat <<EOF
Usage: bench/$NAME.sh [options]

Two SSH "hosts" on loopback (OpenSSH sshd, own host keys, strict host-key checking; one kernel, the
workload in its own PID namespace) and the same stateful workload (src/workloads/start-workload.sh)
migrated from the source host to the destination host, in turn by
  bare      the bare CRIU command line on this machine, no SSH (the flow of
            bench/diskless-agent-vs-cli.sh: criu page-server -d on a tmpfs, criu dump --leave-stopped
            --page-server, copy of the non-page images, criu restore -d, source killed)
  bare-ssh  the same CRIU commands, each run on its host through OpenSSH; one multiplexed connection
            per host is opened before the freeze, the non-page images go source -> here -> destination
            through tar over those connections
  engine-cold    criu-migrate --from --to --pid --json, the one-shot migration (the commit point at
            CRIU's post-dump notification), at first contact: no agent on the hosts (it is uploaded),
            no host checks kept (CRIU answers them), no daemon
  engine    the same, warm without a daemon: the agent deployed and its host checks kept; one agent
            JVM started per host over SSH
  engine-daemon  the same through each host's warm agent daemon (criu-agent daemon, as the systemd
            unit runs it; reached through the SSH connection): no agent JVM started at all
Each repetition runs them all, starting with a different one each time. Every migration is verified
(source gone, restored root alive, counter continues, checksum unchanged) or the run fails.

The frozen window is how long the tree does not run: for the engine its report's frozenMillis (CRIU's
frozen_time, which with the commit point lasts until the source is finished); for bare and bare-ssh
CRIU's frozen_time plus the wall time from the end of the dump until the source is killed (the source
waits stopped meanwhile). The agent jar is deployed by an untimed dry run first.

Writes bench/results/$NAME-<time>.csv (and a summary .json) and replaces the section "$NAME" of
docs/benchmarks.md. Run as root.

Options:
  --sizes LIST         workload memory sizes, comma-separated (default: 64M,1G)
  --repetitions N      migrations per size and variant (default: 3)
  --interval SECONDS   the workload's tick interval (default: 3; every tick hashes all its memory)
  --port PORT          first page-server port of the bare variants (default: 27600)
  --step-timeout SEC   deadline of each step (default: 300)
  --max-minutes MIN    deadline of the whole run (default: 60)
  --no-docs            leave docs/benchmarks.md alone
  -h, --help           this text
EOF
}

SIZES=64M,1G
REPETITIONS=3
INTERVAL=3
PORT=27600
STEP_TIMEOUT=300
MAX_SECONDS=3600
WRITE_DOCS=1
parse_comparison_options "$@"
for tool in ssh ssh-keygen /usr/sbin/sshd tar; do
  command -v "$tool" >/dev/null || die "$tool not found (install openssh-server and openssh-client)"
done

require_root_and_tools
ensure_agent_jar
ensure_migrate_jar
mkdir -p "$RESULTS_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
CSV="$RESULTS_DIR/$NAME-$STAMP.csv"
SCRATCH=$(mktemp -d /var/tmp/criu-bench.XXXXXX)
export CRIU_AGENT_IMAGES_BASE="$SCRATCH"  # criu-agent refuses images directories outside its base
CLEANUP_DIRS+=("$SCRATCH")
MACHINE="${CSV%.csv}.machine.md"  # kept with the raw rows: the report can be made again from both
machine_description >"$MACHINE"
TLS_DIR=""
echo "size,repetition,variant,position,frozen_window_us,criu_frozen_us,total_us,before_freeze_us,preflight_us,page_server_us,dump_us,copy_us,page_server_check_us,restore_us,commit_us,cleanup_us" >"$CSV"

log "starting two sshd hosts on loopback"
init_ssh_hosts "$SCRATCH/ssh"
start_sshd_host source
start_sshd_host destination
SOURCE_HOST="root@127.0.0.1:$SSHD_PORT_source" DESTINATION_HOST="root@127.0.0.1:$SSHD_PORT_destination"

# ---- bare-ssh: the bare commands, each on its host through OpenSSH ------------------------------

CONTROL_MASTERS=()
# ssh through the host's multiplexed connection (opened by connect_hosts).
on_host() {
  local port=$1 options command
  shift
  mapfile -t options < <(ssh_options)
  printf -v command '%q ' "$@"
  ssh "${options[@]}" -o ControlPath="$SSH_DIR/control-$port" -p "$port" root@127.0.0.1 "$command"
}

connect_hosts() {
  local port options
  mapfile -t options < <(ssh_options)
  for port in "$SSHD_PORT_source" "$SSHD_PORT_destination"; do
    ssh "${options[@]}" -M -N -o ControlPath="$SSH_DIR/control-$port" -o ControlPersist=no \
      -p "$port" root@127.0.0.1 &
    CONTROL_MASTERS+=("$!")
    CLEANUP_PIDS+=("$!")
  done
  local deadline=$(( SECONDS + 30 ))
  for port in "$SSHD_PORT_source" "$SSHD_PORT_destination"; do
    until ssh "${options[@]}" -o ControlPath="$SSH_DIR/control-$port" -O check -p "$port" root@127.0.0.1 2>/dev/null; do
      (( SECONDS < deadline )) || fail "no SSH connection to port $port within 30 s"
      sleep 0.05
    done
  done
}

disconnect_hosts() {
  local port pid options
  mapfile -t options < <(ssh_options)
  for port in "$SSHD_PORT_source" "$SSHD_PORT_destination"; do
    ssh "${options[@]}" -o ControlPath="$SSH_DIR/control-$port" -O exit -p "$port" root@127.0.0.1 2>/dev/null || true
  done
  for pid in "${CONTROL_MASTERS[@]}"; do wait "$pid" 2>/dev/null || true; forget_pid "$pid"; done
  CONTROL_MASTERS=()
}

# A shell loop on the host that returns once PID has ended (a zombie has), within 60 s.
REMOTE_WAIT_GONE='for i in $(seq 3000); do s=$(cut -d" " -f3 /proc/$0/stat 2>/dev/null) || exit 0; [ "$s" = Z ] && exit 0; sleep 0.02; done; exit 1'

ssh_page_server() {
  on_host "$SSHD_PORT_destination" mount -t tmpfs -o "size=$TMPFS_BYTES" criu-bench "$DST_DIR"
  CLEANUP_MOUNTS+=("$DST_DIR")
  on_host "$SSHD_PORT_destination" timeout 60 criu page-server -d -D "$DST_DIR" --address 127.0.0.1 \
    --port "$PORT" --pidfile "$DST_DIR/page-server.pid" -o page-server.log || fail "criu page-server failed over SSH"
  PAGE_SERVER=$(on_host "$SSHD_PORT_destination" cat "$DST_DIR/page-server.pid")
  CLEANUP_PIDS+=("$PAGE_SERVER")
}

ssh_dump() {
  on_host "$SSHD_PORT_source" timeout "$STEP_TIMEOUT" criu dump -t "$SOURCE" -D "$SRC_DIR" --leave-stopped \
    --page-server --address 127.0.0.1 --port "$PORT" --network-lock nftables -o dump.log \
    || fail "criu dump failed over SSH: $(criu_errors "$SRC_DIR/dump.log")"
}

ssh_copy() {
  on_host "$SSHD_PORT_source" tar -C "$SRC_DIR" -cf - --exclude='pages-*.img' --exclude='*.log' . \
    | on_host "$SSHD_PORT_destination" tar -C "$DST_DIR" -xf - || fail "copying the images over SSH failed"
}

ssh_page_server_check() {
  on_host "$SSHD_PORT_destination" sh -c "$REMOTE_WAIT_GONE" "$PAGE_SERVER" \
    || fail "the page server $PAGE_SERVER still runs after the dump"
  forget_pid "$PAGE_SERVER"
}

ssh_restore() {
  on_host "$SSHD_PORT_destination" timeout "$STEP_TIMEOUT" criu restore -d -D "$DST_DIR" \
    --pidfile "$DST_DIR/restored.pid" --network-lock nftables -o restore.log \
    || fail "criu restore failed over SSH: $(criu_errors "$DST_DIR/restore.log")"
  RESTORED=$(on_host "$SSHD_PORT_destination" cat "$DST_DIR/restored.pid")
  CLEANUP_PIDS+=("$RESTORED")
}

ssh_kill_source() {
  on_host "$SSHD_PORT_source" sh -c 'kill -KILL "$0" && '"$REMOTE_WAIT_GONE" "$SOURCE" \
    || fail "the source $SOURCE survived SIGKILL"
}

# ---- the three variants ---------------------------------------------------------------------------

# Each sets STEP (microseconds), FROZEN_WINDOW_US and CRIU_FROZEN_US, and leaves the workload's
# restored root in RESTORED and the source's last tick in TICK_AT_DUMP.

run_bare() {
  migrate_steps bare
  STEP[before_freeze]=${STEP[page_server]}
  criu_stats
  CRIU_FROZEN_US=$FROZEN_US
  FROZEN_WINDOW_US=$(( FROZEN_US + STEP[copy] + STEP[page_server_check] + STEP[restore] + STEP[kill] ))
}

run_bare_ssh() {
  STEP=()
  step connect connect_hosts
  step page_server ssh_page_server
  step dump ssh_dump
  TICK_AT_DUMP=$(last_tick "$WORKLOAD_LOG")
  step copy ssh_copy
  step page_server_check ssh_page_server_check
  step restore ssh_restore
  step kill ssh_kill_source
  forget_pid "$SOURCE"
  disconnect_hosts
  STEP[before_freeze]=$(( STEP[connect] + STEP[page_server] ))
  STEP[total]=$(( STEP[before_freeze] + STEP[dump] + STEP[copy] + STEP[page_server_check] + STEP[restore] + STEP[kill] ))
  criu_stats
  CRIU_FROZEN_US=$FROZEN_US
  FROZEN_WINDOW_US=$(( FROZEN_US + STEP[copy] + STEP[page_server_check] + STEP[restore] + STEP[kill] ))
}

engine_migrate() {
  # A plain page stream, like the bare variants' (CRIU's TLS costs what bench/tls-cost.sh measures).
  run_criu_migrate "$STATE_DIR/report.json" $(( STEP_TIMEOUT * 3 )) --pid "$SOURCE" --no-tls "${ENGINE_OPTIONS[@]}"
}

# First contact: the agent jar and the host checks the agents keep are gone (both "hosts" share them).
run_engine_cold() {
  rm -f "$SCRATCH"/agent/criu-agent-*.jar "$HOST_CHECK_CACHE"
  ENGINE_OPTIONS=(--agent-socket '')
  run_engine_variant
}

run_engine() {
  ENGINE_OPTIONS=(--agent-socket '')
  run_engine_variant
}

# The daemon logs every request: one more commit means the migration went through it.
run_engine_daemon() {
  local before
  before=$(grep -c ': commit$' "$SSH_DIR/daemon.log" || true)
  ENGINE_OPTIONS=(--agent-socket "$DAEMON_SOCKET")
  run_engine_variant
  (( $(grep -c ': commit$' "$SSH_DIR/daemon.log" || true) > before )) ||
    fail "the migration did not use the daemon: $(tail -n 5 "$SSH_DIR/daemon.log")"
}

run_engine_variant() {
  local phase us
  STEP=()
  step total engine_migrate
  TICK_AT_DUMP=""
  RESTORED=$(json_get "$STATE_DIR/report.json" restoredPid)
  CLEANUP_PIDS+=("$RESTORED")
  CRIU_FROZEN_US=$(( $(json_get "$STATE_DIR/report.json" frozenMillis) * 1000 ))
  FROZEN_WINDOW_US=$CRIU_FROZEN_US
  # The report's phases, under the names of the other variants' steps.
  while read -r phase us; do
    case "$phase" in
      PREFLIGHT) STEP[preflight]=$us ;;
      PAGE_SERVER) STEP[page_server]=$us ;;
      DUMP) STEP[dump]=$us ;;
      COPY_IMAGES) STEP[copy]=$us ;;
      PAGE_SERVER_STATUS) STEP[page_server_check]=$us ;;
      RESTORE) STEP[restore]=$us ;;
      COMMIT) STEP[commit]=$us ;;
      CLEANUP) STEP[cleanup]=$us ;;
    esac
  done < <(python3 -c 'import json, sys
for p in json.load(open(sys.argv[1]))["phases"]:
    print(p["phase"], p["millis"] * 1000)' "$STATE_DIR/report.json")
  # Before the freeze: the controller's JVM, SSH connections, agents deployed, checked and started.
  STEP[before_freeze]=$(( STEP[total] - STEP[dump] - STEP[copy] - STEP[page_server_check] - STEP[restore] - STEP[commit] - STEP[cleanup] ))
}

# migrate VARIANT SIZE REPETITION POSITION: one verified migration, one CSV row.
migrate() {
  local variant=$1 size=$2 repetition=$3 position=$4 checksum problem tick_before
  RUN_NAME="$size #$repetition $variant"
  STATE_DIR="$SCRATCH/$size-$repetition-$variant"
  SRC_DIR="$SCRATCH/source/images/$size-$repetition" DST_DIR="$SCRATCH/destination/images/$size-$repetition"
  WORKLOAD_LOG="$STATE_DIR/workload.log"
  mkdir -p "$STATE_DIR" "$SRC_DIR" "$DST_DIR"
  PORT=$(( PORT + 1 ))
  log "$RUN_NAME: starting the workload"
  start_workload "$WORKLOAD_LOG" "$size" "$INTERVAL"
  SOURCE=$WORKLOAD_PID
  checksum=$(first_checksum "$WORKLOAD_LOG")
  tick_before=$(last_tick "$WORKLOAD_LOG")
  log "$RUN_NAME: migrating pid $SOURCE"
  "run_${variant//-/_}"
  forget_pid "$SOURCE"
  # The engine froze the source somewhere after tick_before: from there on the count must go on
  # unbroken through the source's last ticks and the restored root's.
  TICK_AT_DUMP=${TICK_AT_DUMP:-$tick_before}
  problem=$(verify_migration "$WORKLOAD_LOG" "$TICK_AT_DUMP" "$checksum" "$RESTORED" "$SOURCE") \
    || fail "the migration did not work: $problem"
  kill_tree "$RESTORED"
  echo "$size,$repetition,$variant,$position,$FROZEN_WINDOW_US,$CRIU_FROZEN_US,${STEP[total]},${STEP[before_freeze]},${STEP[preflight]:-0},${STEP[page_server]},${STEP[dump]},${STEP[copy]},${STEP[page_server_check]},${STEP[restore]},${STEP[commit]:-${STEP[kill]}},${STEP[cleanup]:-0}" >>"$CSV"
  log "$RUN_NAME: verified; frozen window $(( FROZEN_WINDOW_US / 1000 )) ms, total $(( STEP[total] / 1000 )) ms"
  # Not part of the measurement: give back the destination's memory.
  if [[ "$variant" != engine* ]]; then
    umount "$DST_DIR"
  fi
  rm -rf "$SRC_DIR" "$DST_DIR"
  check_run_deadline
}

deploy_agents "$SCRATCH/agent" "$SCRATCH/engine-images"
HOST_CHECK_CACHE=/var/cache/criu-agent/host-check.json
start_agent_daemon "$SCRATCH/agent" "$SCRATCH/engine-images"

VARIANTS=(bare bare-ssh engine-cold engine engine-daemon)
for size in "${SIZE_LIST[@]}"; do
  bytes=$(size_bytes "$size")
  TMPFS_BYTES=$(( bytes + bytes / 4 + (128 << 20) ))  # the pages plus the interpreter's own memory
  for repetition in $(seq 1 "$REPETITIONS"); do
    for i in "${!VARIANTS[@]}"; do
      migrate "${VARIANTS[$(( (i + repetition - 1) % ${#VARIANTS[@]} ))]}" "$size" "$repetition" $(( i + 1 ))
    done
  done
done
log "all migrations verified; raw rows in $CSV"
echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared; see the note at the top)" >>"$MACHINE"

python3 "$BENCH_DIR/lib/report_ssh.py" "$CSV" "$MACHINE" "$REPETITIONS" "${CSV%.csv}.json" >"$SCRATCH/section.md"
cat "$SCRATCH/section.md"
if (( WRITE_DOCS )); then
  replace_docs_section "$NAME" "$SCRATCH/section.md"
  log "docs/benchmarks.md: section $NAME replaced"
fi
