package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.ops.records.ProcessRef;
import dev.criumigration.agent.protocol.CleanupRequest;
import dev.criumigration.agent.protocol.ErrorKind;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A clean-up that gives up a migration whose source is gone keeps images that may be the last copy. */
class CleanupOperationTest {
  @TempDir Path dir;

  private static CleanupOperation onlyIfRestoredRuns(Path images) {
    return new CleanupOperation(CleanupRequest.newBuilder().setImagesDir(images.toString())
        .setOnlyIfRestoredRuns(true).build());
  }

  /** Images as a restore left them, with the restored root recorded. */
  private static Path imagesRestoredAs(Path images, ProcessRef root) throws Exception {
    WorkDir work = WorkDir.prepare(images);
    Files.writeString(images.resolve("core-1.img"), "core");
    work.recordCreatedSince(java.util.Set.of());
    work.recordRestored(root);
    return images;
  }

  @Test
  void imagesWhoseRestoredTreeRunsAreRemoved() throws Exception {
    // This JVM stands in for the restored root: the very process, its start time recorded.
    Path images = imagesRestoredAs(dir.resolve("migrated"), ProcessRefs.self());
    Harness.run(onlyIfRestoredRuns(images));
    assertFalse(Files.exists(images));
  }

  @Test
  void imagesWithoutARunningRestoredTreeAreKept() throws Exception {
    Path neverRestored = dir.resolve("never-restored");
    WorkDir.prepare(neverRestored);
    Files.writeString(neverRestored.resolve("core-1.img"), "core");
    // A root whose start time does not match is another process, or none: not the restored tree.
    Path ended = imagesRestoredAs(dir.resolve("ended"), ProcessRefs.self().toBuilder()
        .setStartTime(ProcessRefs.self().getStartTime() + 1).build());
    for (Path images : new Path[] {neverRestored, ended}) {
      AgentException refused = assertThrows(AgentException.class, () -> Harness.run(onlyIfRestoredRuns(images)));
      assertEquals(ErrorKind.USAGE, refused.kind());
      assertTrue(refused.getMessage().contains("may be the tree's last copy: nothing was removed"),
          refused.getMessage());
      assertTrue(Files.exists(images.resolve("core-1.img")), "the images are kept");
    }
  }

  @Test
  void aDirectoryAlreadyRemovedIsNothingToKeep() throws Exception {
    Harness.run(onlyIfRestoredRuns(dir.resolve("gone")));
  }

  @Test
  void killingAndKeepingTheRestoredTreeAtOnceIsRefused() throws Exception {
    Path images = imagesRestoredAs(dir.resolve("both"), ProcessRefs.self());
    AgentException refused = assertThrows(AgentException.class, () -> Harness.run(new CleanupOperation(
        CleanupRequest.newBuilder().setImagesDir(images.toString()).setKillRestored(true)
            .setOnlyIfRestoredRuns(true).build())));
    assertEquals(ErrorKind.USAGE, refused.kind());
    assertTrue(Files.exists(images.resolve("core-1.img")));
  }
}
