package dev.criumigration.agent.ops;

import dev.criumigration.agent.criu.CriuCrashedException;
import dev.criumigration.agent.criu.CriuException;
import dev.criumigration.agent.criu.CriuOperationException;
import dev.criumigration.agent.criu.CriuTimeoutException;
import dev.criumigration.agent.protocol.AgentError;
import dev.criumigration.agent.protocol.ErrorKind;

/** An operation that failed, as the {@link AgentError} the CLI prints and serve mode sends. */
public final class AgentException extends Exception {
  private final AgentError error;

  public AgentException(AgentError error) {
    super(error.getMessage());
    this.error = error;
  }

  /** Bad input; nothing was changed. */
  public static AgentException usage(String message, String hint) {
    return of(ErrorKind.USAGE, message, hint);
  }

  public static AgentException of(ErrorKind kind, String message, String hint) {
    return new AgentException(AgentError.newBuilder().setKind(kind).setMessage(message)
        .setHint(hint == null ? "" : hint).build());
  }

  /**
   * A CRIU call that failed, with CRIU's errno, message and log excerpt; a CRIU that ran out of the
   * operation's {@code deadline} is a TIMEOUT.
   */
  public static AgentException fromCriu(String what, CriuOperationException e, String hint, Deadline deadline) {
    boolean timedOut = e instanceof CriuTimeoutException;
    AgentError.Builder error = AgentError.newBuilder()
        .setKind(timedOut ? ErrorKind.TIMEOUT : ErrorKind.CRIU_FAILED)
        .setMessage(what + ": " + (timedOut
            ? "CRIU did not finish within the operation's " + Arguments.formatDuration(deadline.total())
                + " and was killed"
            : e.getMessage().lines().findFirst().orElse("")))
        .setHint(timedOut ? "give it more time with --timeout (30s, 5m, 1h)" : hint == null ? "" : hint)
        .addAllCriuLogExcerpt(e.logExcerpt());
    e.logFile().ifPresent(log -> error.setCriuLogPath(log.toString()));
    if (e instanceof CriuException criu) {
      error.setCriuErrno(criu.crErrno()).setCriuErrmsg(criu.crErrmsg());
    } else if (e instanceof CriuCrashedException) {
      error.setHint(error.getHint().isEmpty() ? "see CRIU's log" : error.getHint());
    }
    return new AgentException(error.build());
  }

  public AgentError error() {
    return error;
  }

  public ErrorKind kind() {
    return error.getKind();
  }

  /** The same error, saying whether the source this operation froze runs again. */
  public AgentException withSourceResumed(boolean resumed) {
    return new AgentException(error.toBuilder().setSourceResumed(resumed).build());
  }

  /** The same error, of another kind. */
  public AgentException withKind(ErrorKind kind) {
    return new AgentException(error.toBuilder().setKind(kind).build());
  }

  /** The same error with {@code more} appended to its message. */
  public AgentException withMessageSuffix(String more) {
    return new AgentException(error.toBuilder().setMessage(error.getMessage() + more).build());
  }
}
