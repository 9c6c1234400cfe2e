package dev.criumigration.agent.serve;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.criumigration.agent.ops.AgentException;
import dev.criumigration.agent.ops.Cancellation;
import dev.criumigration.agent.ops.CleanupOperation;
import dev.criumigration.agent.ops.Deadline;
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
import dev.criumigration.agent.protocol.Result;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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

/**
 * One controller's session with the agent: length-delimited AgentRequests in, AgentEvents out, nothing
 * else on the output. Requests run at once, each on its own thread, told apart by their ids: a page
 * server, a commit-point dump waiting for its CommitDecision, the images fetched meanwhile and the
 * looks at /proc all share one agent. A CancelRequest cancels one of them. Two requests for the same
 * process or images directory are refused ({@link Claims}, shared by every session of the host). The
 * end of the input cancels every running operation (a frozen source is resumed, a page server is
 * stopped), waits for them, removes the directories of the session that nobody can use any more, and
 * ends the session.
 */
public final class AgentServer {
  private final InputStream requests;
  private final OutputStream events;
  private final PrintStream log;
  private final AgentHost host;
  private final String name;
  /**
   * Directories this session made that are worthless once it ends (the controller is gone): a page
   * server's that is not detached, a commit_point dump's, a leave_stopped dump's that did not succeed,
   * one that put_images created. Removed when the input ends; a cleanup request takes one off.
   */
  private final Set<Path> sessionDirs = ConcurrentHashMap.newKeySet();
  private final Object writeLock = new Object();
  /** How long the removal of the session's directories may take once the controller is gone. */
  private static final Duration SESSION_CLEANUP = Duration.ofSeconds(60);
  private boolean eventsBroken;
  private final Map<Long, Running> running = new HashMap<>();

  /**
   * A session on {@code host}, named in log lines by {@code name} (the daemon numbers its
   * connections; {@code serve} has only one).
   */
  public AgentServer(InputStream requests, OutputStream events, PrintStream log, AgentHost host, String name) {
    this.requests = requests;
    this.events = events;
    this.log = log;
    this.host = host;
    this.name = name;
  }

  /** An operation in progress: its cancel switch, the decision it may wait for, what it holds. */
  private record Running(long id, boolean commitPoint, Cancellation cancellation,
      CompletableFuture<CommitDecision> decision, Thread thread, List<String> claims) {}

  /** Serves until the input ends; 0, or 2 when the input was not a stream of AgentRequests. */
  public int serve() throws InterruptedException {
    host.sessionStarted();
    try {
      return serveUntilEndOfInput();
    } finally {
      host.sessionEnded();
    }
  }

  private int serveUntilEndOfInput() throws InterruptedException {
    int exit = 0;
    while (true) {
      AgentRequest request;
      try {
        request = AgentRequest.parseDelimitedFrom(requests);
      } catch (InvalidProtocolBufferException e) {
        send(AgentEvent.newBuilder().setError(AgentError.newBuilder().setKind(ErrorKind.USAGE)
            .setMessage("the input is not a stream of length-delimited AgentRequests: " + e.getMessage())
            .setHint("write each request with writeDelimitedTo")).build());
        exit = 2;
        break;
      } catch (IOException e) {
        log.println(name + ": reading requests failed: " + e.getMessage());
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
      case AGENT_INFO -> send(AgentEvent.newBuilder().setRequestId(request.getId())
          .setResult(Result.newBuilder().setAgentInfo(host.info())).build());
      default -> start(request);
    }
  }

  private synchronized void decide(AgentRequest request) {
    CommitDecision decision = request.getDecision();
    Running dump = running.get(decision.getDumpRequestId());
    if (dump == null || !dump.commitPoint()) {
      sendError(request.getId(), AgentException.usage("no commit_point dump with id " + decision.getDumpRequestId()
          + " is running", "send the decision for the dump request that reported Frozen"));
      return;
    }
    log.println(name + ": request " + dump.id() + ": " + (decision.getCommit() ? "commit" : "abort"));
    dump.decision().complete(decision);
  }

  private synchronized void cancel(AgentRequest request) {
    long target = request.getCancel().getRequestId();
    Running operation = running.get(target);
    if (operation == null) {
      sendError(request.getId(), AgentException.usage("no request " + target + " is running",
          "cancel a request that is running"));
      return;
    }
    log.println(name + ": request " + target + ": cancelled by the controller");
    operation.cancellation().cancel("cancelled by the controller");
  }

  private synchronized void start(AgentRequest request) {
    if (running.containsKey(request.getId())) {
      sendError(request.getId(), AgentException.usage("request " + request.getId() + " is already running",
          "give every request an id of its own"));
      return;
    }
    Operation<? extends Message> operation;
    List<String> claims = Claims.of(request, host.imagesBase());
    try {
      operation = Jobs.of(request);
      host.claims().take(claims, name + " request " + request.getId());
    } catch (AgentException e) {
      sendError(request.getId(), e);
      return;
    }
    Duration timeout = request.getTimeoutMillis() > 0 ? Duration.ofMillis(request.getTimeoutMillis())
        : operation.defaultTimeout();
    Cancellation cancellation = new Cancellation();
    CompletableFuture<CommitDecision> decision = new CompletableFuture<>();
    OperationContext context = new OperationContext(Deadline.after(timeout), cancellation,
        new EventListener(request.getId(), decision), host.criu(), host.imagesBase());
    Path sessionDir = sessionDir(request);
    if (sessionDir != null) {
      sessionDirs.add(sessionDir);
    }
    Thread thread = new Thread(() -> execute(request, operation, context), name + "-request-" + request.getId());
    running.put(request.getId(), new Running(request.getId(), request.hasDump() && request.getDump().getCommitPoint(),
        cancellation, decision, thread, claims));
    log.println(name + ": request " + request.getId() + ": " + request.getOperationCase().name().toLowerCase());
    thread.start();
  }

  private void execute(AgentRequest request, Operation<? extends Message> operation, OperationContext context) {
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
      Running done = running.remove(request.getId());
      host.claims().release(done.claims());
      // The outcome goes out only after what the request held is free again: a controller that reacts
      // to it at once must not be told "busy".
      send(event.build());
    }
  }

  /** The input ended: the controller is gone. Put every running operation back and wait for them. */
  private void finishOnEndOfInput() throws InterruptedException {
    List<Thread> threads = new ArrayList<>();
    synchronized (this) {
      for (Running operation : running.values()) {
        log.println(name + ": the controller is gone; cancelling request " + operation.id());
        operation.cancellation().cancel("the controller's connection closed");
        threads.add(operation.thread());
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
            : host.imagesBase().imagesDir(request.getPageServer().getImagesDir());
        case DUMP -> request.getDump().getCommitPoint() || request.getDump().getLeaveStopped()
            ? host.imagesBase().imagesDir(request.getDump().getImagesDir()) : null;
        case PUT_IMAGES -> {
          Path dir = host.imagesBase().imagesDir(request.getPutImages().getImagesDir());
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
        sessionDirs.remove(host.imagesBase().imagesDir(request.getDump().getImagesDir()));
      } else if (request.hasCleanup()) {
        sessionDirs.remove(host.imagesBase().imagesDir(request.getCleanup().getImagesDir()));
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
              new OperationContext(Deadline.after(SESSION_CLEANUP), new Cancellation(), OperationListener.SILENT,
                  host.criu(), host.imagesBase()));
          log.println(name + ": removed " + dir + ", which this session made");
          break;
        } catch (AgentException e) {
          if (e.kind() == ErrorKind.USAGE || System.nanoTime() > until) {
            log.println(name + ": could not remove " + dir + ": " + e.getMessage());
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
        log.println(name + ": cannot write events: " + e.getMessage());
      }
    }
  }

  /** Turns an operation's reports into events for its request. */
  private final class EventListener implements OperationListener {
    private final long id;
    private final CompletableFuture<CommitDecision> decision;

    EventListener(long id, CompletableFuture<CommitDecision> decision) {
      this.id = id;
      this.decision = decision;
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
      send(AgentEvent.newBuilder().setRequestId(id).setFrozen(frozen).build());
      try {
        return Optional.of(decision.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
      } catch (TimeoutException | ExecutionException e) {
        return Optional.empty();
      }
    }
  }
}
