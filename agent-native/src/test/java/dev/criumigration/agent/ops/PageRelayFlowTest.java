package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.DumpRequest;
import dev.criumigration.agent.protocol.DumpResult;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.PageCompression;
import dev.criumigration.agent.protocol.PageRelayOptions;
import dev.criumigration.agent.protocol.PageServerRequest;
import dev.criumigration.agent.protocol.PageServerResult;
import dev.criumigration.agent.protocol.PageTransport;
import dev.criumigration.agent.protocol.RestoreRequest;
import dev.criumigration.agent.protocol.RestoreResult;
import dev.criumigration.agent.protocol.TlsPem;
import dev.criumigration.agent.testing.RequiresRootAndCriu;
import dev.criumigration.agent.testing.TestCertificates;
import dev.criumigration.agent.testing.Workload;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agents' own page transport on real CRIU: each CRIU talks to its agent through a socket pair
 * (ps.fd), the agents carry the stream between them. What travels on the loopback is captured with
 * tcpdump: the workload's memory marker is there without TLS and nowhere with it. A connection cut
 * mid-stream fails the dump and resumes the source; a certificate of another CA is refused before
 * CRIU starts.
 */
@RequiresRootAndCriu
class PageRelayFlowTest {
  private static final String MARKER = "criu-migration-relay-marker-7f3a";
  private static final Duration TICK_WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;

  @Test
  void aTlsRelayMigratesTheTreeAndNoMemoryCrossesInClearText() throws Exception {
    TestCertificates certificates = TestCertificates.make(dir);
    PageServerResult received = migrate(certificates.pageServer(), certificates.dump(), PageCompression.NO_COMPRESSION,
        true);
    assertTrue(received.getRelay().getTls());
  }

  @Test
  void aPlainRelayWithLz4MigratesTheTreeAndTheCaptureSeesTheMarker() throws Exception {
    // The same capture finds the marker when nothing encrypts it: the TLS test's "nowhere" is meaningful.
    // LZ4 on this memory (random bytes with a marker each MiB) leaves the marker readable in its literals.
    PageServerResult received = migrate(TlsPem.getDefaultInstance(), TlsPem.getDefaultInstance(), PageCompression.LZ4,
        false);
    assertFalse(received.getRelay().getTls());
    assertEquals(PageCompression.LZ4, received.getRelay().getCompression());
  }

  /** Relay migration with a capture of the loopback; {@code encrypted}: the capture must not hold the marker. */
  private PageServerResult migrate(TlsPem pageServerTls, TlsPem dumpTls, PageCompression compression,
      boolean encrypted) throws Exception {
    Path source = dir.resolve("source");
    Path destination = dir.resolve("destination");
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "16M", "--marker", MARKER);
         Harness.PageServer pageServer = new Harness.PageServer(PageServerRequest.newBuilder()
             .setImagesDir(destination.toString()).setTmpfsSize("128M").setTransport(PageTransport.AGENT_RELAY)
             .setTlsPem(pageServerTls).build());
         Capture capture = Capture.start(dir.resolve("loopback.pcap"), pageServer.port())) {
      workload.awaitTickAfter(-1, TICK_WAIT).orElseThrow();
      DumpResult dump = Harness.run(new DumpOperation(DumpRequest.newBuilder().setPid(workload.rootPid())
          .setImagesDir(source.toString()).setPageServerHost("127.0.0.1").setPageServerPort(pageServer.port())
          .setTransport(PageTransport.AGENT_RELAY).setTlsPem(dumpTls)
          .setRelay(PageRelayOptions.newBuilder().setCompression(compression)).setLeaveStopped(true).build()));
      Workload.Tick atDump = workload.lastTick().orElseThrow();
      assertTrue(dump.getRelay().getStreamBytes() > dump.getStats().getBytesWritten(),
          "the relay carried every page and CRIU's headers: " + dump.getRelay());
      Harness.copyNonPageImages(source, destination);
      PageServerResult received = pageServer.result.get(30, TimeUnit.SECONDS);
      assertEquals(0, received.getExitStatus());
      assertEquals(dump.getStats().getBytesWritten(), received.getBytesReceived(), "every page arrived");
      assertEquals(dump.getRelay().getStreamBytes(), received.getRelay().getStreamBytes());
      assertEquals(dump.getRelay().getWireBytes(), received.getRelay().getWireBytes());

      RestoreResult restore = Harness.run(new RestoreOperation(RestoreRequest.newBuilder()
          .setImagesDir(destination.toString()).setRequirePageServerOk(true).build()));
      workload.alsoKillOnClose(restore.getPid());
      Harness.run(new SourceOperation(SourceOperation.Action.KILL,
          dev.criumigration.agent.protocol.SourceRequest.newBuilder().setPid(workload.rootPid()).build()));
      Workload.Tick after = workload.awaitTickAfter(atDump.tick(), TICK_WAIT).orElseThrow(
          () -> new AssertionError("the restored workload does not tick"));
      assertEquals(atDump.checksum(), after.checksum(), "the restored memory is identical");

      byte[] wire = capture.stop();
      assertTrue(wire.length > 8 << 20, "the capture holds the stream: " + wire.length + " bytes");
      assertEquals(!encrypted, contains(wire, MARKER.getBytes(StandardCharsets.US_ASCII)),
          encrypted ? "memory crossed the loopback in clear text" : "the capture should see the plain stream's marker");
      return received;
    } finally {
      Harness.cleanup(source);
    }
  }

  @Test
  void aConnectionCutMidStreamFailsTheDumpAndTheSourceRunsOn() throws Exception {
    Path source = dir.resolve("source");
    Path destination = dir.resolve("destination");
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "64M");
         Harness.PageServer pageServer = new Harness.PageServer(PageServerRequest.newBuilder()
             .setImagesDir(destination.toString()).setTmpfsSize("128M").setTransport(PageTransport.AGENT_RELAY).build());
         CuttingProxy proxy = CuttingProxy.start(pageServer.port(), 8 << 20)) {
      workload.awaitTickAfter(-1, TICK_WAIT).orElseThrow();
      AgentException failed = assertThrows(AgentException.class, () -> Harness.run(new DumpOperation(
          DumpRequest.newBuilder().setPid(workload.rootPid()).setImagesDir(source.toString())
              .setPageServerHost("127.0.0.1").setPageServerPort(proxy.port()).setTransport(PageTransport.AGENT_RELAY)
              .setLeaveStopped(true).build())));
      assertTrue(failed.error().getSourceResumed(), failed.error().toString());
      assertTrue(failed.getMessage().contains("page relay"), failed.getMessage());
      long tick = workload.lastTick().orElseThrow().tick();
      assertTrue(workload.awaitTickAfter(tick, TICK_WAIT).isPresent(), "the source runs on");
      ExecutionException pageServerFailed = assertThrows(ExecutionException.class,
          () -> pageServer.result.get(30, TimeUnit.SECONDS));
      assertEquals(ErrorKind.PAGE_SERVER_FAILED, ((AgentException) pageServerFailed.getCause()).kind());
    } finally {
      Harness.cleanup(source);
    }
    Harness.assertNotMounted(destination);
  }

  @Test
  void aDumpWithACertificateOfAnotherCaIsRefusedBeforeCriuStarts() throws Exception {
    TestCertificates ours = TestCertificates.make(dir.resolve("ours"));
    TestCertificates theirs = TestCertificates.make(dir.resolve("theirs"));
    Path source = dir.resolve("source");
    Path destination = dir.resolve("destination");
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "8M");
         Harness.PageServer pageServer = new Harness.PageServer(PageServerRequest.newBuilder()
             .setImagesDir(destination.toString()).setTmpfsSize("64M").setTransport(PageTransport.AGENT_RELAY)
             .setTlsPem(ours.pageServer()).build())) {
      AgentException refused = assertThrows(AgentException.class, () -> Harness.run(new DumpOperation(
          DumpRequest.newBuilder().setPid(workload.rootPid()).setImagesDir(source.toString())
              .setPageServerHost("127.0.0.1").setPageServerPort(pageServer.port()).setTransport(PageTransport.AGENT_RELAY)
              .setTlsPem(theirs.dump()).setLeaveStopped(true).build())));
      assertEquals(ErrorKind.TLS_HANDSHAKE, refused.kind(), refused.error().toString());
      assertTrue(refused.getMessage().contains("nothing was frozen"), refused.getMessage());
      assertFalse(Files.exists(source.resolve(DumpOperation.LOG)), "CRIU never ran");
      assertTrue(Processes.exists(workload.rootPid()));
      assertTrue(Processes.state(workload.rootPid()) != 'T', "the source was never stopped");
    } finally {
      Harness.cleanup(source);
    }
    Harness.assertNotMounted(destination);
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  /** tcpdump of the loopback's traffic to and from one port, whole packets. */
  private static final class Capture implements AutoCloseable {
    private final Process tcpdump;
    private final Path file;

    private Capture(Process tcpdump, Path file) {
      this.tcpdump = tcpdump;
      this.file = file;
    }

    static Capture start(Path file, int port) throws Exception {
      // A 128 MiB kernel buffer: a packet dropped by the capture could hide the marker (stop() checks).
      Process tcpdump = new ProcessBuilder("tcpdump", "-i", "lo", "-s", "0", "-B", "131072", "-U", "-w", file.toString(),
          "tcp", "port", Integer.toString(port)).redirectErrorStream(true).redirectOutput(file.resolveSibling("tcpdump.out").toFile()).start();
      long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (!Files.readString(file.resolveSibling("tcpdump.out")).contains("listening on")) {
        assertTrue(tcpdump.isAlive() && System.nanoTime() < until, "tcpdump did not start: "
            + Files.readString(file.resolveSibling("tcpdump.out")));
        Thread.sleep(50);
      }
      return new Capture(tcpdump, file);
    }

    byte[] stop() throws Exception {
      Thread.sleep(500);  // the last packets reach the file (-U writes each packet as it comes)
      close();
      String summary = Files.readString(file.resolveSibling("tcpdump.out"));
      assertTrue(summary.matches("(?s).*(^|\\n)0 packets dropped by kernel.*"), "the capture dropped packets: " + summary);
      return Files.readAllBytes(file);
    }

    @Override
    public void close() throws Exception {
      tcpdump.destroy();
      if (!tcpdump.waitFor(10, TimeUnit.SECONDS)) {
        tcpdump.destroyForcibly();
      }
    }
  }

  /** A TCP proxy to a port on 127.0.0.1 that cuts the connection after forwarding {@code limit} bytes upstream. */
  private static final class CuttingProxy implements AutoCloseable {
    private final ServerSocket server;

    private CuttingProxy(ServerSocket server) {
      this.server = server;
    }

    static CuttingProxy start(int target, long limit) throws IOException {
      ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
      Thread thread = new Thread(() -> {
        try (Socket client = server.accept(); Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target)) {
          Thread back = new Thread(() -> copy(upstream, client, Long.MAX_VALUE), "proxy-back");
          back.setDaemon(true);
          back.start();
          copy(client, upstream, limit);
        } catch (IOException e) {
          // the test sees the dump's failure
        }
      }, "cutting-proxy");
      thread.setDaemon(true);
      thread.start();
      return new CuttingProxy(server);
    }

    int port() {
      return server.getLocalPort();
    }

    private static void copy(Socket from, Socket to, long limit) {
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        byte[] buffer = new byte[64 << 10];
        long copied = 0;
        int n;
        while (copied < limit && (n = in.read(buffer)) > 0) {
          out.write(buffer, 0, n);
          copied += n;
        }
        from.close();  // the cut: both connections end at once
        to.close();
      } catch (IOException e) {
        // one side went away
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
