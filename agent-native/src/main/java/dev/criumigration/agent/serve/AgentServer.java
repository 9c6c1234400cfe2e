package dev.criumigration.agent.serve;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.criumigration.agent.ops.AgentException;
import dev.criumigration.agent.ops.Cancellation;
import dev.criumigration.agent.ops.CriuLauncher;
import dev.criumigration.agent.ops.Deadline;
import dev.criumigration.agent.ops.Operation;
import dev.criumigration.agent.ops.OperationContext;
import dev.criumigration.agent.ops.OperationListener;
import dev.criumigration.agent.protocol.AgentError;
import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.agent.protocol.AgentRequest;
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
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code criu-agent serve}: length-delimited AgentRequests on stdin, AgentEvents on stdout, nothing
 * else on stdout. One operation runs at a time; while it runs the controller may send a
 * CommitDecision (for a commit_point dump) or a CancelRequest for it, and any other request is
 * refused with a USAGE error. Closing stdin cancels the running operation (a frozen source is
 * resumed, a page server is stopped), waits for it to finish, and ends the server.
 */
public final class AgentServer {
  private final InputStream requests;
  private final OutputStream events;
  private final PrintStream log;
  private final CriuLauncher criu = new CriuLauncher();
  private final Object writeLock = new Object();
  private boolean eventsBroken;
  private Running running;

  public AgentServer(InputStream requests, OutputStream events, PrintStream log) {
    this.requests = requests;
    this.events = events;
    this.log = log;
  }

  /** The operation in progress: its request, its cancel switch, the decision it may wait for. */
  private record Running(long id, boolean commitPoint, Cancellation cancellation,
      CompletableFuture<CommitDecision> decision, Thread thread) {}

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
    if (running != null) {
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
    OperationContext context = new OperationContext(Deadline.after(timeout), cancellation,
        new EventListener(request.getId(), decision), criu);
    Thread thread = new Thread(() -> execute(request.getId(), operation, context),
        "request-" + request.getId());
    running = new Running(request.getId(), request.hasDump() && request.getDump().getCommitPoint(), cancellation,
        decision, thread);
    log.println("criu-agent serve: request " + request.getId() + ": " + request.getOperationCase().name().toLowerCase());
    thread.start();
  }

  private void execute(long id, Operation<? extends Message> operation, OperationContext context) {
    AgentEvent.Builder event = AgentEvent.newBuilder().setRequestId(id);
    try {
      event.setResult(Jobs.wrap(operation.run(context)));
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
      running = null;
      // The result goes out only after the next request can be accepted: a controller that reacts
      // to it at once must not be told "busy".
      send(event.build());
    }
  }

  /** stdin closed: the controller is gone. Put the running operation back and wait for it. */
  private void finishOnEndOfInput() throws InterruptedException {
    Thread thread;
    synchronized (this) {
      if (running == null) {
        return;
      }
      log.println("criu-agent serve: stdin closed; cancelling request " + running.id());
      running.cancellation().cancel("the controller's connection closed");
      thread = running.thread();
    }
    thread.join();
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
      } catch (TimeoutException e) {
        return Optional.empty();
      } catch (ExecutionException e) {
        return Optional.empty();
      }
    }
  }
}
