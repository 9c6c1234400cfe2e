package dev.criumigration.agent.ops;

import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.SourceRequest;
import dev.criumigration.agent.protocol.SourceResult;
import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * The two fates of a source dumped with leave_stopped. Resume continues every process of the tree
 * (harmless for one that runs). Kill ends the tree, and only a stopped one: a running process is not
 * a source waiting for its fate, and killing it on a mistyped PID would lose it.
 */
public final class SourceOperation implements Operation<SourceResult> {
  public enum Action { RESUME, KILL }

  private final Action action;
  private final SourceRequest request;

  public SourceOperation(Action action, SourceRequest request) {
    this.action = action;
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofSeconds(30);
  }

  @Override
  public SourceResult run(OperationContext context) throws AgentException, InterruptedException {
    int pid = SourceProcess.check(request.getPid());
    List<Integer> tree = SourceProcess.tree(pid);
    SourceResult.Builder result = SourceResult.newBuilder().setPid(pid).setProcesses(tree.size());
    if (action == Action.RESUME) {
      if (!SourceProcess.isStopped(pid)) {
        context.listener().log("process " + pid + " was not stopped");
      }
      try {
        Processes.resumeTree(pid);
      } catch (IOException e) {
        throw AgentException.of(ErrorKind.IO, "cannot resume the tree of " + pid + ": " + e.getMessage(), "");
      }
      if (!SourceProcess.awaitRunning(pid, context.deadline().remaining())) {
        throw AgentException.of(ErrorKind.IO, "process " + pid + " is still stopped after SIGCONT",
            "is it traced (a debugger, or a CRIU that still runs)? check with ps -o stat -p " + pid);
      }
      return result.setAction("resumed").build();
    }
    if (!SourceProcess.isStopped(pid)) {
      throw AgentException.usage("process " + pid + " is running, not stopped",
          "criu-agent kill ends only a source left stopped by dump --leave-stopped; resume it or use kill(1)");
    }
    try {
      Processes.killTree(pid);
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot kill the tree of " + pid + ": " + e.getMessage(), "");
    }
    for (int member : tree) {
      if (!Processes.waitGone(member, context.deadline().remaining())) {
        throw AgentException.of(ErrorKind.TIMEOUT, "process " + member + " of the tree still exists after SIGKILL",
            "its parent has not reaped it yet; check with ps -o stat,ppid -p " + member);
      }
    }
    return result.setAction("killed").build();
  }
}
