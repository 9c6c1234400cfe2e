package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.DumpRequest;
import dev.criumigration.agent.protocol.DumpResult;
import dev.criumigration.agent.protocol.PageServerResult;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.PageServerStatusRequest;
import dev.criumigration.agent.protocol.RestoreRequest;
import dev.criumigration.agent.protocol.RestoreResult;
import dev.criumigration.agent.protocol.SourceRequest;
import dev.criumigration.agent.protocol.SourceResult;
import dev.criumigration.agent.testing.RequiresRootAndCriu;
import dev.criumigration.agent.testing.Workload;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disk-less flow on this machine through the agent's operations, on real CRIU: page server on a
 * tmpfs, dump --leave-stopped to it, the non-page images copied, restore while the source is still
 * stopped, the source killed; the restored tree goes on from its state.
 */
@RequiresRootAndCriu
class DisklessFlowTest {
  private static final Duration TICK_WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;

  /** Migrates the workload; returns the restored root's PID. */
  private int migrate(Workload workload, int expectedProcesses) throws Exception {
    Path source = dir.resolve("source");
    Path destination = dir.resolve("destination");
    // start-workload.sh returns at the tree's first tick, which may be a child's: wait for the root's.
    workload.awaitTickAfter(-1, TICK_WAIT).orElseThrow();
    try (Harness.PageServer pageServer = new Harness.PageServer(destination, "256M")) {
      assertTrue(Harness.isMounted(destination), "the page server's tmpfs is mounted");

      DumpResult dump = Harness.run(new DumpOperation(DumpRequest.newBuilder().setPid(workload.rootPid())
          .setImagesDir(source.toString()).setPageServerHost("127.0.0.1").setPageServerPort(pageServer.port())
          .setLeaveStopped(true).build()));
      assertTrue(dump.getLeftStopped());
      assertEquals(expectedProcesses, dump.getProcesses());
      assertTrue(dump.getStats().getPagesWritten() > 0);
      assertEquals('T', Processes.state(workload.rootPid()), "the source waits, stopped");
      Workload.Tick atDump = workload.lastTick().orElseThrow();
      // CRIU leaves a lock table in the tree's network namespace; in this host's when it shares ours.
      String run = NetworkLockRelease.runId(source.resolve(DumpOperation.LOG)).orElseThrow();
      boolean ownNetwork = NetworkLockRelease.ownNetworkNamespace(workload.rootPid());
      String lockTable = ownNetwork ? null : "CRIU-" + run.substring(0, 21);
      assertTrue(ownNetwork || nftTables().contains(lockTable), "locked: " + nftTables());

      Harness.copyNonPageImages(source, destination);
      PageServerResult received = pageServer.result.get(30, TimeUnit.SECONDS);
      assertEquals(0, received.getExitStatus());
      assertEquals(dump.getStats().getBytesWritten(), received.getBytesReceived(),
          "every page the dump wrote arrived in the page server's directory");
      assertEquals(PageServerStatus.State.FINISHED_OK, Harness.run(new PageServerStatusOperation(
          PageServerStatusRequest.newBuilder().setImagesDir(destination.toString()).build())).getState());

      assertEquals(atDump, workload.lastTick().orElseThrow(), "the source did not tick while stopped");
      RestoreResult restore = Harness.run(new RestoreOperation(RestoreRequest.newBuilder()
          .setImagesDir(destination.toString()).setRequirePageServerOk(true).build()));
      workload.alsoKillOnClose(restore.getPid());
      assertTrue(Processes.exists(restore.getPid()));
      assertEquals(expectedProcesses, Processes.tree(restore.getPid()).size(), "the whole tree was restored");

      SourceResult killed = Harness.run(new SourceOperation(SourceOperation.Action.KILL,
          SourceRequest.newBuilder().setPid(workload.rootPid()).build()));
      assertEquals("killed", killed.getAction());
      assertFalse(Processes.exists(workload.rootPid()), "the source is gone");
      if (lockTable != null) {
        assertFalse(nftTables().contains(lockTable), "CRIU's lock table on this host was removed");
      }

      Workload.Tick after = workload.awaitTickAfter(atDump.tick(), TICK_WAIT).orElseThrow(
          () -> new AssertionError("the restored workload does not tick"));
      assertEquals(atDump.checksum(), after.checksum(), "the restored memory is identical");
      Harness.cleanup(source);
      assertFalse(Files.exists(source), "cleanup removed the directory the dump created");
      return restore.getPid();
    } finally {
      Harness.assertNotMounted(destination);
      assertFalse(Files.exists(destination));
    }
  }

  @Test
  void aStatefulProcessGoesOnFromItsState() throws Exception {
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "16M")) {
      migrate(workload, 1);
    }
  }

  @Test
  void aTcpServerInItsOwnNetworkNamespaceServesItsStateAfterRestore() throws Exception {
    int port = 7070;
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--net", "--memory", "16M",
        "--port", Integer.toString(port))) {
      String served = askState(workload.rootPid(), port);
      int restored = migrate(workload, 1);
      String servedAfter = askState(restored, port);
      long tickBefore = Long.parseLong(served.split(" ")[0].substring("tick=".length()));
      long tickAfter = Long.parseLong(servedAfter.split(" ")[0].substring("tick=".length()));
      assertTrue(tickAfter > tickBefore, served + " then " + servedAfter);
      assertEquals(served.split(" ")[1], servedAfter.split(" ")[1], "same checksum over TCP");
    }
  }

  @Test
  void aTreeOfProcessesIsMigratedWhole() throws Exception {
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "8M", "--children", "2")) {
      assertEquals(3, Processes.tree(workload.rootPid()).size());
      migrate(workload, 3);
    }
  }

  /** The nftables tables of this host's (the test's) network namespace. */
  static String nftTables() throws IOException, InterruptedException {
    Process nft = new ProcessBuilder("nft", "list", "tables").redirectErrorStream(true).start();
    String tables = new String(nft.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(nft.waitFor(10, TimeUnit.SECONDS) && nft.exitValue() == 0, tables);
    return tables;
  }

  /** Connects to the workload's port inside its network namespace; its one line of state. */
  static String askState(int pid, int port) throws IOException, InterruptedException {
    Process client = new ProcessBuilder(List.of("nsenter", "-t", Integer.toString(pid), "-n", "python3", "-c",
        "import socket,sys; s=socket.create_connection(('127.0.0.1'," + port + "),5); "
            + "sys.stdout.write(s.makefile().readline())"))
        .redirectErrorStream(true).start();
    String line = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertTrue(client.waitFor(10, TimeUnit.SECONDS) && client.exitValue() == 0, "no answer on port " + port + ": " + line);
    assertTrue(line.startsWith("tick="), line);
    return line;
  }
}
