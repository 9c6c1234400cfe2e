package dev.criumigration.agent.ops;

import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.CleanupResult;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.agent.protocol.PageServerRequest;
import dev.criumigration.agent.protocol.PageServerResult;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A page server that outlives the command (or serve session) that started it, for the step-by-step
 * flow. The agent starts a copy of itself in a new session ({@code setsid}), hands it the request on
 * its stdin, and reads one event back on its stdout: where it listens, or why it could not start.
 * The copy then closes both pipes and runs the page server to its end, recording the outcome in the
 * images directory for page-server-status.
 */
public final class DetachedPageServer {
  private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(60);

  private DetachedPageServer() {}

  /** In the agent that was asked: starts the copy and waits until it listens. */
  static PageServerResult start(PageServerRequest request, OperationContext context)
      throws AgentException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(setsid(), javaExecutable(), "-cp",
        System.getProperty("java.class.path"), DetachedPageServer.class.getName(), context.imagesBase().toString()));
    Process child;
    try {
      child = new ProcessBuilder(command).start();
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot start a detached agent: " + e.getMessage(), "");
    }
    ByteArrayOutputStream childErrors = new ByteArrayOutputStream();
    Thread drain = new Thread(() -> copy(child.getErrorStream(), childErrors), "detached-page-server-stderr");
    drain.setDaemon(true);
    drain.start();
    AgentEvent handshake;
    try (Cancellation.Registration ignored = context.cancellation().onCancel(child::destroyForcibly);
         OutputStream stdin = child.getOutputStream();
         InputStream stdout = child.getInputStream()) {
      AgentRequest.newBuilder().setTimeoutMillis(context.deadline().remaining().toMillis())
          .setPageServer(request.toBuilder().setDetach(false)).build().writeDelimitedTo(stdin);
      stdin.close();
      CompletableFuture<AgentEvent> reply = CompletableFuture.supplyAsync(() -> {
        try {
          return AgentEvent.parseDelimitedFrom(stdout);
        } catch (IOException e) {
          return null;
        }
      });
      Duration wait = HANDSHAKE_TIMEOUT.compareTo(context.deadline().remaining()) < 0
          ? HANDSHAKE_TIMEOUT : context.deadline().remaining();
      handshake = reply.get(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      child.destroyForcibly();
      throw AgentException.of(ErrorKind.TIMEOUT, "the detached page server did not start listening in time", "");
    } catch (IOException | ExecutionException e) {
      child.destroyForcibly();
      throw AgentException.of(ErrorKind.IO, "cannot talk to the detached page server: " + e.getMessage(), "");
    }
    if (handshake != null && handshake.hasListening()) {
      PageServerListening listening = handshake.getListening();
      context.listener().pageServerListening(listening);
      return PageServerResult.newBuilder().setImagesDir(request.getImagesDir())
          .setAddress(listening.getAddress()).setPort(listening.getPort())
          .setTmpfsMounted(!request.getTmpfsSize().isBlank()).build();
    }
    if (handshake != null && handshake.hasError()) {
      throw new AgentException(handshake.getError());
    }
    child.waitFor(5, TimeUnit.SECONDS);
    drain.join(1000);
    throw AgentException.of(ErrorKind.INTERNAL, "the detached page server ended before it listened: "
        + childErrors.toString(StandardCharsets.UTF_8).strip(), "");
  }

  /**
   * The detached copy: one AgentRequest on stdin, one AgentEvent on stdout, then the page server.
   * Its one argument is the images base directory of the agent that started it.
   */
  public static void main(String[] args) throws IOException, InterruptedException {
    AgentRequest request = AgentRequest.parseDelimitedFrom(System.in);
    System.in.close();
    OutputStream handshake = new PrintStream(System.out, true);
    // From here on nothing may write to the pipes: the agent that started us stops reading them.
    PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream());
    System.setOut(nowhere);
    Handshake listener = new Handshake(handshake);
    int exit;
    try {
      PageServerOperation operation = new PageServerOperation(request.getPageServer());
      operation.run(new OperationContext(Deadline.after(Duration.ofMillis(request.getTimeoutMillis())),
          new Cancellation(), listener, new CriuLauncher(), ImagesBase.of(args[0])));
      exit = 0;
    } catch (AgentException e) {
      boolean listened = listener.sent;
      listener.send(AgentEvent.newBuilder().setError(e.error()).build());
      if (e.kind() == ErrorKind.TIMEOUT && listened) {
        // No dump came in its time: nothing will be restored from here, and its controller may be gone.
        removeQuietly(request.getPageServer().getImagesDir(), args[0]);
      }
      exit = 1;
    }
    System.exit(exit);
  }

  private static void removeQuietly(String imagesDir, String base) throws InterruptedException {
    try {
      CleanupOperation.clean(ImagesBase.of(base).imagesDir(imagesDir), OperationListener.SILENT,
          CleanupResult.newBuilder());
    } catch (AgentException e) {
      // Its record says what happened; cleanup can still remove it.
    }
  }

  /** Sends the first event (listening, or the error that came instead) and closes the pipes. */
  private static final class Handshake implements OperationListener {
    private final OutputStream out;
    private volatile boolean sent;

    Handshake(OutputStream out) {
      this.out = out;
    }

    @Override
    public void pageServerListening(PageServerListening listening) {
      send(AgentEvent.newBuilder().setListening(listening).build());
    }

    synchronized void send(AgentEvent event) {
      if (sent) {
        return;
      }
      sent = true;
      try {
        event.writeDelimitedTo(out);
        out.close();
      } catch (IOException e) {
        // the starting agent is gone; the record in the images directory tells the outcome
      }
      System.err.close();
      System.setErr(new PrintStream(OutputStream.nullOutputStream()));
    }
  }

  /** util-linux's setsid: the copy leaves our session, so a closing terminal or SSH channel spares it. */
  private static String setsid() throws AgentException {
    for (String candidate : new String[] {"/usr/bin/setsid", "/bin/setsid"}) {
      if (Files.isExecutable(Path.of(candidate))) {
        return candidate;
      }
    }
    throw AgentException.of(ErrorKind.INTERNAL, "setsid(1) not found",
        "install util-linux: a detached page server runs in a session of its own");
  }

  private static String javaExecutable() {
    return ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
  }

  private static void copy(InputStream in, ByteArrayOutputStream out) {
    try (in) {
      in.transferTo(out);
    } catch (IOException e) {
      // the child closed its stderr
    }
  }
}
