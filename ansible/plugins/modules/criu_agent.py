#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module around the criu-migration host agent's command line (criu-agent ... --json)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: criu_agent
short_description: Run one operation of the criu-migration host agent
version_added: "0.1.0"
description:
  - Runs C(criu-agent COMMAND ... --json) on the target host and returns the agent's JSON result
    document. The agent drives CRIU through its RPC interface; see the project's
    C(agent-native/src/main/proto/agent/agent.proto) for every field of every result.
  - The agent is run with an argument list, never through a shell.
  - The operations are the building blocks of a disk-less live migration - a page server on a tmpfs
    on the destination, a dump on the source that streams its pages there and leaves the source
    stopped, a restore on the destination, then C(kill) (success) or C(resume) (any failure) of the
    source. The collection's C(migrate.yml) playbook strings them together with rollback.
  - Every path is checked to be absolute and inside C(images_base), so a typing mistake cannot make
    the agent write, mount or remove anything elsewhere.
options:
  command:
    description:
      - The agent operation.
      - C(check), C(page-server-status) and C(images) only read; they also run in check mode.
      - C(page-server) starts a CRIU page server, detached (it outlives the task and records its
        outcome for C(page-server-status)), on a fresh tmpfs when C(tmpfs_size) is set.
      - C(dump) checkpoints the tree rooted at C(pid), streaming its pages to the page server at
        C(page_server_host):C(page_server_port) when given.
      - C(restore) restores the tree whose images are in C(images_dir).
      - C(resume) and C(kill) end the stopped state of a tree dumped with C(leave_stopped).
      - C(cleanup) stops a page server still serving C(images_dir), unmounts its tmpfs and removes
        the directory.
    type: str
    required: true
    choices: [check, page-server, page-server-status, dump, restore, resume, kill, images, cleanup]
  pid:
    description:
      - Host PID of the root of the process tree (C(dump), C(resume), C(kill)). An integer greater than 1.
    type: int
  images_dir:
    description:
      - Directory of the CRIU images on this host. Must be absolute and inside C(images_base).
      - Required by every command but C(check), C(resume) and C(kill).
    type: path
  images_base:
    description:
      - The directory that every C(images_dir) must be inside (the role's C(criu_host_images_base)).
    type: path
    default: /var/lib/criu-migration/images
  tmpfs_size:
    description:
      - C(page-server) only. Size of the tmpfs mounted on C(images_dir), such as C(512M) or C(2G);
        a number with an optional K, M, G or T suffix (powers of 1024). Without it no tmpfs is mounted.
    type: str
  address:
    description:
      - C(page-server) only. The address the page server listens on. Bind it narrowly - the address
        on which the source reaches this host.
    type: str
  port:
    description:
      - C(page-server) only. The port to listen on, 0 to let CRIU pick a free one (returned in the result).
    type: int
    default: 0
  page_server_host:
    description:
      - C(dump) only. Address of the destination's page server. Without it the pages are written
        into C(images_dir).
    type: str
  page_server_port:
    description:
      - C(dump) only. Port of the destination's page server; required with C(page_server_host).
    type: int
  leave_stopped:
    description:
      - C(dump) only. Leave the source stopped after the dump, waiting for C(resume) or C(kill).
      - Without it CRIU kills the source as soon as the dump is written.
    type: bool
    default: true
  tcp_established:
    description:
      - C(dump) and C(restore). Checkpoint and restore established TCP connections.
    type: bool
    default: false
  shell_job:
    description:
      - C(dump) and C(restore). Allow a tree attached to a terminal session.
    type: bool
    default: false
  ext_unix_sk:
    description:
      - C(dump) and C(restore). Allow external UNIX sockets.
    type: bool
    default: false
  network_lock:
    description:
      - C(dump) and C(restore). How CRIU locks the network of a dumped network namespace.
      - C(default) is the agent's default (nftables).
    type: str
    choices: [default, iptables, nftables, skip]
    default: default
  require_page_server_ok:
    description:
      - C(restore) only. Refuse to restore unless the page server that filled C(images_dir)
        recorded success.
    type: bool
    default: true
  tls_ca_cert:
    description:
      - C(page-server) and C(dump). CA certificate (a path on the host) to encrypt the page stream with TLS.
    type: path
  tls_cert:
    description:
      - C(page-server) and C(dump). Certificate (a path on the host) for TLS.
    type: path
  tls_key:
    description:
      - C(page-server) and C(dump). Private key (a path on the host) for TLS.
    type: path
  page_transport:
    description:
      - C(page-server) and C(dump). Who carries the page stream between the hosts. C(criu) (the agent's
        default) is CRIU's own connection, with the C(tls_*) files CRIU's TLS. C(relay) is the agents' own
        connection, with the C(tls_*) files TLS 1.3 between the agents with both sides authenticated; both
        the page server and its dump must use it. The dump's result then has C(relay) (bytes, time, TLS).
    type: str
    choices: [criu, relay]
  compress:
    description:
      - C(dump) with C(page_transport=relay) only. Compress the page stream with LZ4 (pays on real memory
        over a slow link, not on random bytes).
    type: bool
  max_rate:
    description:
      - C(dump) with C(page_transport=relay) only. At most this many bytes a second on the wire, e.g. C(200M),
        so that an evacuation leaves bandwidth to production traffic.
    type: str
  timeout:
    description:
      - Seconds the operation may take on the agent; 0 for the agent's default for the operation.
      - The agent itself is stopped if it has not answered this many seconds plus a grace period later.
    type: int
    default: 0
  agent:
    description:
      - The agent's launcher. A bare name is looked up on C(PATH) and in C(/usr/local/bin).
    type: str
    default: criu-agent
notes:
  - The result documents are protobuf's JSON rendering of the agent's result messages, with the
    proto field names (C(images_dir)) and every field present; 64-bit numbers are strings, as in
    protobuf's JSON mapping.
  - A C(check) that finds the host unable to migrate, and a C(page-server-status) of a page server
    that failed or never started, fail the task; C(result) still holds the agent's document.
  - Requires root on the target, CRIU 4.2 or newer and the agent - the C(criumigration.criu.criu_host)
    role installs them.
attributes:
  check_mode:
    support: full
    details: Read-only commands run; the others report C(changed) without acting.
  diff_mode:
    support: none
author:
  - criu-migration
"""

EXAMPLES = r"""
- name: Check that the host can migrate
  criumigration.criu.criu_agent:
    command: check
  register: host_check

- name: Start a page server on a 2 GiB tmpfs on the destination
  criumigration.criu.criu_agent:
    command: page-server
    images_dir: /var/lib/criu-migration/images/job-42/destination
    tmpfs_size: 2G
    address: 192.0.2.20
  delegate_to: destination.example.org
  register: page_server

- name: Dump the tree, streaming its pages to the page server, and leave it stopped
  criumigration.criu.criu_agent:
    command: dump
    pid: 4242
    images_dir: /var/lib/criu-migration/images/job-42/source
    page_server_host: 192.0.2.20
    page_server_port: "{{ page_server.result.port }}"
    timeout: 300

- name: Restore on the destination
  criumigration.criu.criu_agent:
    command: restore
    images_dir: /var/lib/criu-migration/images/job-42/destination
  delegate_to: destination.example.org

- name: Resume the stopped source (on any failure)
  criumigration.criu.criu_agent:
    command: resume
    pid: 4242

- name: Remove the images and unmount the tmpfs
  criumigration.criu.criu_agent:
    command: cleanup
    images_dir: /var/lib/criu-migration/images/job-42/destination
  delegate_to: destination.example.org
"""

RETURN = r"""
result:
  description:
    - The agent's result document for the command (keys in proto field names). For C(check) a
      CheckResult, C(page-server) a PageServerResult, C(page-server-status) a PageServerStatus,
      C(dump) a DumpResult, C(restore) a RestoreResult, C(resume) and C(kill) a SourceResult,
      C(images) an ImagesResult, C(cleanup) a CleanupResult.
    - Empty in check mode for commands that change something.
  returned: success, and failures where the agent printed a result (a failed C(check) or C(page-server-status))
  type: dict
  sample:
    pid: 4242
    images_dir: /var/lib/criu-migration/images/job-42/source
    left_stopped: true
    processes: 1
    stats:
      frozen_time_micros: "410233"
      pages_written: "4120"
argv:
  description: The command line that was run (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/usr/local/bin/criu-agent, kill, "--pid=4242", --json]
msg:
  description:
    - On failure, what went wrong - the agent's message, CRIU's own error message, the first error
      line of CRIU's log and the agent's hint about what to do.
  returned: failure
  type: str
  sample: "the restore failed: CRIU RESTORE failed; CRIU's log: Error (criu/sk-inet.c:1059): inet: Can't bind
    inet socket (id 17): Address already in use. Hint: see CRIU's log"
error:
  description: The agent's AgentError document (kind, message, hint, criu_errno, criu_errmsg, ...).
  returned: failure, when the agent printed one
  type: dict
criu_log_excerpt:
  description: CRIU's log lines around the first C(Error), from the agent's error.
  returned: failure, when CRIU ran
  type: list
  elements: str
source_resumed:
  description: On a failed dump, whether the agent resumed the tree it had frozen.
  returned: failure of dump
  type: bool
rc:
  description: The agent's exit status (0 success, 1 the operation failed, 2 usage error).
  returned: when the agent ran
  type: int
stderr:
  description: The agent's standard error, for diagnosis.
  returned: when the agent ran
  type: str
"""

import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

READ_ONLY_COMMANDS = frozenset(["check", "page-server-status", "images"])

# The options each command accepts, as (module parameter, agent option). Booleans become flags.
_DUMP_RESTORE_FLAGS = [
    ("tcp_established", "--tcp-established"),
    ("shell_job", "--shell-job"),
    ("ext_unix_sk", "--ext-unix-sk"),
    ("network_lock", "--network-lock"),
]
_TLS = [("tls_ca_cert", "--tls-cacert"), ("tls_cert", "--tls-cert"), ("tls_key", "--tls-key"),
        ("page_transport", "--page-transport")]
COMMAND_OPTIONS = {
    "check": [],
    # Always detached: a module cannot hold the session the page server would otherwise live in.
    "page-server": [("images_dir", "--images-dir"), ("tmpfs_size", "--tmpfs-size"),
                    ("address", "--address"), ("port", "--port"), ("detach", "--detach")] + _TLS,
    "page-server-status": [("images_dir", "--images-dir")],
    "dump": [("pid", "--pid"), ("images_dir", "--images-dir"), ("page_server", "--page-server"),
             ("leave_stopped", "--leave-stopped")] + _DUMP_RESTORE_FLAGS + _TLS
            + [("compress", "--compress"), ("max_rate", "--max-rate")],
    "restore": [("images_dir", "--images-dir"),
                ("require_page_server_ok", "--require-page-server")] + _DUMP_RESTORE_FLAGS,
    "resume": [("pid", "--pid")],
    "kill": [("pid", "--pid")],
    "images": [("images_dir", "--images-dir")],
    "cleanup": [("images_dir", "--images-dir")],
}
REQUIRED = {
    "dump": ["pid", "images_dir"],
    "resume": ["pid"],
    "kill": ["pid"],
    "page-server": ["images_dir"],
    "page-server-status": ["images_dir"],
    "restore": ["images_dir"],
    "images": ["images_dir"],
    "cleanup": ["images_dir"],
}
# Parameters that only make sense for some commands; setting one for another command is a mistake
# worth reporting rather than silently ignoring.
COMMAND_ONLY = {
    "pid": ("dump", "resume", "kill"),
    "tmpfs_size": ("page-server",),
    "address": ("page-server",),
    "page_server_host": ("dump",),
    "page_server_port": ("dump",),
    "tls_ca_cert": ("page-server", "dump"),
    "tls_cert": ("page-server", "dump"),
    "tls_key": ("page-server", "dump"),
    "page_transport": ("page-server", "dump"),
    "compress": ("dump",),
    "max_rate": ("dump",),
}
SIZE_PATTERN = re.compile(r"^[1-9][0-9]*[KMGT]?$")
HOST_PATTERN = re.compile(r"^[A-Za-z0-9:._%-]+$")  # a host name, IPv4 or IPv6 address
# Agents get this long beyond their own deadline before they are stopped from outside.
AGENT_GRACE_SECONDS = 30


def validate(params):
    """Returns the list of problems with the parameters, each saying what is wrong and what to do."""
    command = params["command"]
    problems = []
    for name in REQUIRED.get(command, []):
        if params.get(name) is None:
            problems.append("%s is required for command %s" % (name, command))
    for name, commands in COMMAND_ONLY.items():
        if params.get(name) is not None and command not in commands:
            problems.append("%s is not used by command %s (only by %s): remove it"
                            % (name, command, ", ".join(commands)))

    relay_only = [name for name in ("compress", "max_rate") if params.get(name) not in (None, False)]
    if relay_only and params.get("page_transport") != "relay":
        problems.append("%s need page_transport=relay (the agents' relay carries the stream)" % " and ".join(relay_only))
    max_rate = params.get("max_rate")
    if max_rate is not None and not SIZE_PATTERN.match(max_rate):
        problems.append("max_rate must be a size in bytes a second such as 200M or 1G (got %r)" % max_rate)

    pid = params.get("pid")
    if pid is not None and pid <= 1:
        problems.append("pid must be the host PID of the tree's root, an integer greater than 1 (got %d)" % pid)

    base = params.get("images_base")
    if not base or not os.path.isabs(base):
        problems.append("images_base must be an absolute path (got %r)" % base)
    elif params.get("images_dir") is not None:
        problems.extend(_images_dir_problems(params["images_dir"], base))

    if not 0 <= params.get("port", 0) <= 65535:
        problems.append("port must be between 0 and 65535 (0: CRIU picks a free port), got %d" % params["port"])
    host, host_port = params.get("page_server_host"), params.get("page_server_port")
    if (host is None) != (host_port is None):
        problems.append("page_server_host and page_server_port go together: give both or neither")
    if host_port is not None and not 1 <= host_port <= 65535:
        problems.append("page_server_port must be between 1 and 65535, got %d" % host_port)
    for name in ("address", "page_server_host"):
        value = params.get(name)
        if value is not None and (value.startswith("-") or not HOST_PATTERN.match(value)):
            problems.append("%s must be a host name or IP address, got %r" % (name, value))

    size = params.get("tmpfs_size")
    if size is not None and not SIZE_PATTERN.match(size):
        problems.append("tmpfs_size must be a positive number with an optional K, M, G or T suffix "
                        "(such as 512M or 2G), got %r" % size)
    for name in ("tls_ca_cert", "tls_cert", "tls_key"):
        if params.get(name) is not None and not os.path.isabs(params[name]):
            problems.append("%s must be an absolute path on the host, got %r" % (name, params[name]))
    if params.get("timeout", 0) < 0:
        problems.append("timeout must be 0 (the agent's default) or a number of seconds, got %d" % params["timeout"])
    return problems


def _images_dir_problems(images_dir, base):
    if not os.path.isabs(images_dir):
        return ["images_dir must be an absolute path inside %s, got %r" % (base, images_dir)]
    if os.path.normpath(images_dir) != images_dir.rstrip("/") or "/../" in images_dir + "/":
        return ["images_dir must be a normalized path (no '.', '..' or '//'), got %r" % images_dir]
    if not _strictly_inside(images_dir, base):
        return ["images_dir %s is not inside the images base directory %s: use a directory under it "
                "(or set images_base to the host's criu_host_images_base)" % (images_dir, base)]
    # A symbolic link must not lead out of the base either (cleanup removes what it points to).
    if os.path.lexists(images_dir) and not _strictly_inside(os.path.realpath(images_dir), os.path.realpath(base)):
        return ["images_dir %s resolves to %s, outside the images base directory %s"
                % (images_dir, os.path.realpath(images_dir), base)]
    return []


def _strictly_inside(path, directory):
    path, directory = os.path.normpath(path), os.path.normpath(directory)
    return path != directory and path.startswith(directory.rstrip("/") + "/")


def build_argv(agent, params):
    """The agent's command line. Values are attached as --option=value so none can pass for an option."""
    command = params["command"]
    argv = [agent, command]
    for name, option in COMMAND_OPTIONS[command]:
        if name == "page_server":
            value = page_server_address(params)
        elif name == "detach":
            value = True
        else:
            value = params.get(name)
        if value is None or value is False:
            continue
        if value is True and name != "compress":
            argv.append(option)
        elif name == "network_lock":
            if value != "default":
                argv.append("%s=%s" % (option, value))
        elif name == "compress":
            argv.append("%s=lz4" % option)
        else:
            argv.append("%s=%s" % (option, value))
    if params.get("timeout"):
        argv.append("--timeout=%ds" % params["timeout"])
    argv.append("--json")
    return argv


def page_server_address(params):
    """HOST:PORT as the agent's --page-server takes it, an IPv6 address in brackets."""
    host = params.get("page_server_host")
    if host is None:
        return None
    return "%s:%d" % ("[%s]" % host if ":" in host else host, params["page_server_port"])


def failure_message(command, error):
    """The agent's message, CRIU's own error message and first logged error when they add
    something, and the hint."""
    message = error.get("message") or "criu-agent %s failed" % command
    criu_errmsg = (error.get("criu_errmsg") or "").strip()
    if criu_errmsg and criu_errmsg not in message:
        message = "%s (CRIU: %s)" % (message, criu_errmsg)
    logged = [line for line in error.get("criu_log_excerpt") or [] if "Error" in line]
    if logged:
        first_error = logged[0][logged[0].index("Error"):].strip()
        if first_error not in message:
            message = "%s; CRIU's log: %s" % (message, first_error)
    if error.get("hint"):
        message = "%s. Hint: %s" % (message.rstrip("."), error["hint"])
    return message


def is_agent_error(document):
    """An AgentError document, as opposed to a result (which never has both fields)."""
    return "kind" in document and "message" in document


def unsuccessful_result_message(command, result):
    """Why a result the agent printed with exit status 1 is a failure."""
    if command == "check":
        return "this host cannot migrate processes: %s" % ("; ".join(result.get("problems") or []) or "see result")
    if command == "page-server-status":
        return "the page server of %s is %s (exit status %s)" % (
            result.get("images_dir", "?"), result.get("state", "?"), result.get("exit_status", "?"))
    if command == "page-server":
        return "the page server exited with status %s" % result.get("exit_status", "?")
    return "criu-agent %s reported a failure" % command


def changed_by(command, result):
    if command in READ_ONLY_COMMANDS:
        return False
    if command == "cleanup":
        return bool(result.get("unmounted") or result.get("removed"))
    return True


def resolve_agent(module):
    agent = module.params["agent"]
    if os.path.isabs(agent):
        if not os.access(agent, os.X_OK):
            module.fail_json(msg="agent %s is not an executable file: install it with the "
                                 "criumigration.criu.criu_host role" % agent, argv=[agent])
        return agent
    return module.get_bin_path(agent, required=True, opt_dirs=["/usr/local/bin"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            command=dict(type="str", required=True, choices=sorted(COMMAND_OPTIONS)),
            pid=dict(type="int"),
            images_dir=dict(type="path"),
            images_base=dict(type="path", default="/var/lib/criu-migration/images"),
            tmpfs_size=dict(type="str"),
            address=dict(type="str"),
            port=dict(type="int", default=0),
            page_server_host=dict(type="str"),
            page_server_port=dict(type="int"),
            leave_stopped=dict(type="bool", default=True),
            tcp_established=dict(type="bool", default=False),
            shell_job=dict(type="bool", default=False),
            ext_unix_sk=dict(type="bool", default=False),
            network_lock=dict(type="str", default="default", choices=["default", "iptables", "nftables", "skip"]),
            require_page_server_ok=dict(type="bool", default=True),
            tls_ca_cert=dict(type="path"),
            tls_cert=dict(type="path"),
            tls_key=dict(type="path"),
            page_transport=dict(type="str", choices=["criu", "relay"]),
            compress=dict(type="bool"),
            max_rate=dict(type="str"),
            timeout=dict(type="int", default=0),
            agent=dict(type="str", default="criu-agent"),
        ),
        supports_check_mode=True,
    )
    command = module.params["command"]
    problems = validate(module.params)
    if problems:
        module.fail_json(msg="invalid arguments for criu_agent %s: %s" % (command, "; ".join(problems)))

    if module.check_mode and command not in READ_ONLY_COMMANDS:
        argv = build_argv(module.params["agent"], module.params)
        if command == "cleanup":
            changed = os.path.lexists(module.params["images_dir"])
        else:
            changed = True
        module.exit_json(changed=changed, result={}, argv=argv)

    argv = build_argv(resolve_agent(module), module.params)
    if module.params["timeout"]:
        # A backstop for a wedged agent; the agent enforces the deadline on CRIU itself.
        argv = ["timeout", "--kill-after=10", str(module.params["timeout"] + AGENT_GRACE_SECONDS)] + argv
    rc, stdout, stderr = module.run_command(argv, check_rc=False)
    try:
        document = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        document = None
    if isinstance(document, dict) and not is_agent_error(document):
        if rc == 0:
            module.exit_json(changed=changed_by(command, document), result=document, argv=argv, rc=rc, stderr=stderr)
        if rc == 1:
            module.fail_json(msg=unsuccessful_result_message(command, document), result=document,
                             changed=changed_by(command, document), argv=argv, rc=rc, stderr=stderr)

    if isinstance(document, dict) and is_agent_error(document):
        module.fail_json(msg=failure_message(command, document), error=document,
                         criu_log_excerpt=document.get("criu_log_excerpt", []),
                         source_resumed=document.get("source_resumed", False),
                         argv=argv, rc=rc, stderr=stderr)
    if rc == 124 and argv[0] == "timeout":
        module.fail_json(msg="criu-agent %s did not answer within %d seconds and was stopped"
                             % (command, module.params["timeout"] + AGENT_GRACE_SECONDS),
                         argv=argv, rc=rc, stderr=stderr)
    module.fail_json(msg="criu-agent %s exited with status %d without a JSON result: %s"
                         % (command, rc, (stderr.strip().splitlines() or ["(no output)"])[-1]),
                     argv=argv, rc=rc, stdout=stdout, stderr=stderr)


if __name__ == "__main__":
    main()
