package dev.criumigration.agent.ops;

import dev.criumigration.agent.criu.CriuClient;
import dev.criumigration.agent.criu.CriuOperationException;
import dev.criumigration.agent.criu.rpc.CriuOpts;
import dev.criumigration.agent.criu.rpc.CriuReq;
import dev.criumigration.agent.criu.rpc.CriuReqType;
import dev.criumigration.agent.criu.rpc.CriuResp;
import dev.criumigration.agent.images.ImageSet;
import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.Progress;
import dev.criumigration.agent.protocol.RestoreRequest;
import dev.criumigration.agent.protocol.RestoreResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

/**
 * Restores the tree of an images directory. Refuses when the page server that received its pages did
 * not record success. The restored tree is CRIU's child, which passes to init when CRIU exits, so it
 * outlives the agent. Success means its root process was seen running; a cancel that arrives while
 * CRIU restores kills the restored tree afterwards (its source will be resumed by its owner).
 */
public final class RestoreOperation implements Operation<RestoreResult> {
  static final String LOG = "criu-restore.log";
  private static final Duration ALIVE_CHECK = Duration.ofMillis(100);

  private final RestoreRequest request;

  public RestoreOperation(RestoreRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofMinutes(30);
  }

  @Override
  public RestoreResult run(OperationContext context) throws AgentException, InterruptedException {
    long started = System.nanoTime();
    Path dir = context.imagesBase().imagesDir(request.getImagesDir());
    if (!Files.isDirectory(dir)) {
      throw AgentException.usage(dir + " does not exist", "give the directory the images were put into");
    }
    for (String required : new String[] {ImageSet.INVENTORY, ImageSet.PSTREE}) {
      if (!Files.exists(dir.resolve(required))) {
        throw AgentException.usage(dir + " holds no " + required + ": not a complete image set",
            "copy the non-page images from the source's images directory into it first");
      }
    }
    checkPageServer(dir);

    CriuOpts.Builder opts = CriuOptions.inDirectory(dir, LOG)
        .setTcpEstablished(request.getTcpEstablished())
        .setShellJob(request.getShellJob())
        .setExtUnixSk(request.getExtUnixSk())
        .setNetworkLock(CriuOptions.networkLock(request.getNetworkLock()))
        .setNotifyScripts(true);
    context.criu().binary();  // no CRIU: say so before anything is made
    WorkDir work = WorkDir.prepare(dir);
    Set<String> before;
    try {
      before = work.files();
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot list " + dir + ": " + e.getMessage(), "");
    }
    context.listener().progress(progress("restoring", started));
    int pid;
    try (CriuClient criu = context.criu().start(work.agentFile("criu-restore.out"))) {
      CriuResp restored = criu.call(CriuReq.newBuilder().setType(CriuReqType.RESTORE).setOpts(opts).build(),
          context.deadline().remaining(), (script, notifyPid) -> {
            context.listener().progress(progress(script, started));
            return true;
          }, dir.resolve(LOG));
      pid = restored.getRestore().getPid();
    } catch (CriuOperationException e) {
      throw AgentException.fromCriu("the restore failed", e, restoreHint(e), context.deadline());
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "talking to CRIU failed: " + e.getMessage(), "");
    } finally {
      work.recordCreatedSince(before);
    }

    if (context.cancellation().isCancelled()) {
      killRestored(pid, context);
      throw AgentException.of(ErrorKind.CANCELLED, "the restore was cancelled ("
          + context.cancellation().reason() + "); the restored tree (pid " + pid + ") was killed", "");
    }
    // A tree that dies right after CRIU let it go (a missing file, a refused connection) is no restore.
    Thread.sleep(ALIVE_CHECK.toMillis());
    if (!SourceProcess.awaitRunning(pid, Duration.ZERO)) {
      throw AgentException.of(ErrorKind.CRIU_FAILED, "the restored tree's root (pid " + pid
          + ") is not running after the restore", "see " + dir.resolve(LOG) + " and the workload's own logs");
    }
    ProcessRefs.of(pid).ifPresent(root -> {
      try {
        work.recordRestored(root);
      } catch (AgentException e) {
        context.listener().log("cannot record the restored tree in " + dir + ": " + e.getMessage());
      }
    });
    RestoreResult.Builder result = RestoreResult.newBuilder().setPid(pid)
        .setDurationMillis(Duration.ofNanos(System.nanoTime() - started).toMillis());
    try {
      ImageSet.restoreStats(dir).ifPresent(result::setStats);
    } catch (IOException e) {
      context.listener().log("cannot read the restore's statistics: " + e.getMessage());
    }
    return result.build();
  }

  private static String restoreHint(CriuOperationException e) {
    String log = String.join("\n", e.logExcerpt());
    if (log.contains("File exists") || log.contains("Address already in use")) {
      return "the tree's PIDs or ports are taken on this host: run the workload in its own PID (and network)"
          + " namespace, or restore where the source does not run; the source (if left stopped) can be"
          + " resumed with criu-agent resume";
    }
    return "see CRIU's log; the source (if left stopped) can be resumed with criu-agent resume";
  }

  private void checkPageServer(Path dir) throws AgentException {
    PageServerStatus status = PageServerStatusOperation.status(dir);
    switch (status.getState()) {
      case FINISHED_OK -> { }
      case NOT_STARTED -> {
        if (request.getRequirePageServerOk()) {
          throw AgentException.of(ErrorKind.PAGE_SERVER_FAILED, "no page server recorded an outcome in " + dir,
              "start the page server with criu-agent page-server --images-dir " + dir + " before the dump");
        }
      }
      case RUNNING -> throw AgentException.of(ErrorKind.PAGE_SERVER_FAILED,
          "the page server of " + dir + " is still running: the dump has not finished sending pages",
          "restore after the dump has finished (criu-agent page-server-status says finished ok)");
      default -> throw AgentException.of(ErrorKind.PAGE_SERVER_FAILED,
          "the page server of " + dir + " failed (" + PageServerStatusOperation.failure(dir)
              + "): its pages are incomplete", "resume the source and migrate again");
    }
  }

  private static void killRestored(int pid, OperationContext context) throws InterruptedException {
    try {
      Processes.killTree(pid);
      Processes.waitGone(pid, Duration.ofSeconds(10));
    } catch (IOException e) {
      context.listener().log("could not kill the restored tree " + pid + ": " + e.getMessage());
    }
  }

  private static Progress progress(String stage, long started) {
    return Progress.newBuilder().setStage(stage)
        .setElapsedMillis(Duration.ofNanos(System.nanoTime() - started).toMillis()).build();
  }
}
