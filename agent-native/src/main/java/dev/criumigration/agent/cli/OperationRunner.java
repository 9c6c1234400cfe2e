package dev.criumigration.agent.cli;

import com.google.protobuf.Message;
import dev.criumigration.agent.ops.AgentException;
import dev.criumigration.agent.ops.Cancellation;
import dev.criumigration.agent.ops.CriuLauncher;
import dev.criumigration.agent.ops.Deadline;
import dev.criumigration.agent.ops.ImagesBase;
import dev.criumigration.agent.ops.Operation;
import dev.criumigration.agent.ops.OperationContext;
import dev.criumigration.agent.ops.OperationListener;
import dev.criumigration.agent.protocol.AgentError;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.agent.protocol.Progress;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Runs one operation for a command: its deadline, Ctrl-C as a clean cancel, progress on stderr, the
 * result on stdout (human text, or one JSON document), and the exit code: 0 success, 1 the operation
 * failed, 2 bad input.
 */
final class OperationRunner {
  static final int OK = 0;
  static final int FAILED = 1;
  static final int USAGE = 2;
  /** How long Ctrl-C waits for an operation to put things back (resume a source, stop a page server). */
  private static final Duration CANCEL_GRACE = Duration.ofSeconds(60);

  private final CommonOptions common;
  private final PrintWriter out;
  private final PrintWriter err;

  OperationRunner(CommonOptions common, PrintWriter out, PrintWriter err) {
    this.common = common;
    this.out = out;
    this.err = err;
  }

  /** Runs {@code operation}; the result is a success when {@code succeeded} says so. */
  <R extends Message> int run(Operation<R> operation, Predicate<R> succeeded, Function<R, String> human) {
    Duration timeout = common.timeout != null ? common.timeout : operation.defaultTimeout();
    Cancellation cancellation = new Cancellation();
    CountDownLatch finished = new CountDownLatch(1);
    Thread onInterrupt = new Thread(() -> {
      cancellation.cancel("interrupted");
      try {
        finished.await(CANCEL_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "criu-agent-cancel");
    Runtime.getRuntime().addShutdownHook(onInterrupt);
    try {
      R result = operation.run(new OperationContext(Deadline.after(timeout), cancellation, listener(),
          new CriuLauncher(), ImagesBase.of(common.imagesBase)));
      out.println(common.json ? Json.print(result) : human.apply(result));
      return succeeded.test(result) ? OK : FAILED;
    } catch (AgentException e) {
      return printError(e.error());
    } catch (InterruptedException e) {
      return printError(AgentError.newBuilder().setKind(ErrorKind.CANCELLED).setMessage("interrupted").build());
    } finally {
      out.flush();
      err.flush();
      finished.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(onInterrupt);
      } catch (IllegalStateException shuttingDown) {
        // Ctrl-C: the hook is running and waits for us, which we just released
      }
    }
  }

  int printError(AgentError error) {
    if (common.json) {
      out.println(Json.print(error));
    } else {
      err.println(HumanText.error(error));
    }
    out.flush();
    err.flush();
    return error.getKind() == ErrorKind.USAGE ? USAGE : FAILED;
  }

  private OperationListener listener() {
    if (common.json) {
      return OperationListener.SILENT;
    }
    return new OperationListener() {
      @Override
      public void progress(Progress progress) {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "[%6.1f s] %s",
            progress.getElapsedMillis() / 1000.0, progress.getStage()));
        if (progress.getBytes() > 0) {
          line.append(": ").append(progress.getPages()).append(" pages, ").append(HumanText.bytes(progress.getBytes()));
        }
        err.println(line);
        err.flush();
      }

      @Override
      public void log(String line) {
        err.println("  " + line);
        err.flush();
      }

      @Override
      public void pageServerListening(PageServerListening listening) {
        // On stdout at once: whoever started the page server needs the port now, not at the end.
        out.println("page server listening on " + listening.getAddress() + ":" + listening.getPort()
            + " (pid " + listening.getPid() + ")");
        out.flush();
      }
    };
  }
}
