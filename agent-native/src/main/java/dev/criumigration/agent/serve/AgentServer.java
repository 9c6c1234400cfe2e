package dev.criumigration.agent.serve;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.criumigration.agent.ops.AgentException;
import dev.criumigration.agent.ops.Cancellation;
import dev.criumigration.agent.ops.CleanupOperation;
import dev.criumigration.agent.ops.CriuLauncher;
import dev.criumigration.agent.ops.Deadline;
import dev.criumigration.agent.ops.ImagesBase;
import dev.criumigration.agent.ops.Operation;
import dev.criumigration.agent.ops.OperationContext;
import dev.criumigration.agent.ops.OperationListener;
import dev.criumigration.agent.protocol.AgentError;
import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.CleanupRequest;
import dev.criumigration.agent.protocol.CommitDecision;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.Frozen;
import dev.criumigration.agent.protocol.LogLine;
import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.agent.protocol.Progress;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code criu-agent serve}: length-delimited AgentRequests on stdin, AgentEvents on stdout, nothing
 * else on stdout. One operation runs at a time; while it runs the controller may send a CancelRequest
 * for it, and a commit_point dump that reported Frozen also takes its CommitDecision and, meanwhile,
 * the read-only requests fetch_images, images and page_server_status (to carry the images across
 * while the source waits) and process_tree, host_facts and process_state (cheap looks at /proc). Any other request is refused with a USAGE error. Closing stdin cancels
 * the running operation (a frozen source is resumed, a page server is stopped), waits for what runs
 * to finish, removes the directories of the session that nobody can use any more, and ends the server.
 */
public final class AgentServer {
  private final InputStream requests;
  private final OutputStream events;
  private final PrintStream log;
  private final CriuLauncher criu = new CriuLauncher();
  private final ImagesBase imagesBase;
  /**
   * Directories this session made that are worthless once it ends (the controller is gone): a page
   * server's that is not detached, a commit_point dump's, a leave_stopped dump's that did not succeed,
   * one that put_images created. Removed when stdin closes; a cleanup request takes one off.
   */
  private final Set<Path> sessionDirs = ConcurrentHashMap.newKeySet();
  private final Object writeLock = new Object();
  /** How long the removal of the session's directories may take once the controller is gone. */
  private static final Duration SESSION_CLEANUP = Duration.ofSeconds(60);
  private boolean eventsBroken;
  private Running running;
  /** Read-only requests running beside a frozen dump, with their cancel switches (a process_state may wait). */
  private final Map<Thread, Cancellation> besideFrozen = new HashMap<>();

  public AgentServer(InputStream requests, OutputStream events, PrintStream log, ImagesBase imagesBase) {
    this.requests = requests;
    this.events = events;
    this.log = log;
    this.imagesBase = imagesBase;
  }

  /** The operation in progress: its request, its cancel switch, the decision it may wait for. */
  private record Running(long id, boolean commitPoint, Cancellation cancellation,
      CompletableFuture<CommitDecision> decision, Thread thread, AtomicBoolean frozen) {}

  private static final Set<AgentRequest.OperationCase> READ_ONLY = EnumSet.of(
      AgentRequest.OperationCase.FETCH_IMAGES, AgentRequest.OperationCase.IMAGES,
      AgentRequest.OperationCase.PAGE_SERVER_STATUS, AgentRequest.OperationCase.PROCESS_TREE,
      AgentRequest.OperationCase.HOST_FACTS, AgentRequest.OperationCase.PROCESS_STATE);

  /** Serves until stdin closes; 0, or 2 when the input was not a stream of AgentRequests. */
  public int serve() throws InterruptedException {
    int exit = 0;
    while (true) {
      AgentRequest request;
      try {
        request = AgentRequest.parseDelimitedFrom(requests);
      } catch (InvalidProtocolBufferException e) {
        send(AgentEvent.newBuilder().setError(AgentError.newBuilder().setKind(ErrorKind.USAGE)
            .setMessage("stdin is not a stream of length-delimited AgentRequests: " + e.getMessage())
            .setHint("write each request with writeDelimitedTo")).build());
        exit = 2;
        break;
      } catch (IOException e) {
        log.println("criu-agent serve: reading stdin failed: " + e.getMessage());
        break;
      }
      if (request == null) {
        break;
      }
      handle(request);
    }
    finishOnEndOfInput();
    return exit;
  }

  private void handle(AgentRequest request) {
    switch (request.getOperationCase()) {
      case DECISION -> decide(request);
      case CANCEL -> cancel(request);
      default -> start(request);
    }
  }

  private synchronized void decide(AgentRequest request) {
    CommitDecision decision = request.getDecision();
    if (running == null || !running.commitPoint() || running.id() != decision.getDumpRequestId()) {
      sendError(request.getId(), AgentException.usage("no commit_point dump with id " + decision.getDumpRequestId()
          + " is running", "send the decision for the dump request that reported Frozen"));
      return;
    }
    log.println("criu-agent serve: request " + running.id() + ": " + (decision.getCommit() ? "commit" : "abort"));
    running.decision().complete(decision);
  }

  private synchronized void cancel(AgentRequest request) {
    long target = request.getCancel().getRequestId();
    if (running == null || running.id() != target) {
      sendError(request.getId(), AgentException.usage("no request " + target + " is running",
          "cancel the request that is running"));
      return;
    }
    log.println("criu-agent serve: request " + target + ": cancelled by the controller");
    running.cancellation().cancel("cancelled by the controller");
  }

  private synchronized void start(AgentRequest request) {
    boolean beside = running != null && running.frozen().get() && READ_ONLY.contains(request.getOperationCase());
    if (running != null && !beside) {
      sendError(request.getId(), AgentException.usage("request " + running.id() + " is still running",
          "wait for its result (one operation at a time), or cancel it"));
      return;
    }
    Operation<? extends Message> operation;
    try {
      operation = Jobs.of(request);
    } catch (AgentException e) {
      sendError(request.getId(), e);
      return;
    }
    Duration timeout = request.getTimeoutMillis() > 0 ? Duration.ofMillis(request.getTimeoutMillis())
        : operation.defaultTimeout();
    Cancellation cancellation = new Cancellation();
    CompletableFuture<CommitDecision> decision = new CompletableFuture<>();
    AtomicBoolean frozen = new AtomicBoolean();
    OperationContext context = new OperationContext(Deadline.after(timeout), cancellation,
        new EventListener(request.getId(), decision, frozen), criu, imagesBase);
    Path sessionDir = sessionDir(request);
    if (sessionDir != null) {
      sessionDirs.add(sessionDir);
    }
    Thread thread = new Thread(() -> execute(request, operation, context, !beside),
        "request-" + request.getId());
    if (beside) {
      besideFrozen.put(thread, cancellation);
    } else {
      running = new Running(request.getId(), request.hasDump() && request.getDump().getCommitPoint(),
          cancellation, decision, thread, frozen);
    }
    log.println("criu-agent serve: request " + request.getId() + ": " + request.getOperationCase().name().toLowerCase());
    thread.start();
  }

  private void execute(AgentRequest request, Operation<? extends Message> operation, OperationContext context,
      boolean main) {
    AgentEvent.Builder event = AgentEvent.newBuilder().setRequestId(request.getId());
    try {
      event.setResult(Jobs.wrap(operation.run(context)));
      keptAfterSuccess(request);
    } catch (AgentException e) {
      event.setError(e.error());
    } catch (InterruptedException e) {
      event.setError(AgentError.newBuilder().setKind(ErrorKind.CANCELLED).setMessage("interrupted"));
    } catch (RuntimeException e) {
      e.printStackTrace(log);
      event.setError(AgentError.newBuilder().setKind(ErrorKind.INTERNAL).setMessage("internal error: " + e)
          .setHint("see the agent's stderr; please report it"));
    }
    synchronized (this) {
      if (main) {
        running = null;
      } else {
        besideFrozen.remove(Thread.currentThread());
      }
      // The result goes out only after the next request can be accepted: a controller that reacts
      // to it at once must not be told "busy".
      send(event.build());
    }
  }

  /** stdin closed: the controller is gone. Put the running operation back and wait for it. */
  private void finishOnEndOfInput() throws InterruptedException {
    List<Thread> threads;
    synchronized (this) {
      threads = new ArrayList<>(besideFrozen.keySet());
      besideFrozen.values().forEach(beside -> beside.cancel("the controller's connection closed"));
      if (running != null) {
        log.println("criu-agent serve: stdin closed; cancelling request " + running.id());
        running.cancellation().cancel("the controller's connection closed");
        threads.add(running.thread());
      }
    }
    for (Thread thread : threads) {
      thread.join();
    }
    removeSessionDirs();
  }

  /** The directory {@code request} makes that is worthless without this session, or null. */
  private Path sessionDir(AgentRequest request) {
    try {
      return switch (request.getOperationCase()) {
        case PAGE_SERVER -> request.getPageServer().getDetach() ? null
            : imagesBase.imagesDir(request.getPageServer().getImagesDir());
        case DUMP -> request.getDump().getCommitPoint() || request.getDump().getLeaveStopped()
            ? imagesBase.imagesDir(request.getDump().getImagesDir()) : null;
        case PUT_IMAGES -> {
          Path dir = imagesBase.imagesDir(request.getPutImages().getImagesDir());
          yield Files.exists(dir) ? null : dir;
        }
        default -> null;
      };
    } catch (AgentException e) {
      return null;  // the operation refuses the directory itself
    }
  }

  /** A leave_stopped dump that succeeded is kept for the restore; a directory cleaned up is gone. */
  private void keptAfterSuccess(AgentRequest request) {
    try {
      if (request.hasDump() && request.getDump().getLeaveStopped()) {
        sessionDirs.remove(imagesBase.imagesDir(request.getDump().getImagesDir()));
      } else if (request.hasCleanup()) {
        sessionDirs.remove(imagesBase.imagesDir(request.getCleanup().getImagesDir()));
      }
    } catch (AgentException e) {
      // the operation succeeded with this directory: it cannot be refused now
    }
  }

  /**
   * The controller is gone: removes the session's worthless directories (tmpfs, images, TLS keys). A
   * tmpfs still in use by a restore that is being cancelled elsewhere is retried for a while.
   */
  private void removeSessionDirs() throws InterruptedException {
    long until = System.nanoTime() + SESSION_CLEANUP.toNanos();
    for (Path dir : sessionDirs) {
      while (true) {
        try {
          new CleanupOperation(CleanupRequest.newBuilder().setImagesDir(dir.toString()).build()).run(
              new OperationContext(Deadline.after(SESSION_CLEANUP), new Cancellation(), OperationListener.SILENT, criu,
                  imagesBase));
          log.println("criu-agent serve: removed " + dir + ", which this session made");
          break;
        } catch (AgentException e) {
          if (e.kind() == ErrorKind.USAGE || System.nanoTime() > until) {
            log.println("criu-agent serve: could not remove " + dir + ": " + e.getMessage());
            break;
          }
          Thread.sleep(500);
        }
      }
    }
    sessionDirs.clear();
  }

  private void sendError(long id, AgentException e) {
    send(AgentEvent.newBuilder().setRequestId(id).setError(e.error()).build());
  }

  private void send(AgentEvent event) {
    synchronized (writeLock) {
      if (eventsBroken) {
        return;
      }
      try {
        event.writeDelimitedTo(events);
        events.flush();
      } catch (IOException e) {
        // The controller is gone; stdin's end will cancel what runs.
        eventsBroken = true;
        log.println("criu-agent serve: cannot write events: " + e.getMessage());
      }
    }
  }

  /** Turns an operation's reports into events for its request. */
  private final class EventListener implements OperationListener {
    private final long id;
    private final CompletableFuture<CommitDecision> decision;
    private final AtomicBoolean frozen;

    EventListener(long id, CompletableFuture<CommitDecision> decision, AtomicBoolean frozen) {
      this.id = id;
      this.decision = decision;
      this.frozen = frozen;
    }

    @Override
    public void progress(Progress progress) {
      send(AgentEvent.newBuilder().setRequestId(id).setProgress(progress).build());
    }

    @Override
    public void log(String line) {
      send(AgentEvent.newBuilder().setRequestId(id).setLog(LogLine.newBuilder().setText(line)).build());
    }

    @Override
    public void pageServerListening(PageServerListening listening) {
      send(AgentEvent.newBuilder().setRequestId(id).setListening(listening).build());
    }

    @Override
    public Optional<CommitDecision> awaitDecision(Frozen frozen, Duration timeout) throws InterruptedException {
      this.frozen.set(true);
      send(AgentEvent.newBuilder().setRequestId(id).setFrozen(frozen).build());
      try {
        return Optional.of(decision.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
      } catch (TimeoutException | ExecutionException e) {
        return Optional.empty();
      } finally {
        this.frozen.set(false);
      }
    }
  }
}
