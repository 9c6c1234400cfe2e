package dev.criumigration.agent.ops;

import java.util.ArrayList;
import java.util.List;

/**
 * Cancels a running operation from another thread (serve mode's CancelRequest, stdin closing, Ctrl-C).
 * Operations register what cancelling means for the step they are in: kill the page server, stop
 * waiting for a commit decision. CRIU calls that hold a frozen tree are never cut short: the operation
 * lets CRIU finish and then undoes what it did.
 */
public final class Cancellation {
  private final List<Runnable> actions = new ArrayList<>();
  private String reason;

  /** Registration of a cancel action; closing it guarantees the action no longer runs. */
  public interface Registration extends AutoCloseable {
    @Override
    void close();
  }

  /** Cancels, once; runs the registered actions. */
  public synchronized void cancel(String why) {
    if (reason != null) {
      return;
    }
    reason = why;
    // Under the lock: after Registration.close() returns, its action cannot run any more.
    for (Runnable action : actions) {
      action.run();
    }
  }

  public synchronized boolean isCancelled() {
    return reason != null;
  }

  /** Why it was cancelled ("stdin closed"), or null. */
  public synchronized String reason() {
    return reason;
  }

  /** Runs {@code action} on cancel (at once if already cancelled) until the registration is closed. */
  public synchronized Registration onCancel(Runnable action) {
    if (reason != null) {
      action.run();
    }
    actions.add(action);
    return () -> {
      synchronized (Cancellation.this) {
        actions.remove(action);
      }
    };
  }
}
