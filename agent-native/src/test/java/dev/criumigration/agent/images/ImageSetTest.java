package dev.criumigration.agent.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.MessageLite;
import dev.criumigration.agent.criu.images.DumpStatsEntry;
import dev.criumigration.agent.criu.images.InventoryEntry;
import dev.criumigration.agent.criu.images.PstreeEntry;
import dev.criumigration.agent.criu.images.RestoreStatsEntry;
import dev.criumigration.agent.criu.images.StatsEntry;
import dev.criumigration.agent.protocol.ImagesResult;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reader on image files written the way CRIU writes them (see RealDumpImagesTest for CRIU's). */
class ImageSetTest {
  @TempDir Path dir;

  static byte[] image(int[] magics, MessageLite... entries) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int magic : magics) {
      out.writeBytes(le(magic));
    }
    for (MessageLite entry : entries) {
      byte[] bytes = entry.toByteArray();
      out.writeBytes(le(bytes.length));
      out.writeBytes(bytes);
    }
    return out.toByteArray();
  }

  static byte[] le(int value) {
    return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
  }

  private void writeSampleSet() throws IOException {
    // inventory.img carries its magic alone; other images put the common or service magic first.
    Files.write(dir.resolve("inventory.img"), image(new int[] {ImageFile.INVENTORY_MAGIC},
        InventoryEntry.newBuilder().setImgVersion(2).build()));
    Files.write(dir.resolve("pstree.img"),
        image(new int[] {ImageFile.IMG_COMMON_MAGIC, ImageFile.PSTREE_MAGIC},
            PstreeEntry.newBuilder().setPid(1).setPpid(0).setPgid(1).setSid(1).addThreads(1)
                .addThreads(7).build(),
            PstreeEntry.newBuilder().setPid(42).setPpid(1).setPgid(1).setSid(1).addThreads(42)
                .build()));
    Files.write(dir.resolve("stats-dump"),
        image(new int[] {ImageFile.IMG_SERVICE_MAGIC, ImageFile.STATS_MAGIC},
            StatsEntry.newBuilder().setDump(DumpStatsEntry.newBuilder().setFreezingTime(100)
                .setFrozenTime(2_000_000).setMemdumpTime(1_500_000).setMemwriteTime(1_000_000)
                .setPagesScanned(3000).setPagesSkippedParent(0).setPagesWritten(2048)
                .setPagesLazy(0)).build()));
    Files.write(dir.resolve("stats-restore"),
        image(new int[] {ImageFile.IMG_SERVICE_MAGIC, ImageFile.STATS_MAGIC},
            StatsEntry.newBuilder().setRestore(RestoreStatsEntry.newBuilder().setPagesCompared(0)
                .setPagesSkippedCow(0).setForkingTime(300).setRestoreTime(400_000)
                .setPagesRestored(2048)).build()));
    Files.write(dir.resolve("pages-1.img"), new byte[3 * ImageSet.PAGE_SIZE]);
    Files.write(dir.resolve("pages-2.img"), new byte[ImageSet.PAGE_SIZE]);
    Files.writeString(dir.resolve("dump.log"), "not an image");
  }

  @Test
  void describesProcessesPagesAndStats() throws IOException {
    writeSampleSet();
    ImagesResult result = ImageSet.describe(dir);

    assertEquals(2, result.getImageVersion());
    assertEquals(2, result.getProcessesCount());
    assertEquals(1, result.getProcesses(0).getPid());
    assertEquals(2, result.getProcesses(0).getThreads());
    assertEquals(42, result.getProcesses(1).getPid());
    assertEquals(1, result.getProcesses(1).getPpid());
    assertEquals(4, result.getPages());
    assertEquals(4L * ImageSet.PAGE_SIZE, result.getBytes());
    assertEquals(6, result.getImageFiles(), "the log is not an image");
    assertEquals(2_000_000, result.getDumpStats().getFrozenTimeMicros());
    assertEquals(2048L * 4096, result.getDumpStats().getBytesWritten());
    // 8 MiB in one second
    assertEquals(8.388608, result.getDumpStats().getMegabytesPerSecond(), 1e-9);
    assertEquals(400_000, result.getRestoreStats().getRestoreTimeMicros());
    assertEquals(2048, result.getRestoreStats().getPagesRestored());
  }

  @Test
  void aPageServerDirectoryHasPagesButNoTree() throws IOException {
    Files.write(dir.resolve("pages-1.img"), new byte[ImageSet.PAGE_SIZE]);
    ImagesResult result = ImageSet.describe(dir);
    assertEquals(1, result.getPages());
    assertEquals(0, result.getProcessesCount());
    assertFalse(result.hasDumpStats());
  }

  @Test
  void refusesAWrongMagic() throws IOException {
    Files.write(dir.resolve("pstree.img"),
        image(new int[] {ImageFile.IMG_COMMON_MAGIC, ImageFile.INVENTORY_MAGIC}));
    ImageFormatException e = assertThrows(ImageFormatException.class, () -> ImageSet.describe(dir));
    assertTrue(e.getMessage().contains("magic"), e.getMessage());
  }

  @Test
  void refusesATruncatedEntry() throws IOException {
    writeSampleSet();
    byte[] pstree = Files.readAllBytes(dir.resolve("pstree.img"));
    Files.write(dir.resolve("pstree.img"), Arrays.copyOf(pstree, pstree.length - 3));
    ImageFormatException e = assertThrows(ImageFormatException.class, () -> ImageSet.describe(dir));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
  }

  @Test
  void refusesGarbageInsideAnEntry() throws IOException {
    byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff};
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(le(ImageFile.IMG_SERVICE_MAGIC));
    out.writeBytes(le(ImageFile.STATS_MAGIC));
    out.writeBytes(le(garbage.length));
    out.writeBytes(garbage);
    Files.write(dir.resolve("stats-dump"), out.toByteArray());
    assertThrows(ImageFormatException.class, () -> ImageSet.describe(dir));
  }

  @Test
  void aMissingDirectoryIsNamed() {
    NoSuchFileException e = assertThrows(NoSuchFileException.class,
        () -> ImageSet.describe(dir.resolve("absent")));
    assertTrue(e.getMessage().contains("absent"));
  }
}
