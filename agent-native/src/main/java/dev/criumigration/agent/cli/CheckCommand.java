package dev.criumigration.agent.cli;

import dev.criumigration.agent.ops.HostCheckOperation;
import dev.criumigration.agent.protocol.CheckRequest;
import dev.criumigration.agent.protocol.CheckResult;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "check", mixinStandardHelpOptions = true,
    description = {"Says whether migration can work on this host.",
        "Reports CRIU's version and path, the `criu check` verdict, the kernel, CRIU's features "
            + "(mem_track, lazy_pages), hardware breakpoints, tmpfs, root. Exits 1 when migration "
            + "cannot work here, listing why.",
        "CRIU's answers are kept in /var/cache/criu-agent/host-check.json and reused while CRIU's binary, "
            + "the kernel and the agent are the same (from_cache in --json); --recheck asks CRIU again."},
    footer = {"", "Examples:", "  criu-agent check", "  criu-agent check --json", "  criu-agent check --recheck"})
final class CheckCommand implements Callable<Integer> {
  @Mixin CommonOptions common;
  @Spec CommandSpec spec;

  @Option(names = "--recheck", description = "Ask CRIU again instead of reusing its kept answers.")
  boolean recheck;

  @Override
  public Integer call() {
    return new OperationRunner(common, spec.commandLine().getOut(), spec.commandLine().getErr())
        .run(new HostCheckOperation(CheckRequest.newBuilder().setRecheck(recheck).build()), CheckResult::getOk, HumanText::of);
  }
}
