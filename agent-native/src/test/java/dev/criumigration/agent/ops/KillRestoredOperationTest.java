package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.DumpRequest;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.KillRestoredRequest;
import dev.criumigration.agent.protocol.KillRestoredResult;
import dev.criumigration.agent.protocol.RestoreRequest;
import dev.criumigration.agent.protocol.SourceRequest;
import dev.criumigration.agent.testing.RequiresRootAndCriu;
import dev.criumigration.agent.testing.Workload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kill_restored ends only the tree that the directory's record names, on a really restored tree. */
@RequiresRootAndCriu
class KillRestoredOperationTest {
  @TempDir Path dir;

  private static KillRestoredResult killRestored(Path images, int pid) throws Exception {
    return Harness.run(new KillRestoredOperation(KillRestoredRequest.newBuilder()
        .setImagesDir(images.toString()).setPid(pid).build()));
  }

  @Test
  void onlyTheRecordedRestoredTreeIsKilled() throws Exception {
    Path images = dir.resolve("images");
    try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "8M", "--children", "1")) {
      workload.awaitTickAfter(-1, Duration.ofSeconds(20)).orElseThrow();
      int source = workload.rootPid();
      Harness.run(new DumpOperation(DumpRequest.newBuilder().setPid(source).setImagesDir(images.toString())
          .setLeaveStopped(true).build()));
      int restored = Harness.run(new RestoreOperation(RestoreRequest.newBuilder()
          .setImagesDir(images.toString()).build())).getPid();
      workload.alsoKillOnClose(restored);
      List<Integer> restoredTree = Processes.tree(restored);
      assertEquals(2, restoredTree.size(), "the root and its child were restored");

      // The stopped source is not what this directory restored: refused, nothing killed.
      AgentException notRecorded = assertThrows(AgentException.class, () -> killRestored(images, source));
      assertEquals(ErrorKind.USAGE, notRecorded.kind());
      assertTrue(notRecorded.getMessage().contains("has the root " + restored + ", not " + source),
          notRecorded.getMessage());
      Path unrecorded = dir.resolve("unrecorded");
      WorkDir.prepare(unrecorded);
      AgentException noRecord = assertThrows(AgentException.class, () -> killRestored(unrecorded, restored));
      assertEquals(ErrorKind.USAGE, noRecord.kind());
      assertTrue(Processes.exists(source) && Processes.exists(restored), "nothing was killed");
      Harness.run(new SourceOperation(SourceOperation.Action.KILL, SourceRequest.newBuilder().setPid(source).build()));

      assertEquals(KillRestoredResult.newBuilder().setPid(restored).setKilled(true).build(),
          killRestored(images, restored));
      for (int pid : restoredTree) {
        assertFalse(Processes.exists(pid), "pid " + pid + " of the restored tree is gone");
      }
      assertFalse(killRestored(images, restored).getKilled(), "gone already: nothing to kill");
    } finally {
      Harness.cleanup(images);
      Harness.cleanup(dir.resolve("unrecorded"));
    }
  }
}
