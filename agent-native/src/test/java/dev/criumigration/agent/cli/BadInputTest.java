package dev.criumigration.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.nativeio.Processes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input to the agent's command line, one kind per test: a usage error (exit 2) saying what was
 * wrong and what to do, no stack trace, and nothing made or changed - no directory in or out of the
 * images base, no marker file that a shell would have created, the source process untouched.
 */
class BadInputTest {
  @TempDir Path base;
  @TempDir Path outside;
  private Path marker;
  private Process source;

  @BeforeEach
  void start() throws IOException {
    marker = Path.of("/tmp/criu-agent-pwned-" + UUID.randomUUID());
    source = new ProcessBuilder("sleep", "60").start();
  }

  @AfterEach
  void stop() throws Exception {
    source.destroyForcibly().waitFor();
    Files.deleteIfExists(marker);
  }

  /** Runs the agent with this test's images base; asserts the usage error and that nothing changed. */
  private CliTest.Run refused(String expected, String... args) throws IOException {
    List<String> argv = new ArrayList<>(List.of(args));
    if (argv.stream().noneMatch(a -> a.equals("--images-base"))) {
      argv.addAll(List.of("--images-base", base.toString()));
    }
    CliTest.Run run = CliTest.run(argv.toArray(String[]::new));
    assertEquals(2, run.exit(), run.toString());
    assertTrue(run.err().contains(expected), "says '" + expected + "': " + run.err());
    assertTrue(run.err().contains("what to do:"), "says what to do: " + run.err());
    CliTest.assertNoStackTrace(run);
    try (Stream<Path> made = Files.list(base)) {
      assertEquals(List.of(), made.toList(), "nothing made in the images base");
    }
    try (Stream<Path> made = Files.list(outside)) {
      assertEquals(List.of(), made.toList(), "nothing made outside it");
    }
    assertFalse(Files.exists(marker), "no shell ran the input");
    char state = Processes.state((int) source.pid());
    assertTrue(state == 'S' || state == 'R', "the source was not stopped: " + state);
    return run;
  }

  private String pid() {
    return Long.toString(source.pid());
  }

  @Test
  void initAndTheAgentItselfAreNeverFrozenOrKilled() throws IOException {
    refused("PID 1 is this host's init", "dump", "--pid", "1", "--images-dir", base.resolve("dump").toString());
    refused("PID 1 is this host's init", "kill", "--pid", "1");
    // CliTest runs the agent in this JVM: its own PID, and its parent's, are the agent's.
    refused("is the agent itself or one of its parents", "dump", "--pid",
        Long.toString(ProcessHandle.current().pid()), "--images-dir", base.resolve("dump").toString());
    refused("is the agent itself or one of its parents", "kill", "--pid",
        Long.toString(ProcessHandle.current().parent().orElseThrow().pid()));
  }

  @Test
  void anImagesDirectoryOutsideTheBase() throws IOException {
    refused("is not inside the images base directory", "page-server", "--images-dir",
        outside.resolve("pages").toString(), "--tmpfs-size", "64M");
  }

  @Test
  void dotDotEscapingTheBase() throws IOException {
    refused("is not inside the images base directory", "dump", "--pid", pid(), "--images-dir",
        base + "/../" + outside.getFileName() + "/dump");
  }

  @Test
  void aSymbolicLinkLeadingOutOfTheBase() throws IOException {
    Path link = Files.createSymbolicLink(base.resolve("link"), outside);
    try {
      // The link itself is the base's only entry, and no page server dir appears behind it.
      CliTest.Run run = CliTest.run("page-server", "--images-dir", link.resolve("pages").toString(),
          "--images-base", base.toString());
      assertEquals(2, run.exit(), run.toString());
      assertTrue(run.err().contains("through a symbolic link"), run.err());
      try (Stream<Path> behind = Files.list(outside)) {
        assertEquals(List.of(), behind.toList());
      }
    } finally {
      Files.delete(link);
    }
  }

  @Test
  void shellMetacharactersInTheImagesDirectory() throws IOException {
    refused("has characters other than", "page-server", "--images-dir", base + "/x; touch " + marker);
    refused("has characters other than", "cleanup", "--images-dir", base + "/$(touch " + marker + ")");
    refused("has characters other than", "dump", "--pid", pid(), "--images-dir", base + "/`touch " + marker + "`");
    refused("has characters other than", "restore", "--images-dir", base + "/x\nError (criu): forged log line");
  }

  @Test
  void shellMetacharactersInThePageServerAddress() throws IOException {
    refused("is not an IP address", "page-server", "--images-dir", base.resolve("pages").toString(),
        "--address", "127.0.0.1;touch " + marker);
    refused("is not HOST:PORT", "dump", "--pid", pid(), "--images-dir", base.resolve("dump").toString(),
        "--page-server", "$(touch " + marker + ")");
    refused("is not a host name or address", "dump", "--pid", pid(), "--images-dir", base.resolve("dump").toString(),
        "--page-server", "a;touch" + marker.getFileName() + ":27000");
  }

  @Test
  void aBadImagesBase() throws IOException {
    refused("must be an absolute, normalized path", "images", "--images-dir", base.resolve("x").toString(),
        "--images-base", "relative/base");
    refused("must be an absolute, normalized path", "images", "--images-dir", "/etc/x", "--images-base", "/");
  }

  @Test
  void aPortToDialOutOfRange() throws IOException {
    refused("out of range", "dump", "--pid", pid(), "--images-dir", base.resolve("dump").toString(),
        "--page-server", "127.0.0.1:0");
    refused("out of range", "page-server", "--images-dir", base.resolve("pages").toString(), "--port", "-1");
  }

  @Test
  void aTimeoutOfNothing() throws IOException {
    refused("leaves no time", "dump", "--pid", pid(), "--images-dir", base.resolve("dump").toString(),
        "--timeout", "0s");
  }

  @Test
  void tlsFilesThatAreMissing() throws IOException {
    refused("TLS needs a CA certificate, a certificate and a key", "dump", "--pid", pid(), "--images-dir",
        base.resolve("dump").toString(), "--page-server", "127.0.0.1:27000", "--tls-cacert",
        outside.resolve("none.pem").toString(), "--tls-cert", outside.resolve("none.pem").toString(),
        "--tls-key", outside.resolve("none.pem").toString());
  }
}
