package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.DumpRequest;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.PageServerRequest;
import dev.criumigration.agent.protocol.PageServerStatusRequest;
import dev.criumigration.agent.protocol.TlsPem;
import dev.criumigration.agent.testing.RequiresRootAndCriu;
import dev.criumigration.agent.testing.Workload;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three-step flow's TLS: the page server hands out the dump's certificate and key, and a dump
 * whose CA does not trust the page server fails with TLS_HANDSHAKE, its source running on.
 */
@RequiresRootAndCriu
class DumpTlsTest {
  @TempDir Path dir;

  /** A self-signed certificate for 127.0.0.1 and its key, made with openssl. */
  private record Certificate(String cert, String key) {}

  private Certificate selfSigned(String name) throws Exception {
    Path cert = dir.resolve(name + "-cert.pem");
    Path key = dir.resolve(name + "-key.pem");
    Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-days", "1", "-keyout", key.toString(), "-out", cert.toString()).redirectErrorStream(true).start();
    String output = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, openssl.waitFor(), output);
    return new Certificate(Files.readString(cert), Files.readString(key));
  }

  private static AgentException statusWithDumpTls(Path images) {
    return assertThrows(AgentException.class, () -> Harness.run(new PageServerStatusOperation(
        PageServerStatusRequest.newBuilder().setImagesDir(images.toString()).setWithDumpTls(true).build())));
  }

  @Test
  void thePageServerHandsOutTheDumpsTlsAndADumpOfAnotherCaFailsTheHandshake() throws Exception {
    Certificate pageServerSide = selfSigned("page-server");
    Certificate dumpSide = selfSigned("dump");
    Certificate stranger = selfSigned("stranger");
    Path destination = dir.resolve("destination");
    TlsPem pem = TlsPem.newBuilder().setCaCert(pageServerSide.cert()).setCert(pageServerSide.cert())
        .setKey(pageServerSide.key()).setPeerCert(dumpSide.cert()).setPeerKey(dumpSide.key()).build();
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "8M");
         Harness.PageServer pageServer = new Harness.PageServer(PageServerRequest.newBuilder()
             .setImagesDir(destination.toString()).setTmpfsSize("64M").setTlsPem(pem).build())) {
      TlsPem forDump = Harness.run(new PageServerStatusOperation(PageServerStatusRequest.newBuilder()
          .setImagesDir(destination.toString()).setWithDumpTls(true).build())).getDumpTls();
      assertEquals(TlsPem.newBuilder().setCaCert(pageServerSide.cert()).setCert(dumpSide.cert())
          .setKey(dumpSide.key()).build(), forDump);

      AgentException failed = assertThrows(AgentException.class, () -> Harness.run(new DumpOperation(
          DumpRequest.newBuilder().setPid(workload.rootPid()).setImagesDir(dir.resolve("source").toString())
              .setPageServerHost("127.0.0.1").setPageServerPort(pageServer.port())
              .setTlsPem(forDump.toBuilder().setCaCert(stranger.cert())).build())));
      assertEquals(ErrorKind.TLS_HANDSHAKE, failed.kind(), failed.error().toString());
      assertTrue(failed.error().getSourceResumed());
      assertTrue(workload.awaitTickAfter(workload.lastTick().orElseThrow().tick(), Duration.ofSeconds(20))
          .isPresent(), "the source runs on");
      assertTrue(Processes.exists(workload.rootPid()));
    } finally {
      Harness.cleanup(dir.resolve("source"));
    }
    AgentException gone = statusWithDumpTls(destination);
    assertEquals(ErrorKind.PAGE_SERVER_FAILED, gone.kind());
    assertTrue(gone.getMessage().startsWith("the page server's TLS files in " + destination + " cannot be read"),
        gone.getMessage());
    assertTrue(gone.error().getHint().contains("stops and removes itself"), gone.error().getHint());
  }

  @Test
  void aPlainPageServerHasNoTlsForTheDump() throws Exception {
    Path destination = dir.resolve("plain");
    try (Harness.PageServer plain = new Harness.PageServer(destination, "")) {
      AgentException refused = statusWithDumpTls(destination);
      assertEquals(ErrorKind.PAGE_SERVER_FAILED, refused.kind());
      assertTrue(refused.getMessage().contains(destination.toString()), refused.getMessage());
    }
  }
}
