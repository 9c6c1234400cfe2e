package dev.criumigration.agent.cli;

import dev.criumigration.agent.ops.PageServerStatusOperation;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.PageServerStatusRequest;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "page-server-status", mixinStandardHelpOptions = true,
    description = {"Says what became of the page server of DIR: running, finished ok, failed, or not started.",
        "Exits 0 when it runs or finished ok, 1 when it failed or never started."},
    footer = {"", "Examples:", "  criu-agent page-server-status --images-dir /var/lib/criu/in",
        "  criu-agent page-server-status --images-dir /var/lib/criu/in --json"})
final class PageServerStatusCommand implements Callable<Integer> {
  @Mixin CommonOptions common;
  @Spec CommandSpec spec;

  @Option(names = "--images-dir", paramLabel = "DIR", required = true, description = "The page server's directory.")
  Path imagesDir;

  @Override
  public Integer call() {
    return new OperationRunner(common, spec.commandLine().getOut(), spec.commandLine().getErr()).run(
        new PageServerStatusOperation(PageServerStatusRequest.newBuilder().setImagesDir(imagesDir.toString()).build()),
        status -> status.getState() == PageServerStatus.State.RUNNING
            || status.getState() == PageServerStatus.State.FINISHED_OK,
        HumanText::of);
  }
}
