# SSH "hosts" on loopback for the benchmarks (sourced after common.sh): one OpenSSH sshd per host,
# each with its own host key, trusting one client key; strict host-key checking through a known_hosts
# file of the run. The same set-up as the engine's tests (migration's SshdHost) and ansible/tests/run.sh.
#
# init_ssh_hosts DIR      makes the client key and the known_hosts file in DIR
# start_sshd_host NAME    starts sshd for host NAME; sets SSHD_PORT (and SSHD_PORT_<NAME>)
# ssh_to PORT ARGV...     runs ARGV on that host, each argument quoted for the remote shell
# and criu-migrate between them:
# deploy_agents AGENT_DIR IMAGES_DIR    sets the options of every criu-migrate call and deploys the
#                                       agent with an untimed dry run (needs SOURCE_HOST, DESTINATION_HOST)
# run_criu_migrate REPORT SECONDS ARGS  one criu-migrate --json call, its report in REPORT

SSH_DIR=""
SSHD_PIDS=()

init_ssh_hosts() {
  SSH_DIR=$1
  mkdir -p "$SSH_DIR"
  chmod 700 "$SSH_DIR"
  ssh-keygen -q -t ed25519 -N '' -C criu-bench -f "$SSH_DIR/client_key"
  : >"$SSH_DIR/known_hosts"
  mkdir -p /run/sshd  # sshd's privilege separation directory
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_sshd_host() {
  local name=$1 dir="$SSH_DIR/$1" pid
  mkdir -p "$dir"
  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$dir/host_key"
  cp "$SSH_DIR/client_key.pub" "$dir/authorized_keys"
  SSHD_PORT=$(free_port)
  cat >"$dir/sshd_config" <<EOF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
MaxSessions 50
Subsystem sftp internal-sftp
EOF
  /usr/sbin/sshd -D -e -f "$dir/sshd_config" >"$dir/sshd.log" 2>&1 &
  pid=$!
  disown "$pid"  # ended by the clean-up, without the shell's job report
  SSHD_PIDS+=("$pid")
  CLEANUP_PIDS+=("$pid")
  echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1-2 "$dir/host_key.pub")" >>"$SSH_DIR/known_hosts"
  local deadline=$(( SECONDS + 10 ))
  until ssh_to "$SSHD_PORT" true 2>/dev/null; do
    process_running "$pid" || die "sshd for $name did not start: $(tail -n5 "$dir/sshd.log")"
    (( SECONDS < deadline )) || die "sshd for $name does not answer on port $SSHD_PORT"
    sleep 0.1
  done
  printf -v "SSHD_PORT_${name//-/_}" '%s' "$SSHD_PORT"
}

# The OpenSSH client options of the run: its key, its known_hosts, strict checking, no prompts.
ssh_options() {
  printf '%s\n' -F /dev/null -i "$SSH_DIR/client_key" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$SSH_DIR/known_hosts" -o GlobalKnownHostsFile=/dev/null \
    -o StrictHostKeyChecking=yes -o ConnectTimeout=15 -o ServerAliveInterval=15
}

ssh_to() {
  local port=$1 options command
  shift
  mapfile -t options < <(ssh_options)
  printf -v command '%q ' "$@"
  ssh "${options[@]}" -p "$port" root@127.0.0.1 "$command"
}

# ---- criu-migrate between the hosts ---------------------------------------------------------------

CRIU_MIGRATE="$REPO_DIR/migration/bin/criu-migrate"
MIGRATE_JAR="$REPO_DIR/migration/target/criu-migrate.jar"

# Builds criu-migrate.jar when it is missing or older than its sources (or the agent's, which it embeds).
ensure_migrate_jar() {
  if [ -f "$MIGRATE_JAR" ] && [ -z "$(find "$REPO_DIR/migration/src" "$REPO_DIR/agent-native/src" -newer "$MIGRATE_JAR" -print -quit)" ]; then
    return
  fi
  log "building criu-migrate (its jar is missing or older than its sources)"
  (cd "$REPO_DIR" && ./mvnw -B -q -ntp -pl migration -am package -DskipTests) || die "criu-migrate did not build"
}

deploy_agents() {
  # IMAGES_DIR is the agents' images base too: the migrations' directories go under it.
  MIGRATE_OPTIONS=(-i "$SSH_DIR/client_key" --known-hosts "$SSH_DIR/known_hosts" --agent-dir "$1"
    --images-base "$2" --images-dir "$2/migrations")
  log "deploying the agent to both hosts (an untimed dry run)"
  local pid
  start_workload "$SSH_DIR/dry-run.log" 16M 1
  pid=$WORKLOAD_PID
  bounded 300 "$CRIU_MIGRATE" "${MIGRATE_OPTIONS[@]}" --from "$SOURCE_HOST" --to "$DESTINATION_HOST" --pid "$pid" \
    --dry-run >"$SSH_DIR/dry-run.out" 2>&1 || die "criu-migrate --dry-run failed: $(tail -n 20 "$SSH_DIR/dry-run.out")"
  kill_tree "$pid"
}

# run_criu_migrate REPORT SECONDS ARGS...: criu-migrate --from SOURCE_HOST --to DESTINATION_HOST ARGS --json.
run_criu_migrate() {
  local report=$1 seconds=$2
  shift 2
  bounded "$seconds" "$CRIU_MIGRATE" "${MIGRATE_OPTIONS[@]}" --from "$SOURCE_HOST" --to "$DESTINATION_HOST" "$@" \
    --json >"$report" 2>"$report.err" || fail "criu-migrate failed: $(tail -n 20 "$report.err")"
}


# start_agent_daemon AGENT_DIR IMAGES_BASE: criu-agent daemon from the jar deploy_agents put in
# AGENT_DIR (the build criu-migrate embeds), as the systemd unit runs it (its heap bounded like the
# unit's criu_host_agent_daemon_max_heap; DAEMON_MAX_HEAP overrides it); sets DAEMON_SOCKET.
start_agent_daemon() {
  local jar deadline
  jar=$(ls "$1"/criu-agent-*.jar)
  DAEMON_SOCKET="$SSH_DIR/run/agent.sock"
  java "-Xmx${DAEMON_MAX_HEAP:-128m}" -jar "$jar" daemon --socket "$DAEMON_SOCKET" --images-base "$2" 2>"$SSH_DIR/daemon.log" &
  DAEMON_PID=$!
  CLEANUP_PIDS+=("$DAEMON_PID")
  deadline=$(( SECONDS + 30 ))
  until [ -S "$DAEMON_SOCKET" ]; do
    (( SECONDS < deadline )) && kill -0 "$DAEMON_PID" 2>/dev/null \
      || die "the agent daemon did not start: $(cat "$SSH_DIR/daemon.log")"
    sleep 0.05
  done
}
