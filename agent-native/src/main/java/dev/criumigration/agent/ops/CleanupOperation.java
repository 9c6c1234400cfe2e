package dev.criumigration.agent.ops;

import dev.criumigration.agent.nativeio.LibC;
import dev.criumigration.agent.nativeio.Mounts;
import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.ops.records.PageServerRecord;
import dev.criumigration.agent.ops.records.WorkDirRecord;
import dev.criumigration.agent.protocol.CleanupRequest;
import dev.criumigration.agent.protocol.CleanupResult;
import dev.criumigration.agent.protocol.ErrorKind;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Undoes what the agent made in an images directory: stops a page server still running there,
 * unmounts the tmpfs the agent mounted, and removes the directory if the agent created it, else only
 * the files its operations created. A directory without the agent's record is left alone.
 */
public final class CleanupOperation implements Operation<CleanupResult> {
  private static final Duration SUPERVISOR_EXIT = Duration.ofSeconds(10);
  /** The process title CRIU gives its page server (setproctitle), whichever way it was started. */
  private static final String CRIU_PAGE_SERVER_TITLE = "criu: page-server";

  private final CleanupRequest request;

  public CleanupOperation(CleanupRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofMinutes(1);
  }

  @Override
  public CleanupResult run(OperationContext context) throws AgentException, InterruptedException {
    Path dir = context.imagesBase().imagesDir(request.getImagesDir());
    // Whichever directory: the lock of a source that died while stopped has nobody else to end it.
    NetworkLockRelease.releaseGoneSources(context.listener());
    CleanupResult.Builder result = CleanupResult.newBuilder().setImagesDir(dir.toString());
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      context.listener().log(dir + " does not exist: nothing to clean up");
      return result.build();
    }
    if (!Files.exists(dir.resolve(WorkDir.AGENT_DIR))) {
      throw AgentException.usage(dir + " holds no record of criu-agent: nothing was removed",
          "cleanup removes only what the agent made; remove other directories yourself");
    }
    if (request.getKillRestored() && request.getOnlyIfRestoredRuns()) {
      throw AgentException.usage("kill_restored and only_if_restored_runs contradict each other", "ask for one");
    }
    if (request.getOnlyIfRestoredRuns() && RestoredTree.runningRoot(dir).isEmpty()) {
      throw AgentException.usage("no tree restored from " + dir + " runs, so its images may be the tree's last copy: "
          + "nothing was removed", "restore from them, or remove them with criu-agent cleanup --images-dir " + dir
          + " once nothing needs them");
    }
    if (request.getKillRestored()) {
      killRestored(dir, context.listener(), result);
    }
    clean(dir, context.listener(), result);
    return result.build();
  }

  /** Ends the tree restored from {@code dir}, if it still runs. */
  private static void killRestored(Path dir, OperationListener listener, CleanupResult.Builder result)
      throws AgentException, InterruptedException {
    Optional<Integer> root = RestoredTree.runningRoot(dir);
    if (root.isEmpty()) {
      return;
    }
    RestoredTree.kill(dir, root.get(), SUPERVISOR_EXIT);
    listener.log("killed the tree restored from " + dir + " (pid " + root.get() + ")");
    result.setRestoredKilled(root.get());
  }

  /** Cleans {@code dir}, which holds the agent's record (also used to undo a failed page server start). */
  static void clean(Path dir, OperationListener listener, CleanupResult.Builder result)
      throws AgentException, InterruptedException {
    // A tmpfs the agent mounted hides the directory underneath, which may hold a record of its own.
    while (true) {
      Optional<WorkDir> found = WorkDir.existing(dir);
      if (found.isEmpty() || !Files.exists(dir.resolve(WorkDir.AGENT_DIR))) {
        return;
      }
      WorkDir work = found.get();
      Optional<PageServerRecord> pageServer = work.pageServer();
      if (pageServer.isPresent()) {
        stopPageServer(pageServer.get(), listener);
      }
      stopUnrecordedPageServers(dir, listener);
      WorkDirRecord record = work.record();
      if (record.getTmpfsMounted() && isTmpfsMountPoint(dir)) {
        try {
          Mounts.unmount(dir);
        } catch (IOException e) {
          throw AgentException.of(ErrorKind.IO, "cannot unmount the tmpfs on " + dir + ": " + e.getMessage(),
              "stop what still uses it (fuser -m " + dir + ") and run cleanup again");
        }
        listener.log("unmounted the tmpfs on " + dir);
        result.setUnmounted(true);
        continue;
      }
      try {
        if (record.getCreatedDir()) {
          deleteRecursively(dir);
        } else {
          for (String name : record.getFilesList()) {
            deleteRecursively(dir.resolve(name));
          }
          deleteRecursively(dir.resolve(WorkDir.AGENT_DIR));
        }
      } catch (IOException e) {
        throw AgentException.of(ErrorKind.IO, "cannot remove what the agent made in " + dir + ": " + e.getMessage(), "");
      }
      listener.log(record.getCreatedDir() ? "removed " + dir
          : "removed " + record.getFilesCount() + " files the agent made in " + dir);
      result.setRemoved(true);
      return;
    }
  }

  private static boolean isTmpfsMountPoint(Path dir) throws AgentException {
    try {
      return Mounts.isTmpfsMountPoint(dir);
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot tell whether " + dir + " is a mount point: " + e.getMessage(), "");
    }
  }

  /**
   * Kills CRIU page servers working in {@code dir} that no record names: one whose agent was killed
   * before it could record it would otherwise listen on forever, its tmpfs only detached.
   */
  private static void stopUnrecordedPageServers(Path dir, OperationListener listener)
      throws AgentException, InterruptedException {
    List<Integer> pids;
    try {
      pids = Processes.usingFilesUnder(dir, CRIU_PAGE_SERVER_TITLE);
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot look for page servers working in " + dir + ": " + e.getMessage(),
          "");
    }
    for (int pid : pids) {
      try {
        Processes.signal(pid, LibC.SIGKILL);
      } catch (IOException gone) {
        continue;
      }
      if (!Processes.waitGone(pid, SUPERVISOR_EXIT)) {
        throw AgentException.of(ErrorKind.IO, "the page server " + pid + " working in " + dir + " did not end",
            "kill it by hand and run cleanup again");
      }
      listener.log("killed page server " + pid + ", which no record named, in " + dir);
    }
  }

  /** Kills a page server still serving the directory and waits for the agent that watches it. */
  private static void stopPageServer(PageServerRecord record, OperationListener listener)
      throws AgentException, InterruptedException {
    boolean killed = false;
    if (ProcessRefs.alive(record.getPageServer())) {
      try {
        Processes.signal(record.getPageServer().getPid(), LibC.SIGKILL);
        killed = true;
      } catch (IOException gone) {
        // it ended on its own meanwhile
      }
    }
    if (ProcessRefs.alive(record.getSupervisor())
        && record.getSupervisor().getPid() != ProcessHandle.current().pid()) {
      // It records the page server's end and leaves the directory; give it the time to.
      long end = System.nanoTime() + SUPERVISOR_EXIT.toNanos();
      while (ProcessRefs.alive(record.getSupervisor()) && System.nanoTime() < end) {
        Thread.sleep(20);
      }
      if (ProcessRefs.alive(record.getSupervisor())) {
        try {
          Processes.signal(record.getSupervisor().getPid(), LibC.SIGKILL);
        } catch (IOException gone) {
          // ended just now
        }
      }
    }
    if (killed) {
      listener.log("stopped the page server (pid " + record.getPageServer().getPid() + ")");
    }
  }

  public static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    // walkFileTree does not follow symbolic links: a link is removed, never what it points to.
    Files.walkFileTree(path, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        if (e != null) {
          throw e;
        }
        Files.delete(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
