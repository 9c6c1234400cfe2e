package dev.criumigration.agent.ops;

import dev.criumigration.agent.protocol.ErrorKind;
import java.time.Duration;

/** The time an operation may take, counted from its start. */
public final class Deadline {
  private final Duration total;
  private final long endNanos;

  private Deadline(Duration total) {
    this.total = total;
    this.endNanos = System.nanoTime() + total.toNanos();
  }

  public static Deadline after(Duration total) {
    return new Deadline(total);
  }

  public Duration total() {
    return total;
  }

  /** What is left, never negative. */
  public Duration remaining() {
    return Duration.ofNanos(Math.max(0, endNanos - System.nanoTime()));
  }

  public boolean expired() {
    return endNanos - System.nanoTime() <= 0;
  }

  /** The TIMEOUT error for {@code what} ("the dump"). */
  public AgentException timeoutError(String what) {
    return AgentException.of(ErrorKind.TIMEOUT,
        what + " did not finish within " + Arguments.formatDuration(total),
        "give it more time with --timeout (30s, 5m, 1h)");
  }
}
