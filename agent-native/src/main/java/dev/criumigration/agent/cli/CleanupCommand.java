package dev.criumigration.agent.cli;

import dev.criumigration.agent.ops.CleanupOperation;
import dev.criumigration.agent.protocol.CleanupRequest;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "cleanup", mixinStandardHelpOptions = true,
    description = {"Removes what the agent made in an images directory.",
        "Stops its page server if one still runs, unmounts the tmpfs it mounted, removes DIR if "
            + "the agent created it, else only the files it created there. A directory the agent has no "
            + "record of is left alone."},
    footer = {"", "Example:", "  criu-agent cleanup --images-dir /var/lib/criu/in"})
final class CleanupCommand implements Callable<Integer> {
  @Mixin CommonOptions common;
  @Spec CommandSpec spec;

  @Option(names = "--images-dir", paramLabel = "DIR", required = true, description = "The images directory.")
  Path imagesDir;

  @Option(names = "--kill-restored", description = "Also kill the tree restored from DIR if it still runs (giving "
      + "a migration up before resuming its source).")
  boolean killRestored;

  @Override
  public Integer call() {
    return new OperationRunner(common, spec.commandLine().getOut(), spec.commandLine().getErr()).run(
        new CleanupOperation(CleanupRequest.newBuilder().setImagesDir(imagesDir.toString())
            .setKillRestored(killRestored).build()),
        result -> true, HumanText::of);
  }
}
