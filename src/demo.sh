#!/usr/bin/env bash
# The README's main job. As root on Debian: installs CRIU (building the pinned release when the
# distribution's is unusable), a JDK and the sample workload's python3, builds the agent, then migrates
# a live stateful process on this machine through the whole disk-less flow and prints what happened.
# Extra arguments go to src/demo-migration.sh, the migration itself, one criu-agent command per step
# (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."

src/install/install-host.sh --build-tools
./mvnw -B -ntp -q -pl agent-native -am package -DskipTests
exec src/demo-migration.sh "$@"
