package dev.criumigration.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.images.ImageSet;
import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.AgentError;
import dev.criumigration.agent.protocol.CheckResult;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.PageServerResult;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.RestoreResult;
import dev.criumigration.agent.testing.RequiresRootAndCriu;
import dev.criumigration.agent.testing.Workload;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded criu-agent.jar as people and Ansible run it: a subprocess, exit codes, stdout and
 * stderr, on real CRIU and real processes.
 */
@RequiresRootAndCriu
class CliSubprocessIT {
  private static final Duration TICK_WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  private Path jar;

  record Run(int exit, String out, String err) {}

  @BeforeEach
  void findJar() {
    jar = Path.of(System.getProperty("criu.agent.jar", "target/criu-agent.jar"));
    assertTrue(Files.isRegularFile(jar), "build the shaded jar first: " + jar);
  }

  private Run agent(Map<String, String> env, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().putAll(env);
    Path stdout = Files.createTempFile(dir, "stdout", ".txt");
    Path stderr = Files.createTempFile(dir, "stderr", ".txt");
    Process process = builder.redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
      throw new AssertionError("criu-agent " + args[0] + " did not finish in 120 s");
    }
    Run run = new Run(process.exitValue(), Files.readString(stdout), Files.readString(stderr));
    CliTest.assertNoStackTrace(new CliTest.Run(run.exit(), run.out(), run.err()));
    return run;
  }

  private Run agent(String... args) throws IOException, InterruptedException {
    return agent(Map.of(), args);
  }

  private static AgentError error(Run run) throws IOException {
    return CliTest.singleJsonDocument(run.out(), AgentError.newBuilder()).build();
  }

  private static void assertRunning(Workload workload, Workload.Tick since) throws Exception {
    char state = Processes.state(workload.rootPid());
    assertTrue(state != 'T' && state != 't', "the source is stopped: " + state);
    Workload.Tick after = workload.awaitTickAfter(since.tick(), TICK_WAIT).orElseThrow(
        () -> new AssertionError("the source does not tick"));
    assertEquals(since.checksum(), after.checksum());
  }

  private static void assertNotMounted(Path path) throws IOException {
    assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + path + " "), path + " is mounted");
  }

  private static void assertNotListening(int port) {
    assertThrows(ConnectException.class, () -> new Socket(InetAddress.getLoopbackAddress(), port).close(),
        "something still listens on port " + port);
  }

  @Test
  void theWholeDisklessFlowThroughTheCommandLine() throws Exception {
    Path source = dir.resolve("source");
    Path destination = dir.resolve("destination");
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "16M")) {
      Run pageServer = agent("page-server", "--images-dir", destination.toString(), "--tmpfs-size", "256M",
          "--detach", "--json");
      assertEquals(0, pageServer.exit(), pageServer.err() + pageServer.out());
      PageServerResult listening = CliTest.singleJsonDocument(pageServer.out(), PageServerResult.newBuilder()).build();
      assertTrue(listening.getPort() > 0);
      Run running = agent("page-server-status", "--images-dir", destination.toString());
      assertEquals(0, running.exit());
      assertTrue(running.out().startsWith("running"), running.out());

      Run dump = agent("dump", "--pid", Integer.toString(workload.rootPid()), "--images-dir", source.toString(),
          "--page-server", "127.0.0.1:" + listening.getPort(), "--leave-stopped");
      assertEquals(0, dump.exit(), dump.err());
      assertTrue(dump.out().contains("frozen") && dump.out().contains("MB/s"), dump.out());
      assertTrue(dump.err().contains("freezing"), "progress lines on stderr: " + dump.err());
      Workload.Tick atDump = workload.lastTick().orElseThrow();

      try (Stream<Path> files = Files.list(source)) {
        for (Path file : files.toList()) {
          String name = file.getFileName().toString();
          if (ImageSet.isImageName(name) && !ImageSet.isPagesImage(name)) {
            Files.copy(file, destination.resolve(name), StandardCopyOption.REPLACE_EXISTING);
          }
        }
      }
      Run finished = agent("page-server-status", "--images-dir", destination.toString(), "--json");
      assertEquals(0, finished.exit());
      assertEquals(PageServerStatus.State.FINISHED_OK,
          CliTest.singleJsonDocument(finished.out(), PageServerStatus.newBuilder()).getState());

      Run restore = agent("restore", "--images-dir", destination.toString(), "--json");
      assertEquals(0, restore.exit(), restore.out());
      int restored = CliTest.singleJsonDocument(restore.out(), RestoreResult.newBuilder()).getPid();
      workload.alsoKillOnClose(restored);

      Run kill = agent("kill", "--pid", Integer.toString(workload.rootPid()));
      assertEquals(0, kill.exit(), kill.err());
      assertFalse(Processes.exists(workload.rootPid()));
      Workload.Tick after = workload.awaitTickAfter(atDump.tick(), TICK_WAIT).orElseThrow();
      assertEquals(atDump.checksum(), after.checksum());

      Run images = agent("images", "--images-dir", destination.toString());
      assertEquals(0, images.exit());
      assertTrue(images.out().contains("pid 1 ppid 0"), images.out());
      assertEquals(0, agent("cleanup", "--images-dir", destination.toString()).exit());
      assertEquals(0, agent("cleanup", "--images-dir", source.toString()).exit());
      assertNotMounted(destination);
      assertFalse(Files.exists(destination) || Files.exists(source));
      assertNotListening(listening.getPort());
    }
  }

  @Test
  void aSecondCheckStartsNoCriuUntilRecheckOrAnotherCriu() throws Exception {
    // A CRIU of this test's own (a new binary: a key of its own) that notes each start, then is CRIU.
    Path starts = dir.resolve("criu-starts.log");
    Path criu = dir.resolve("criu");
    String realCriu = dev.criumigration.agent.criu.CriuBinary.locate().path().toString();
    Files.writeString(criu, "#!/bin/sh\necho \"$*\" >> '" + starts + "'\nexec '" + realCriu + "' \"$@\"\n");
    Files.setPosixFilePermissions(criu, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    Map<String, String> ownCriu = Map.of("CRIU_BINARY", criu.toString());

    CheckResult first = checkWith(ownCriu, "--recheck");
    assertFalse(first.getFromCache());
    long startsAsked = Files.readAllLines(starts).size();
    assertTrue(startsAsked > 0, "the first check ran CRIU");

    CheckResult second = checkWith(ownCriu);
    assertTrue(second.getFromCache(), second.toString());
    assertEquals(startsAsked, Files.readAllLines(starts).size(), "the second check started no CRIU");
    assertEquals(first.getCriuVersion(), second.getCriuVersion());
    assertEquals(first.getCpuinfo(), second.getCpuinfo());
    assertEquals(first.getCriuCheckPassed(), second.getCriuCheckPassed());
    assertEquals(first.getHardwareBreakpoints(), second.getHardwareBreakpoints());

    CheckResult forced = checkWith(ownCriu, "--recheck");
    assertFalse(forced.getFromCache());
    assertTrue(Files.readAllLines(starts).size() > startsAsked, "--recheck ran CRIU again");

    Files.setLastModifiedTime(criu, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 60_000));
    assertFalse(checkWith(ownCriu).getFromCache(), "another CRIU binary is asked again");
  }

  private CheckResult checkWith(Map<String, String> env, String... options) throws Exception {
    List<String> args = new ArrayList<>(List.of("check", "--json"));
    args.addAll(List.of(options));
    Run check = agent(env, args.toArray(String[]::new));
    assertEquals(0, check.exit(), check.out() + check.err());
    return CliTest.singleJsonDocument(check.out(), CheckResult.newBuilder()).build();
  }

  @Test
  void withoutCriuCheckSaysWhyAndDumpChangesNothing() throws Exception {
    Map<String, String> noCriu = Map.of("CRIU_BINARY", "/nonexistent/criu");
    Run check = agent(noCriu, "check", "--json");
    assertEquals(1, check.exit());
    CheckResult result = CliTest.singleJsonDocument(check.out(), CheckResult.newBuilder()).build();
    assertFalse(result.getOk());
    assertTrue(result.getProblemsList().stream().anyMatch(p -> p.contains("/nonexistent/criu")), result.toString());

    Run human = agent(noCriu, "check");
    assertEquals(1, human.exit());
    assertTrue(human.out().contains("migration cannot work on this host"), human.out());

    Path images = dir.resolve("images");
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "8M")) {
      Workload.Tick before = workload.lastTick().orElseThrow();
      Run dump = agent(noCriu, "dump", "--pid", Integer.toString(workload.rootPid()), "--images-dir",
          images.toString(), "--json");
      assertEquals(1, dump.exit());
      assertEquals(ErrorKind.CRIU_UNAVAILABLE, error(dump).getKind());
      assertTrue(error(dump).getHint().contains("install-host.sh"), error(dump).getHint());
      assertFalse(Files.exists(images), "nothing was made");
      assertRunning(workload, before);
    }
  }

  @Test
  void badPidsAreUsageErrors() throws Exception {
    Run missing = agent("dump", "--pid", "999999", "--images-dir", dir.resolve("a").toString());
    assertEquals(2, missing.exit());
    assertTrue(missing.err().contains("there is no process 999999"), missing.err());
    Run kernel = agent("dump", "--pid", "2", "--images-dir", dir.resolve("b").toString(), "--json");
    assertEquals(2, kernel.exit());
    assertTrue(error(kernel).getMessage().contains("kernel thread"), kernel.out());
  }

  @Test
  void anUnwritableImagesDirectoryIsRefusedAndTheSourceRunsOn() throws Exception {
    Path readOnly = Files.createDirectory(dir.resolve("read-only"));
    command("mount", "-t", "tmpfs", "-o", "ro,size=1M", "criu-agent-test", readOnly.toString());
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "8M")) {
      Workload.Tick before = workload.lastTick().orElseThrow();
      Run dump = agent("dump", "--pid", Integer.toString(workload.rootPid()), "--images-dir",
          readOnly.resolve("images").toString(), "--leave-stopped");
      assertEquals(2, dump.exit());
      assertTrue(dump.err().contains("cannot write to the images directory"), dump.err());
      assertTrue(dump.err().contains("Read-only file system"), dump.err());
      assertRunning(workload, before);
    } finally {
      command("umount", readOnly.toString());
    }
  }

  @Test
  void aPortInUseFailsThePageServerAndLeavesNothingBehind() throws Exception {
    Path images = dir.resolve("pages");
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Run pageServer = agent("page-server", "--images-dir", images.toString(), "--tmpfs-size", "64M",
          "--port", Integer.toString(taken.getLocalPort()));
      assertEquals(1, pageServer.exit(), pageServer.out());
      assertTrue(pageServer.err().contains("did not start"), pageServer.err());
      assertTrue(pageServer.err().contains("Address already in use"), pageServer.err());
      assertTrue(pageServer.err().contains("is port " + taken.getLocalPort() + " free"), pageServer.err());
    }
    assertNotMounted(images);
    assertFalse(Files.exists(images), "the directory the page server made is gone");
  }

  @Test
  void aSecondPageServerInABusyDirectoryIsRefusedAndTheFirstRunsOn() throws Exception {
    Path images = dir.resolve("busy");
    Run first = agent("page-server", "--images-dir", images.toString(), "--tmpfs-size", "64M", "--detach", "--json");
    assertEquals(0, first.exit(), first.err() + first.out());
    int port = CliTest.singleJsonDocument(first.out(), PageServerResult.newBuilder()).getPort();
    try {
      // A deadline too short for a detached copy to answer: a copy that times out is cleaned up after,
      // which must never touch the directory of another page server. It is refused before it starts.
      Run second = agent("page-server", "--images-dir", images.toString(), "--tmpfs-size", "64M", "--detach",
          "--timeout", "100ms");
      assertEquals(2, second.exit(), second.err());
      assertTrue(second.err().contains("a page server already runs in " + images), second.err());
      Run status = agent("page-server-status", "--images-dir", images.toString());
      assertTrue(status.out().startsWith("running"), status.out());
      assertTrue(Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + images + " "), "still mounted");
    } finally {
      assertEquals(0, agent("cleanup", "--images-dir", images.toString()).exit());
    }
    assertNotMounted(images);
    assertNotListening(port);
  }

  @Test
  void aTmpfsTooSmallFailsTheDumpAndTheSourceRunsOn() throws Exception {
    Path source = dir.resolve("source");
    Path destination = dir.resolve("destination");
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "16M")) {
      Workload.Tick before = workload.lastTick().orElseThrow();
      Run pageServer = agent("page-server", "--images-dir", destination.toString(), "--tmpfs-size", "4M",
          "--detach", "--json");
      assertEquals(0, pageServer.exit(), pageServer.out());
      int port = CliTest.singleJsonDocument(pageServer.out(), PageServerResult.newBuilder()).getPort();

      Run dump = agent("dump", "--pid", Integer.toString(workload.rootPid()), "--images-dir", source.toString(),
          "--page-server", "127.0.0.1:" + port, "--leave-stopped", "--json");
      assertEquals(1, dump.exit(), dump.out());
      AgentError failed = error(dump);
      assertEquals(ErrorKind.CRIU_FAILED, failed.getKind());
      assertTrue(failed.getSourceResumed());
      assertFalse(failed.getCriuLogExcerptList().isEmpty());
      assertRunning(workload, before);

      Run status = agent("page-server-status", "--images-dir", destination.toString());
      assertEquals(1, status.exit());
      assertTrue(status.out().startsWith("failed"), status.out());
      Run restore = agent("restore", "--images-dir", destination.toString());
      assertEquals(2, restore.exit(), "no complete image set: " + restore.err());

      assertEquals(0, agent("cleanup", "--images-dir", destination.toString()).exit());
      assertEquals(0, agent("cleanup", "--images-dir", source.toString()).exit());
      assertNotMounted(destination);
      assertNotListening(port);
    }
  }

  private static void command(String... argv) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IOException(String.join(" ", argv) + " failed: " + output);
    }
  }
}
