package dev.criumigration.agent.serve;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.agent.protocol.AgentRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One controller's session with the agent, the way a controller drives it: requests in, events out.
 * Either `criu-agent serve` as a subprocess, or a connection to a `criu-agent daemon`.
 */
final class AgentSession implements AutoCloseable {
  private final Process process;
  private final SocketChannel connection;
  private final OutputStream requests;
  private final BlockingQueue<AgentEvent> events = new LinkedBlockingQueue<>();
  private final List<AgentEvent> seen = new ArrayList<>();
  private volatile Throwable streamProblem;
  private long nextId = 1;

  AgentSession(Path stderr) throws IOException {
    List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.criumigration.agent.cli.AgentMain", "serve");
    process = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
    connection = null;
    requests = process.getOutputStream();
    startReading(process.getInputStream());
  }

  private AgentSession(SocketChannel connection) throws IOException {
    process = null;
    this.connection = connection;
    requests = SocketStreams.output(connection);
    startReading(SocketStreams.input(connection));
  }

  /** A session with the daemon listening on {@code socket}. */
  static AgentSession connect(Path socket) throws IOException {
    return new AgentSession(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
  }

  private void startReading(InputStream events) {
    Thread reader = new Thread(() -> read(events), "agent-events");
    reader.setDaemon(true);
    reader.start();
  }

  /** Every byte on stdout must belong to an event: anything else breaks the framing here. */
  private void read(InputStream stdout) {
    try {
      AgentEvent event;
      while ((event = AgentEvent.parseDelimitedFrom(stdout)) != null) {
        events.add(event);
      }
    } catch (IOException | RuntimeException e) {
      streamProblem = e;
    }
  }

  /** Sends a request with the next id; the id. */
  long send(AgentRequest.Builder request) throws IOException {
    long id = nextId++;
    request.setId(id).build().writeDelimitedTo(requests);
    requests.flush();
    return id;
  }

  /** The next event for {@code requestId} matching {@code wanted}; earlier events of it are skipped. */
  AgentEvent await(long requestId, Predicate<AgentEvent> wanted, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    for (AgentEvent event : seen) {
      if (event.getRequestId() == requestId && wanted.test(event)) {
        seen.remove(event);
        return event;
      }
    }
    while (true) {
      long left = end - System.nanoTime();
      AgentEvent event = left > 0 ? events.poll(left, TimeUnit.NANOSECONDS) : null;
      if (event == null) {
        throw new AssertionError("no such event for request " + requestId + " within " + timeout
            + (streamProblem != null ? "; stdout broke: " + streamProblem : "") + "; other events: " + seen);
      }
      if (event.getRequestId() == requestId && wanted.test(event)) {
        return event;
      }
      seen.add(event);
    }
  }

  /** The Result or AgentError that ends {@code requestId}. */
  AgentEvent outcome(long requestId, Duration timeout) throws InterruptedException {
    return await(requestId, event -> event.hasResult() || event.hasError(), timeout);
  }

  /** Ends the requests: stdin closed, or the daemon connection closed (the controller is gone). */
  void closeStdin() throws IOException {
    if (connection != null) {
      connection.close();
    } else {
      requests.close();
    }
  }

  /** Waits for the agent to exit; its exit status. */
  int awaitExit(Duration timeout) throws InterruptedException {
    if (process == null) {
      throw new IllegalStateException("a daemon connection has no process of its own");
    }
    assertTrue(process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS), "the agent did not exit");
    assertTrue(streamProblem == null, "stdout held something other than events: " + streamProblem);
    return process.exitValue();
  }

  @Override
  public void close() throws InterruptedException {
    try {
      closeStdin();
    } catch (IOException ignored) {
      // already closed
    }
    if (process != null && !process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }
}
