package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.nativeio.LibC;
import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.HostFacts;
import dev.criumigration.agent.protocol.HostFactsRequest;
import dev.criumigration.agent.protocol.ProcessState;
import dev.criumigration.agent.protocol.ProcessStateRequest;
import dev.criumigration.agent.protocol.ProcessTree;
import dev.criumigration.agent.protocol.ProcessTreeRequest;
import dev.criumigration.agent.testing.TestGate;
import dev.criumigration.agent.testing.Workload;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** process_tree, host_facts and process_state on real processes of this host. */
class HostFactsOperationsTest {
  /** A listener on 127.0.0.1 and a child of it listening on ::1 (tcp6), in this host's namespaces. */
  private static final String LISTENING_TREE = String.join("\n",
      "import os, socket, sys, time",
      "v4 = socket.socket(); v4.bind(('127.0.0.1', 0)); v4.listen()",
      "v6 = socket.socket(socket.AF_INET6); v6.bind(('::1', 0)); v6.listen()",
      "print(v4.getsockname()[1], v6.getsockname()[1], flush=True)",
      "if os.fork() == 0:",
      "    v4.close()",
      "    print(os.getpid(), flush=True); time.sleep(600)",
      "v6.close(); time.sleep(600)");

  @TempDir Path dir;

  private static ProcessTree tree(int pid) throws Exception {
    return Harness.run(new ProcessTreeOperation(ProcessTreeRequest.newBuilder().setPid(pid).build()));
  }

  @Test
  void aTreeInItsOwnPidAndNetworkNamespaces() throws Exception {
    TestGate.requireRoot();
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--net", "--memory", "8M",
        "--children", "2", "--port", "7071")) {
      ProcessTree tree = tree(workload.rootPid());
      assertEquals(workload.rootPid(), tree.getRoot());
      assertEquals(Processes.tree(workload.rootPid()), tree.getPidsList());
      assertEquals(3, tree.getPidsCount(), tree.toString());
      assertEquals(workload.rootPid(), tree.getPids(0), "the root first");
      assertTrue(tree.getResidentBytes() > 8 << 20, "the workload's 8M are resident: " + tree.getResidentBytes());
      assertTrue(tree.getOwnPidNamespace());
      assertTrue(tree.getOwnNetNamespace());
      assertEquals(List.of(), tree.getListeningPortsList(), "its port 7071 is not this host's");
    }
  }

  @Test
  void aTreeInTheHostNamespacesListensOnItsPortsAndTakesItsPids() throws Exception {
    Process server = new ProcessBuilder("python3", "-c", LISTENING_TREE).redirectErrorStream(true).start();
    int child = 0;
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
      String[] ports = out.readLine().split(" ");
      child = Integer.parseInt(out.readLine().trim());
      int root = (int) server.pid();
      Set<Integer> listening = Set.of(Integer.valueOf(ports[0]), Integer.valueOf(ports[1]));

      ProcessTree tree = tree(root);
      assertEquals(List.of(root, child), tree.getPidsList());
      assertFalse(tree.getOwnPidNamespace());
      assertFalse(tree.getOwnNetNamespace());
      assertEquals(Set.copyOf(tree.getListeningPortsList()), listening, "v4 of the root, v6 of its child");

      int unused = 4_194_000;
      while (Processes.pids().contains(unused)) {
        unused++;
      }
      HostFacts facts = Harness.run(new HostFactsOperation(HostFactsRequest.newBuilder()
          .addAllPids(List.of(unused, child, root, child)).build()));
      assertEquals(List.of(Math.min(root, child), Math.max(root, child)), facts.getPidsInUseList(), "sorted, once");
      assertTrue(facts.getListeningPortsList().containsAll(listening), facts.toString());
      assertEquals("", facts.getAddressTowardPeer(), "no peer asked");
    } finally {
      server.destroyForcibly().waitFor();
      if (child > 0) {
        Processes.signal(child, LibC.SIGKILL);
      }
    }
    int gone = (int) server.pid();
    AgentException refused = assertThrows(AgentException.class, () -> tree(gone));
    assertEquals(ErrorKind.USAGE, refused.kind());
    assertEquals("there is no process " + gone + " on this host", refused.getMessage());
  }

  @Test
  void theAddressTowardAPeerIsThisHostsSourceAddress() throws Exception {
    assertEquals("127.0.0.1", HostFactsOperation.addressToward("127.0.0.1"));
    assertEquals("127.0.0.1", HostFactsOperation.addressToward("localhost"));
    assertEquals("0:0:0:0:0:0:0:1", HostFactsOperation.addressToward("::1"), "IPv6 without brackets");
    AgentException unknown = assertThrows(AgentException.class,
        () -> HostFactsOperation.addressToward("no-such-host.invalid"));
    assertEquals(ErrorKind.USAGE, unknown.kind());
    assertTrue(unknown.getMessage().contains("'no-such-host.invalid'"), unknown.getMessage());
    assertTrue(unknown.error().getHint().contains("page server's address explicitly"), unknown.error().getHint());
  }

  @Test
  void waitingForAStoppedProcessToRunAgainAndToGo() throws Exception {
    Process sleeper = new ProcessBuilder("sleep", "60").start();
    int pid = (int) sleeper.pid();
    try {
      Processes.signal(pid, LibC.SIGSTOP);
      // kill() returns before the process has taken the signal: wait until the kernel shows it stopped.
      long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (Processes.state(pid) != 'T' && System.nanoTime() < until) {
        Thread.sleep(5);
      }
      ProcessState stopped = Harness.run(state(pid, ProcessStateRequest.Wait.RUNNING), Duration.ofMillis(300));
      assertEquals("T", stopped.getState(), "at the deadline the state as it is: " + stopped);
      assertTrue(stopped.getExists());
      assertFalse(stopped.getRunning());

      Thread resumer = delayed(Duration.ofMillis(300), () -> Processes.signal(pid, LibC.SIGCONT));
      long started = System.nanoTime();
      ProcessState running = Harness.run(state(pid, ProcessStateRequest.Wait.RUNNING), Duration.ofSeconds(10));
      assertTrue(running.getRunning(), running.toString());
      assertTrue(Duration.ofNanos(System.nanoTime() - started).toMillis() >= 250, "it waited for the SIGCONT");
      resumer.join();

      Thread killer = delayed(Duration.ofMillis(200), () -> Processes.signal(pid, LibC.SIGKILL));
      ProcessState gone = Harness.run(state(pid, ProcessStateRequest.Wait.GONE), Duration.ofSeconds(10));
      assertFalse(gone.getExists(), gone.toString());
      assertFalse(gone.getRunning());
      killer.join();
    } finally {
      sleeper.destroyForcibly().waitFor();
    }
    ProcessState none = Harness.run(state(pid, ProcessStateRequest.Wait.NO_WAIT));
    assertEquals(ProcessState.newBuilder().setPid(pid).build(), none, "no such process");
  }

  private static ProcessStateOperation state(int pid, ProcessStateRequest.Wait wait) {
    return new ProcessStateOperation(ProcessStateRequest.newBuilder().setPid(pid).setWait(wait).build());
  }

  private interface Action {
    void run() throws Exception;
  }

  private static Thread delayed(Duration delay, Action action) {
    Thread thread = new Thread(() -> {
      try {
        Thread.sleep(delay.toMillis());
        action.run();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    thread.start();
    return thread;
  }
}
