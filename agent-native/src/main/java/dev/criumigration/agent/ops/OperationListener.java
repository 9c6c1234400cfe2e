package dev.criumigration.agent.ops;

import dev.criumigration.agent.protocol.CommitDecision;
import dev.criumigration.agent.protocol.Frozen;
import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.agent.protocol.Progress;
import java.time.Duration;
import java.util.Optional;

/** What an operation reports while it runs: the CLI prints it, serve mode sends it as events. */
public interface OperationListener {
  OperationListener SILENT = new OperationListener() {};

  default void progress(Progress progress) {}

  default void log(String line) {}

  default void pageServerListening(PageServerListening listening) {}

  /**
   * A commit_point dump is frozen at CRIU's post-dump: waits up to {@code timeout} for the
   * controller's decision. Empty when none came in time; an interrupt (cancel) ends the wait too.
   * Listeners that cannot take a decision (the CLI) answer empty at once, which resumes the source.
   */
  default Optional<CommitDecision> awaitDecision(Frozen frozen, Duration timeout)
      throws InterruptedException {
    return Optional.empty();
  }
}
