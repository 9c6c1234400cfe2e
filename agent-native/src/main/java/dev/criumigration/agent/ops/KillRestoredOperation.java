package dev.criumigration.agent.ops;

import dev.criumigration.agent.ops.records.ProcessRef;
import dev.criumigration.agent.protocol.KillRestoredRequest;
import dev.criumigration.agent.protocol.KillRestoredResult;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Kills the tree this host restored from an images directory, for rolling back a migration whose
 * source runs again: only if the agent's record of that directory names the given PID as the root and
 * it is still that very process. Anything else is refused and nothing is killed.
 */
public final class KillRestoredOperation implements Operation<KillRestoredResult> {
  private final KillRestoredRequest request;

  public KillRestoredOperation(KillRestoredRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofSeconds(30);
  }

  @Override
  public KillRestoredResult run(OperationContext context) throws AgentException, InterruptedException {
    Path dir = context.imagesBase().imagesDir(request.getImagesDir());
    int pid = request.getPid();
    Optional<ProcessRef> recorded = RestoredTree.recorded(dir);
    if (recorded.isEmpty()) {
      throw AgentException.usage("the agent has no record of a tree restored from " + dir + ": nothing was killed",
          "give the images directory the tree was restored from on this host");
    }
    if (recorded.get().getPid() != pid) {
      throw AgentException.usage("the tree restored from " + dir + " has the root " + recorded.get().getPid()
          + ", not " + pid + ": nothing was killed", "give the PID that the restore answered (RestoreResult.pid)");
    }
    KillRestoredResult.Builder result = KillRestoredResult.newBuilder().setPid(pid);
    if (!ProcessRefs.alive(recorded.get())) {
      // Gone, or its PID now belongs to another process: either way nothing of that tree is left to kill.
      context.listener().log("the tree restored from " + dir + " (pid " + pid + ") is gone already");
      return result.setKilled(false).build();
    }
    RestoredTree.kill(dir, pid, context.deadline().remaining());
    context.listener().log("killed the tree restored from " + dir + " (pid " + pid + ")");
    return result.setKilled(true).build();
  }
}
