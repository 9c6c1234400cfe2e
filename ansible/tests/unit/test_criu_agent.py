"""Unit tests of the criu_agent module's argument checks, command lines and result handling.

The agent itself is faked here (run_command patched): what is under test is the module's own logic.
The module against the real agent and CRIU is covered by tests/run.sh.
Run: /usr/bin/python3 -m unittest discover -s ansible/tests/unit
"""
import contextlib
import importlib.util
import io
import json
import os
import tempfile
import unittest
from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

MODULE_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "modules", "criu_agent.py")
spec = importlib.util.spec_from_file_location("criu_agent", MODULE_PATH)
criu_agent = importlib.util.module_from_spec(spec)
spec.loader.exec_module(criu_agent)

BASE = "/var/lib/criu-migration/images"


def params(command, **overrides):
    """The parameters as AnsibleModule fills them in: every option, defaults applied."""
    values = dict(command=command, pid=None, images_dir=None, images_base=BASE, tmpfs_size=None,
                  address=None, port=0, page_server_host=None, page_server_port=None, leave_stopped=True,
                  tcp_established=False, shell_job=False, ext_unix_sk=False, network_lock="default",
                  require_page_server_ok=True, tls_ca_cert=None, tls_cert=None, tls_key=None,
                  page_transport=None, compress=None, max_rate=None, timeout=0, agent="criu-agent")
    values.update(overrides)
    return values


class ValidateTest(unittest.TestCase):
    def assertProblem(self, fragment, **overrides):
        problems = criu_agent.validate(params(**overrides))
        self.assertTrue(any(fragment in p for p in problems), "%r not in %r" % (fragment, problems))

    def test_valid_dump_has_no_problem(self):
        self.assertEqual([], criu_agent.validate(params(
            "dump", pid=4242, images_dir=BASE + "/job/dump", page_server_host="192.0.2.7", page_server_port=27000)))

    def test_compression_and_rate_cap_need_the_relay(self):
        self.assertProblem("need page_transport=relay", command="dump", pid=42, images_dir=BASE + "/j",
                           compress=True)
        self.assertProblem("max_rate must be a size", command="dump", pid=42, images_dir=BASE + "/j",
                           page_transport="relay", max_rate="fast")
        self.assertProblem("compress is not used by command restore", command="restore", images_dir=BASE + "/j",
                           compress=True)

    def test_pid_must_be_greater_than_one(self):
        self.assertProblem("integer greater than 1", command="kill", pid=1)
        self.assertProblem("integer greater than 1", command="kill", pid=-5)

    def test_required_parameters(self):
        self.assertProblem("pid is required for command dump", command="dump", images_dir=BASE + "/j")
        self.assertProblem("images_dir is required for command restore", command="restore")

    def test_parameter_of_another_command_is_refused(self):
        self.assertProblem("tmpfs_size is not used by command dump", command="dump", pid=10,
                           images_dir=BASE + "/j", tmpfs_size="1G")
        self.assertProblem("pid is not used by command check", command="check", pid=10)

    def test_images_dir_must_be_absolute_and_inside_the_base(self):
        self.assertProblem("must be an absolute path", command="images", images_dir="job/dump")
        self.assertProblem("is not inside the images base", command="cleanup", images_dir="/tmp/job")
        self.assertProblem("is not inside the images base", command="cleanup", images_dir=BASE)
        self.assertProblem("is not inside the images base", command="cleanup", images_dir=BASE + "-other/x")
        self.assertProblem("normalized path", command="cleanup", images_dir=BASE + "/job/../../etc")

    def test_images_dir_symlink_out_of_the_base_is_refused(self):
        with tempfile.TemporaryDirectory() as base:
            os.symlink("/etc", os.path.join(base, "escape"))
            self.assertProblem("resolves to /etc", command="cleanup", images_base=base,
                               images_dir=os.path.join(base, "escape"))

    def test_ports(self):
        self.assertProblem("port must be between 0 and 65535", command="page-server",
                           images_dir=BASE + "/j", port=70000)
        self.assertProblem("give both or neither", command="dump", pid=10, images_dir=BASE + "/j",
                           page_server_host="10.0.0.2")
        self.assertProblem("page_server_port must be between 1 and 65535", command="dump", pid=10,
                           images_dir=BASE + "/j", page_server_host="10.0.0.2", page_server_port=0)

    def test_sizes(self):
        for bad in ("0", "2X", "-1G", "1.5G", ""):
            self.assertProblem("tmpfs_size must be", command="page-server", images_dir=BASE + "/j", tmpfs_size=bad)
        for good in ("512M", "2G", "65536"):
            self.assertEqual([], criu_agent.validate(params("page-server", images_dir=BASE + "/j", tmpfs_size=good)))

    def test_host_cannot_pass_for_an_option(self):
        self.assertProblem("must be a host name or IP address", command="page-server",
                           images_dir=BASE + "/j", address="--images-dir=/")
        self.assertProblem("must be a host name or IP address", command="page-server",
                           images_dir=BASE + "/j", address="10.0.0.1; rm -rf /")


class ArgvTest(unittest.TestCase):
    def test_dump_argv(self):
        argv = criu_agent.build_argv("/usr/local/bin/criu-agent", params(
            "dump", pid=4242, images_dir=BASE + "/j", page_server_host="10.0.0.2", page_server_port=27000,
            tcp_established=True, network_lock="nftables", timeout=300))
        self.assertEqual(["/usr/local/bin/criu-agent", "dump", "--pid=4242", "--images-dir=" + BASE + "/j",
                          "--page-server=10.0.0.2:27000", "--leave-stopped", "--tcp-established",
                          "--network-lock=nftables", "--timeout=300s", "--json"], argv)

    def test_relay_dump_argv(self):
        argv = criu_agent.build_argv("criu-agent", params(
            "dump", pid=4242, images_dir=BASE + "/j", page_server_host="10.0.0.2", page_server_port=27000,
            page_transport="relay", compress=True, max_rate="200M"))
        self.assertEqual(["criu-agent", "dump", "--pid=4242", "--images-dir=" + BASE + "/j",
                          "--page-server=10.0.0.2:27000", "--leave-stopped", "--page-transport=relay",
                          "--compress=lz4", "--max-rate=200M", "--json"], argv)

    def test_ipv6_page_server_is_bracketed(self):
        argv = criu_agent.build_argv("criu-agent", params(
            "dump", pid=42, images_dir=BASE + "/j", page_server_host="fd00::2", page_server_port=27000))
        self.assertIn("--page-server=[fd00::2]:27000", argv)

    def test_page_server_is_always_detached(self):
        argv = criu_agent.build_argv("criu-agent", params(
            "page-server", images_dir=BASE + "/j", tmpfs_size="2G", address="10.0.0.2"))
        self.assertEqual(["criu-agent", "page-server", "--images-dir=" + BASE + "/j", "--tmpfs-size=2G",
                          "--address=10.0.0.2", "--port=0", "--detach", "--json"], argv)

    def test_restore_requires_the_page_server_by_default(self):
        argv = criu_agent.build_argv("criu-agent", params("restore", images_dir=BASE + "/j"))
        self.assertEqual(["criu-agent", "restore", "--images-dir=" + BASE + "/j", "--require-page-server", "--json"],
                         argv)

    def test_check_argv(self):
        self.assertEqual(["criu-agent", "check", "--json"], criu_agent.build_argv("criu-agent", params("check")))


class ResultTest(unittest.TestCase):
    def test_failure_message_has_the_first_error_of_the_log(self):
        message = criu_agent.failure_message("restore", {
            "message": "the restore failed", "hint": "see CRIU's log",
            "criu_log_excerpt": ["(00.1) 1: Restore: port 34201",
                                 "(00.2) 1: Error (criu/sk-inet.c:1059): inet: Can't bind inet socket: Address already in use",
                                 "(00.3) Error (criu/cr-restore.c:2331): Restoring FAILED."]})
        self.assertEqual("the restore failed; CRIU's log: Error (criu/sk-inet.c:1059): inet: Can't bind inet socket: "
                         "Address already in use. Hint: see CRIU's log", message)

    def test_failure_message_has_criu_message_and_hint(self):
        message = criu_agent.failure_message("restore", {
            "message": "restore failed", "criu_errmsg": "Can't bind inet socket", "hint": "free the port"})
        self.assertEqual("restore failed (CRIU: Can't bind inet socket). Hint: free the port", message)


class MainTest(unittest.TestCase):
    """main() end to end with the agent's answer faked."""

    def run_module(self, args, answer=None, check_mode=False):
        args = dict(args, _ansible_check_mode=check_mode)
        calls = []

        def fake_run_command(module, argv, check_rc=False):
            calls.append(argv)
            return answer

        out = io.StringIO()
        with mock.patch.object(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))), \
                mock.patch.object(basic.AnsibleModule, "run_command", fake_run_command), \
                mock.patch.object(basic.AnsibleModule, "get_bin_path", lambda *a, **k: "/usr/local/bin/criu-agent"), \
                contextlib.redirect_stdout(out), self.assertRaises(SystemExit):
            criu_agent.main()
        return json.loads(out.getvalue()), calls

    def test_check_mode_does_not_run_a_mutating_command(self):
        result, calls = self.run_module({"command": "kill", "pid": 4242}, check_mode=True)
        self.assertEqual([], calls)
        self.assertTrue(result["changed"])

    def test_check_mode_runs_a_read_only_command(self):
        result, calls = self.run_module({"command": "check"}, answer=(0, '{"ok": true, "criu_version": "4.2.1"}', ""),
                                        check_mode=True)
        self.assertEqual(1, len(calls))
        self.assertFalse(result["changed"])
        self.assertEqual("4.2.1", result["result"]["criu_version"])

    def test_invalid_arguments_fail_before_running_anything(self):
        result, calls = self.run_module({"command": "dump", "pid": 1, "images_dir": "/etc"})
        self.assertEqual([], calls)
        self.assertTrue(result["failed"])
        self.assertIn("integer greater than 1", result["msg"])
        self.assertIn("not inside the images base", result["msg"])

    def test_agent_error_becomes_the_failure(self):
        error = {"kind": "CRIU_FAILED", "message": "restore failed", "hint": "free the port", "criu_errno": 0,
                 "criu_errmsg": "Address already in use", "criu_log_excerpt": ["Error (criu/sk-inet.c:1): bind"],
                 "criu_log_path": "", "source_resumed": False}
        result, _ = self.run_module({"command": "restore", "images_dir": BASE + "/j"},
                                    answer=(1, json.dumps(error), "stderr text"))
        self.assertTrue(result["failed"])
        self.assertEqual("restore failed (CRIU: Address already in use); CRIU's log: Error (criu/sk-inet.c:1): bind. "
                         "Hint: free the port", result["msg"])
        self.assertEqual(["Error (criu/sk-inet.c:1): bind"], result["criu_log_excerpt"])

    def test_no_json_is_a_clear_failure(self):
        result, _ = self.run_module({"command": "check"}, answer=(127, "", "java: not found\n"))
        self.assertTrue(result["failed"])
        self.assertIn("exited with status 127 without a JSON result: java: not found", result["msg"])

    def test_cleanup_that_removed_nothing_is_unchanged(self):
        result, _ = self.run_module({"command": "cleanup", "images_dir": BASE + "/j"},
                                    answer=(0, '{"images_dir": "%s/j", "unmounted": false, "removed": false}' % BASE, ""))
        self.assertFalse(result["changed"])

    def test_host_that_cannot_migrate_fails_with_the_problems(self):
        answer = {"ok": False, "problems": ["criu check fails: install CRIU 4.2 with install-host.sh"],
                  "criu_version": "3.17.1"}
        result, _ = self.run_module({"command": "check"}, answer=(1, json.dumps(answer), ""))
        self.assertTrue(result["failed"])
        self.assertEqual("this host cannot migrate processes: criu check fails: install CRIU 4.2 with install-host.sh",
                         result["msg"])
        self.assertEqual("3.17.1", result["result"]["criu_version"])

    def test_failed_page_server_status_fails(self):
        answer = {"state": "FAILED", "exit_status": 1, "address": "", "port": 0, "pid": 0}
        result, _ = self.run_module({"command": "page-server-status", "images_dir": BASE + "/j"},
                                    answer=(1, json.dumps(answer), ""))
        self.assertTrue(result["failed"])
        self.assertIn("is FAILED (exit status 1)", result["msg"])


if __name__ == "__main__":
    unittest.main()
