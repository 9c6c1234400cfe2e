package dev.criumigration.agent.cli;

import dev.criumigration.agent.ops.ImagesOperation;
import dev.criumigration.agent.protocol.ImagesRequest;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "images", mixinStandardHelpOptions = true,
    description = {"Says what an image set holds: processes, pages, sizes and CRIU's dump and restore statistics."},
    footer = {"", "Examples:", "  criu-agent images --images-dir /var/lib/criu/in",
        "  criu-agent images --images-dir /var/lib/criu/in --json"})
final class ImagesCommand implements Callable<Integer> {
  @Mixin CommonOptions common;
  @Spec CommandSpec spec;

  @Option(names = "--images-dir", paramLabel = "DIR", required = true, description = "The images directory.")
  Path imagesDir;

  @Override
  public Integer call() {
    return new OperationRunner(common, spec.commandLine().getOut(), spec.commandLine().getErr()).run(
        new ImagesOperation(ImagesRequest.newBuilder().setImagesDir(imagesDir.toString()).build()),
        result -> true, HumanText::of);
  }
}
