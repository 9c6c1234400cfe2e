package dev.criumigration.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.testing.RequiresRootAndCriu;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's main job, src/demo-migration.sh, run for real against the jar of this build. */
@RequiresRootAndCriu
class DemoScriptIT {
  private static final Path SCRIPT = Path.of("..", "src", "demo-migration.sh").toAbsolutePath().normalize();

  @TempDir Path dir;

  record Run(int exit, String out, String err) {}

  private Run demo(String... args) throws IOException, InterruptedException {
    Path jar = Path.of(System.getProperty("criu.agent.jar", "target/criu-agent.jar")).toAbsolutePath();
    ProcessBuilder builder = new ProcessBuilder(Stream.concat(Stream.of(SCRIPT.toString()), Stream.of(args)).toList());
    builder.environment().put("CRIU_AGENT_JAR", jar.toString());
    Path stdout = dir.resolve("stdout.txt");
    Path stderr = dir.resolve("stderr.txt");
    Process process = builder.redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
    if (!process.waitFor(300, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
      throw new AssertionError("the demo did not finish in 300 s");
    }
    return new Run(process.exitValue(), Files.readString(stdout), Files.readString(stderr));
  }

  @Test
  void theDemoMigratesItsWorkloadAndCleansUp() throws Exception {
    Run demo = demo("--memory", "16M");
    assertEquals(0, demo.exit(), demo.out() + demo.err());
    assertTrue(demo.out().contains("the workload kept its state"), demo.out());
    assertTrue(demo.out().contains("frozen (CRIU's stats-dump)"), demo.out());
    String work = demo.out().lines().findFirst().orElseThrow().replace("criu-agent demo in ", "");
    assertTrue(work.startsWith("/tmp/criu-agent-demo."), demo.out());
    assertNothingLeftOf(work);
  }

  @Test
  void aBadSizeIsAUsageErrorThatSaysWhatToWrite() throws Exception {
    for (List<String> args : List.of(List.of("--memory", "lots"), List.of("--memory", "64"), List.of("--bogus"))) {
      Run demo = demo(args.toArray(String[]::new));
      assertEquals(2, demo.exit(), args + ": " + demo.out() + demo.err());
      assertTrue(demo.err().startsWith("demo: "), demo.err());
      assertFalse(demo.out().contains("criu-agent demo in "), "nothing was started: " + demo.out());
    }
  }

  private static void assertNothingLeftOf(String work) throws IOException {
    assertFalse(Files.exists(Path.of(work)), "the demo removed " + work);
    assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(work), "nothing stays mounted");
    try (Stream<Path> proc = Files.list(Path.of("/proc"))) {
      for (Path process : proc.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
        try {
          assertFalse(Files.readString(process.resolve("cmdline")).contains(work), "a workload still runs: " + process);
        } catch (IOException gone) {
          // exited meanwhile
        }
      }
    }
  }
}
