#!/usr/bin/env bash
# The project's test command (README; .ci/run runs exactly this). As root on Debian: installs what the
# tests drive for real (CRIU, sshd, ansible), builds everything and runs every suite:
#   1. the Java modules (agent-native, migration) with Maven: real CRIU on real processes, real sshd;
#   2. the Ansible collection: real ansible-playbook against real sshd hosts, and ansible-lint.
# Without the jenkins profile: the plugin needs the Jenkins repository (see docs/jenkins.md).
set -euo pipefail
cd "$(dirname "$0")/.."

src/install/install-host.sh --test-tools
./mvnw -B -ntp verify
ansible/tests/run.sh
