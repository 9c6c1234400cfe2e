package dev.criumigration.agent.cli;

import dev.criumigration.agent.ops.HostCheckOperation;
import dev.criumigration.agent.protocol.CheckRequest;
import dev.criumigration.agent.protocol.CheckResult;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "check", mixinStandardHelpOptions = true,
    description = {"Says whether migration can work on this host: CRIU's version and path, the `criu check`",
        "verdict, the kernel, CRIU's features (mem_track, lazy_pages), hardware breakpoints, tmpfs, root.",
        "Exits 1 when migration cannot work here, listing why."},
    footer = {"", "Examples:", "  criu-agent check", "  criu-agent check --json"})
final class CheckCommand implements Callable<Integer> {
  @Mixin CommonOptions common;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    return new OperationRunner(common, spec.commandLine().getOut(), spec.commandLine().getErr())
        .run(new HostCheckOperation(CheckRequest.getDefaultInstance()), CheckResult::getOk, HumanText::of);
  }
}
