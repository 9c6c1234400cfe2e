package dev.criumigration.agent.cli;

import dev.criumigration.agent.ops.SourceOperation;
import dev.criumigration.agent.protocol.SourceRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** resume and kill: the two fates of a source dumped with --leave-stopped. */
final class SourceCommands {
  private SourceCommands() {}

  /** The options and the run of both commands; only the action differs. */
  abstract static class SourceCommand implements Callable<Integer> {
    @Mixin CommonOptions common;
    @Spec CommandSpec spec;

    @Option(names = "--pid", paramLabel = "PID", required = true, description = "The root of the stopped tree.")
    int pid;

    abstract SourceOperation.Action action();

    @Override
    public Integer call() {
      return new OperationRunner(common, spec.commandLine().getOut(), spec.commandLine().getErr()).run(
          new SourceOperation(action(), SourceRequest.newBuilder().setPid(pid).build()),
          result -> true, HumanText::of);
    }
  }

  @Command(name = "resume", mixinStandardHelpOptions = true,
      description = {"Continues the tree rooted at PID, stopped by dump --leave-stopped (after a failed restore)."},
      footer = {"", "Example:", "  criu-agent resume --pid 4242"})
  static final class Resume extends SourceCommand {
    @Override
    SourceOperation.Action action() {
      return SourceOperation.Action.RESUME;
    }
  }

  @Command(name = "kill", mixinStandardHelpOptions = true,
      description = {"Ends the tree rooted at PID, stopped by dump --leave-stopped, once its copy runs elsewhere.",
          "Refuses a tree that is not stopped."},
      footer = {"", "Example:", "  criu-agent kill --pid 4242"})
  static final class Kill extends SourceCommand {
    @Override
    SourceOperation.Action action() {
      return SourceOperation.Action.KILL;
    }
  }
}
