#!/usr/bin/env bash
# Installs what a criu-migration host needs: a CRIU that passes `criu check` (4.2 or newer) and a Java
# runtime. With --build-tools it also installs what building from a checkout needs (a JDK, curl and unzip
# for the Maven wrapper, python3 for the sample workload); with --test-tools, in addition, what the test
# suite drives for real: OpenSSH's sshd, ansible-core, ansible-lint, iproute2, nftables and sudo.
#
# Idempotent: a second run with everything in place checks and returns in a second or two. With --check
# it changes nothing and only reports: exit 0 when nothing needs installing, 3 when something does (what
# is listed), so a caller such as the Ansible role can report "changed" only when it really installs.
# The distribution's criu package is used when it is new enough and passes `criu check`; otherwise the
# pinned CRIU release is built from Debian's source package, its tarball verified by SHA-256.
# With --agent-archive JAR it only makes the class-data sharing archive of an installed agent jar (a
# faster JVM start, docs/agent.md), once: an archive newer than its jar is left alone.
set -euo pipefail

CRIU_MIN_VERSION="4.2"
CRIU_PINNED_VERSION="4.2.1"
CRIU_TARBALL_SHA256="29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9"
CRIU_PREFIX="${CRIU_PREFIX:-/usr/local}"
JAVA_PACKAGE="${CRIU_JAVA_PACKAGE:-openjdk-17-jre-headless}"
BUILD_ROOT="${CRIU_BUILD_ROOT:-/var/cache/criu-migration}"
CRIU_BUILD_DEPS=(build-essential libprotobuf-c-dev libprotobuf-dev protobuf-c-compiler protobuf-compiler python3-protobuf
  libnl-3-dev libnet1-dev libcap-dev libaio-dev libbsd-dev pkg-config libgnutls28-dev libnftables-dev
  uuid-dev libdrm-dev dpkg-dev xz-utils)
BUILD_TOOLS=(openjdk-17-jdk-headless curl unzip python3 procps util-linux)
TEST_TOOLS=(openssh-server openssh-client ansible-core ansible-lint iproute2 nftables python3 procps util-linux
  strace gnutls-bin sudo tcpdump)

with_build_tools=false
with_test_tools=false
check_only=false
agent_jar=""
while [ $# -gt 0 ]; do
  arg=$1
  shift
  case "$arg" in
    --agent-archive)
      [ $# -gt 0 ] && [ -n "$1" ] || { echo "install-host.sh: --agent-archive needs the agent jar's path" >&2; exit 2; }
      agent_jar=$1
      shift ;;
    --build-tools) with_build_tools=true ;;
    --test-tools) with_build_tools=true; with_test_tools=true ;;
    --check) check_only=true ;;
    -h|--help)
      cat <<USAGE
Usage: install-host.sh [--check] [--build-tools | --test-tools]
       install-host.sh [--check] --agent-archive JAR

Installs CRIU >= ${CRIU_MIN_VERSION} (building ${CRIU_PINNED_VERSION} from Debian's source package when the
distribution has no working one) and a Java 17 runtime. Run as root on Debian.
  --check        change nothing; list what would be installed. Exit 0: nothing to do, 3: something to install
  --build-tools  also install a JDK, curl, unzip and python3 (to build from a checkout and run the demo)
  --test-tools   --build-tools plus sshd, ansible-core, ansible-lint, iproute2, nftables, sudo (for the tests)
  --agent-archive JAR  only make the agent's class-data sharing archive beside JAR (JAR's name, .jsa)
                 when it is missing or older than JAR; a failure is a warning (the agent starts without it)
Environment: CRIU_PREFIX (default /usr/local), CRIU_BUILD_ROOT (default /var/cache/criu-migration),
  CRIU_JAVA_PACKAGE (the Java runtime package installed when no Java 17+ is found; default openjdk-17-jre-headless)
USAGE
      exit 0 ;;
    *) echo "install-host.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[install-host] %s\n' "$*"; }
die() { printf '[install-host] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages and a CRIU binary"
command -v apt-get >/dev/null || die "this installer supports Debian and its derivatives (no apt-get found)"

apt_updated=false
needed=()  # with --check: what a real run would install
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if $check_only; then needed+=("${missing[@]}"); return 0; fi
  if ! $apt_updated; then apt-get update -qq; apt_updated=true; fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

version_at_least() { # $1 >= $2, dotted versions
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

criu_binary_ok() { # a criu on PATH, new enough, passing `criu check`
  local criu version
  criu=$(command -v criu) || return 1
  version=$("$criu" --version 2>/dev/null | awk '/^Version:/ {print $2}')
  [ -n "$version" ] && version_at_least "$version" "$CRIU_MIN_VERSION" || return 1
  "$criu" check >/dev/null 2>&1
}

install_distribution_criu() { # true when the distribution's package is new enough and works
  local candidate
  if ! $apt_updated; then apt-get update -qq; apt_updated=true; fi
  candidate=$(apt-cache policy criu 2>/dev/null | awk '/Candidate:/ {print $2}')
  case "$candidate" in ""|"(none)") return 1 ;; esac
  version_at_least "${candidate%%-*}" "$CRIU_MIN_VERSION" || {
    log "the distribution's criu ($candidate) is older than $CRIU_MIN_VERSION: building $CRIU_PINNED_VERSION"
    return 1
  }
  apt_install criu
  criu_binary_ok && return 0
  log "the distribution's criu fails 'criu check': removing it, building $CRIU_PINNED_VERSION"
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq criu >/dev/null
  return 1
}

fetch_criu_tarball() { # leaves the verified tarball in $BUILD_ROOT
  local tarball="$BUILD_ROOT/criu_${CRIU_PINNED_VERSION}.orig.tar.xz"
  if [ -f "$tarball" ] && echo "$CRIU_TARBALL_SHA256  $tarball" | sha256sum -c --quiet - 2>/dev/null; then
    return 0
  fi
  # Debian 12 has no CRIU >= 4.2; unstable's source package carries the upstream tarball. A deb-src entry
  # for sid is added for this one download (reusing this machine's mirror) and removed right after.
  local uri sources=/etc/apt/sources.list.d/criu-migration-sid-src.sources
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || die "cannot find this machine's Debian mirror to fetch CRIU's source"
  printf 'Types: deb-src\nURIs: %s\nSuites: sid\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" > "$sources"
  trap 'rm -f "$sources"' EXIT
  apt-get update -qq -o Dir::Etc::sourcelist="$sources" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
  # apt may fail on the Debian packaging tarball it does not need; the checksum below is the verdict.
  (cd "$BUILD_ROOT" && apt-get source --download-only "criu=${CRIU_PINNED_VERSION}-*" -qq >/dev/null 2>&1 ||
     apt-get source --download-only criu/sid -qq >/dev/null 2>&1 || true)
  rm -f "$sources"; trap - EXIT
  apt-get update -qq
  [ -f "$tarball" ] || die "could not download criu_${CRIU_PINNED_VERSION}.orig.tar.xz from Debian's source archive"
  echo "$CRIU_TARBALL_SHA256  $tarball" | sha256sum -c --quiet - \
    || { rm -f "$tarball"; die "checksum mismatch for $tarball: refusing to build it"; }
}

build_criu_from_source() {
  mkdir -p "$BUILD_ROOT"
  apt_install "${CRIU_BUILD_DEPS[@]}"
  fetch_criu_tarball
  local src="$BUILD_ROOT/criu-${CRIU_PINNED_VERSION}"
  rm -rf "$src"
  tar -xJf "$BUILD_ROOT/criu_${CRIU_PINNED_VERSION}.orig.tar.xz" -C "$BUILD_ROOT"
  log "building CRIU $CRIU_PINNED_VERSION (about two minutes)"
  make -C "$src" -j"$(nproc)" criu >"$BUILD_ROOT/build.log" 2>&1 || die "CRIU build failed: see $BUILD_ROOT/build.log"
  install -D -m 0755 "$src/criu/criu" "$CRIU_PREFIX/sbin/criu"
  hash -r
}

# --- the agent's class-data sharing archive ---------------------------------------------------------
# The agent's JVM flags, the same as the engine's (migration's AgentLaunch) and the role's launcher:
# the JVM's own output off stdout, where the agent's answers go.
# Not C1 only: the page relay's TLS needs C2 (AgentLaunch).
AGENT_JVM_FLAGS=(-Xlog:disable -Xlog:all=warning:stderr)
# What the training run answers: AgentRequest {id: 1, process_state: {pid: 1}}, length-delimited.
TRAINING_REQUEST='\007\010\001\312\001\002\010\001'

# make_agent_archive JAR: `serve` answers the training request and writes the classes it loaded to a
# temporary file as its JVM exits; the file is then moved into place.
make_agent_archive() {
  local jar=$1 archive="${1%.jar}.jsa" part answer
  if [ -s "$archive" ] && [ "$archive" -nt "$jar" ]; then
    log "agent archive $archive present"
    return 0
  fi
  if $check_only; then needed+=("$archive"); return 0; fi
  [ -f "$jar" ] || die "--agent-archive: no agent jar at $jar"
  part="$archive.$$.part"
  answer="$part.out"
  # stdin stays open until the answer is out (up to 30 s): closing it earlier would cancel the request.
  if { printf "$TRAINING_REQUEST"; for _ in $(seq 300); do [ -s "$answer" ] && break; sleep 0.1; done; } |
       java "${AGENT_JVM_FLAGS[@]}" -XX:ArchiveClassesAtExit="$part" -jar "$jar" serve >"$answer" 2>"$part.err" &&
     [ -s "$answer" ] && [ -s "$part" ]; then
    chmod 0644 "$part"
    mv -f "$part" "$archive"
    log "agent archive $archive made"
  else
    log "warning: no class-data sharing archive for $jar (the agent starts without one): $(tail -n 3 "$part.err" 2>/dev/null)"
  fi
  rm -f "$part" "$part.err" "$answer"
}

if [ -n "$agent_jar" ]; then
  make_agent_archive "$agent_jar"
  if $check_only && [ ${#needed[@]} -gt 0 ]; then log "would make: ${needed[*]}"; exit 3; fi
  exit 0
fi

# --- CRIU -----------------------------------------------------------------------------------------
if criu_binary_ok; then
  log "criu $(criu --version | awk '/^Version:/ {print $2}') at $(command -v criu) passes 'criu check'"
elif $check_only; then
  needed+=("criu>=${CRIU_MIN_VERSION}")
else
  install_distribution_criu || build_criu_from_source
  criu_binary_ok || die "criu at $(command -v criu || echo '?') still fails 'criu check': $(criu check 2>&1 | tail -n 3)"
  log "criu $(criu --version | awk '/^Version:/ {print $2}') installed at $(command -v criu); 'criu check' passes"
fi
# CRIU's runtime libraries (the build deps pull them in for a source build; a package brings its own).
apt_install libprotobuf-c1 libnl-3-200 libnet1 libbsd0 libgnutls30 libnftables1 iptables

# --- Java -----------------------------------------------------------------------------------------
if java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
  log "java: $(java -version 2>&1 | head -n1)"
else
  apt_install "$JAVA_PACKAGE"
fi

if $with_build_tools; then
  apt_install "${BUILD_TOOLS[@]}"
fi
if $with_test_tools; then
  apt_install "${TEST_TOOLS[@]}"
  $check_only || log "test tools present: $(/usr/sbin/sshd -V 2>&1 | sed -n '1s/,.*//p'), $(ansible-playbook --version 2>/dev/null | sed -n 1p)"
fi
if $check_only; then
  if [ ${#needed[@]} -eq 0 ]; then log "nothing to install"; exit 0; fi
  log "would install: ${needed[*]}"
  exit 3
fi
log "done"
