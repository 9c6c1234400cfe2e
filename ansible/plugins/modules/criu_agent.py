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
  - Every path is checked to be absolute and inside O(images_base), so a typing mistake cannot make
    the agent write, mount or remove anything elsewhere.
options:
  command:
    description:
      - The agent operation.
      - V(check), V(page-server-status) and V(images) only read; they also run in check mode.
      - V(page-server) starts a CRIU page server, detached, on a fresh tmpfs when O(tmpfs_size) is set.
      - V(dump) checkpoints the tree rooted at O(pid), streaming its pages to the page server at
        O(page_server_host):O(page_server_port) when given.
      - V(restore) restores the tree whose images are in O(images_dir).
      - V(resume) and V(kill) end the stopped state of a tree dumped with O(leave_stopped).
      - V(cleanup) stops a page server still serving O(images_dir), unmounts its tmpfs and removes
        the directory.
    type: str
    required: true
    choices: [check, page-server, page-server-status, dump, restore, resume, kill, images, cleanup]
  pid:
    description:
      - Host PID of the root of the process tree (V(dump), V(resume), V(kill)). An integer greater than 1.
    type: int
  images_dir:
    description:
      - Directory of the CRIU images on this host. Must be absolute and inside O(images_base).
      - Required by every command but V(check), V(resume) and V(kill).
    type: path
  images_base:
    description:
      - The directory that every O(images_dir) must be inside (the role's C(criu_host_images_base)).
    type: path
    default: /var/lib/criu-migration/images
  tmpfs_size:
    description:
      - V(page-server) only. Size of the tmpfs mounted on O(images_dir), such as V(512M) or V(2G);
        a number with an optional K, M or G suffix. Without it no tmpfs is mounted.
    type: str
  address:
    description:
      - V(page-server) only. The address the page server listens on. Bind it narrowly - the address
        on which the source reaches this host.
    type: str
  port:
    description:
      - V(page-server) only. The port to listen on, 0 to let CRIU pick a free one (returned in the result).
    type: int
    default: 0
  page_server_host:
    description:
      - V(dump) only. Address of the destination's page server. Without it the pages are written
        into O(images_dir).
    type: str
  page_server_port:
    description:
      - V(dump) only. Port of the destination's page server; required with O(page_server_host).
    type: int
  leave_stopped:
    description:
      - V(dump) only. Leave the source stopped after the dump, waiting for V(resume) or V(kill).
      - Without it CRIU kills the source as soon as the dump is written.
    type: bool
    default: true
  tcp_established:
    description:
      - V(dump) and V(restore). Checkpoint and restore established TCP connections.
    type: bool
    default: false
  shell_job:
    description:
      - V(dump) and V(restore). Allow a tree attached to a terminal session.
    type: bool
    default: false
  ext_unix_sk:
    description:
      - V(dump) and V(restore). Allow external UNIX sockets.
    type: bool
    default: false
  network_lock:
    description:
      - V(dump) and V(restore). How CRIU locks the network of a dumped network namespace.
      - V(default) is the agent's default (nftables).
    type: str
    choices: [default, iptables, nftables, skip]
    default: default
  require_page_server_ok:
    description:
      - V(restore) only. Refuse to restore unless the page server that filled O(images_dir)
        recorded success.
    type: bool
    default: true
  tls_ca_cert:
    description:
      - V(page-server) and V(dump). CA certificate (a path on the host) to encrypt the page stream with TLS.
    type: path
  tls_cert:
    description:
      - V(page-server) and V(dump). Certificate (a path on the host) for TLS.
    type: path
  tls_key:
    description:
      - V(page-server) and V(dump). Private key (a path on the host) for TLS.
    type: path
  timeout:
    description:
      - Seconds the operation may take on the agent; 0 for the agent's default for the operation.
      - The agent itself is stopped if it has not answered this many seconds plus a grace period later.
    type: int
    default: 0
  agent:
    description:
      - The agent's launcher. A bare name is looked up on E(PATH) and in C(/usr/local/bin).
    type: str
    default: criu-agent
notes:
  - The result documents are protobuf's JSON rendering of the agent's result messages; their keys
    are returned in the proto field names (V(images_dir), not V(imagesDir)). Fields that hold their
    default value (0, false, empty) may be absent, and 64-bit numbers may be strings.
  - Requires root on the target, CRIU 4.2 or newer and the agent - the C(criumigration.criu.criu_host)
    role installs them.
attributes:
  check_mode:
    support: full
    details: Read-only commands run; the others report RV(changed) without acting.
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
    - The agent's result document for the command (keys in proto field names). For V(check) a
      CheckResult, V(page-server) a PageServerResult, V(page-server-status) a PageServerStatus,
      V(dump) a DumpResult, V(restore) a RestoreResult, V(resume) and V(kill) a SourceResult,
      V(images) an ImagesResult, V(cleanup) a CleanupResult.
    - Empty in check mode for commands that change something.
  returned: success
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
    - On failure, what went wrong - the agent's message, CRIU's own error message and the agent's
      hint about what to do.
  returned: failure
  type: str
  sample: "restore failed: CRIU failed (Can't bind inet socket: Address already in use).
    Hint: free the port on the destination or give the workload its own network namespace"
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
_TLS = [("tls_ca_cert", "--tls-cacert"), ("tls_cert", "--tls-cert"), ("tls_key", "--tls-key")]
COMMAND_OPTIONS = {
    "check": [],
    "page-server": [("images_dir", "--images-dir"), ("tmpfs_size", "--tmpfs-size"),
                    ("address", "--address"), ("port", "--port")] + _TLS,
    "page-server-status": [("images_dir", "--images-dir")],
    "dump": [("pid", "--pid"), ("images_dir", "--images-dir"), ("page_server", "--page-server"),
             ("leave_stopped", "--leave-stopped")] + _DUMP_RESTORE_FLAGS + _TLS,
    "restore": [("images_dir", "--images-dir"),
                ("require_page_server_ok", "--require-page-server-ok")] + _DUMP_RESTORE_FLAGS,
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
}
SIZE_PATTERN = re.compile(r"^[1-9][0-9]*[KMG]?$")
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
        problems.append("tmpfs_size must be a positive number with an optional K, M or G suffix "
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
        value = page_server_address(params) if name == "page_server" else params.get(name)
        if value is None or value is False:
            continue
        if value is True:
            argv.append(option)
        elif name == "network_lock":
            if value != "default":
                argv.append("%s=%s" % (option, value))
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


def snake_case_keys(document):
    """protobuf's JsonFormat may print lowerCamelCase names; return the proto field names."""
    if isinstance(document, dict):
        return dict((re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower(), snake_case_keys(value))
                    for key, value in document.items())
    if isinstance(document, list):
        return [snake_case_keys(item) for item in document]
    return document


def failure_message(command, error):
    """The agent's message, CRIU's own error message when it adds something, and the hint."""
    message = error.get("message") or "criu-agent %s failed" % command
    criu_errmsg = error.get("criu_errmsg")
    if criu_errmsg and criu_errmsg not in message:
        message = "%s (CRIU: %s)" % (message, criu_errmsg)
    if error.get("hint"):
        message = "%s. Hint: %s" % (message.rstrip("."), error["hint"])
    return message


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
        document = snake_case_keys(json.loads(stdout)) if stdout.strip() else None
    except ValueError:
        document = None
    if rc == 0 and isinstance(document, dict):
        module.exit_json(changed=changed_by(command, document), result=document, argv=argv, rc=rc, stderr=stderr)

    if isinstance(document, dict) and ("message" in document or "kind" in document):
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
