package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.protobuf.Message;
import dev.criumigration.agent.protocol.CleanupRequest;
import dev.criumigration.agent.protocol.FetchImagesRequest;
import dev.criumigration.agent.protocol.FetchImagesResult;
import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.agent.protocol.PageServerRequest;
import dev.criumigration.agent.protocol.PageServerResult;
import dev.criumigration.agent.protocol.PutImagesRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs operations in tests as the CLI and serve mode do, and checks what they leave behind. */
final class Harness {
  private static final CriuLauncher CRIU = new CriuLauncher();
  /** The tests' images live in temporary directories: $CRIU_AGENT_IMAGES_BASE, set by the build. */
  static final ImagesBase BASE = base();

  private static ImagesBase base() {
    try {
      return ImagesBase.of(null);
    } catch (AgentException e) {
      throw new IllegalStateException(e);
    }
  }

  private Harness() {}

  static <R extends Message> R run(Operation<R> operation) throws AgentException, InterruptedException {
    return run(operation, OperationListener.SILENT);
  }

  static <R extends Message> R run(Operation<R> operation, OperationListener listener)
      throws AgentException, InterruptedException {
    return run(operation, listener, operation.defaultTimeout());
  }

  static <R extends Message> R run(Operation<R> operation, Duration timeout) throws AgentException, InterruptedException {
    return run(operation, OperationListener.SILENT, timeout);
  }

  private static <R extends Message> R run(Operation<R> operation, OperationListener listener, Duration timeout)
      throws AgentException, InterruptedException {
    return operation.run(new OperationContext(Deadline.after(timeout), new Cancellation(), listener, CRIU, BASE));
  }

  /** A page server running in the background, as `criu-agent page-server` without --detach. */
  static final class PageServer implements AutoCloseable {
    final Path dir;
    final Cancellation cancellation = new Cancellation();
    final CompletableFuture<PageServerListening> listening = new CompletableFuture<>();
    final CompletableFuture<PageServerResult> result = new CompletableFuture<>();

    PageServer(Path dir, String tmpfsSize) throws Exception {
      this(PageServerRequest.newBuilder().setImagesDir(dir.toString()).setTmpfsSize(tmpfsSize).build());
    }

    PageServer(PageServerRequest request) throws Exception {
      this.dir = Path.of(request.getImagesDir());
      PageServerOperation operation = new PageServerOperation(request);
      OperationListener listener = new OperationListener() {
        @Override
        public void pageServerListening(PageServerListening where) {
          listening.complete(where);
        }
      };
      Thread thread = new Thread(() -> {
        try {
          result.complete(operation.run(new OperationContext(Deadline.after(operation.defaultTimeout()),
              cancellation, listener, CRIU, BASE)));
        } catch (Throwable e) {
          result.completeExceptionally(e);
          listening.completeExceptionally(e);
        }
      }, "test-page-server");
      thread.start();
      listening.get(30, TimeUnit.SECONDS);
    }

    int port() {
      return listening.join().getPort();
    }

    int pid() {
      return listening.join().getPid();
    }

    /** Stops the page server if it still runs, and removes its directory. */
    @Override
    public void close() throws Exception {
      cancellation.cancel("the test ends");
      try {
        result.get(30, TimeUnit.SECONDS);
      } catch (Exception outcomeReportedElsewhere) {
        // the test looked at the outcome it cared about
      }
      cleanup(dir);
      assertNotMounted(dir);
    }
  }

  static void copyNonPageImages(Path from, Path to) throws AgentException, InterruptedException {
    FetchImagesResult images = run(new FetchImagesOperation(FetchImagesRequest.newBuilder()
        .setImagesDir(from.toString()).build()));
    run(new PutImagesOperation(PutImagesRequest.newBuilder().setImagesDir(to.toString())
        .addAllFiles(images.getFilesList()).build()));
  }

  static void cleanup(Path dir) throws AgentException, InterruptedException {
    if (Files.exists(dir.resolve(".criu-agent"))) {
      run(new CleanupOperation(CleanupRequest.newBuilder().setImagesDir(dir.toString()).build()));
    }
  }

  static boolean isMounted(Path dir) throws IOException {
    return Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + dir + " ");
  }

  static void assertNotMounted(Path dir) throws IOException {
    assertFalse(isMounted(dir), dir + " is still mounted");
  }
}
