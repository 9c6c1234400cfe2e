#!/usr/bin/env bash
# Benchmark (issue 12): what the agent's JVM start costs and what each launch flag and the class-data
# sharing archive take off it, side by side in one run. See --help.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/sshd.sh"
NAME=agent-start

usage() {
  cat <<EOF
Usage: bench/$NAME.sh [options]

Starts \`criu-agent serve\` again and again, each time with one launch variant, and times from the exec
to the agent's Result for its first request (a host_facts request written to its stdin, the answer read
from its stdout; bench/lib/agent_first_answer.py fails the run on any stray byte on stdout). The
variants: plain \`java -jar\`; only the flags that keep the JVM's output off stdout ("quiet", part of
every other variant); each candidate flag alone; the class-data sharing archive alone; the deployed
launch (migration's AgentLaunch: quiet and the archive), which is how the engine, the Ansible role and
the installer start the agent; the launch without the archive; the launch with each rejected flag
(-XX:TieredStopAtLevel=1, which makes the page relay's TLS run without C2's AES-GCM intrinsics, about
20x slower; -XX:+UseSerialGC; -XX:-UsePerfData) added. The archive is made once before the timed runs, by the same training
run the engine's deployer uses (\`serve\` answering process_state, host_facts and process_tree).
Each repetition runs every variant, starting with a different one each time. The variants "plain" and
"launch" are also timed over SSH (OpenSSH client to a loopback sshd of the run).

Writes bench/results/$NAME-<time>.csv (and a summary .json) and replaces the section "$NAME" of
docs/benchmarks.md. Run as root.

Options:
  --repetitions N      starts per variant (default: 15)
  --no-ssh             skip the rows over SSH
  --max-minutes MIN    deadline of the whole run (default: 20)
  --no-docs            leave docs/benchmarks.md alone
  -h, --help           this text
EOF
}

REPETITIONS=15
MAX_SECONDS=1200
WRITE_DOCS=1
WITH_SSH=1
while [ $# -gt 0 ]; do
  case "$1" in
    --repetitions) REPETITIONS=${2:?--repetitions needs a number}; shift 2 ;;
    --no-ssh) WITH_SSH=0; shift ;;
    --max-minutes) MAX_SECONDS=$(( ${2:?--max-minutes needs minutes} * 60 )); shift 2 ;;
    --no-docs) WRITE_DOCS=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$NAME.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$REPETITIONS" =~ ^[1-9][0-9]*$ ]] || { echo "--repetitions: give a positive number, not '$REPETITIONS'" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "run as root (the agent reads every process's /proc entries)"
command -v python3 >/dev/null || die "python3 not found (the timing driver and the report need it)"
ensure_agent_jar
mkdir -p "$RESULTS_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
CSV="$RESULTS_DIR/$NAME-$STAMP.csv"
SCRATCH=$(mktemp -d /var/tmp/criu-bench.XXXXXX)
CLEANUP_DIRS+=("$SCRATCH")
MACHINE="${CSV%.csv}.machine.md"
machine_description >"$MACHINE"
DRIVER="$BENCH_DIR/lib/agent_first_answer.py"

# The jar and its archive where a deployment puts them (the archive is only valid for this jar file).
JAR="$SCRATCH/criu-agent.jar"
JSA="$SCRATCH/criu-agent.jsa"
cp "$AGENT_JAR" "$JAR"
JAVA=$(command -v java)
# Every variant but "plain" keeps the JVM's own output off stdout (the protocol's stream): a flag of
# correctness, not speed, so it is not a variant of its own.
QUIET=(-Xlog:disable -Xlog:all=warning:stderr)
C1=(-XX:TieredStopAtLevel=1)
SERIAL=(-XX:+UseSerialGC)
NO_PERF=(-XX:-UsePerfData)
CDS=(-XX:SharedArchiveFile="$JSA")

log "making the class-data sharing archive (the deployer's training run)"
python3 "$BENCH_DIR/lib/agent_first_answer.py" --training "$JAVA" "${QUIET[@]}" \
  -XX:ArchiveClassesAtExit="$JSA" -jar "$JAR" serve --images-base "$SCRATCH" >/dev/null \
  || die "the training run failed"
[ -s "$JSA" ] || die "the training run made no archive at $JSA"

declare -A VARIANT
VARIANT[plain]="$JAVA -jar $JAR"
VARIANT[quiet]="$JAVA ${QUIET[*]} -jar $JAR"
VARIANT[c1]="$JAVA ${QUIET[*]} ${C1[*]} -jar $JAR"
VARIANT[serial-gc]="$JAVA ${QUIET[*]} ${SERIAL[*]} -jar $JAR"
VARIANT[no-perf-data]="$JAVA ${QUIET[*]} ${NO_PERF[*]} -jar $JAR"
VARIANT[cds]="$JAVA ${QUIET[*]} ${CDS[*]} -jar $JAR"
# The deployed launch (migration's AgentLaunch): quiet and the archive.
VARIANT[launch]="$JAVA ${QUIET[*]} ${CDS[*]} -jar $JAR"
# The kept flag left out of the launch, each rejected one added: does it pay beside the others?
VARIANT[launch-but-cds]="$JAVA ${QUIET[*]} -jar $JAR"
VARIANT[launch+c1]="$JAVA ${QUIET[*]} ${CDS[*]} ${C1[*]} -jar $JAR"
VARIANT[launch+serial-gc]="$JAVA ${QUIET[*]} ${CDS[*]} ${SERIAL[*]} -jar $JAR"
VARIANT[launch+no-perf-data]="$JAVA ${QUIET[*]} ${CDS[*]} ${NO_PERF[*]} -jar $JAR"
ORDER=(plain quiet c1 serial-gc no-perf-data cds launch launch-but-cds launch+c1 launch+serial-gc launch+no-perf-data)
SSH_VARIANTS=()
if (( WITH_SSH )); then
  init_ssh_hosts "$SCRATCH/ssh"
  start_sshd_host host
  SSH_VARIANTS=(ssh-plain ssh-launch)
  ORDER+=("${SSH_VARIANTS[@]}")
fi

# time_variant NAME: one start, its microseconds to the first answer on stdout.
time_variant() {
  local name=$1 words options
  case "$name" in
    ssh-*)
      read -r -a words <<<"${VARIANT[${name#ssh-}]}"
      mapfile -t options < <(ssh_options)
      local remote
      printf -v remote '%q ' "${words[@]}" serve --images-base "$SCRATCH"
      bounded 60 python3 "$DRIVER" ssh "${options[@]}" -p "$SSHD_PORT" root@127.0.0.1 "$remote" ;;
    *)
      read -r -a words <<<"${VARIANT[$name]}"
      bounded 60 python3 "$DRIVER" "${words[@]}" serve --images-base "$SCRATCH" ;;
  esac
}

echo "repetition,variant,first_answer_us" >"$CSV"
count=${#ORDER[@]}
for repetition in $(seq 1 "$REPETITIONS"); do
  for i in $(seq 0 $(( count - 1 ))); do
    variant=${ORDER[$(( (i + repetition - 1) % count ))]}
    us=$(time_variant "$variant") || die "$variant: the agent did not answer correctly"
    echo "$repetition,$variant,$us" >>"$CSV"
  done
  log "repetition $repetition of $REPETITIONS done"
  check_run_deadline
done
log "raw rows in $CSV"
echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared; see the note at the top)" >>"$MACHINE"

python3 "$BENCH_DIR/lib/report_agent_start.py" "$CSV" "$MACHINE" "$REPETITIONS" "${CSV%.csv}.json" >"$SCRATCH/section.md"
cat "$SCRATCH/section.md"
if (( WRITE_DOCS )); then
  replace_docs_section "$NAME" "$SCRATCH/section.md"
  log "docs/benchmarks.md: section $NAME replaced"
fi
