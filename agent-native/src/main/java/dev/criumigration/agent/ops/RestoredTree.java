package dev.criumigration.agent.ops;

import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.ops.records.ProcessRef;
import dev.criumigration.agent.protocol.ErrorKind;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The tree last restored from an images directory, as the restore recorded it (WorkDirRecord.restored:
 * its root's PID and start time), and ending it when a migration is given up.
 */
final class RestoredTree {
  private RestoredTree() {}

  /** The recorded root, whether or not it still runs. */
  static Optional<ProcessRef> recorded(Path dir) throws AgentException {
    Optional<WorkDir> work = WorkDir.existing(dir);
    return work.isPresent() && work.get().record().hasRestored()
        ? Optional.of(work.get().record().getRestored()) : Optional.empty();
  }

  /** The root of the tree restored from {@code dir}, if it still runs (the very process: its start time matches). */
  static Optional<Integer> runningRoot(Path dir) throws AgentException {
    return recorded(dir).filter(ProcessRefs::alive).map(ProcessRef::getPid);
  }

  /**
   * SIGKILLs the tree of {@code pid}, its root first (a PID namespace's init takes its namespace with
   * it), and waits up to {@code wait} until the root is gone.
   */
  static void kill(Path dir, int pid, Duration wait) throws AgentException, InterruptedException {
    try {
      Processes.killTree(pid);
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot kill the tree restored from " + dir + " (pid " + pid + "): "
          + e.getMessage(), "kill it by hand before resuming its source");
    }
    if (!Processes.waitGone(pid, wait)) {
      throw AgentException.of(ErrorKind.IO, "the tree restored from " + dir + " (pid " + pid + ") did not end",
          "kill it by hand before resuming its source");
    }
  }
}
