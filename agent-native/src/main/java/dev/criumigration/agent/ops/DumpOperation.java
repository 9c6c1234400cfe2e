package dev.criumigration.agent.ops;

import dev.criumigration.agent.criu.CriuClient;
import dev.criumigration.agent.criu.CriuOperationException;
import dev.criumigration.agent.criu.rpc.CriuOpts;
import dev.criumigration.agent.criu.rpc.CriuPageServerInfo;
import dev.criumigration.agent.criu.rpc.CriuReq;
import dev.criumigration.agent.criu.rpc.CriuReqType;
import dev.criumigration.agent.images.ImageSet;
import dev.criumigration.agent.ops.records.ProcessRef;
import dev.criumigration.agent.ops.records.StoppedSource;
import dev.criumigration.agent.pagestream.PageRelay;
import dev.criumigration.agent.pagestream.RelayTls;
import dev.criumigration.agent.protocol.CommitDecision;
import dev.criumigration.agent.protocol.DumpRequest;
import dev.criumigration.agent.protocol.DumpResult;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.Frozen;
import dev.criumigration.agent.protocol.PageTransport;
import dev.criumigration.agent.protocol.Progress;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Checkpoints the tree rooted at a PID. The source's fate is always explicit: with leave_stopped it
 * waits, stopped, for resume or kill; with commit_point it waits frozen inside CRIU's post-dump for
 * the controller's decision; otherwise it keeps running (CRIU's leave_running). A dump never kills a
 * source except on a commit. Whenever the dump fails or is cancelled, the source runs again.
 */
public final class DumpOperation implements Operation<DumpResult> {
  static final String LOG = "criu-dump.log";

  private final DumpRequest request;

  public DumpOperation(DumpRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofMinutes(30);
  }

  @Override
  public DumpResult run(OperationContext context) throws AgentException, InterruptedException {
    long started = System.nanoTime();
    if (request.getLeaveStopped() && request.getCommitPoint()) {
      throw AgentException.usage("leave_stopped and commit_point exclude each other",
          "use leave_stopped for the step-by-step flow, commit_point when one controller owns the migration");
    }
    int pid = SourceProcess.check(request.getPid());
    Path dir = context.imagesBase().imagesDir(request.getImagesDir());
    CriuOpts.Builder opts = CriuOptions.inDirectory(dir, LOG)
        .setPid(pid)
        .setLeaveStopped(request.getLeaveStopped())
        .setLeaveRunning(!request.getLeaveStopped() && !request.getCommitPoint())
        .setTcpEstablished(request.getTcpEstablished())
        .setShellJob(request.getShellJob())
        .setExtUnixSk(request.getExtUnixSk())
        .setNetworkLock(CriuOptions.networkLock(request.getNetworkLock()))
        .setNotifyScripts(true);
    boolean relayed = request.getTransport() == PageTransport.AGENT_RELAY;
    Arguments.HostPort pageServer = null;
    if (!request.getPageServerHost().isEmpty()) {
      pageServer = Arguments.parseHostPort(request.getPageServerHost() + ":" + request.getPageServerPort());
      // Relayed, CRIU writes into its end of a socket pair; the agent dials the page server's agent.
      opts.setPs(relayed
          ? CriuPageServerInfo.newBuilder().setAddress(pageServer.host()).setFd(CriuClient.PAGE_STREAM_FD)
          : CriuPageServerInfo.newBuilder().setAddress(pageServer.host()).setPort(pageServer.port()));
    } else if (relayed) {
      throw AgentException.usage("the agent relay needs the page server's address",
          "give --page-server HOST:PORT (where the page server's agent listens)");
    }
    PageStreamTls.check(request.getTls(), request.getTlsPem(), false);
    RelayTls relayTls = relayed ? PageStreamTls.relayTls(request.getTls(), request.getTlsPem()) : null;
    context.criu().binary();  // no CRIU: say so before anything is made

    if (Files.exists(dir.resolve(ImageSet.INVENTORY))) {
      throw AgentException.usage(dir + " already holds an image set",
          "dump into an empty directory, or remove the old images with criu-agent cleanup --images-dir " + dir);
    }
    WorkDir work = WorkDir.prepare(dir);
    List<Integer> tree = SourceProcess.tree(pid);
    boolean ownNetwork = NetworkLockRelease.ownNetworkNamespace(pid);
    Path log = dir.resolve(LOG);
    Set<String> before = listFiles(work);
    Notifications notifications = new Notifications(context, pid, started);
    context.listener().progress(progress("dumping", started));
    // Relayed: connected and authenticated before CRIU starts, so a wrong certificate freezes nothing.
    PageRelay relay = relayed ? DumpRelay.start(pageServer, relayTls, request.getRelay(), context) : null;
    try (Closeable ignored = relay == null ? () -> {} : relay::close;
         Closeable progressReports = relay == null ? () -> {} : DumpRelay.reportProgress(relay, context)) {
      runCriu(opts, pid, dir, tree, ownNetwork, log, work, before, notifications, relay, context);
      if (relay != null) {
        DumpRelay.awaitEnd(relay, context);
      }
    } catch (IOException e) {
      throw new IllegalStateException("closing the page relay threw", e);  // neither closer throws
    }
    return finish(pid, dir, tree, ownNetwork, log, started, relay, context);
  }

  /** Runs CRIU's dump; a failure resumes the source and says why. */
  private void runCriu(CriuOpts.Builder opts, int pid, Path dir, List<Integer> tree, boolean ownNetwork, Path log,
      WorkDir work, Set<String> before, Notifications notifications, PageRelay relay, OperationContext context)
      throws AgentException, InterruptedException {
    if (relay == null) {
      PageStreamTls.apply(opts, PageStreamTls.files(request.getTls(), request.getTlsPem(), work));
    }
    try (CriuClient criu = context.criu().start(work.agentFile("criu-dump.out"),
        relay == null ? null : relay.criuEnd())) {
      if (relay != null) {
        relay.criuEnd().close();  // CRIU holds its copy: its exit is the relay's end of stream
      }
      notifications.criu = criu;
      criu.call(CriuReq.newBuilder().setType(CriuReqType.DUMP).setOpts(opts).build(),
          context.deadline().remaining(), notifications, log);
    } catch (CriuOperationException e) {
      // CRIU unlocks the network itself when it fails, but not when it was killed.
      releaseNetworkLock(pid, ownNetwork, log, context);
      boolean resumed = SourceProcess.resumeWhatIsStopped(pid, tree, context.listener());
      if (notifications.aborted != null) {
        throw AgentException.of(notifications.abortKind, notifications.aborted,
            notifications.abortKind == ErrorKind.TIMEOUT ? "give the controller more time with the timeout" : "")
            .withSourceResumed(resumed);
      }
      String what = tlsFailed(e) ? "the dump of process " + pid + " failed in the TLS handshake with the page server"
          : relay != null && relay.failure() != null
              ? "the dump of process " + pid + " failed: the page relay broke (" + relay.failure().getMessage() + ")"
              : "the dump of process " + pid + " failed";
      AgentException failed = AgentException.fromCriu(what, e, hint(e), context.deadline());
      if (tlsFailed(e) && failed.kind() == ErrorKind.CRIU_FAILED) {
        failed = failed.withKind(ErrorKind.TLS_HANDSHAKE);  // a typed cause: the controller names the certificates
      }
      throw failed.withSourceResumed(resumed);
    } catch (IOException e) {
      releaseNetworkLock(pid, ownNetwork, log, context);
      boolean resumed = SourceProcess.resumeWhatIsStopped(pid, tree, context.listener());
      throw AgentException.of(notifications.aborted != null ? notifications.abortKind : ErrorKind.IO,
          notifications.aborted != null ? notifications.aborted : "talking to CRIU failed: " + e.getMessage(), "")
          .withSourceResumed(resumed);
    } finally {
      PageStreamTls.remove(work);  // CRIU has read them; the key need not wait for the cleanup
      work.recordCreatedSince(before);
    }
  }

  /** After CRIU's successful dump: the source's fate as asked, and the result. */
  private DumpResult finish(int pid, Path dir, List<Integer> tree, boolean ownNetwork, Path log, long started,
      PageRelay relay, OperationContext context) throws AgentException, InterruptedException {
    if (request.getLeaveStopped() && context.cancellation().isCancelled()) {
      // The dump finished while the session went away: nobody will decide the source's fate.
      releaseNetworkLock(pid, ownNetwork, log, context);
      boolean resumed = SourceProcess.resumeWhatIsStopped(pid, tree, context.listener());
      throw AgentException.of(ErrorKind.CANCELLED,
          "the dump was cancelled (" + context.cancellation().reason() + ")", "")
          .withSourceResumed(resumed);
    }
    if (request.getLeaveStopped()) {
      if (!SourceProcess.awaitStopped(pid, Duration.ofSeconds(5))) {
        context.listener().log("process " + pid + " is not stopped although CRIU left it so: did something continue it?");
      }
      Optional<ProcessRef> root = ProcessRefs.of(pid);
      if (root.isPresent()) {
        NetworkLockRelease.rememberStopped(StoppedSource.newBuilder().setRoot(root.get())
            .setCriuRunId(NetworkLockRelease.runId(log).orElse("")).setOwnNetworkNamespace(ownNetwork)
            .setNetworkLock(request.getNetworkLock()).setImagesDir(dir.toString()).build(), context.listener());
      }
    } else if (request.getCommitPoint()) {
      // CRIU ended the source but leaves its lock table for a restore on this host; there is none.
      releaseNetworkLock(pid, ownNetwork, log, context);
    }
    DumpResult.Builder result = DumpResult.newBuilder()
        .setPid(pid)
        .setImagesDir(dir.toString())
        .setLeftStopped(request.getLeaveStopped())
        .setSourceKilled(request.getCommitPoint())
        .setDurationMillis(Duration.ofNanos(System.nanoTime() - started).toMillis());
    try {
      ImageSet.dumpStats(dir).ifPresent(result::setStats);
      result.setProcesses(ImageSet.processes(dir).size());
    } catch (IOException e) {
      context.listener().log("cannot read the dump's statistics: " + e.getMessage());
    }
    if (relay != null) {
      // CRIU disconnected from the page server before it answered: the stream had ended.
      result.setRelay(relay.stats());
    }
    return result.build();
  }


  private void releaseNetworkLock(int pid, boolean ownNetwork, Path log, OperationContext context)
      throws InterruptedException {
    NetworkLockRelease.release(pid, ownNetwork, NetworkLockRelease.runId(log).orElse(""), request.getNetworkLock(),
        context.listener());
  }

  private static Set<String> listFiles(WorkDir work) throws AgentException {
    try {
      return work.files();
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot list " + work.dir() + ": " + e.getMessage(), "");
    }
  }

  /** CRIU's TLS code logged an error: certificates the page server and the dump do not agree on. */
  private static boolean tlsFailed(CriuOperationException e) {
    return e.logExcerpt().stream().anyMatch(line -> line.contains("Error (criu/tls.c") && (line.contains("handshake")
        || line.contains("certificate") || line.contains("verify") || line.contains("trusted")));
  }

  private String hint(CriuOperationException e) {
    String log = String.join("\n", e.logExcerpt());
    if (tlsFailed(e)) {
      return "the TLS handshake with the page server failed: both sides need certificates of the same CA, "
          + "each naming the page server's address " + request.getPageServerHost() + " (CRIU checks it on both sides)";
    }
    if (!request.getPageServerHost().isEmpty()
        && (log.contains("Connection refused") || log.contains("Can't connect"))) {
      return "is the page server listening on " + request.getPageServerHost() + ":"
          + request.getPageServerPort() + "? start it with criu-agent page-server on the destination";
    }
    if (log.contains("ESTABLISHED") || log.contains("established")) {
      return "the tree has established TCP connections: dump with --tcp-established";
    }
    return "see CRIU's log for the cause; the source was not changed";
  }

  private static Progress progress(String stage, long started) {
    return Progress.newBuilder().setStage(stage)
        .setElapsedMillis(Duration.ofNanos(System.nanoTime() - started).toMillis()).build();
  }

  /** CRIU's notifications: progress, and the commit point at post-dump. */
  private final class Notifications implements CriuClient.NotifyHandler {
    private final OperationContext context;
    private final int pid;
    private final long started;
    private long frozenSinceMillis;
    /** The CRIU of this dump: while the tree waits at the commit point, its death must end the wait. */
    CriuClient criu;
    /** Set when post-dump was answered with failure: why, and of which kind. */
    String aborted;
    ErrorKind abortKind;

    Notifications(OperationContext context, int pid, long started) {
      this.context = context;
      this.pid = pid;
      this.started = started;
    }

    @Override
    public boolean onNotify(String script, int notifyPid) throws InterruptedException {
      switch (script) {
        case "pre-dump" -> {
          frozenSinceMillis = System.currentTimeMillis();
          context.listener().progress(progress("freezing", started));
        }
        case "network-lock" -> context.listener().progress(progress("network locked", started));
        case "post-dump" -> {
          context.listener().progress(progress("frozen, images written", started));
          return postDump();
        }
        default -> context.listener().log("CRIU notification: " + script);
      }
      return true;
    }

    /** The tree is frozen and every image written: go on, or make CRIU resume the source. */
    private boolean postDump() throws InterruptedException {
      if (context.cancellation().isCancelled()) {
        return abort(ErrorKind.CANCELLED, "the dump was cancelled (" + context.cancellation().reason()
            + ") before it finished; CRIU resumed the source");
      }
      if (!request.getCommitPoint()) {
        return true;
      }
      Frozen frozen = Frozen.newBuilder().setPid(pid).setFrozenSinceEpochMillis(frozenSinceMillis).build();
      Optional<CommitDecision> decision;
      Thread waiter = Thread.currentThread();
      Thread watchdog = watchCriu(waiter);
      try (Cancellation.Registration ignored = context.cancellation().onCancel(waiter::interrupt)) {
        decision = context.listener().awaitDecision(frozen, context.deadline().remaining());
      } catch (InterruptedException e) {
        decision = Optional.empty();
      } finally {
        watchdog.interrupt();
        awaitEnd(watchdog);
      }
      // A cancel or the watchdog that raced with the answer must not interrupt the rest of CRIU's call.
      Thread.interrupted();
      if (context.cancellation().isCancelled()) {
        return abort(ErrorKind.CANCELLED, "the dump was cancelled at the commit point ("
            + context.cancellation().reason() + "); CRIU resumed the source");
      }
      if (!criu.isAlive()) {
        return abort(ErrorKind.CRIU_FAILED, "CRIU ended while the tree waited at the commit point");
      }
      if (decision.isEmpty()) {
        return abort(ErrorKind.TIMEOUT, "no commit decision came before the deadline; CRIU resumed the source");
      }
      if (!decision.get().getCommit()) {
        return abort(ErrorKind.CANCELLED, "the controller aborted at the commit point; CRIU resumed the source");
      }
      context.listener().progress(progress("committed: CRIU ends the source", started));
      return true;
    }

    /** Joins {@code thread}; an interrupt meanwhile is cleared by the caller anyway. */
    private static void awaitEnd(Thread thread) {
      while (thread.isAlive()) {
        try {
          thread.join();
        } catch (InterruptedException raced) {
          // the watchdog's own interrupt of this thread, or a cancel: both are handled after
        }
      }
    }

    /**
     * Interrupts {@code waiter} if CRIU dies (killed) while the tree waits at the commit point: the
     * failure is then reported at once - the controller must not restore a tree whose source runs.
     */
    private Thread watchCriu(Thread waiter) {
      Thread watchdog = new Thread(() -> {
        try {
          while (criu.isAlive()) {
            Thread.sleep(100);
          }
          waiter.interrupt();
        } catch (InterruptedException decided) {
          // the wait is over
        }
      }, "commit-point-watchdog");
      watchdog.setDaemon(true);
      watchdog.start();
      return watchdog;
    }

    private boolean abort(ErrorKind kind, String why) {
      aborted = why;
      abortKind = kind;
      return false;
    }
  }
}
