package dev.criumigration.agent.cli;

import com.google.protobuf.Message;
import dev.criumigration.agent.protocol.AgentError;
import dev.criumigration.agent.protocol.CheckResult;
import dev.criumigration.agent.protocol.CleanupResult;
import dev.criumigration.agent.protocol.DumpResult;
import dev.criumigration.agent.protocol.DumpStats;
import dev.criumigration.agent.protocol.ImagesResult;
import dev.criumigration.agent.protocol.PageCompression;
import dev.criumigration.agent.protocol.PageRelayStats;
import dev.criumigration.agent.protocol.PageServerResult;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.ProcessInfo;
import dev.criumigration.agent.protocol.RestoreResult;
import dev.criumigration.agent.protocol.SourceResult;
import java.util.Locale;

/** The human-readable form of the agent's results and errors. */
public final class HumanText {
  private HumanText() {}

  public static String of(Message result) {
    if (result instanceof CheckResult check) {
      return check(check);
    }
    if (result instanceof PageServerResult pageServer) {
      return "page server finished: received " + bytes(pageServer.getBytesReceived()) + " into "
          + pageServer.getImagesDir() + " (exit status " + pageServer.getExitStatus() + ")"
          + (pageServer.hasRelay() ? "\n" + relay("relay received", pageServer.getRelay()) : "");
    }
    if (result instanceof PageServerStatus status) {
      return pageServerStatus(status);
    }
    if (result instanceof DumpResult dump) {
      return dump(dump);
    }
    if (result instanceof RestoreResult restore) {
      return "restored: the tree runs again as pid " + restore.getPid() + " (" + seconds(restore.getDurationMillis() * 1000)
          + (restore.hasStats() ? ", CRIU's restore time " + seconds(restore.getStats().getRestoreTimeMicros())
              + ", " + restore.getStats().getPagesRestored() + " pages" : "") + ")";
    }
    if (result instanceof SourceResult source) {
      return source.getAction() + " the tree of process " + source.getPid() + " (" + source.getProcesses()
          + (source.getProcesses() == 1 ? " process)" : " processes)");
    }
    if (result instanceof ImagesResult images) {
      return images(images);
    }
    if (result instanceof CleanupResult cleanup) {
      if (!cleanup.getUnmounted() && !cleanup.getRemoved()) {
        return "nothing to clean up in " + cleanup.getImagesDir();
      }
      return (cleanup.getUnmounted() ? "unmounted the tmpfs on " + cleanup.getImagesDir() + "; " : "")
          + (cleanup.getRemoved() ? "removed what the agent made in " + cleanup.getImagesDir() : "");
    }
    return result.toString();
  }

  public static String error(AgentError error) {
    StringBuilder text = new StringBuilder("criu-agent: ").append(error.getMessage());
    for (String line : error.getCriuLogExcerptList()) {
      text.append("\n  | ").append(line);
    }
    if (!error.getCriuLogPath().isEmpty()) {
      text.append("\n  CRIU's log: ").append(error.getCriuLogPath());
    }
    if (error.getSourceResumed()) {
      text.append("\n  the source runs again");
    }
    if (!error.getHint().isEmpty()) {
      text.append("\n  what to do: ").append(error.getHint());
    }
    return text.toString();
  }

  private static String check(CheckResult check) {
    StringBuilder text = new StringBuilder();
    line(text, "CRIU", check.getCriuPath().isEmpty() ? "not found"
        : check.getCriuVersion() + " at " + check.getCriuPath() + " (criu check: "
            + (check.getCriuCheckPassed() ? "passed" : "FAILED") + ")");
    line(text, "kernel", check.getKernel());
    line(text, "features", "mem_track " + yes(check.getMemTrack()) + ", lazy_pages " + yes(check.getLazyPages())
        + ", hardware breakpoints " + (check.getHardwareBreakpoints() ? "work" : "do not work (CRIU steps around them)"));
    line(text, "tmpfs", yes(check.getTmpfs()));
    line(text, "root", yes(check.getRoot()));
    line(text, "memory", bytes(check.getMemoryAvailableBytes()) + " available");
    line(text, "agent", check.getAgentVersion() + " on Java " + check.getJavaVersion());
    if (check.getOk()) {
      text.append("migration can work on this host");
    } else {
      text.append("migration cannot work on this host:");
      for (String problem : check.getProblemsList()) {
        text.append("\n  - ").append(problem);
      }
    }
    return text.toString();
  }

  private static String pageServerStatus(PageServerStatus status) {
    return switch (status.getState()) {
      case RUNNING -> "running: listening on " + status.getAddress() + ":" + status.getPort() + " (pid " + status.getPid() + ")";
      case FINISHED_OK -> "finished ok: the page server received the whole dump";
      case FAILED -> "failed" + (status.getExitStatus() >= 0 ? " (exit status " + status.getExitStatus() + ")"
          : " (the agent watching it ended first)") + ": its images are incomplete";
      case NOT_STARTED -> "not started: no page server ran in this directory";
      default -> status.getState().toString();
    };
  }

  private static String dump(DumpResult dump) {
    StringBuilder text = new StringBuilder("dumped the tree of process ").append(dump.getPid())
        .append(" (").append(dump.getProcesses()).append(dump.getProcesses() == 1 ? " process" : " processes")
        .append(") into ").append(dump.getImagesDir()).append(" in ").append(seconds(dump.getDurationMillis() * 1000));
    if (dump.hasStats()) {
      DumpStats stats = dump.getStats();
      text.append("\nfrozen ").append(seconds(stats.getFrozenTimeMicros())).append(", ")
          .append(stats.getPagesWritten()).append(" pages (").append(bytes(stats.getBytesWritten()))
          .append(") written at ").append(String.format(Locale.ROOT, "%.1f MB/s", stats.getMegabytesPerSecond()));
    }
    if (dump.hasRelay()) {
      text.append("\n").append(relay("relay sent", dump.getRelay()));
    }
    if (dump.getLeftStopped()) {
      text.append("\nthe source is stopped: criu-agent resume --pid ").append(dump.getPid())
          .append(" or criu-agent kill --pid ").append(dump.getPid());
    } else if (dump.getSourceKilled()) {
      text.append("\nthe source was ended by CRIU (committed)");
    } else {
      text.append("\nthe source keeps running");
    }
    return text.toString();
  }

  private static String relay(String what, PageRelayStats relay) {
    double seconds = relay.getMillis() / 1000.0;
    return String.format(Locale.ROOT, "%s %s in %.2f s (%.1f MB/s, %s on the wire%s, %s)", what,
        bytes(relay.getStreamBytes()), seconds, seconds <= 0 ? 0 : relay.getStreamBytes() / 1e6 / seconds,
        bytes(relay.getWireBytes()), relay.getCompression() == PageCompression.LZ4 ? " with LZ4" : "",
        relay.getTls() ? "TLS 1.3" : "plain TCP");
  }

  private static String images(ImagesResult images) {
    StringBuilder text = new StringBuilder("image set in ").append(images.getImagesDir());
    if (images.getImageVersion() != 0) {
      text.append(" (image version ").append(images.getImageVersion()).append(')');
    }
    text.append("\n").append(images.getImageFiles()).append(" files, ").append(bytes(images.getImageBytes()))
        .append("; pages: ").append(images.getPages()).append(" (").append(bytes(images.getBytes())).append(')');
    if (images.getProcessesCount() > 0) {
      text.append("\nprocesses (PIDs inside the tree's namespace):");
      for (ProcessInfo process : images.getProcessesList()) {
        text.append("\n  pid ").append(process.getPid()).append(" ppid ").append(process.getPpid())
            .append(", ").append(process.getThreads()).append(process.getThreads() == 1 ? " thread" : " threads");
      }
    }
    if (images.hasDumpStats()) {
      DumpStats stats = images.getDumpStats();
      text.append("\ndump: frozen ").append(seconds(stats.getFrozenTimeMicros())).append(", ")
          .append(stats.getPagesWritten()).append(" pages written at ")
          .append(String.format(Locale.ROOT, "%.1f MB/s", stats.getMegabytesPerSecond()));
    }
    if (images.hasRestoreStats()) {
      text.append("\nrestore: ").append(seconds(images.getRestoreStats().getRestoreTimeMicros())).append(", ")
          .append(images.getRestoreStats().getPagesRestored()).append(" pages restored");
    }
    return text.toString();
  }

  private static void line(StringBuilder text, String label, String value) {
    text.append(String.format(Locale.ROOT, "%-10s %s%n", label, value));
  }

  private static String yes(boolean value) {
    return value ? "yes" : "no";
  }

  static String seconds(long micros) {
    return String.format(Locale.ROOT, "%.2f s", micros / 1e6);
  }

  static String bytes(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double value = bytes;
    int unit = -1;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
  }
}
