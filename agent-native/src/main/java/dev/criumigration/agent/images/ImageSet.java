package dev.criumigration.agent.images;

import dev.criumigration.agent.criu.images.DumpStatsEntry;
import dev.criumigration.agent.criu.images.InventoryEntry;
import dev.criumigration.agent.criu.images.PstreeEntry;
import dev.criumigration.agent.criu.images.RestoreStatsEntry;
import dev.criumigration.agent.criu.images.StatsEntry;
import dev.criumigration.agent.protocol.DumpStats;
import dev.criumigration.agent.protocol.ImagesResult;
import dev.criumigration.agent.protocol.ProcessInfo;
import dev.criumigration.agent.protocol.RestoreStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** What a directory of CRIU images holds: processes, pages, sizes and CRIU's statistics. */
public final class ImageSet {
  /**
   * The page size the pages-*.img files are written in. CRIU writes whole pages of the dumping host;
   * the agent supports x86_64, whose pages are 4 KiB.
   */
  public static final int PAGE_SIZE = 4096;

  public static final String INVENTORY = "inventory.img";
  public static final String PSTREE = "pstree.img";
  public static final String STATS_DUMP = "stats-dump";
  public static final String STATS_RESTORE = "stats-restore";

  private ImageSet() {}

  /**
   * Describes the image set in {@code dir}. Files that are absent leave their part of the result
   * empty (a page server's directory has pages but no pstree yet); files that are present but
   * damaged are an error.
   */
  public static ImagesResult describe(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw Files.exists(dir) ? new NotDirectoryException(dir.toString())
          : new NoSuchFileException(dir.toString(), null, "no such directory");
    }
    ImagesResult.Builder result = ImagesResult.newBuilder().setImagesDir(dir.toString());
    long pageBytes = 0;
    long imageFiles = 0;
    long imageBytes = 0;
    for (Path file : imageFiles(dir)) {
      long size = Files.size(file);
      imageFiles++;
      imageBytes += size;
      if (isPagesImage(file.getFileName().toString())) {
        pageBytes += size;
      }
    }
    result.setPages(pageBytes / PAGE_SIZE).setBytes(pageBytes)
        .setImageFiles(imageFiles).setImageBytes(imageBytes);
    if (Files.exists(dir.resolve(INVENTORY))) {
      result.setImageVersion(inventory(dir).getImgVersion());
    }
    if (Files.exists(dir.resolve(PSTREE))) {
      result.addAllProcesses(processes(dir));
    }
    dumpStats(dir).ifPresent(result::setDumpStats);
    restoreStats(dir).ifPresent(result::setRestoreStats);
    return result.build();
  }

  /** The regular files in {@code dir} that CRIU wrote: *.img and its stats-* files. */
  public static List<Path> imageFiles(Path dir) throws IOException {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.filter(Files::isRegularFile)
          .filter(file -> isImageName(file.getFileName().toString()))
          .sorted()
          .toList();
    }
  }

  public static boolean isImageName(String name) {
    return name.endsWith(".img") || name.equals(STATS_DUMP) || name.equals(STATS_RESTORE);
  }

  /** pages-N.img: the memory contents, which travel through the page server, never by copy. */
  public static boolean isPagesImage(String name) {
    return name.startsWith("pages-") && name.endsWith(".img");
  }

  public static InventoryEntry inventory(Path dir) throws IOException {
    return ImageFile.readSingle(dir.resolve(INVENTORY), ImageFile.INVENTORY_MAGIC,
        InventoryEntry.parser());
  }

  /** The dumped tree, root first, with PIDs as its own PID namespace sees them. */
  public static List<ProcessInfo> processes(Path dir) throws IOException {
    List<ProcessInfo> processes = new ArrayList<>();
    for (PstreeEntry entry : ImageFile.readEntries(dir.resolve(PSTREE), ImageFile.PSTREE_MAGIC,
        PstreeEntry.parser())) {
      processes.add(ProcessInfo.newBuilder().setPid(entry.getPid()).setPpid(entry.getPpid())
          .setThreads(Math.max(1, entry.getThreadsCount())).build());
    }
    return processes;
  }

  /** CRIU's stats-dump, absent until a dump has finished. */
  public static Optional<DumpStats> dumpStats(Path dir) throws IOException {
    Path file = dir.resolve(STATS_DUMP);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    StatsEntry stats = ImageFile.readSingle(file, ImageFile.STATS_MAGIC, StatsEntry.parser());
    if (!stats.hasDump()) {
      throw new ImageFormatException(file, "has no dump statistics");
    }
    return Optional.of(toDumpStats(stats.getDump()));
  }

  /** CRIU's stats-restore, absent until a restore has finished. */
  public static Optional<RestoreStats> restoreStats(Path dir) throws IOException {
    Path file = dir.resolve(STATS_RESTORE);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    StatsEntry stats = ImageFile.readSingle(file, ImageFile.STATS_MAGIC, StatsEntry.parser());
    if (!stats.hasRestore()) {
      throw new ImageFormatException(file, "has no restore statistics");
    }
    return Optional.of(toRestoreStats(stats.getRestore()));
  }

  static DumpStats toDumpStats(DumpStatsEntry entry) {
    long bytesWritten = entry.getPagesWritten() * PAGE_SIZE;
    // CRIU's times are unsigned 32-bit microseconds.
    long memwriteMicros = Integer.toUnsignedLong(entry.getMemwriteTime());
    return DumpStats.newBuilder()
        .setFreezingTimeMicros(Integer.toUnsignedLong(entry.getFreezingTime()))
        .setFrozenTimeMicros(Integer.toUnsignedLong(entry.getFrozenTime()))
        .setMemdumpTimeMicros(Integer.toUnsignedLong(entry.getMemdumpTime()))
        .setMemwriteTimeMicros(memwriteMicros)
        .setPagesScanned(entry.getPagesScanned())
        .setPagesWritten(entry.getPagesWritten())
        .setBytesWritten(bytesWritten)
        // bytes per microsecond is megabytes (10^6) per second
        .setMegabytesPerSecond(memwriteMicros == 0 ? 0 : (double) bytesWritten / memwriteMicros)
        .build();
  }

  static RestoreStats toRestoreStats(RestoreStatsEntry entry) {
    return RestoreStats.newBuilder()
        .setForkingTimeMicros(Integer.toUnsignedLong(entry.getForkingTime()))
        .setRestoreTimeMicros(Integer.toUnsignedLong(entry.getRestoreTime()))
        .setPagesRestored(entry.getPagesRestored())
        .build();
  }
}
