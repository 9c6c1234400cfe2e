# The disk-less three-step flow, step by step, by the bare CRIU command line (bare_*) and by criu-agent
# (agent_*), for the benchmarks to time one step at a time (sourced after common.sh).
#
# The steps read these globals:
#   SOURCE       host PID of the tree to migrate
#   SRC_DIR      the source's images directory (the non-page images)
#   DST_DIR      the destination's images directory (a tmpfs, made by the page-server step)
#   STATE_DIR    where a migration keeps its pid files and JSON documents
#   PORT         the page server's port on 127.0.0.1
#   TMPFS_BYTES  the destination tmpfs's size
#   STEP_TIMEOUT deadline of a dump or a restore, seconds
#   TLS_DIR      empty: plain TCP; else the page stream uses TLS with the files made by make_tls_files
#                (CRIU's TLS; with PAGE_TRANSPORT=relay the agents' TLS 1.3)
#   PAGE_TRANSPORT  criu-agent only: empty or criu (CRIU carries the page stream itself, the agent's
#                default) or relay (--page-transport relay on both sides: the agents carry it)
#   RELAY_COMPRESS  with PAGE_TRANSPORT=relay: empty (none) or lz4 (the dump's --compress)
#   RUN_NAME     names the migration in messages
# and set PAGE_SERVER (bare), RESTORED (the restored root's host PID).

fail() { die "$RUN_NAME: $*"; }

# CRIU's own error lines from a log, without the harmless RLIMIT_NOFILE one.
criu_errors() { grep Error "$1" 2>/dev/null | grep -v RLIMIT_NOFILE | head -n3 || true; }

declare -A STEP
# step NAME COMMAND...: runs COMMAND in this shell and keeps its wall time in microseconds in STEP.
step() {
  local name=$1 start; shift
  start=${EPOCHREALTIME/./}
  "$@"
  STEP[$name]=$(( ${EPOCHREALTIME/./} - start ))
}

# The non-page images (the pages went to the page server): the same rule for both methods.
copy_non_page_images() {
  find "$SRC_DIR" -maxdepth 1 -type f ! -name 'pages-*.img' ! -name '*.log' -exec cp -t "$DST_DIR" {} +
}

# make_tls_files DIR: a CA, and a certificate for the page server (127.0.0.1) and one for the dumping
# side, as CRIU's --tls wants them (PEM). Thrown away with DIR.
make_tls_files() {
  local dir=$1 name
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=criu-bench-ca \
      -keyout ca.key -out ca.pem 2>/dev/null
    for name in server client; do
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
        -keyout "$name.key" -out "$name.csr" 2>/dev/null
      openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
        -extfile <(printf 'subjectAltName=IP:127.0.0.1\n') -out "$name.pem" 2>/dev/null
    done
  ) || die "openssl could not make the TLS files"
}

# CRIU's TLS options for one side (server or client), none without TLS_DIR.
bare_tls_args() {
  [ -n "$TLS_DIR" ] || return 0
  printf '%s\n' --tls --tls-cacert "$TLS_DIR/ca.pem" --tls-cert "$TLS_DIR/$1.pem" --tls-key "$TLS_DIR/$1.key"
}
agent_tls_args() {
  [ -n "$TLS_DIR" ] || return 0
  printf '%s\n' --tls-cacert "$TLS_DIR/ca.pem" --tls-cert "$TLS_DIR/$1.pem" --tls-key "$TLS_DIR/$1.key"
}

# agent_stream_args SIDE: criu-agent's page-stream options for one side (server or client) into the
# array STREAM_ARGS: its TLS options, then, with PAGE_TRANSPORT=relay, --page-transport relay (and the
# dump's --compress). Nothing more by default, so the criu transport's command lines stay those of the
# benchmarks before the relay existed.
agent_stream_args() {
  mapfile -t STREAM_ARGS < <(agent_tls_args "$1")
  case "${PAGE_TRANSPORT:-criu}" in
    criu) [ -z "${RELAY_COMPRESS:-}" ] || fail "RELAY_COMPRESS needs PAGE_TRANSPORT=relay" ;;
    relay)
      STREAM_ARGS+=(--page-transport relay)
      if [ "$1" = client ] && [ -n "${RELAY_COMPRESS:-}" ]; then STREAM_ARGS+=(--compress "$RELAY_COMPRESS"); fi ;;
    *) fail "PAGE_TRANSPORT: criu or relay, not '$PAGE_TRANSPORT'" ;;
  esac
}

# ---- (a) the bare CRIU command line, as in PLATFORM.md's seed flow -------------------------------

bare_page_server() {
  local tls
  mapfile -t tls < <(bare_tls_args server)
  mount -t tmpfs -o "size=$TMPFS_BYTES" criu-bench "$DST_DIR"
  CLEANUP_MOUNTS+=("$DST_DIR")
  bounded 60 criu page-server -d -D "$DST_DIR" --address 127.0.0.1 --port "$PORT" "${tls[@]}" \
    --pidfile "$STATE_DIR/page-server.pid" -o page-server.log \
    || fail "criu page-server failed: $(criu_errors "$DST_DIR/page-server.log")"
  PAGE_SERVER=$(cat "$STATE_DIR/page-server.pid")
  CLEANUP_PIDS+=("$PAGE_SERVER")
}

bare_dump() {
  local tls
  mapfile -t tls < <(bare_tls_args client)
  bounded "$STEP_TIMEOUT" criu dump -t "$SOURCE" -D "$SRC_DIR" --leave-stopped --page-server \
    --address 127.0.0.1 --port "$PORT" "${tls[@]}" --network-lock nftables -o dump.log \
    || fail "criu dump failed: $(criu_errors "$SRC_DIR/dump.log")"
}

# The daemonized page server ends once the dump has sent everything; its exit status is not ours to
# read, so its log is checked for errors instead.
bare_page_server_check() {
  wait_gone "$PAGE_SERVER" 60 || fail "the page server $PAGE_SERVER still runs after the dump"
  forget_pid "$PAGE_SERVER"
  [ -z "$(criu_errors "$DST_DIR/page-server.log")" ] \
    || fail "the page server logged errors: $(criu_errors "$DST_DIR/page-server.log")"
}

bare_restore() {
  bounded "$STEP_TIMEOUT" criu restore -d -D "$DST_DIR" --pidfile "$STATE_DIR/restored.pid" \
    --network-lock nftables -o restore.log \
    || fail "criu restore failed: $(criu_errors "$DST_DIR/restore.log")"
  RESTORED=$(cat "$STATE_DIR/restored.pid")
  CLEANUP_PIDS+=("$RESTORED")
}

bare_kill_source() {
  kill -KILL "$SOURCE"
  wait_gone "$SOURCE" 10 || fail "the source $SOURCE survived SIGKILL"
}

bare_cleanup() {
  umount "$DST_DIR"
  rm -rf "$SRC_DIR" "$DST_DIR"
}

# ---- (b) criu-agent ---------------------------------------------------------------------------------

agent_page_server() {
  agent_stream_args server
  CLEANUP_AGENT_DIRS+=("$DST_DIR")
  agent_json "$STATE_DIR/page-server.json" 60 page-server --images-dir "$DST_DIR" --tmpfs-size "$TMPFS_BYTES" \
    --address 127.0.0.1 --port "$PORT" "${STREAM_ARGS[@]}" --detach || fail "criu-agent page-server failed"
}

agent_dump() {
  agent_stream_args client
  agent_json "$STATE_DIR/dump.json" "$STEP_TIMEOUT" dump --pid "$SOURCE" --images-dir "$SRC_DIR" \
    --page-server "127.0.0.1:$PORT" "${STREAM_ARGS[@]}" --leave-stopped --network-lock nftables \
    || fail "criu-agent dump failed"
}

# relay_stats: what the dump's relay carried (its result's relay object), after an agent migration:
# sets RELAY_MS RELAY_STREAM_BYTES RELAY_WIRE_BYTES, all empty unless PAGE_TRANSPORT=relay; fails unless
# the relay says it used TLS exactly when TLS_DIR is set and the compression asked for.
relay_stats() {
  local tls compression
  RELAY_MS="" RELAY_STREAM_BYTES="" RELAY_WIRE_BYTES=""
  [ "${PAGE_TRANSPORT:-criu}" = relay ] || return 0
  read -r RELAY_MS RELAY_STREAM_BYTES RELAY_WIRE_BYTES tls compression < <(json_get "$STATE_DIR/dump.json" \
    relay.millis relay.stream_bytes relay.wire_bytes relay.tls relay.compression | paste -sd' ')
  [[ "$RELAY_MS" =~ ^[0-9]+$ && "$RELAY_STREAM_BYTES" =~ ^[0-9]+$ ]] && (( RELAY_STREAM_BYTES > 0 )) \
    || fail "no relay statistics in $STATE_DIR/dump.json"
  [ "$tls" = "$([ -n "$TLS_DIR" ] && echo True || echo False)" ] || fail "the relay's tls is $tls (TLS_DIR='$TLS_DIR')"
  [ "$compression" = "$([ -n "${RELAY_COMPRESS:-}" ] && echo "${RELAY_COMPRESS^^}" || echo NO_COMPRESSION)" ] \
    || fail "the relay's compression is $compression (RELAY_COMPRESS='${RELAY_COMPRESS:-}')"
}

# The detached page server records its outcome once CRIU's page server has ended: ask until it has.
agent_page_server_check() {
  local deadline=$(( SECONDS + 60 )) state
  while :; do
    agent_json "$STATE_DIR/page-server-status.json" 60 page-server-status --images-dir "$DST_DIR" \
      || fail "criu-agent page-server-status failed"
    state=$(json_get "$STATE_DIR/page-server-status.json" state)
    case "$state" in
      FINISHED_OK) return ;;
      RUNNING) (( SECONDS < deadline )) || fail "the page server still runs 60 s after the dump" ;;
      *) fail "the page server's state is $state" ;;
    esac
  done
}

agent_restore() {
  agent_json "$STATE_DIR/restore.json" "$STEP_TIMEOUT" restore --images-dir "$DST_DIR" --network-lock nftables \
    || fail "criu-agent restore failed"
  RESTORED=$(json_get "$STATE_DIR/restore.json" pid)
  CLEANUP_PIDS+=("$RESTORED")
}

agent_kill_source() {
  agent_json "$STATE_DIR/kill.json" 60 kill --pid "$SOURCE" || fail "criu-agent kill failed"
  wait_gone "$SOURCE" 10 || fail "the source $SOURCE still runs after criu-agent kill"
}

agent_cleanup() {
  agent_json "$STATE_DIR/cleanup-dst.json" 60 cleanup --images-dir "$DST_DIR" || fail "criu-agent cleanup failed"
  agent_json "$STATE_DIR/cleanup-src.json" 60 cleanup --images-dir "$SRC_DIR" || fail "criu-agent cleanup failed"
  rm -rf "$SRC_DIR" "$DST_DIR"
}

# ---- a whole migration --------------------------------------------------------------------------------

# migrate_steps METHOD: the six steps, timed into STEP; TICK_AT_DUMP is the source's last tick.
migrate_steps() {
  local method=$1
  STEP=()
  step page_server "${method}_page_server"
  step dump "${method}_dump"
  TICK_AT_DUMP=$(last_tick "$WORKLOAD_LOG")  # the source is stopped: this is its last word
  step copy copy_non_page_images
  step page_server_check "${method}_page_server_check"
  step restore "${method}_restore"
  step kill "${method}_kill_source"
  forget_pid "$SOURCE"
  STEP[total]=$(( STEP[page_server] + STEP[dump] + STEP[copy] + STEP[page_server_check] + STEP[restore] + STEP[kill] ))
}

# criu_stats: CRIU's statistics of the migration in SRC_DIR (stats-dump) and DST_DIR (stats-restore), read
# by criu-agent images for every method: sets FROZEN_US FREEZING_US MEMDUMP_US MEMWRITE_US PAGES_WRITTEN
# RESTORE_TIME_US.
criu_stats() {
  agent_json "$STATE_DIR/images-src.json" 60 images --images-dir "$SRC_DIR" || fail "criu-agent images $SRC_DIR failed"
  agent_json "$STATE_DIR/images-dst.json" 60 images --images-dir "$DST_DIR" || fail "criu-agent images $DST_DIR failed"
  read -r FROZEN_US FREEZING_US MEMDUMP_US MEMWRITE_US PAGES_WRITTEN < <(json_get "$STATE_DIR/images-src.json" \
    dump_stats.frozen_time_micros dump_stats.freezing_time_micros dump_stats.memdump_time_micros \
    dump_stats.memwrite_time_micros dump_stats.pages_written | paste -sd' ')
  RESTORE_TIME_US=$(json_get "$STATE_DIR/images-dst.json" restore_stats.restore_time_micros)
  [ -n "$PAGES_WRITTEN" ] && (( FROZEN_US > 0 && RESTORE_TIME_US > 0 )) || fail "no CRIU statistics in $SRC_DIR and $DST_DIR"
}

# measured_migration METHOD SIZE INTERVAL: a fresh workload of SIZE migrated by METHOD (bare or agent)
# in STATE_DIR, verified, then everything of it removed; leaves the timings in STEP and CRIU's
# statistics in FROZEN_US etc. (see criu_stats).
measured_migration() {
  local method=$1 size=$2 interval=$3 checksum problem
  SRC_DIR="$STATE_DIR/src" DST_DIR="$STATE_DIR/dst" WORKLOAD_LOG="$STATE_DIR/workload.log"
  mkdir -p "$SRC_DIR" "$DST_DIR"
  PORT=$(( PORT + 1 ))
  log "$RUN_NAME: starting the workload"
  start_workload "$WORKLOAD_LOG" "$size" "$interval" ${WORKLOAD_FILL:+--fill "$WORKLOAD_FILL"}
  SOURCE=$WORKLOAD_PID
  checksum=$(first_checksum "$WORKLOAD_LOG")
  log "$RUN_NAME: migrating pid $SOURCE"
  migrate_steps "$method"
  problem=$(verify_migration "$WORKLOAD_LOG" "$TICK_AT_DUMP" "$checksum" "$RESTORED" "$SOURCE") \
    || fail "the migration did not work: $problem"
  kill_tree "$RESTORED"
  criu_stats
  log "$RUN_NAME: verified; frozen $(( FROZEN_US / 1000 )) ms, dump $(( STEP[dump] / 1000 )) ms, restore $(( STEP[restore] / 1000 )) ms, total $(( STEP[total] / 1000 )) ms"
  "${method}_cleanup"  # not part of the measurement: gives back the destination's memory
}

