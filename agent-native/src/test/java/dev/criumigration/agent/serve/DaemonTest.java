package dev.criumigration.agent.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.agent.protocol.AgentInfo;
import dev.criumigration.agent.protocol.AgentInfoRequest;
import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.agent.protocol.PageServerRequest;
import dev.criumigration.agent.testing.RequiresRootAndCriu;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `criu-agent daemon` as systemd runs it, with two controllers connected at once: each is a session
 * of its own, a request for what the other holds is refused, one going away puts back only its own
 * work, and SIGTERM puts back everyone's.
 */
@RequiresRootAndCriu
class DaemonTest {
  private static final Duration SHORT = Duration.ofSeconds(30);

  @TempDir Path dir;

  private Process startDaemon(Path socket, Path log) throws IOException, InterruptedException {
    Process daemon = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.criumigration.agent.cli.AgentMain", "daemon",
        "--socket", socket.toString(), "--images-base", dir.toString()))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long until = System.nanoTime() + SHORT.toNanos();
    while (true) {
      try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
        return daemon;
      } catch (IOException notYet) {
        assertTrue(daemon.isAlive() && System.nanoTime() < until, "the daemon did not listen: " + Files.readString(log));
        Thread.sleep(20);
      }
    }
  }

  private static AgentRequest.Builder pageServer(Path images) {
    return AgentRequest.newBuilder().setPageServer(PageServerRequest.newBuilder().setImagesDir(images.toString()));
  }

  private static AgentInfo info(AgentSession session) throws InterruptedException, IOException {
    long id = session.send(AgentRequest.newBuilder().setAgentInfo(AgentInfoRequest.getDefaultInstance()));
    return session.outcome(id, SHORT).getResult().getAgentInfo();
  }

  @Test
  void twoControllersShareTheDaemonButNotWhatTheyHold() throws Exception {
    Path socket = dir.resolve("run/agent.sock");
    Path shared = dir.resolve("shared.pages");
    Path secondOwn = dir.resolve("second.pages");
    Process daemon = startDaemon(socket, dir.resolve("daemon.log"));
    try (AgentSession first = AgentSession.connect(socket); AgentSession second = AgentSession.connect(socket)) {
      assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
          Files.getPosixFilePermissions(socket)), "only root may connect");
      AgentInfo seen = info(second);
      assertTrue(seen.getDaemon(), seen.toString());
      assertEquals(daemon.pid(), seen.getPid());
      assertEquals(2, seen.getSessions(), seen.toString());
      assertEquals(dir.toString(), seen.getImagesBase());

      long firstServer = first.send(pageServer(shared));
      PageServerListening firstListens = first.await(firstServer, AgentEvent::hasListening, SHORT).getListening();
      long conflicting = second.send(pageServer(shared));
      AgentEvent refused = second.outcome(conflicting, SHORT);
      assertEquals(ErrorKind.BUSY, refused.getError().getKind(), refused.toString());
      // The readiness probe was the daemon's first connection: these are its second and third.
      assertTrue(refused.getError().getMessage().endsWith("in use by connection 2 request " + firstServer),
          refused.toString());
      long secondServer = second.send(pageServer(secondOwn));
      PageServerListening secondListens = second.await(secondServer, AgentEvent::hasListening, SHORT).getListening();

      first.closeStdin();  // the first controller goes away: only its page server is put back
      assertTrue(Processes.waitGone(firstListens.getPid(), Duration.ofSeconds(10)), "its page server stopped");
      awaitGone(shared);
      assertTrue(ProcessHandle.of(secondListens.getPid()).map(ProcessHandle::isAlive).orElse(false),
          "the other controller's page server still serves");
      assertEquals(1, info(second).getSessions());

      daemon.destroy();  // SIGTERM, as systemctl stop sends
      assertTrue(daemon.waitFor(SHORT.toSeconds(), TimeUnit.SECONDS), "the daemon stopped");
      assertTrue(Processes.waitGone(secondListens.getPid(), Duration.ofSeconds(10)), "every page server stopped");
      assertFalse(Files.exists(secondOwn), "what the sessions made is removed");
      assertFalse(Files.exists(socket), "the socket is removed");
    } finally {
      daemon.destroyForcibly().waitFor();
    }
  }

  @Test
  void aSecondDaemonOnTheSameSocketIsRefusedAndAStaleSocketIsReplaced() throws Exception {
    Path socket = dir.resolve("run/agent.sock");
    Process daemon = startDaemon(socket, dir.resolve("daemon.log"));
    try {
      Process second = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), "dev.criumigration.agent.cli.AgentMain", "daemon",
          "--socket", socket.toString(), "--images-base", dir.toString())).redirectErrorStream(true).start();
      String output = new String(second.getInputStream().readAllBytes());
      assertEquals(2, second.waitFor(), output);
      assertTrue(output.contains("an agent daemon already listens on " + socket), output);
      assertTrue(output.contains("what to do: stop it first"), output);
    } finally {
      daemon.destroyForcibly().waitFor();  // SIGKILL: the socket file stays behind
    }
    assertTrue(Files.exists(socket));
    Process restarted = startDaemon(socket, dir.resolve("restarted.log"));
    try (AgentSession session = AgentSession.connect(socket)) {
      assertEquals(restarted.pid(), info(session).getPid());
    } finally {
      restarted.destroyForcibly().waitFor();
    }
  }

  private static void awaitGone(Path path) throws InterruptedException {
    long until = System.nanoTime() + SHORT.toNanos();
    while (Files.exists(path)) {
      assertTrue(System.nanoTime() < until, path + " was not removed");
      Thread.sleep(50);
    }
  }
}
