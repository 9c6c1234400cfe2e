package dev.criumigration.agent.ops;

import dev.criumigration.agent.ops.records.PageServerRecord;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.PageServerStatusRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * What became of the page server of an images directory, from its record: running (its supervising
 * agent still runs), finished ok, failed, or not started. A record that says running while the agent
 * that wrote it is gone means that agent died: failed.
 */
public final class PageServerStatusOperation implements Operation<PageServerStatus> {
  private final PageServerStatusRequest request;

  public PageServerStatusOperation(PageServerStatusRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofSeconds(10);
  }

  @Override
  public PageServerStatus run(OperationContext context) throws AgentException {
    Path dir = context.imagesBase().imagesDir(request.getImagesDir());
    PageServerStatus status = status(dir);
    if (!request.getWithDumpTls()) {
      return status;
    }
    return status.toBuilder().setDumpTls(PageStreamTls.forDump(dir)).build();
  }

  static PageServerStatus status(Path dir) throws AgentException {
    Optional<PageServerRecord> record = record(dir);
    if (record.isEmpty()) {
      return PageServerStatus.newBuilder().setState(PageServerStatus.State.NOT_STARTED).build();
    }
    PageServerStatus recorded = record.get().getStatus();
    if (recorded.getState() == PageServerStatus.State.RUNNING && !ProcessRefs.alive(record.get().getSupervisor())) {
      return recorded.toBuilder().setState(PageServerStatus.State.FAILED).setExitStatus(-1).build();
    }
    return recorded;
  }

  /** Why it failed, as recorded (empty when it did not, or nothing was recorded). */
  static String failure(Path dir) throws AgentException {
    Optional<PageServerRecord> record = record(dir);
    if (record.isEmpty()) {
      return "";
    }
    if (record.get().hasError()) {
      return record.get().getError().getMessage();
    }
    return status(dir).getState() == PageServerStatus.State.FAILED
        ? "the agent watching the page server ended before it did" : "";
  }

  private static Optional<PageServerRecord> record(Path dir) throws AgentException {
    Optional<WorkDir> work = WorkDir.existing(dir);
    return work.isPresent() ? work.get().pageServer() : Optional.empty();
  }
}
