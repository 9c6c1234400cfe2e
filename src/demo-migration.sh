#!/usr/bin/env bash
# The demo's migration (src/demo.sh runs it after the set-up): the sample workload migrated on this
# machine through the whole disk-less flow, one criu-agent command per step, as an operator would run
# them on two hosts. See --help.
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT=agent-native/bin/criu-agent
START_WORKLOAD=src/workloads/start-workload.sh

usage() {
  cat <<'EOF'
Usage: src/demo.sh [--memory SIZE] [--keep]

Migrates a sample workload on this machine, disk-less, and shows that it kept its state. The workload
(a counter and a checksum of its memory, in its own PID namespace) is started; a page server on a tmpfs
receives its memory pages from a dump that leaves the source stopped; the non-page images are copied;
the page server's outcome is checked; the tree is restored; only then is the source killed. Each step
is one criu-agent command (--json), timed. Any failure before the restore resumes the source. Needs
root, CRIU and python3; removes everything it made.

Options:
  --memory SIZE   memory the workload fills with random bytes: a number with K, M or G (default: 64M)
  --keep          leave the migrated workload running at the end (its log is printed)
  -h, --help      this text

Examples:
  src/demo.sh
  src/demo.sh --memory 1G
EOF
}

MEMORY=64M
KEEP=false
while (( $# )); do
  case "$1" in
    --memory) [ $# -ge 2 ] || { echo "demo: --memory needs a SIZE such as 64M" >&2; exit 2; }; MEMORY=$2; shift 2 ;;
    --keep) KEEP=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$MEMORY" =~ ^([1-9][0-9]{0,5})([KMG])$ ]] \
  || { echo "demo: --memory '$MEMORY' is not a size: give a number with K, M or G, such as 64M or 1G" >&2; exit 2; }
case "${BASH_REMATCH[2]}" in K) SHIFT=10 ;; M) SHIFT=20 ;; G) SHIFT=30 ;; esac
MEMORY_BYTES=$(( BASH_REMATCH[1] << SHIFT ))
(( MEMORY_BYTES >= 1 << 20 && MEMORY_BYTES <= 64 << 30 )) \
  || { echo "demo: --memory $MEMORY is out of range: give 1M to 64G" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "demo: run as root (CRIU needs it): sudo src/demo.sh" >&2; exit 2; }

WORK=$(mktemp -d /tmp/criu-agent-demo.XXXXXX)
SRC_DIR=$WORK/source-images
DST_DIR=$WORK/destination-images
LOG=$WORK/workload.log
export CRIU_AGENT_IMAGES_BASE=$WORK  # the agent works only inside its images base
SOURCE='' RESTORED='' SOURCE_STOPPED=false DONE=false

# agent STEP SECONDS COMMAND ARGS...: one criu-agent command, its JSON in $WORK/STEP.json, its progress
# lines (stderr) shown indented; a deadline on top of the agent's own.
agent() {
  local step=$1 seconds=$2; shift 2
  if ! timeout --kill-after=10 "$seconds" "$AGENT" "$@" --json >"$WORK/$step.json" 2> >(sed 's/^/    /' >&2); then
    if [ -s "$WORK/$step.json" ] && [ -n "$(field "$step" message)" ]; then
      echo "demo: criu-agent $1 failed ($(field "$step" kind)): $(field "$step" message)" >&2
      echo "demo: $(field "$step" hint)" >&2
    else
      echo "demo: criu-agent $1 failed without an answer (deadline of $seconds s, or it crashed)" >&2
    fi
    return 1
  fi
}

# field STEP KEY: a value of the step's JSON document (KEY may be a.b for nested ones).
field() {
  python3 - "$WORK/$1.json" "$2" <<'EOF'
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."):
    value = value.get(key, "") if isinstance(value, dict) else ""
print(value)
EOF
}

last_tick() { sed -n 's/^tick=\([0-9]*\) checksum=\([0-9a-f]*\) .*/\1 \2/p' "$LOG" | tail -n1; }

# await_tick_after N: prints "TICK CHECKSUM" of the first tick after N, within 30 s.
await_tick_after() {
  local deadline=$(( SECONDS + 30 )) tick
  while (( SECONDS < deadline )); do
    read -r tick checksum < <(last_tick) || true
    if [ -n "${tick:-}" ] && (( tick > $1 )); then echo "$tick $checksum"; return; fi
    sleep 0.05
  done
  echo "demo: the workload logged no tick after $1 within 30 s; see $LOG" >&2
  return 1
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
# stopped PID: the process is stopped (state T in /proc/PID/stat, read after the command's name).
stopped() { alive "$1" && [ "$(sed -E 's/.*\) //' "/proc/$1/stat" | cut -d' ' -f1)" = T ]; }

kill_and_wait() {
  alive "$1" || return 0
  kill -KILL "$1" 2>/dev/null || true
  for _ in $(seq 200); do alive "$1" || return 0; sleep 0.05; done
  echo "demo: pid $1 survived SIGKILL" >&2
}

# Whatever happened: a stopped source runs again, nothing of the demo is left behind (unless --keep).
finish() {
  local status=$?
  if $SOURCE_STOPPED && stopped "$SOURCE"; then
    if timeout 60 "$AGENT" resume --pid "$SOURCE" >/dev/null 2>&1; then
      echo "the source was resumed"
    else
      echo "demo: could not resume the source $SOURCE" >&2
    fi
  fi
  kill_and_wait "$SOURCE"
  if ! ($DONE && $KEEP); then kill_and_wait "$RESTORED"; fi
  for dir in "$DST_DIR" "$SRC_DIR"; do
    [ -e "$dir" ] && { timeout 60 "$AGENT" cleanup --images-dir "$dir" >/dev/null 2>&1 || echo "demo: could not clean up $dir" >&2; }
  done
  if $DONE && $KEEP; then
    echo "the migrated workload (pid $RESTORED) keeps running; its log: $LOG"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

declare -a STEP_NAMES=() STEP_MILLIS=()
now_ms() { date +%s%3N; }
line() { printf '  %-55s %4d.%03d s\n' "$1" $(( $2 / 1000 )) $(( $2 % 1000 )); }
# timed NAME COMMAND...: runs a step and records how long it took.
timed() {
  local name=$1 start; shift
  start=$(now_ms)
  "$@"
  STEP_NAMES+=("$name") STEP_MILLIS+=($(( $(now_ms) - start )))
  line "$name" "${STEP_MILLIS[-1]}"
}

start_workload() {
  SOURCE=$(timeout 300 "$START_WORKLOAD" "$LOG" --memory "$MEMORY" | tail -n1) \
    || { echo "demo: the workload did not start (python3 needed); see $LOG" >&2; return 1; }
}
page_server() {
  agent page-server 60 page-server --images-dir "$DST_DIR" --tmpfs-size "$TMPFS_BYTES" --address 127.0.0.1 --detach
}
dump() {
  SOURCE_STOPPED=true  # from here on the source may be stopped: the trap resumes it
  agent dump 600 dump --pid "$SOURCE" --images-dir "$SRC_DIR" --page-server "127.0.0.1:$(field page-server port)" \
    --leave-stopped
}
copy_images() {
  local image copied=0
  for image in "$SRC_DIR"/*.img; do
    case "$(basename "$image")" in pages-*.img) continue ;; esac
    cp -- "$image" "$DST_DIR/" && copied=$(( copied + 1 ))
  done
  (( copied > 0 )) || { echo "demo: the dump wrote no images" >&2; return 1; }
}
page_server_finished() {
  local deadline=$(( SECONDS + 60 )) state
  while :; do
    agent page-server-status 60 page-server-status --images-dir "$DST_DIR"
    state=$(field page-server-status state)
    case "$state" in
      FINISHED_OK) return ;;
      RUNNING) (( SECONDS < deadline )) || { echo "demo: the page server still runs 60 s after the dump" >&2; return 1; } ;;
      *) echo "demo: the page server ended as $state" >&2; return 1 ;;
    esac
    sleep 0.1
  done
}
restore() {
  agent restore 600 restore --images-dir "$DST_DIR"
  RESTORED=$(field restore pid)
}
kill_source() {
  agent kill 60 kill --pid "$SOURCE"
  SOURCE_STOPPED=false
}

echo "criu-agent demo in $WORK"
TOTAL_START=$(now_ms)
timed "start the workload" start_workload
read -r TICK CHECKSUM < <(await_tick_after -1)
echo "workload: pid $SOURCE, $MEMORY of random memory, tick $TICK, checksum $CHECKSUM"
# Pages of a Python process: the data plus the interpreter's own heap; the tmpfs holds both.
TMPFS_BYTES=$(( 2 * MEMORY_BYTES + (128 << 20) ))
timed "page server on a $(( TMPFS_BYTES >> 20 )) MiB tmpfs" page_server
timed "dump --leave-stopped to the page server" dump
read -r TICK_AT_DUMP CHECKSUM_AT_DUMP < <(last_tick)
timed "copy the non-page images" copy_images
timed "page server finished ok" page_server_finished
timed "restore" restore
timed "kill the source" kill_source
read -r TICK_AFTER CHECKSUM_AFTER < <(await_tick_after "$TICK_AT_DUMP")

echo
echo "before the dump: tick $TICK_AT_DUMP, checksum $CHECKSUM_AT_DUMP (pid $SOURCE)"
echo "after restore:   tick $TICK_AFTER, checksum $CHECKSUM_AFTER (pid $RESTORED)"
echo
echo "timings:"
for i in "${!STEP_NAMES[@]}"; do
  line "${STEP_NAMES[$i]}" "${STEP_MILLIS[$i]}"
done
line total $(( $(now_ms) - TOTAL_START ))
agent images 60 images --images-dir "$SRC_DIR"
echo "  frozen (CRIU's stats-dump): $(( $(field images dump_stats.frozen_time_micros) / 1000 )) ms," \
  "$(field images dump_stats.pages_written) pages"
[ "$CHECKSUM_AFTER" = "$CHECKSUM_AT_DUMP" ] \
  || { echo "demo: the restored workload's memory checksum differs" >&2; exit 1; }
echo "the workload kept its state: its counter went on and its memory is identical"
DONE=true
