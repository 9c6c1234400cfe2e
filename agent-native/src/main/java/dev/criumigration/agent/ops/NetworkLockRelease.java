package dev.criumigration.agent.ops;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.ops.records.ProcessRef;
import dev.criumigration.agent.ops.records.StoppedSource;
import dev.criumigration.agent.protocol.NetworkLock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Undoes CRIU's nftables network lock where CRIU leaves it: after a dump with leave_stopped (the
 * restore is meant to take over), after a commit (the source is gone, its lock table is not), and
 * after CRIU was killed mid-dump. A resumed source must be reachable again, and no lock table may
 * pile up on the host. CRIU names the table after its run id, which its log's first lines give.
 *
 * <p>Sources left stopped are remembered in /run/criu-agent/stopped/PID.json, so resume and kill,
 * which get only a PID, know which lock to release.
 */
final class NetworkLockRelease {
  private static final Path STOPPED = Path.of("/run/criu-agent/stopped");
  private static final Pattern RUN_ID = Pattern.compile("CRIU run id = (\\S+)");
  /** CRIU's table name buffer is 32 bytes with "inet CRIU-" and the NUL: 21 characters of the id. */
  private static final int RUN_ID_CHARS = 21;

  private NetworkLockRelease() {}

  /**
   * The run id of the request CRIU logged: the last one in its log, since `criu swrk` logs its own
   * before the request's.
   */
  static Optional<String> runId(Path criuLog) {
    try (var lines = Files.lines(criuLog, StandardCharsets.ISO_8859_1)) {
      return lines.map(RUN_ID::matcher).filter(Matcher::find).map(m -> m.group(1)).reduce((first, last) -> last);
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  static boolean ownNetworkNamespace(int pid) {
    try {
      return Processes.ownNetNamespace(pid);
    } catch (IOException gone) {
      return false;
    }
  }

  /**
   * Deletes the lock table of CRIU run {@code runId}: in the tree's own network namespace while its
   * root lives (with it the namespace ends), or in ours.
   */
  static void release(int rootPid, boolean ownNamespace, String runId, NetworkLock lock, OperationListener listener)
      throws InterruptedException {
    if (lock == NetworkLock.SKIP || runId.isEmpty()) {
      return;
    }
    if (lock == NetworkLock.IPTABLES) {
      listener.log("CRIU's iptables network lock is not released by the agent; remove its CRIU chain by hand");
      return;
    }
    List<String> command = new ArrayList<>();
    if (ownNamespace) {
      if (!ProcessRefs.of(rootPid).isPresent()) {
        return;  // its namespace, and the lock in it, ended with the tree
      }
      command.addAll(List.of("nsenter", "--net=/proc/" + rootPid + "/ns/net", "--"));
    }
    String table = "CRIU-" + runId.substring(0, Math.min(RUN_ID_CHARS, runId.length()));
    command.addAll(List.of("nft", "delete", "table", "inet", table));
    try {
      Process nft = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(nft.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!nft.waitFor(10, TimeUnit.SECONDS)) {
        nft.destroyForcibly();
        listener.log("nft did not answer; CRIU's network lock " + table + " may remain");
      } else if (nft.exitValue() == 0) {
        listener.log("released CRIU's network lock (nftables table " + table + ")");
      } else if (!output.contains("No such file or directory")) {
        listener.log("could not release CRIU's network lock " + table + ": " + output);
      }
    } catch (IOException e) {
      listener.log("cannot run nft to release CRIU's network lock " + table + " (install nftables): " + e.getMessage());
    }
  }

  /**
   * Forgets the stopped sources that are gone, releasing the lock of those that shared our network
   * namespace: a source that died while stopped (killed by hand, OOM) leaves CRIU's table behind.
   * The lock of a source with a namespace of its own ended with it.
   */
  static void releaseGoneSources(OperationListener listener) throws InterruptedException {
    List<Path> records;
    try (var files = Files.list(STOPPED)) {
      records = files.filter(f -> f.getFileName().toString().matches("\\d+\\.json")).toList();
    } catch (IOException none) {
      return;  // nothing was remembered
    }
    for (Path file : records) {
      try {
        StoppedSource.Builder source = StoppedSource.newBuilder();
        JsonFormat.parser().ignoringUnknownFields().merge(Files.readString(file), source);
        if (ProcessRefs.alive(source.getRoot())) {
          continue;
        }
        if (!source.getOwnNetworkNamespace()) {
          release(source.getRoot().getPid(), false, source.getCriuRunId(), source.getNetworkLock(), listener);
        }
        Files.deleteIfExists(file);
      } catch (IOException unreadable) {
        listener.log("cannot read " + file + ": " + unreadable.getMessage());
      }
    }
  }

  /** Remembers a source left stopped, for resume and kill; forgets those that are gone. */
  static void rememberStopped(StoppedSource source, OperationListener listener) throws InterruptedException {
    releaseGoneSources(listener);
    try {
      Files.createDirectories(STOPPED);
      Path file = STOPPED.resolve(source.getRoot().getPid() + ".json");
      Path temporary = Files.createTempFile(STOPPED, file.getFileName().toString(), ".tmp");
      Files.writeString(temporary, JsonFormat.printer().preservingProtoFieldNames().print(source));
      Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      listener.log("cannot remember the stopped source in " + STOPPED + ": " + e.getMessage()
          + "; resume will not release CRIU's network lock");
    }
  }

  /** The record of the source now holding {@code pid}, if the agent left it stopped. */
  static Optional<StoppedSource> stopped(int pid) {
    Path file = STOPPED.resolve(pid + ".json");
    try {
      StoppedSource.Builder source = StoppedSource.newBuilder();
      JsonFormat.parser().ignoringUnknownFields().merge(Files.readString(file), source);
      Optional<ProcessRef> now = ProcessRefs.of(pid);
      if (now.isPresent() && now.get().equals(source.getRoot())) {
        return Optional.of(source.build());
      }
      // About a process that is gone: releaseGoneSources releases its lock and forgets it.
    } catch (InvalidProtocolBufferException e) {
      forget(pid);
    } catch (IOException none) {
      // not ours
    }
    return Optional.empty();
  }

  static void forget(int pid) {
    try {
      Files.deleteIfExists(STOPPED.resolve(pid + ".json"));
    } catch (IOException e) {
      // /run is not writable: nothing was remembered either
    }
  }
}
