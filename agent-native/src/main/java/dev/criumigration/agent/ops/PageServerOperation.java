package dev.criumigration.agent.ops;

import dev.criumigration.agent.criu.CriuClient;
import dev.criumigration.agent.criu.CriuOperationException;
import dev.criumigration.agent.criu.rpc.CriuPageServerInfo;
import dev.criumigration.agent.criu.rpc.CriuReq;
import dev.criumigration.agent.criu.rpc.CriuReqType;
import dev.criumigration.agent.criu.rpc.CriuResp;
import dev.criumigration.agent.images.ImageSet;
import dev.criumigration.agent.nativeio.LibC;
import dev.criumigration.agent.nativeio.Mounts;
import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.nativeio.WaitStatus;
import dev.criumigration.agent.ops.records.PageServerRecord;
import dev.criumigration.agent.pagestream.PageServerRelay;
import dev.criumigration.agent.pagestream.RelayTls;
import dev.criumigration.agent.ops.records.ProcessRef;
import dev.criumigration.agent.protocol.AgentError;
import dev.criumigration.agent.protocol.CleanupResult;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.agent.protocol.PageServerRequest;
import dev.criumigration.agent.protocol.PageServerResult;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.PageTransport;
import dev.criumigration.agent.protocol.Progress;
import dev.criumigration.agent.protocol.TlsFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

/**
 * CRIU's page server on the destination: prepares the images directory (created, a tmpfs mounted
 * when a size is given), starts the page server as a child of {@code criu swrk} (PAGE_SERVER_CHLD),
 * reports where it listens, waits for it to end (WAIT_PID) and records its exit status in
 * DIR/.criu-agent/page-server.json for page-server-status and restore. A start that fails undoes
 * the directory; after it listened, the directory stays until cleanup. With detach, a copy of the
 * agent in its own session does all this and the operation returns once it listens.
 */
public final class PageServerOperation implements Operation<PageServerResult> {
  static final String LOG = "criu-page-server.log";
  /** Loopback unless told otherwise: a page server accepts pages from whoever connects first. */
  public static final String DEFAULT_ADDRESS = "127.0.0.1";
  private static final Pattern ADDRESS = Pattern.compile("[0-9.]+|[0-9A-Fa-f:]+");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(1);
  /** How long the relay may take to end after CRIU's page server has. */
  private static final Duration RELAY_GRACE = Duration.ofSeconds(5);

  private final PageServerRequest request;

  public PageServerOperation(PageServerRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofHours(1);
  }

  /** The checked request: the images directory, the tmpfs size (0: none), address and port. */
  record Settings(Path dir, long tmpfsBytes, String address, int port) {}

  Settings settings(ImagesBase base) throws AgentException {
    Path dir = base.imagesDir(request.getImagesDir());
    long tmpfsBytes = request.getTmpfsSize().isBlank() ? 0 : Arguments.parseSize(request.getTmpfsSize());
    String address = request.getAddress().isBlank() ? DEFAULT_ADDRESS : request.getAddress().trim();
    if (!ADDRESS.matcher(address).matches()) {
      throw AgentException.usage("'" + address + "' is not an IP address",
          "give the IP address of this host that the dumping host reaches (CRIU binds to an address, not a name)");
    }
    return new Settings(dir, tmpfsBytes, address, Arguments.checkListenPort(request.getPort()));
  }

  @Override
  public PageServerResult run(OperationContext context) throws AgentException, InterruptedException {
    Settings settings = settings(context.imagesBase());
    PageStreamTls.check(request.getTls(), request.getTlsPem(), true);
    context.criu().binary();  // no CRIU: say so before anything is made
    // Before a detached copy starts: a copy that fails is cleaned up after, which must never touch a
    // directory that another page server or migration is using.
    refuseBusy(settings.dir());
    if (request.getDetach()) {
      return DetachedPageServer.start(request, context);
    }
    boolean relayed = request.getTransport() == PageTransport.AGENT_RELAY;
    RelayTls relayTls = relayed ? PageStreamTls.relayTls(request.getTls(), request.getTlsPem()) : null;
    WorkDir work = prepare(settings, context.listener());
    CriuClient criu = null;
    PageServerRelay relay = null;
    int pageServerPid;
    int port;
    Set<String> before;
    boolean listening = false;
    try {
      before = work.files();
      var opts = CriuOptions.inDirectory(settings.dir(), LOG);
      if (relayed) {
        if (!request.getTlsPem().getPeerCert().isEmpty()) {
          PageStreamTls.files(request.getTls(), request.getTlsPem(), work);  // kept for a later step's dump
        }
        // The agent listens; CRIU's page server reads the stream from its end of a socket pair.
        relay = PageServerRelay.open(settings.address(), settings.port(), relayTls);
        criu = context.criu().start(work.agentFile("criu-page-server.out"), relay.criuEnd());
        relay.criuEnd().close();
        opts.setPs(CriuPageServerInfo.newBuilder().setAddress(settings.address()).setFd(CriuClient.PAGE_STREAM_FD));
      } else {
        TlsFiles tls = PageStreamTls.files(request.getTls(), request.getTlsPem(), work);
        criu = context.criu().start(work.agentFile("criu-page-server.out"));
        opts.setPs(CriuPageServerInfo.newBuilder().setAddress(settings.address()).setPort(settings.port()));
        PageStreamTls.apply(opts, tls);
      }
      CriuResp started = criu.call(CriuReq.newBuilder().setType(CriuReqType.PAGE_SERVER_CHLD).setKeepOpen(true)
              .setOpts(opts).build(),
          min(START_TIMEOUT, context.deadline().remaining()), null, settings.dir().resolve(LOG));
      pageServerPid = started.getPs().getPid();
      port = relayed ? relay.port() : started.getPs().getPort();
      listening = true;
    } catch (CriuOperationException e) {
      throw AgentException.fromCriu("the page server did not start", e, startHint(settings), context.deadline());
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "the page server did not start: " + e.getMessage(),
          relayed ? startHint(settings) : "");
    } finally {
      if (!listening) {
        if (criu != null) {
          criu.close();
        }
        if (relay != null) {
          relay.close();
        }
        undo(settings.dir(), context.listener());
      }
    }

    try (CriuClient swrk = criu; PageServerRelay ignored = relay) {
      PageServerRecord.Builder record = PageServerRecord.newBuilder().setSupervisor(ProcessRefs.self())
          .setStatus(PageServerStatus.newBuilder().setState(PageServerStatus.State.RUNNING)
              .setAddress(settings.address()).setPort(port).setPid(pageServerPid))
          .setPageServer(ProcessRefs.of(pageServerPid).orElse(
              ProcessRef.newBuilder().setPid(pageServerPid).build()));
      work.savePageServer(record.build());
      context.listener().pageServerListening(PageServerListening.newBuilder()
          .setAddress(settings.address()).setPort(port).setPid(pageServerPid).build());
      return awaitEnd(swrk, pageServerPid, port, settings, work, record, before, relay, context);
    }
  }

  /** Waits until the page server ends (or is killed at the deadline or on cancel); records how. */
  private PageServerResult awaitEnd(CriuClient criu, int pageServerPid, int port, Settings settings, WorkDir work,
      PageServerRecord.Builder record, Set<String> before, PageServerRelay relay, OperationContext context)
      throws AgentException, InterruptedException {
    AtomicBoolean timedOut = new AtomicBoolean();
    Runnable killPageServer = () -> {
      try {
        Processes.signal(pageServerPid, LibC.SIGKILL);
      } catch (IOException gone) {
        // it has ended
      }
    };
    if (relay != null) {
      // No dump authenticated in time, or the listener failed: the page server has nothing to wait for.
      relay.startAccepting(context.deadline().remaining(), context.listener()::log, killPageServer);
    }
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "page-server-watch");
      thread.setDaemon(true);
      return thread;
    });
    long started = System.nanoTime();
    timer.schedule(() -> {
      timedOut.set(true);
      killPageServer.run();
    }, context.deadline().remaining().toMillis(), TimeUnit.MILLISECONDS);
    timer.scheduleAtFixedRate(() -> context.listener().progress(received(settings.dir(), started)),
        PROGRESS_INTERVAL.toMillis(), PROGRESS_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    Integer waitStatus = null;
    AgentException failure = null;
    try (Cancellation.Registration ignored = context.cancellation().onCancel(killPageServer)) {
      // Past the deadline the timer has killed the page server: WAIT_PID then answers at once.
      CriuResp ended = criu.call(CriuReq.newBuilder().setType(CriuReqType.WAIT_PID).setPid(pageServerPid).build(),
          context.deadline().remaining().plus(START_TIMEOUT), null, settings.dir().resolve(LOG));
      waitStatus = ended.getStatus();
    } catch (CriuOperationException e) {
      killPageServer.run();
      failure = AgentException.fromCriu("waiting for the page server failed", e, "", context.deadline());
    } catch (IOException e) {
      killPageServer.run();
      failure = AgentException.of(ErrorKind.IO, "waiting for the page server failed: " + e.getMessage(), "");
    } finally {
      timer.shutdownNow();
    }

    long bytes = pageBytes(settings.dir());
    PageServerRelay.Outcome relayed = relay == null ? null : relay.finish(RELAY_GRACE);
    if (failure == null && waitStatus != 0) {
      failure = pageServerFailed(waitStatus, timedOut.get(), context, settings.dir(), relayed);
    }
    PageServerStatus.Builder status = record.getStatusBuilder()
        .setState(failure == null ? PageServerStatus.State.FINISHED_OK : PageServerStatus.State.FAILED)
        .setExitStatus(waitStatus == null ? -1 : exitCode(waitStatus));
    record.setBytesReceived(bytes);
    if (failure != null) {
      record.setError(failure.error());
    }
    work.savePageServer(record.build());
    work.recordCreatedSince(before);
    if (failure != null) {
      throw failure;
    }
    PageServerResult.Builder result = PageServerResult.newBuilder().setImagesDir(settings.dir().toString())
        .setAddress(settings.address()).setPort(port).setExitStatus(0).setTmpfsMounted(work.record().getTmpfsMounted())
        .setBytesReceived(bytes);
    if (relayed != null && relayed.stats() != null) {
      result.setRelay(relayed.stats());
    }
    return result.build();
  }

  private static AgentException pageServerFailed(int waitStatus, boolean timedOut, OperationContext context,
      Path dir, PageServerRelay.Outcome relayed) {
    Path log = dir.resolve(LOG);
    AgentError.Builder error = AgentError.newBuilder().setCriuLogPath(log.toString());
    if (timedOut) {
      error.setKind(ErrorKind.TIMEOUT)
          .setMessage("no dump completed within " + Arguments.formatDuration(context.deadline().total())
              + "; the page server was stopped")
          .setHint("start it closer to the dump, or give it more time with --timeout");
    } else if (context.cancellation().isCancelled()) {
      error.setKind(ErrorKind.CANCELLED)
          .setMessage("the page server was stopped: " + context.cancellation().reason());
    } else if (relayed != null && relayed.failure() != null) {
      error.setKind(ErrorKind.PAGE_SERVER_FAILED)
          .setMessage("the page server failed (" + WaitStatus.describe(waitStatus) + "): its page relay "
              + (relayed.stats() == null ? "took no dump's connection: " : "broke: ") + relayed.failure().getMessage())
          .setHint("the dump's side reports its own cause; see " + log);
    } else {
      error.setKind(ErrorKind.PAGE_SERVER_FAILED)
          .setMessage("the page server failed (" + WaitStatus.describe(waitStatus) + ")")
          .setHint("see " + log + "; a full tmpfs means --tmpfs-size is too small for the tree's memory");
    }
    return new AgentException(error.build());
  }

  private static int exitCode(int waitStatus) {
    return WaitStatus.exited(waitStatus) ? WaitStatus.exitCode(waitStatus) : 128 + WaitStatus.termSignal(waitStatus);
  }

  private static Progress received(Path dir, long started) {
    long bytes = pageBytes(dir);
    return Progress.newBuilder().setStage("receiving pages").setBytes(bytes).setPages(bytes / ImageSet.PAGE_SIZE)
        .setElapsedMillis(Duration.ofNanos(System.nanoTime() - started).toMillis()).build();
  }

  private static long pageBytes(Path dir) {
    long bytes = 0;
    try {
      for (Path file : ImageSet.imageFiles(dir)) {
        if (ImageSet.isPagesImage(file.getFileName().toString())) {
          bytes += Files.size(file);
        }
      }
    } catch (IOException e) {
      // the directory went away (cleanup): nothing received that we can see
    }
    return bytes;
  }

  /**
   * The directory must be new, empty, or the agent's with nothing running in it: a page server
   * writing into a directory of older images would mix two dumps.
   */
  private static void refuseBusy(Path dir) throws AgentException {
    Optional<WorkDir> existing = WorkDir.existing(dir);
    if (existing.isEmpty()) {
      return;
    }
    Optional<PageServerRecord> previous = existing.get().pageServer();
    if (previous.isPresent() && ProcessRefs.alive(previous.get().getSupervisor())
        && previous.get().getStatus().getState() == PageServerStatus.State.RUNNING) {
      throw AgentException.usage("a page server already runs in " + dir + " (pid "
          + previous.get().getPageServer().getPid() + ")", "use another directory, or stop it with criu-agent cleanup");
    }
    try {
      if (!existing.get().files().isEmpty()) {
        throw AgentException.usage(dir + " is not empty",
            "give a new or empty directory; remove the agent's earlier images with criu-agent cleanup --images-dir " + dir);
      }
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot read " + dir + ": " + e.getMessage(), "");
    }
  }

  private static WorkDir prepare(Settings settings, OperationListener listener)
      throws AgentException, InterruptedException {
    Path dir = settings.dir();
    refuseBusy(dir);
    Optional<WorkDir> existing = WorkDir.existing(dir);
    boolean ourTmpfs = false;
    if (existing.isPresent()) {
      try {
        ourTmpfs = existing.get().record().getTmpfsMounted() && Mounts.isTmpfsMountPoint(dir);
      } catch (IOException e) {
        throw AgentException.of(ErrorKind.IO, "cannot read " + dir + ": " + e.getMessage(), "");
      }
    }
    WorkDir work = WorkDir.prepare(dir);
    if (settings.tmpfsBytes() > 0 && !ourTmpfs) {
      try {
        work.mountTmpfs(settings.tmpfsBytes());
      } catch (AgentException e) {
        undo(dir, listener);
        throw e;
      }
      listener.log("mounted a tmpfs of " + settings.tmpfsBytes() + " bytes on " + dir);
    }
    return work;
  }

  /** Removes what a start that failed made: the tmpfs, the directory, the records. */
  private static void undo(Path dir, OperationListener listener) throws InterruptedException {
    try {
      CleanupOperation.clean(dir, listener, CleanupResult.newBuilder());
    } catch (AgentException e) {
      listener.log("could not undo the page server's directory: " + e.getMessage());
    }
  }

  private static String startHint(Settings settings) {
    return "is port " + settings.port() + " free and " + settings.address()
        + " an address of this host? (ss -ltnp; port 0 lets CRIU pick a free port)";
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }
}
