package dev.criumigration.agent.ops;

import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.ProcessState;
import dev.criumigration.agent.protocol.ProcessStateRequest;
import java.io.IOException;
import java.time.Duration;

/**
 * The state of one process, waited for on the host if asked: until it runs (or is gone), or until it
 * is gone. At the deadline the answer is the state as it is: what it means is the caller's decision.
 */
public final class ProcessStateOperation implements Operation<ProcessState> {
  private static final long POLL_MILLIS = 20;

  private final ProcessStateRequest request;

  public ProcessStateOperation(ProcessStateRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofSeconds(30);
  }

  @Override
  public ProcessState run(OperationContext context) throws AgentException, InterruptedException {
    int pid = request.getPid();
    if (pid <= 0) {
      throw AgentException.usage("no valid PID given (" + pid + ")", "give the PID of a process on this host");
    }
    ProcessState state = stateOf(pid);
    while (!reached(state) && !context.deadline().expired()) {
      if (context.cancellation().isCancelled()) {
        throw AgentException.of(ErrorKind.CANCELLED, "waiting for process " + pid + " was cancelled ("
            + context.cancellation().reason() + ")", "");
      }
      Thread.sleep(Math.max(1, Math.min(POLL_MILLIS, context.deadline().remaining().toMillis())));
      state = stateOf(pid);
    }
    return state;
  }

  private boolean reached(ProcessState state) {
    return switch (request.getWait()) {
      case RUNNING -> state.getRunning() || !state.getExists();
      case GONE -> !state.getExists();
      default -> true;
    };
  }

  static ProcessState stateOf(int pid) {
    ProcessState.Builder state = ProcessState.newBuilder().setPid(pid);
    char letter;
    try {
      letter = Processes.state(pid);
    } catch (IOException gone) {
      return state.build();
    }
    boolean exists = letter != 'Z' && letter != 'X';
    return state.setState(String.valueOf(letter)).setExists(exists)
        .setRunning(letter == 'R' || letter == 'S' || letter == 'D' || letter == 'I').build();
  }
}
