#!/usr/bin/env bash
# Tests of the criumigration.criu collection with real parts: Debian's ansible-playbook against real
# OpenSSH sshd "hosts" on 127.0.0.1 (one sshd per host, each with its own host key, strict host-key
# checking), the real agent jar and CRIU, real stateful workloads in their own PID namespaces.
#
#   ansible/tests/run.sh            (as root; builds agent-native/target/criu-agent.jar first)
#   CRIU_AGENT_JAR=path run.sh      (use that jar, no build)
#   KEEP_WORK=1 run.sh              (keep the work directory with every log; processes are still ended)
#
# Prints one line per scenario and ends with "N passed, M failed"; exits non-zero on any failure.
# Without root or a tool it skips, unless CI=true, where that is a failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
collection=$(cd "$here/.." && pwd)
repo=$(cd "$collection/.." && pwd)
python=/usr/bin/python3 # the interpreter Debian's ansible-core is installed for
# The system's tools (and python3 for the workloads), as the sshd "hosts" see them.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0

# --- gating -----------------------------------------------------------------------------------------
missing=()
[ "$(id -u)" -eq 0 ] || missing+=("root (run it as root)")
for tool in ansible-playbook ansible-galaxy ansible-lint ssh ssh-keygen /usr/sbin/sshd criu java unshare pgrep; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
"$python" -c 'import ansible' 2>/dev/null || missing+=("ansible-core for $python")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${CI:-}" = true ]; then
    echo "FAIL  prerequisites: missing ${missing[*]} (CI=true: not skipping)"
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "SKIP  all: missing ${missing[*]} (tools: src/install/install-host.sh --test-tools; CI=true fails instead)"
  echo "0 passed, 0 failed"
  exit 0
fi

work=$(mktemp -d /tmp/criu-ansible.XXXXXX)
chmod 700 "$work"
mkdir -p "$work/logs" "$work/workloads" "$work/cp" "$work/transit"
run_id=$$ # workload seeds start with it, so this run's workloads can be told from any other's
seeds=()
sshd_pids=()

# --- cleanup, on any exit -------------------------------------------------------------------------
workload_pids() { # SEED: host PIDs of the workload started with that seed (the original or restored root)
  pgrep -f -- "^([^ ]*/)?python3 [^ ]*stateful_counter\.py .*--seed $1\$" || true
}
criu_pids_of_this_run() { # CRIU processes (page servers) holding a file of this run
  local pid
  for pid in $(pgrep -x criu || true); do
    if ls -l "/proc/$pid/fd" "/proc/$pid/cwd" 2>/dev/null | grep -q -- "$work/"; then echo "$pid"; fi
  done
}
mounts_of_this_run() {
  awk -v prefix="$work/" 'index($2, prefix) == 1 { print $2 }' /proc/mounts | sort -r
}
end_leftovers() { # ends the workloads, page servers and mounts of this run: a failed scenario's are not the next one's
  local seed pid mount
  for seed in "${seeds[@]}"; do
    for pid in $(workload_pids "$seed"); do kill -KILL "$pid" 2>/dev/null; done
  done
  for pid in $(criu_pids_of_this_run); do kill -KILL "$pid" 2>/dev/null; done
  for mount in $(mounts_of_this_run); do umount -l "$mount"; done
}
teardown() { # ends every process and mount of this run
  local pid sock
  end_leftovers
  for sock in "$work"/cp/*; do
    [ -S "$sock" ] && ssh -o ControlPath="$sock" -O exit cleanup >/dev/null 2>&1
  done
  for pid in "${sshd_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${sshd_pids[@]}"; do wait "$pid" 2>/dev/null; done
  sshd_pids=()
}
cleanup() {
  set +e
  teardown
  if [ "${KEEP_WORK:-}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- scenario bookkeeping -------------------------------------------------------------------------
passed=0
failed=0
scenario() { # NAME COMMAND...: runs the command with its output in the scenario's log
  local name=$1 start=$SECONDS
  shift
  local log="$work/logs/$name.log"
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    printf 'PASS  %-34s %4ss\n' "$name" "$((SECONDS - start))"
  else
    failed=$((failed + 1))
    printf 'FAIL  %-34s %4ss\n' "$name" "$((SECONDS - start))"
    tail -n 40 "$log" | sed 's/^/      | /'
    end_leftovers
    find "$work"/host*/images "$work/transit" -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null
  fi
}
fail() { echo "FAILED: $*"; return 1; }

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- three sshd "hosts" ---------------------------------------------------------------------------
start_sshd() { # NAME PORT
  local name=$1 port=$2 dir="$work/$1/sshd"
  mkdir -p "$dir"
  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$dir/host_key"
  cp "$work/client_key.pub" "$dir/authorized_keys"
  cat >"$dir/sshd_config" <<EOF
Port $port
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
  mkdir -p /run/sshd  # sshd's privilege separation directory; without systemd nothing creates it
  /usr/sbin/sshd -D -e -f "$dir/sshd_config" >"$dir/sshd.log" 2>&1 &
  sshd_pids+=("$!")
  # The real host key, so the client checks it strictly.
  echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$dir/host_key.pub")" >>"$work/known_hosts"
}

ssh_ok() { # PORT: a strict-host-key login works
  ssh -F /dev/null -i "$work/client_key" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$work/known_hosts" -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
    -p "$1" root@127.0.0.1 true
}

setup_hosts() {
  ssh-keygen -q -t ed25519 -N '' -C criu-ansible-test -f "$work/client_key" || return 1
  : >"$work/known_hosts"
  local host port inventory_hosts=""
  for host in host1 host2 host3; do
    port=$(free_port) || return 1
    start_sshd "$host" "$port"
    mkdir -p "$work/$host/bin" "$work/$host/systemd" # the host's /usr/local/bin and /etc/systemd/system
    inventory_hosts+="    $host:
      ansible_port: $port
      criu_host_agent_dir: $work/$host/agent
      criu_host_agent_wrapper: $work/$host/bin/criu-agent
      criu_host_images_base: $work/$host/images
      criu_host_systemd_unit_dir: $work/$host/systemd
      criu_host_agent_socket: $work/$host/run/agent.sock
"
  done
  for host in host1 host2 host3; do
    port=$(awk -v h="    $host:" '$0 == h { getline; print $2 }' <<<"$inventory_hosts")
    for _ in $(seq 1 50); do ssh_ok "$port" 2>/dev/null && break; sleep 0.1; done
    ssh_ok "$port" || fail "sshd of $host on port $port does not let root in: $(tail -n 5 "$work/$host/sshd/sshd.log")" || return 1
  done
  cat >"$work/inventory.yml" <<EOF
all:
  vars:
    ansible_host: 127.0.0.1
    ansible_user: root
    ansible_ssh_private_key_file: $work/client_key
    ansible_python_interpreter: /usr/bin/python3
    criu_host_agent_jar_src: $jar
    criu_page_server_address: 127.0.0.1
    criu_tmpfs_size: 256M
    criu_timeout: 120
    criu_transit_dir: $work/transit
  hosts:
$inventory_hosts
EOF
  cat >"$work/ansible.cfg" <<EOF
[defaults]
inventory = $work/inventory.yml
collections_paths = $work/collections
host_key_checking = True
forks = 10
retry_files_enabled = False
local_tmp = $work/ansible-local
[ssh_connection]
ssh_args = -F /dev/null -o IdentitiesOnly=yes -o UserKnownHostsFile=$work/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPersist=120s
control_path_dir = $work/cp
pipelining = True
EOF
  cat >"$work/site.yml" <<EOF
---
- name: Prepare the test hosts
  hosts: all
  gather_facts: false
  roles:
    - criumigration.criu.criu_host
EOF
  export ANSIBLE_CONFIG="$work/ansible.cfg"
}

play() { # OUTPUT_FILE ansible-playbook ARGS...: prints and keeps the output, returns its exit status
  local out=$1
  shift
  ansible-playbook "$@" 2>&1 | tee "$out"
  return "${PIPESTATUS[0]}"
}

result_of() { # OUTPUT_FILE TASK_NAME_PREFIX: the first result line of that task
  awk -v task="TASK [$2" 'index($0, task) == 1 { found = 1; next } found && NF { print; exit }' "$1"
}
recap_changed() { # OUTPUT_FILE HOST: the host's changed= count in the play recap
  awk -v h="$2" '$1 == h && $2 == ":" { for (i = 3; i <= NF; i++) if ($i ~ /^changed=/) { sub("changed=", "", $i); print $i } }' "$1" | tail -n 1
}
recap_failed() { # OUTPUT_FILE: the sum of failed= and unreachable= over the recap
  awk '$2 == ":" { for (i = 3; i <= NF; i++) if ($i ~ /^(failed|unreachable)=/) { split($i, kv, "="); n += kv[2] } } END { print n + 0 }' "$1"
}

# --- workloads ------------------------------------------------------------------------------------
started_pid=
start_workload() { # NAME SEED [stateful_counter.py options]: sets started_pid to the root's host PID
  local name=$1 seed=$2
  shift 2
  seeds+=("$seed")
  "$repo/src/workloads/start-workload.sh" "$work/workloads/$name.log" --memory 16M --interval 0.2 "$@" \
    --seed "$seed" >"$work/workloads/$name.pid" || return 1
  started_pid=$(cat "$work/workloads/$name.pid")
}
state_of() { # LOG: checks the log is one unbroken run (ticks 0,1,2,... and one checksum); prints the last tick
  "$python" - "$1" <<'EOF'
import re, sys
ticks, checksums = [], set()
for line in open(sys.argv[1]):
    if line.startswith("unshare: "):
        continue  # start-workload.sh's wrapper outside the namespace, when the source's root dies
    m = re.fullmatch(r"tick=(\d+) checksum=([0-9a-f]+) pid=\d+\n?", line)
    if not m:
        sys.exit("unexpected line in %s: %r" % (sys.argv[1], line))
    ticks.append(int(m[1]))
    checksums.add(m[2])
for expected, tick in enumerate(ticks):
    if tick != expected:
        sys.exit("%s: tick %d follows tick %d: the state did not go on" % (sys.argv[1], tick, expected - 1))
if len(checksums) != 1:
    sys.exit("%s: the memory checksum changed: %s" % (sys.argv[1], sorted(checksums)))
print(ticks[-1] if ticks else -1)
EOF
}
wait_tick() { # LOG TICK: waits up to 20 s for the workload to reach TICK
  local _
  for _ in $(seq 1 100); do
    [ "$(state_of "$1" 2>/dev/null || echo -1)" -ge "$2" ] && return 0
    sleep 0.2
  done
  fail "$1 did not reach tick $2: $(tail -n 2 "$1")"
}
goes_on() { # LOG TICK: the workload's state is intact and it ticks past TICK
  state_of "$1" >/dev/null || { state_of "$1"; return 1; }
  wait_tick "$1" "$(($2 + 5))"
}
process_state() { # PID: ps's state letter, empty when the process is gone
  ps -o stat= -p "$1" 2>/dev/null | cut -c1
}
one_root() { # SEED: the single running root of the workload
  local pids
  pids=$(workload_pids "$1")
  [ "$(echo "$pids" | grep -c .)" -eq 1 ] || { fail "expected one process for seed $1, found: ${pids:-none}"; return 1; }
  echo "$pids"
}
nothing_left() { # no tmpfs, page server, images or stopped workload of this run remains
  local leftovers
  leftovers=$(mounts_of_this_run)
  [ -z "$leftovers" ] || fail "mounts left: $leftovers" || return 1
  leftovers=$(criu_pids_of_this_run)
  [ -z "$leftovers" ] || fail "criu processes left: $leftovers" || return 1
  leftovers=$(find "$work"/host*/images -mindepth 1 2>/dev/null)
  [ -z "$leftovers" ] || fail "images left: $leftovers" || return 1
  leftovers=$(find "$work/transit" -mindepth 1 2>/dev/null)
  [ -z "$leftovers" ] || fail "images in transit left on the controller: $leftovers" || return 1
  local seed pid
  for seed in "${seeds[@]}"; do
    for pid in $(workload_pids "$seed"); do
      [ "$(process_state "$pid")" != T ] || fail "workload $pid (seed $seed) is left stopped" || return 1
    done
  done
}
end_workload() { # SEED: ends the workload (a PID-namespace init ignores SIGTERM from outside)
  local pid
  for pid in $(workload_pids "$1"); do kill -KILL "$pid"; done
}

# --- scenarios ------------------------------------------------------------------------------------
t_unit() {
  (cd "$here/unit" && "$python" -m unittest discover -v -s .)
}

t_lint() {
  (cd "$collection" && ansible-lint)
}

t_build_install() {
  ansible-galaxy collection build "$collection" --output-path "$work/dist" || return 1
  ansible-galaxy collection install -p "$work/collections" "$work"/dist/criumigration-criu-*.tar.gz || return 1
  local installed="$work/collections/ansible_collections/criumigration/criu"
  # The role carries the project's one installer (a symlink in the source tree), byte for byte.
  [ -f "$installed/roles/criu_host/files/install-host.sh" ] && [ ! -L "$installed/roles/criu_host/files/install-host.sh" ] ||
    fail "the built collection lacks the installer as a file" || return 1
  cmp "$installed/roles/criu_host/files/install-host.sh" "$repo/src/install/install-host.sh" || return 1
  [ ! -e "$installed/tests" ] || fail "tests/ was packaged"
}

t_role_check_mode_fresh() {
  play "$work/role-check-fresh.out" "$work/site.yml" --check || fail "check mode failed on fresh hosts" || return 1
  local host
  for host in host1 host2 host3; do
    [ ! -e "$work/$host/agent" ] && [ ! -e "$work/$host/images" ] && [ ! -e "$work/$host/bin/criu-agent" ] ||
      fail "check mode changed $host: $(ls -R "$work/$host")" || return 1
    [ "$(recap_changed "$work/role-check-fresh.out" "$host")" -gt 0 ] || fail "check mode on a fresh $host predicts no change" || return 1
  done
}

t_role_converges() {
  play "$work/role-1.out" "$work/site.yml" || fail "the role failed" || return 1
  [ "$(recap_failed "$work/role-1.out")" -eq 0 ] || return 1
  local host
  for host in host1 host2 host3; do
    [ "$(recap_changed "$work/role-1.out" "$host")" -gt 0 ] || fail "$host: nothing changed on the first run" || return 1
    (cd "$work/$host/agent" && sha256sum -c criu-agent.jar.sha256) || return 1
    [ -s "$work/$host/agent/criu-agent.jsa" ] && grep -q -- "-XX:SharedArchiveFile=$work/$host/agent/criu-agent.jsa" \
      "$work/$host/bin/criu-agent" || fail "$host: no class-data sharing archive, or the launcher does not use it" || return 1
    [ "$(stat -c %a "$work/$host/images")" = 700 ] || fail "$host images base is not 0700" || return 1
    "$work/$host/bin/criu-agent" check --json | "$python" -c 'import json, sys; json.load(sys.stdin)' ||
      fail "$host: the installed launcher does not run the agent" || return 1
  done
}

t_role_idempotent() {
  play "$work/role-2.out" "$work/site.yml" || return 1
  local host
  for host in host1 host2 host3; do
    [ "$(recap_changed "$work/role-2.out" "$host")" = 0 ] || fail "$host: the second run changed something" || return 1
  done
}

t_role_check_mode_converged() {
  play "$work/role-check.out" "$work/site.yml" --check || return 1
  local host
  for host in host1 host2 host3; do
    [ "$(recap_changed "$work/role-check.out" "$host")" = 0 ] || fail "$host: check mode predicts changes on a converged host" || return 1
  done
}

t_check_playbook() {
  play "$work/check.out" criumigration.criu.check || return 1
  local host
  for host in host1 host2 host3; do
    grep -q "\"msg\": \"$host can migrate: CRIU 4\." "$work/check.out" || fail "no verdict for $host" || return 1
  done
  grep -q 'CRIU 4\.' "$work/check.out" || fail "no CRIU version reported"
}

# criu_host_agent_daemon: the unit is installed (and verified by systemd-analyze where it is there),
# a second run changes nothing, the unit's own command starts a daemon on its root-only socket that
# SIGTERM ends, and turning the option off removes the unit. This machine runs no systemd: the role
# must say that it installed the unit without starting it.
t_daemon_unit() {
  if [ -d /run/systemd/system ]; then
    echo "skipped: systemd runs this machine, and the three test hosts would share its one criu-agent unit"
    return 0
  fi
  play "$work/daemon-1.out" "$work/site.yml" -e criu_host_agent_daemon=true || return 1
  local host unit
  for host in host1 host2 host3; do
    unit="$work/$host/systemd/criu-agent.service"
    [ -f "$unit" ] || fail "$host: no unit at $unit" || return 1
    grep -qx "ExecStart=$work/$host/bin/criu-agent daemon --socket $work/$host/run/agent.sock" "$unit" &&
      grep -qx 'KillMode=process' "$unit" && grep -qx 'Restart=always' "$unit" &&
      grep -qx 'Environment="JDK_JAVA_OPTIONS=-Xmx128m"' "$unit" ||
      fail "$host: unexpected unit: $(cat "$unit")" || return 1
    if command -v systemd-analyze >/dev/null; then
      systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit failed" || return 1
    fi
  done
  grep -q 'does not run systemd' "$work/daemon-1.out" || fail "the role did not say that it could not start the daemon" || return 1
  play "$work/daemon-2.out" "$work/site.yml" -e criu_host_agent_daemon=true || return 1
  for host in host1 host2 host3; do
    [ "$(recap_changed "$work/daemon-2.out" "$host")" = 0 ] || fail "$host: the second run with the daemon changed something" || return 1
  done

  local -a command
  read -r -a command <<<"$(sed -n 's/^ExecStart=//p' "$work/host1/systemd/criu-agent.service")"
  local socket="$work/host1/run/agent.sock" pid
  JDK_JAVA_OPTIONS=-Xmx128m "${command[@]}" 2>"$work/daemon.log" &
  pid=$!
  # "listening" is logged once its SIGTERM handler is in place
  for _ in $(seq 1 100); do grep -q 'listening on' "$work/daemon.log" && break; sleep 0.1; done
  [ -S "$socket" ] || { kill "$pid"; fail "the unit's command made no socket: $(cat "$work/daemon.log")"; return 1; }
  [ "$(stat -c %a "$socket")" = 600 ] && [ "$(stat -c %a "$(dirname "$socket")")" = 700 ] ||
    { kill "$pid"; fail "the daemon's socket or its directory is not root-only"; return 1; }
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  [ "$status" = 143 ] || fail "the daemon's exit status on SIGTERM is $status, not the JVM's 143 (the unit's SuccessExitStatus): $(cat "$work/daemon.log")" || return 1
  [ ! -e "$socket" ] || fail "the daemon left its socket behind" || return 1

  play "$work/daemon-off.out" "$work/site.yml" || return 1
  for host in host1 host2 host3; do
    [ ! -e "$work/$host/systemd/criu-agent.service" ] || fail "$host: the unit is still there with the daemon off" || return 1
  done
}

t_migrate() {
  local seed="${run_id}01" log="$work/workloads/migrate.log" pid new before
  start_workload migrate "$seed" || return 1
  pid=$started_pid
  wait_tick "$log" 3 || return 1
  # Check mode: the preflight runs, nothing is migrated.
  play "$work/migrate-check.out" criumigration.criu.migrate --check -e criu_source=host1 -e criu_destination=host2 \
    -e "criu_pid=$pid" || fail "migrate.yml --check failed" || return 1
  ! grep -q 'TASK \[Dump the source' "$work/migrate-check.out" || fail "check mode went as far as the dump" || return 1
  [[ "$(process_state "$pid")" == [RS] ]] || fail "check mode left the source in state $(process_state "$pid")" || return 1
  nothing_left || return 1
  before=$(state_of "$log")
  play "$work/migrate.out" criumigration.criu.migrate -e criu_source=host1 -e criu_destination=host2 \
    -e "criu_pid=$pid" || fail "migrate.yml failed" || return 1
  [ -z "$(process_state "$pid")" ] || fail "the source $pid still exists (state $(process_state "$pid"))" || return 1
  new=$(one_root "$seed") || return 1
  [ "$new" != "$pid" ] || fail "the workload still has its old PID" || return 1
  grep -q "migrated pid $pid on host1 to pid $new on host2" "$work/migrate.out" || fail "no report of the move" || return 1
  grep -q "pages relayed by the agents: " "$work/migrate.out" || fail "the pages did not go through the relay" || return 1
  goes_on "$log" "$before" || return 1
  echo "moved $pid -> $new through the agents' relay; ticks $before -> $(state_of "$log"), checksum unchanged"
  nothing_left || return 1
  end_workload "$seed"
}

t_migrate_failure_resumes_source() {
  # The workload listens on a port of the shared network namespace, which the stopped source still
  # holds while the destination restores: the restore fails with CRIU's "Address already in use",
  # after the dump (source stopped, pages on the destination's tmpfs). The source must run on.
  local seed="${run_id}02" log="$work/workloads/failure.log" port pid before answer
  port=$(free_port) || return 1
  start_workload failure "$seed" --port "$port" || return 1
  pid=$started_pid
  wait_tick "$log" 3 || return 1
  before=$(state_of "$log")
  if play "$work/failure.out" criumigration.criu.migrate -e criu_source=host1 -e criu_destination=host2 \
    -e "criu_pid=$pid"; then
    fail "migrate.yml succeeded although the restore must fail"
    return 1
  fi
  [[ "$(result_of "$work/failure.out" 'Dump the source')" == 'changed: [localhost -> host1'* ]] ||
    fail "the failure did not come after a successful dump" || return 1
  grep -q 'failed at \\"Restore on the destination\\"' "$work/failure.out" || fail "not the restore that failed" || return 1
  grep -q '"msg": "migration of pid .*Address already in use' "$work/failure.out" || fail "CRIU's own message is missing" || return 1
  grep -q "The source pid $pid runs" "$work/failure.out" || fail "the failure does not say the source runs" || return 1
  case "$(process_state "$pid")" in
    R | S) ;;
    *) fail "the source $pid is not running after the failure: state '$(process_state "$pid")'"; return 1 ;;
  esac
  goes_on "$log" "$before" || return 1
  answer=$(exec 3<>"/dev/tcp/127.0.0.1/$port" && head -n1 <&3) || fail "the source no longer serves on $port" || return 1
  [[ "$answer" == tick=* ]] || fail "unexpected answer from the source: $answer" || return 1
  echo "source $pid resumed, ticks $before -> $(state_of "$log"), serves: $answer"
  nothing_left || return 1
  end_workload "$seed"
}

t_migrate_bad_input() {
  if play "$work/bad.out" criumigration.criu.migrate -e criu_source=host1 -e criu_destination=host1 -e criu_pid=1; then
    fail "migrate.yml accepted bad input"
    return 1
  fi
  grep -q 'set criu_source and criu_destination to two different hosts' "$work/bad.out" || return 1
  if play "$work/bad2.out" criumigration.criu.migrate -e criu_source=host1 -e criu_destination=host2 -e criu_pid=999999999; then
    fail "migrate.yml accepted a process that does not exist"
    return 1
  fi
  grep -q 'no process 999999999 on host1' "$work/bad2.out" || return 1
  nothing_left
}

t_evacuate() {
  local i seed pids=() news=() logs=() befores=() new
  for i in 1 2 3; do
    seed="${run_id}1$i"
    start_workload "evacuate$i" "$seed" || return 1
    pids+=("$started_pid")
    logs+=("$work/workloads/evacuate$i.log")
  done
  for i in 0 1 2; do wait_tick "${logs[$i]}" 3 || return 1; befores+=("$(state_of "${logs[$i]}")"); done
  # The selector goes in a vars file: on this one machine, a pattern on the controller's own command
  # line would be the controller's business, not the source's.
  cat >"$work/evacuate-vars.json" <<EOF
{"criu_source": "host1", "criu_targets": ["host2", "host3"], "criu_max_parallel": 2,
 "criu_match": "^([^ ]*/)?python3 [^ ]*stateful_counter\\\\.py .*--seed ${run_id}1[0-9]\$"}
EOF
  play "$work/evacuate.out" criumigration.criu.evacuate -e "@$work/evacuate-vars.json" || fail "evacuate.yml failed" || return 1
  grep -q "moving 3 trees off host1, at most 2 at a time" "$work/evacuate.out" || fail "not the 3 workloads planned" || return 1
  for i in 0 1 2; do
    seed="${run_id}1$((i + 1))"
    [ -z "$(process_state "${pids[$i]}")" ] || fail "source ${pids[$i]} still exists" || return 1
    new=$(one_root "$seed") || return 1
    grep -q "migrated pid ${pids[$i]} on host1 to pid $new on host[23]" "$work/evacuate.out" || fail "no report of ${pids[$i]}" || return 1
    goes_on "${logs[$i]}" "${befores[$i]}" || return 1
    news+=("$new")
  done
  # Round-robin: two of them went to host2, one to host3; at most two at once: two batches.
  [ "$(grep -c 'migrated pid .* on host2 ' "$work/evacuate.out")" -eq 2 ] || fail "not two moves to host2" || return 1
  [ "$(grep -c 'migrated pid .* on host3 ' "$work/evacuate.out")" -eq 1 ] || fail "not one move to host3" || return 1
  [ "$(grep -c '^TASK \[Dump the source' "$work/evacuate.out")" -eq 2 ] || fail "not two batches of dumps" || return 1
  echo "moved ${pids[*]} -> ${news[*]}"
  nothing_left || return 1
  for i in 1 2 3; do end_workload "${run_id}1$i"; done
}

t_teardown() {
  teardown
  sleep 0.5 # ssh control masters exit once told to
  local left seed
  left=$(pgrep -af -- "$work" || true)
  [ -z "$left" ] || fail "processes of this run left: $left" || return 1
  for seed in "${seeds[@]}"; do
    [ -z "$(workload_pids "$seed")" ] || fail "workload with seed $seed left" || return 1
  done
  [ -z "$(mounts_of_this_run)" ] || fail "mounts left: $(mounts_of_this_run)"
}

# --- run ------------------------------------------------------------------------------------------
jar=${CRIU_AGENT_JAR:-}
if [ -z "$jar" ]; then
  jar="$repo/agent-native/target/criu-agent.jar"
  scenario agent-jar-builds bash -c "cd '$repo' && ./mvnw -B -q -pl agent-native -am package -DskipTests && test -f '$jar'"
fi
scenario sshd-hosts-start setup_hosts
scenario module-unit-tests t_unit
scenario ansible-lint t_lint
scenario collection-builds-and-installs t_build_install
scenario role-check-mode-on-fresh-hosts t_role_check_mode_fresh
scenario role-converges t_role_converges
scenario role-second-run-changes-nothing t_role_idempotent
scenario role-check-mode-on-converged t_role_check_mode_converged
scenario check-playbook t_check_playbook
scenario role-installs-the-daemon-unit t_daemon_unit
scenario migrate-moves-a-workload t_migrate
scenario migrate-failure-resumes-source t_migrate_failure_resumes_source
scenario migrate-refuses-bad-input t_migrate_bad_input
scenario evacuate-moves-three-two-at-once t_evacuate
scenario teardown-leaves-nothing t_teardown
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
