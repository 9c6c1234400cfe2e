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
    description = {"Undoes what the agent made in DIR: stops its page server if one still runs, unmounts the",
        "tmpfs it mounted, removes DIR if the agent created it, else only the files it created there.",
        "A directory the agent has no record of is left alone."},
    footer = {"", "Example:", "  criu-agent cleanup --images-dir /var/lib/criu/in"})
final class CleanupCommand implements Callable<Integer> {
  @Mixin CommonOptions common;
  @Spec CommandSpec spec;

  @Option(names = "--images-dir", paramLabel = "DIR", required = true, description = "The images directory.")
  Path imagesDir;

  @Override
  public Integer call() {
    return new OperationRunner(common, spec.commandLine().getOut(), spec.commandLine().getErr()).run(
        new CleanupOperation(CleanupRequest.newBuilder().setImagesDir(imagesDir.toString()).build()),
        result -> true, HumanText::of);
  }
}
