package dev.criumigration.agent.ops;

import dev.criumigration.agent.ops.records.ProcessRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A PID plus its start time, so a record written earlier can tell "still the same process" from "the
 * PID was reused". (nativeio's Processes has no start time; this reads /proc/PID/stat itself.)
 */
final class ProcessRefs {
  private ProcessRefs() {}

  /** The process now holding {@code pid}, or empty when there is none. */
  static Optional<ProcessRef> of(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // Fields after the parenthesised command name, which may itself contain spaces and ')'.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
      char state = fields[0].charAt(0);
      if (state == 'Z' || state == 'X') {
        return Optional.empty();
      }
      // field 22 of stat is starttime; fields[] starts at field 3
      return Optional.of(ProcessRef.newBuilder().setPid((int) pid)
          .setStartTime(Long.parseLong(fields[22 - 3])).build());
    } catch (IOException | RuntimeException gone) {
      return Optional.empty();
    }
  }

  static ProcessRef self() {
    return of(ProcessHandle.current().pid()).orElseThrow();
  }

  /** True while the very process of {@code ref} runs (not a zombie, not a reused PID). */
  static boolean alive(ProcessRef ref) {
    return ref.getPid() > 0 && of(ref.getPid()).map(now -> now.equals(ref)).orElse(false);
  }
}
