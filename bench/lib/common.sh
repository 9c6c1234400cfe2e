# Shared by the benchmark scripts (sourced, not run): progress, deadlines, clean-up on exit, the test
# workload and its verification, the machine's description, and the docs page.
# The scripts run as root on one machine; both "hosts" are directories on it (see docs/benchmarks.md).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
BENCH_LIB="$BENCH_DIR/lib/benchlib.py"
START_WORKLOAD="$REPO_DIR/src/workloads/start-workload.sh"
CRIU_AGENT="$REPO_DIR/agent-native/bin/criu-agent"
AGENT_JAR="$REPO_DIR/agent-native/target/criu-agent.jar"
DOCS_PAGE="$REPO_DIR/docs/benchmarks.md"
RESULTS_DIR="$BENCH_DIR/results"

# ---- progress and errors ------------------------------------------------------------------------

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Microseconds since the epoch (bash's clock, no fork).
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# Runs a command with a deadline: SECONDS, then SIGTERM, then SIGKILL 10 s later.
bounded() { local seconds=$1; shift; timeout --kill-after=10 "$seconds" "$@"; }

# Ends the whole run when it has taken longer than MAX_SECONDS (checked between steps).
RUN_STARTED=$SECONDS
check_run_deadline() {
  if (( SECONDS - RUN_STARTED > MAX_SECONDS )); then
    die "the run took longer than its limit of ${MAX_SECONDS} s (--max-minutes); stopped"
  fi
}

# ---- clean-up on exit -----------------------------------------------------------------------------
# Everything a run starts or mounts is registered here and undone on exit, whatever the exit.

CLEANUP_PIDS=()     # processes to kill with their children (workloads, page servers, sshd)
CLEANUP_MOUNTS=()   # tmpfs mount points
CLEANUP_AGENT_DIRS=()  # directories the agent prepared (criu-agent cleanup)
CLEANUP_DIRS=()     # scratch directories to remove

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid dir
  for pid in "${CLEANUP_PIDS[@]}"; do
    pkill -KILL -P "$pid" 2>/dev/null || true  # an sshd's sessions
    kill -KILL "$pid" 2>/dev/null || true
  done
  for dir in "${CLEANUP_AGENT_DIRS[@]}"; do
    [ -d "$dir/.criu-agent" ] && bounded 60 "$CRIU_AGENT" cleanup --images-dir "$dir" >/dev/null 2>&1 || true
  done
  for dir in "${CLEANUP_MOUNTS[@]}"; do
    while mountpoint -q "$dir" 2>/dev/null; do umount "$dir" 2>/dev/null || umount -l "$dir" || break; done
  done
  for dir in "${CLEANUP_DIRS[@]}"; do
    # Whatever is still mounted below (a failed step's tmpfs), deepest first.
    awk -v prefix="$dir/" 'index($2, prefix) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mount; do
      umount "$mount" 2>/dev/null || umount -l "$mount" || true
    done
    rm -rf --one-file-system "$dir"
  done
  exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# Removes PID from the kill list once it is dealt with, so the list stays short in long runs.
forget_pid() {
  local keep=() pid
  for pid in "${CLEANUP_PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  CLEANUP_PIDS=("${keep[@]}")
}

# True while PID is a live process (a zombie is not: it has exited and only waits to be reaped).
process_running() {
  local state
  state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Waits up to SECONDS for PID to end; false if it still runs.
wait_gone() {
  local pid=$1 deadline=$(( SECONDS + $2 ))
  while process_running "$pid"; do
    (( SECONDS < deadline )) || return 1
    sleep 0.02
  done
}

# Kills a process tree's root and waits for it to be gone.
kill_tree() {
  kill -KILL "$1" 2>/dev/null || true
  wait_gone "$1" 10 || log "warning: pid $1 survived SIGKILL for 10 s"
  forget_pid "$1"
}

# ---- the workload ---------------------------------------------------------------------------------
# src/workloads/stateful_counter.py in its own PID namespace: a counter and a checksum of its memory
# in its log. A migration worked when the restored root is alive, the counter goes on from the last
# value the source printed, and the checksum is the one the source started with.

# start_workload LOG MEMORY INTERVAL [WORKLOAD OPTIONS...]: sets WORKLOAD_PID (host PID of the
# namespace's root).
start_workload() {
  local log=$1 memory=$2 interval=$3; shift 3
  WORKLOAD_PID=$(WORKLOAD_START_SECONDS=240 bounded 300 "$START_WORKLOAD" "$log" --memory "$memory" --interval "$interval" "$@") \
    || die "the workload did not start (log: $log)"
  CLEANUP_PIDS+=("$WORKLOAD_PID")
}

last_tick() { sed -n 's/^tick=\([0-9]*\) .*/\1/p' "$1" | tail -n1; }
first_checksum() { sed -n 's/^tick=[0-9]* checksum=\([0-9a-f]*\) .*/\1/p' "$1" | head -n1; }

# verify_migration LOG TICK_AT_DUMP CHECKSUM RESTORED_PID SOURCE_PID: fails (with why) unless the
# source is gone, the restored root runs, within 60 s it adds a tick to the log, and every tick after
# TICK_AT_DUMP is the next one with the same checksum.
verify_migration() {
  local log=$1 tick=$2 checksum=$3 restored=$4 source=$5 deadline=$(( SECONDS + 60 )) seen
  if process_running "$source"; then echo "the source $source still runs after the migration"; return 1; fi
  if ! process_running "$restored"; then echo "the restored root $restored is not running"; return 1; fi
  # The source is gone: a tick beyond those in the log now can only come from the restored root.
  seen=$(last_tick "$log")
  (( seen >= tick )) || seen=$tick
  until (( $(last_tick "$log") > seen )); do
    if (( SECONDS >= deadline )); then echo "the restored root printed no tick within 60 s"; return 1; fi
    sleep 0.2
  done
  # Every tick after the one at the dump must be the next, with the original checksum. (Other lines
  # are the source's unshare wrapper's last words when the source is killed.)
  local expected=$(( tick + 1 )) line bad=""
  while read -r line; do
    case "$line" in
      "tick=$expected checksum=$checksum pid=1") expected=$(( expected + 1 )) ;;
      *) bad=$line; break ;;
    esac
  done < <(grep '^tick=' "$log" | sed -n "/^tick=$tick /,\$p" | tail -n +2)
  if [ -n "$bad" ]; then echo "after tick $tick the log says '$bad' (expected tick=$expected checksum=$checksum)"; return 1; fi
  if ! process_running "$restored"; then echo "the restored root $restored died"; return 1; fi
}

# ---- the options of the side-by-side benchmarks ----------------------------------------------------

# parse_comparison_options ARGS...: --sizes, --repetitions, --interval, --port, --step-timeout,
# --max-minutes, --no-docs and --help, shared by the benchmarks that compare methods size by size. The
# caller sets NAME, the defaults (SIZES REPETITIONS INTERVAL PORT STEP_TIMEOUT MAX_SECONDS WRITE_DOCS)
# and usage() first; sets them from ARGS, checks them (exit 2 with what to write) and sets SIZE_LIST.
parse_comparison_options() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --sizes) SIZES=${2:?--sizes needs a list}; shift 2 ;;
      --repetitions) REPETITIONS=${2:?--repetitions needs a number}; shift 2 ;;
      --interval) INTERVAL=${2:?--interval needs seconds}; shift 2 ;;
      --port) PORT=${2:?--port needs a number}; shift 2 ;;
      --step-timeout) STEP_TIMEOUT=${2:?--step-timeout needs seconds}; shift 2 ;;
      --max-minutes) MAX_SECONDS=$(( ${2:?--max-minutes needs minutes} * 60 )); shift 2 ;;
      --no-docs) WRITE_DOCS=0; shift ;;
      -h|--help) usage; exit 0 ;;
      *) echo "$NAME.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
  done
  [[ "$REPETITIONS" =~ ^[1-9][0-9]*$ ]] || { echo "--repetitions: give a positive number, not '$REPETITIONS'" >&2; exit 2; }
  [[ "$PORT" =~ ^[0-9]+$ ]] && (( PORT >= 1024 && PORT < 65000 )) || { echo "--port: give 1024 to 64999, not '$PORT'" >&2; exit 2; }
  [[ "$STEP_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || { echo "--step-timeout: give seconds, not '$STEP_TIMEOUT'" >&2; exit 2; }
  [[ "$INTERVAL" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "--interval: give seconds, not '$INTERVAL'" >&2; exit 2; }
  IFS=, read -r -a SIZE_LIST <<<"$SIZES"
  local size
  for size in "${SIZE_LIST[@]}"; do
    size_bytes "$size" >/dev/null || { echo "--sizes: '$size' is not a size like 64M or 1G" >&2; exit 2; }
  done
}

# ---- the agent --------------------------------------------------------------------------------------

require_root_and_tools() {
  [ "$(id -u)" = 0 ] || die "run as root (CRIU needs it)"
  command -v criu >/dev/null || die "criu not found; install it with src/install/install-host.sh"
  command -v python3 >/dev/null || die "python3 not found (the workload and the reports need it)"
}

# Builds the agent's jar when it is missing or older than its sources (CRIU_AGENT_JAR: use that jar).
ensure_agent_jar() {
  if [ -n "${CRIU_AGENT_JAR:-}" ]; then
    [ -f "$CRIU_AGENT_JAR" ] || die "CRIU_AGENT_JAR=$CRIU_AGENT_JAR: no such file"
    AGENT_JAR=$CRIU_AGENT_JAR
    return
  fi
  if [ -f "$AGENT_JAR" ] && [ -z "$(find "$REPO_DIR/agent-native/src" "$REPO_DIR/agent-native/pom.xml" -newer "$AGENT_JAR" -print -quit)" ]; then
    return
  fi
  log "building the agent (criu-agent.jar is missing or older than its sources)"
  (cd "$REPO_DIR" && ./mvnw -B -q -ntp -pl agent-native -am package -DskipTests) || die "the agent did not build"
}

# agent_json OUT SECONDS ARGS...: runs criu-agent ARGS --json with a deadline, the document in OUT.
agent_json() {
  local out=$1 seconds=$2; shift 2
  if ! bounded "$seconds" "$CRIU_AGENT" "$@" --json >"$out" 2>"$out.err"; then
    echo "criu-agent $1 failed: $(cat "$out" "$out.err" 2>/dev/null | head -c 2000)" >&2
    return 1
  fi
}

json_get() { python3 "$BENCH_LIB" json-get "$@"; }

# ---- the machine and the docs page ----------------------------------------------------------------

# Markdown lines describing where a run happened.
machine_description() {
  local cpu cores memory
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
  cores=$(nproc)
  memory=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  echo "- Machine: $cpu, $cores cores, $memory memory, $(uname -s) $(uname -r) ($(uname -m))"
  echo "- CRIU $(criu --version | sed -n 's/^Version: //p') ($(command -v criu)); $(java -version 2>&1 | head -n1)"
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# replace_docs_section NAME FILE: FILE's Markdown becomes NAME's section of docs/benchmarks.md.
replace_docs_section() { python3 "$BENCH_LIB" replace-section "$DOCS_PAGE" "$1" "$2"; }

# Sizes like 256M, 1G in bytes (powers of 1024).
size_bytes() {
  local text=${1^^}
  case "$text" in
    *G) echo $(( ${text%G} << 30 )) ;;
    *M) echo $(( ${text%M} << 20 )) ;;
    *K) echo $(( ${text%K} << 10 )) ;;
    *[0-9]) echo "$text" ;;
    *) return 1 ;;
  esac
}
