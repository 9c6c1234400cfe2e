package dev.criumigration.agent.ops;

import com.google.protobuf.Message;
import java.time.Duration;

/** One agent operation; its result is the result message of agent.proto. */
public interface Operation<R extends Message> {
  /** The deadline when the caller gives none. */
  Duration defaultTimeout();

  R run(OperationContext context) throws AgentException, InterruptedException;
}
