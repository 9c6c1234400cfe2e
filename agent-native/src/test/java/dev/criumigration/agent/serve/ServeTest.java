package dev.criumigration.agent.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.CancelRequest;
import dev.criumigration.agent.protocol.CheckRequest;
import dev.criumigration.agent.protocol.CleanupRequest;
import dev.criumigration.agent.protocol.CommitDecision;
import dev.criumigration.agent.protocol.DumpRequest;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.FetchImagesRequest;
import dev.criumigration.agent.protocol.FetchImagesResult;
import dev.criumigration.agent.protocol.HostFactsRequest;
import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.agent.protocol.PageServerRequest;
import dev.criumigration.agent.protocol.ProcessStateRequest;
import dev.criumigration.agent.protocol.ProcessTreeRequest;
import dev.criumigration.agent.protocol.PutImagesRequest;
import dev.criumigration.agent.protocol.RestoreRequest;
import dev.criumigration.agent.testing.RequiresRootAndCriu;
import dev.criumigration.agent.testing.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `criu-agent serve` driven with real requests, two agents standing for the source and destination
 * hosts: the one-shot migration with the commit point, and a controller that goes away.
 */
@RequiresRootAndCriu
class ServeTest {
  private static final Duration SHORT = Duration.ofSeconds(30);
  private static final Duration TICK_WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;

  private static AgentRequest.Builder pageServer(Path destination) {
    return AgentRequest.newBuilder().setPageServer(PageServerRequest.newBuilder()
        .setImagesDir(destination.toString()).setTmpfsSize("256M"));
  }

  private static AgentRequest.Builder commitPointDump(Workload workload, Path source, PageServerListening where) {
    return AgentRequest.newBuilder().setDump(DumpRequest.newBuilder().setPid(workload.rootPid())
        .setImagesDir(source.toString()).setPageServerHost(where.getAddress()).setPageServerPort(where.getPort())
        .setCommitPoint(true));
  }

  private static void cleanup(AgentSession agent, Path images) throws Exception {
    long id = agent.send(AgentRequest.newBuilder().setCleanup(CleanupRequest.newBuilder().setImagesDir(images.toString())));
    AgentEvent cleaned = agent.outcome(id, SHORT);
    assertTrue(cleaned.hasResult(), cleaned.toString());
  }

  @Test
  void aOneShotMigrationCommitsAtThePostDumpNotification() throws Exception {
    Path source = dir.resolve("source");
    Path destination = dir.resolve("destination");
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "16M");
         AgentSession sourceAgent = new AgentSession(dir.resolve("source-agent.err"));
         AgentSession destinationAgent = new AgentSession(dir.resolve("destination-agent.err"))) {
      long check = sourceAgent.send(AgentRequest.newBuilder().setCheck(CheckRequest.getDefaultInstance()));
      assertTrue(sourceAgent.outcome(check, SHORT).getResult().getCheck().getOk());

      long serving = destinationAgent.send(pageServer(destination));
      PageServerListening where = destinationAgent.await(serving, AgentEvent::hasListening, SHORT).getListening();
      long dump = sourceAgent.send(commitPointDump(workload, source, where));
      AgentEvent frozen = sourceAgent.await(dump, AgentEvent::hasFrozen, SHORT);
      assertEquals(workload.rootPid(), frozen.getFrozen().getPid());
      Workload.Tick atFreeze = workload.lastTick().orElseThrow();

      // The cheap looks at /proc run beside the frozen dump.
      long tree = sourceAgent.send(AgentRequest.newBuilder().setProcessTree(ProcessTreeRequest.newBuilder()
          .setPid(workload.rootPid())));
      AgentEvent treeSeen = sourceAgent.outcome(tree, SHORT);
      assertEquals(List.of(workload.rootPid()), treeSeen.getResult().getProcessTree().getPidsList(), treeSeen.toString());
      assertTrue(treeSeen.getResult().getProcessTree().getOwnPidNamespace(), treeSeen.toString());
      long state = sourceAgent.send(AgentRequest.newBuilder().setProcessState(ProcessStateRequest.newBuilder()
          .setPid(workload.rootPid())));
      AgentEvent stateSeen = sourceAgent.outcome(state, SHORT);
      assertTrue(stateSeen.getResult().getProcessState().getExists(), stateSeen.toString());
      long facts = sourceAgent.send(AgentRequest.newBuilder().setHostFacts(HostFactsRequest.newBuilder()
          .addPids(workload.rootPid()).setPeer("127.0.0.1")));
      AgentEvent factsSeen = sourceAgent.outcome(facts, SHORT);
      assertEquals(List.of(workload.rootPid()), factsSeen.getResult().getHostFacts().getPidsInUseList(),
          factsSeen.toString());
      assertEquals("127.0.0.1", factsSeen.getResult().getHostFacts().getAddressTowardPeer());

      // The page server is done once the dump reached its commit point.
      AgentEvent received = destinationAgent.outcome(serving, SHORT);
      assertEquals(0, received.getResult().getPageServer().getExitStatus(), received.toString());
      // While the source waits, its images can be fetched from the same agent.
      long fetch = sourceAgent.send(AgentRequest.newBuilder().setFetchImages(
          FetchImagesRequest.newBuilder().setImagesDir(source.toString())));
      FetchImagesResult images = sourceAgent.outcome(fetch, SHORT).getResult().getFetchImages();
      assertTrue(images.getFilesList().stream().anyMatch(file -> file.getName().equals("pstree.img")));
      long put = destinationAgent.send(AgentRequest.newBuilder().setPutImages(PutImagesRequest.newBuilder()
          .setImagesDir(destination.toString()).addAllFiles(images.getFilesList())));
      assertTrue(destinationAgent.outcome(put, SHORT).hasResult());
      long restore = destinationAgent.send(AgentRequest.newBuilder().setRestore(RestoreRequest.newBuilder()
          .setImagesDir(destination.toString()).setRequirePageServerOk(true)));
      AgentEvent restored = destinationAgent.outcome(restore, SHORT);
      assertTrue(restored.hasResult(), restored.toString());
      workload.alsoKillOnClose(restored.getResult().getRestore().getPid());

      sourceAgent.send(AgentRequest.newBuilder().setDecision(CommitDecision.newBuilder()
          .setDumpRequestId(dump).setCommit(true)));
      AgentEvent dumped = sourceAgent.outcome(dump, SHORT);
      assertTrue(dumped.getResult().getDump().getSourceKilled(), dumped.toString());
      assertTrue(Processes.waitGone(workload.rootPid(), Duration.ofSeconds(10)), "CRIU ended the source");

      Workload.Tick after = workload.awaitTickAfter(atFreeze.tick(), TICK_WAIT).orElseThrow();
      assertEquals(atFreeze.checksum(), after.checksum());
      cleanup(destinationAgent, destination);
      cleanup(sourceAgent, source);
      sourceAgent.closeStdin();
      destinationAgent.closeStdin();
      assertEquals(0, sourceAgent.awaitExit(SHORT));
      assertEquals(0, destinationAgent.awaitExit(SHORT));
    }
  }

  @Test
  void closingStdinAtTheCommitPointResumesTheSource() throws Exception {
    Path source = dir.resolve("source");
    Path destination = dir.resolve("destination");
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "16M");
         AgentSession sourceAgent = new AgentSession(dir.resolve("source-agent.err"));
         AgentSession destinationAgent = new AgentSession(dir.resolve("destination-agent.err"))) {
      long serving = destinationAgent.send(pageServer(destination));
      PageServerListening where = destinationAgent.await(serving, AgentEvent::hasListening, SHORT).getListening();
      long dump = sourceAgent.send(commitPointDump(workload, source, where));
      sourceAgent.await(dump, AgentEvent::hasFrozen, SHORT);
      Workload.Tick atFreeze = workload.lastTick().orElseThrow();
      assertTrue(workload.awaitTickAfter(atFreeze.tick(), Duration.ofSeconds(1)).isEmpty(), "frozen");

      sourceAgent.closeStdin();  // the controller's connection drops
      assertEquals(0, sourceAgent.awaitExit(SHORT));
      assertFalse(Files.exists(source), "the agent removed its dump's images, worthless without the controller");
      char state = Processes.state(workload.rootPid());
      assertTrue(state != 'T' && state != 't', "the source runs again: " + state);
      Workload.Tick after = workload.awaitTickAfter(atFreeze.tick(), TICK_WAIT).orElseThrow(
          () -> new AssertionError("the source does not tick"));
      assertEquals(atFreeze.checksum(), after.checksum());

      destinationAgent.outcome(serving, SHORT);
      cleanup(destinationAgent, destination);
      destinationAgent.closeStdin();
      assertEquals(0, destinationAgent.awaitExit(SHORT));
      assertFalse(Files.exists(destination));
    } finally {
      // Should the test fail before the agent removed what its dump made: do it as the controller would.
      if (Files.exists(source)) {
        try (AgentSession agent = new AgentSession(dir.resolve("cleanup-agent.err"))) {
          cleanup(agent, source);
        }
      }
    }
  }

  @Test
  void requestsRunAtOnceExceptForTheSameImagesDirectoryAndClosingStdinStopsAnAttachedPageServer() throws Exception {
    Path destination = dir.resolve("destination");
    try (AgentSession agent = new AgentSession(dir.resolve("agent.err"))) {
      long serving = agent.send(pageServer(destination));
      PageServerListening where = agent.await(serving, AgentEvent::hasListening, SHORT).getListening();

      long second = agent.send(pageServer(destination));
      AgentEvent refused = agent.outcome(second, SHORT);
      assertEquals(ErrorKind.BUSY, refused.getError().getKind(), refused.toString());
      assertTrue(refused.getError().getMessage().contains("images directory " + destination + " is in use by "),
          refused.toString());
      // Everything else runs beside the page server, on the same agent.
      long other = agent.send(pageServer(dir.resolve("other")));
      assertTrue(agent.await(other, AgentEvent::hasListening, SHORT).getListening().getPort() != where.getPort());
      long facts = agent.send(AgentRequest.newBuilder().setHostFacts(HostFactsRequest.newBuilder().setPeer("127.0.0.1")));
      AgentEvent factsSeen = agent.outcome(facts, SHORT);
      assertTrue(factsSeen.getResult().getHostFacts().getListeningPortsList().contains(where.getPort()),
          factsSeen.toString());
      long stray = agent.send(AgentRequest.newBuilder().setDecision(CommitDecision.newBuilder().setDumpRequestId(99)));
      assertEquals(ErrorKind.USAGE, agent.outcome(stray, SHORT).getError().getKind());
      long wrongCancel = agent.send(AgentRequest.newBuilder().setCancel(CancelRequest.newBuilder().setRequestId(99)));
      assertEquals(ErrorKind.USAGE, agent.outcome(wrongCancel, SHORT).getError().getKind());

      agent.closeStdin();
      assertEquals(0, agent.awaitExit(SHORT));
      assertTrue(Processes.waitGone(where.getPid(), Duration.ofSeconds(10)), "the page server was stopped");
    }
    // Their pages are worthless without the controller: the tmpfs and the directories went with the session.
    for (Path images : List.of(destination, dir.resolve("other"))) {
      assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + images + " "));
      assertFalse(Files.exists(images));
    }
  }

  @Test
  void aCancelRequestStopsTheRunningOperation() throws Exception {
    Path destination = dir.resolve("destination");
    try (AgentSession agent = new AgentSession(dir.resolve("agent.err"))) {
      long serving = agent.send(pageServer(destination));
      agent.await(serving, AgentEvent::hasListening, SHORT);
      agent.send(AgentRequest.newBuilder().setCancel(CancelRequest.newBuilder().setRequestId(serving)));
      AgentEvent cancelled = agent.outcome(serving, SHORT);
      assertEquals(ErrorKind.CANCELLED, cancelled.getError().getKind(), cancelled.toString());
      cleanup(agent, destination);
    }
  }
}
