package dev.criumigration.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.criumigration.agent.protocol.AgentError;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.ImagesResult;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line in-process: exit codes, messages, --help, and the shape of --json. */
class CliTest {
  @TempDir Path dir;

  record Run(int exit, String out, String err) {}

  static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = AgentMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** stdout is exactly one JSON object, and it is a {@code builder}'s message. */
  static <B extends Message.Builder> B singleJsonDocument(String out, B builder) throws IOException {
    String text = out.strip();
    assertTrue(text.startsWith("{") && text.endsWith("}"), "one JSON object expected: " + out);
    int depth = 0;
    boolean inString = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (inString) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          inString = false;
        }
      } else if (c == '"') {
        inString = true;
      } else if (c == '{') {
        depth++;
      } else if (c == '}' && --depth == 0 && i != text.length() - 1) {
        throw new AssertionError("more than one JSON document: " + out);
      }
    }
    JsonFormat.parser().merge(text, builder);
    return builder;
  }

  static void assertNoStackTrace(Run run) {
    for (String text : new String[] {run.out(), run.err()}) {
      assertFalse(text.contains("Exception") || text.contains("\tat "), "stack trace printed: " + text);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"check", "page-server", "page-server-status", "dump", "restore", "resume", "kill",
      "images", "cleanup", "serve"})
  void everyCommandHasHelpWithExamples(String command) {
    Run run = run(command, "--help");
    assertEquals(0, run.exit());
    assertTrue(run.out().contains("Usage: criu-agent " + command), run.out());
    assertTrue(run.out().contains("Example"), run.out());
  }

  @Test
  void aBadDurationIsAUsageErrorWithWhatToDo() {
    Run run = run("dump", "--pid", "4242", "--images-dir", dir.toString(), "--timeout", "5 minutes");
    assertEquals(2, run.exit());
    assertTrue(run.err().contains("not a duration"), run.err());
    assertTrue(run.err().contains("30s"), run.err());
    assertNoStackTrace(run);
  }

  @Test
  void aMissingOptionIsAUsageError() {
    Run run = run("dump", "--images-dir", dir.toString());
    assertEquals(2, run.exit());
    assertTrue(run.err().contains("--pid"), run.err());
  }

  @Test
  void anUnknownCommandIsAUsageError() {
    assertEquals(2, run("migrate-everything").exit());
    assertEquals(2, run().exit());
  }

  @Test
  void usageErrorsInJsonModeAreOneAgentErrorDocument() throws IOException {
    Run run = run("page-server", "--images-dir", dir.toString(), "--port", "70000", "--json");
    assertEquals(2, run.exit());
    AgentError error = singleJsonDocument(run.out(), AgentError.newBuilder()).build();
    assertEquals(ErrorKind.USAGE, error.getKind());
    assertTrue(error.getMessage().contains("70000"), error.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"2", "1", "999999999", "0", "-7"})
  void pidsThatMustNeverBeDumpedAreRefused(String pid) throws IOException {
    Path images = dir.resolve("images");
    Run run = run("dump", "--pid", pid, "--images-dir", images.toString(), "--json");
    assertEquals(2, run.exit(), run.out());
    AgentError error = singleJsonDocument(run.out(), AgentError.newBuilder()).build();
    assertEquals(ErrorKind.USAGE, error.getKind());
    assertFalse(error.getHint().isEmpty());
    assertFalse(Files.exists(images), "nothing is made for bad input");
  }

  @Test
  void theAgentRefusesToDumpItselfOrItsParents() {
    Run run = run("dump", "--pid", Long.toString(ProcessHandle.current().pid()), "--images-dir", dir.toString());
    assertEquals(2, run.exit());
    assertTrue(run.err().contains("the agent itself"), run.err());
    long parent = ProcessHandle.current().parent().orElseThrow().pid();
    assertEquals(2, run("kill", "--pid", Long.toString(parent)).exit());
  }

  @Test
  void killRefusesARunningProcess() throws Exception {
    Process sleeper = new ProcessBuilder("sleep", "60").start();
    try {
      Run run = run("kill", "--pid", Long.toString(sleeper.pid()));
      assertEquals(2, run.exit());
      assertTrue(run.err().contains("not stopped"), run.err());
      assertTrue(sleeper.isAlive());
    } finally {
      sleeper.destroyForcibly().waitFor();
    }
  }

  @Test
  void aBadTmpfsSizeIsRefusedBeforeAnythingIsMade() {
    Path images = dir.resolve("pages");
    Run run = run("page-server", "--images-dir", images.toString(), "--tmpfs-size", "lots");
    assertEquals(2, run.exit());
    assertTrue(run.err().contains("not a size"), run.err());
    assertFalse(Files.exists(images));
  }

  @Test
  void restoreRefusesAnIncompleteImageSet() {
    Run run = run("restore", "--images-dir", dir.toString());
    assertEquals(2, run.exit());
    assertTrue(run.err().contains("inventory.img"), run.err());
  }

  @Test
  void cleanupLeavesADirectoryWithoutTheAgentsRecordAlone() throws IOException {
    Files.writeString(dir.resolve("precious.txt"), "keep me");
    Run run = run("cleanup", "--images-dir", dir.toString());
    assertEquals(2, run.exit());
    assertTrue(Files.exists(dir.resolve("precious.txt")));
  }

  @Test
  void imagesPrintsOneJsonDocumentWithEveryField() throws IOException {
    Files.write(dir.resolve("pages-1.img"), new byte[8192]);
    Run run = run("images", "--images-dir", dir.toString(), "--json");
    assertEquals(0, run.exit(), run.err());
    ImagesResult result = singleJsonDocument(run.out(), ImagesResult.newBuilder()).build();
    assertEquals(2, result.getPages());
    // Defaults are printed too, with the .proto's field names: consumers need not know proto3's rules.
    assertTrue(run.out().contains("\"image_version\": 0"), run.out());
    assertTrue(run.out().contains("\"processes\": []"), run.out());
  }

  @Test
  void imagesPrintsHumanTextByDefault() throws IOException {
    Files.write(dir.resolve("pages-1.img"), new byte[8192]);
    Run run = run("images", "--images-dir", dir.toString());
    assertEquals(0, run.exit());
    assertTrue(run.out().contains("pages: 2"), run.out());
  }

  @Test
  void pageServerStatusOfAnEmptyDirectoryIsNotStarted() throws IOException {
    Run run = run("page-server-status", "--images-dir", dir.toString(), "--json");
    assertEquals(1, run.exit());
    assertTrue(run.out().contains("\"state\": \"NOT_STARTED\""), run.out());
  }
}
