package dev.criumigration.agent.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.protocol.ImagesResult;
import dev.criumigration.agent.criu.CriuBinary;
import dev.criumigration.agent.testing.TestGate;
import dev.criumigration.agent.testing.Workload;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reader on the images of a real `criu dump` and `criu restore` of the shared workload. */
class RealDumpImagesTest {
  @TempDir Path dir;

  @Test
  void readsWhatCriuWrote() throws Exception {
    CriuBinary criu = TestGate.requireRootAndCriu();
    Path images = Files.createDirectory(dir.resolve("images"));
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "8M", "--children", "1")) {
      // A plain dump kills the source, so the restore below finds its PIDs free.
      criu(criu, "dump", "--tree", Integer.toString(workload.rootPid()), "--images-dir", images.toString(),
          "--log-file", "dump.log", "--network-lock", "nftables");
      Path pidFile = dir.resolve("restored.pid");
      criu(criu, "restore", "--images-dir", images.toString(), "--log-file", "restore.log",
          "--restore-detached", "--pidfile", pidFile.toString());
      workload.alsoKillOnClose(Integer.parseInt(Files.readString(pidFile).trim()));

      ImagesResult result = ImageSet.describe(images);

      assertEquals(2, result.getImageVersion());
      assertEquals(2, result.getProcessesCount(), result.toString());
      assertEquals(1, result.getProcesses(0).getPid(), "the root is its namespace's init");
      assertEquals(0, result.getProcesses(0).getPpid());
      assertEquals(1, result.getProcesses(1).getPpid());
      assertTrue(result.getBytes() >= 2 * (8 << 20), "two processes with 8 MiB each: " + result);
      assertEquals(result.getBytes(), result.getDumpStats().getBytesWritten(),
          "every page CRIU wrote is in pages-*.img");
      assertTrue(result.getDumpStats().getFrozenTimeMicros() > 0);
      assertTrue(result.getDumpStats().getMegabytesPerSecond() > 0);
      assertTrue(result.getRestoreStats().getRestoreTimeMicros() > 0);
      assertTrue(result.getImageFiles() > 10, result.toString());
    }
  }

  private static void criu(CriuBinary criu, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(criu.path().toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IOException(command + " failed: " + output);
    }
  }
}
