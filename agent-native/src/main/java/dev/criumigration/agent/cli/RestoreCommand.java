package dev.criumigration.agent.cli;

import dev.criumigration.agent.ops.RestoreOperation;
import dev.criumigration.agent.protocol.NetworkLock;
import dev.criumigration.agent.protocol.RestoreRequest;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "restore", mixinStandardHelpOptions = true,
    description = {"Restores the process tree of DIR. Refuses when a page server filled DIR and did not record",
        "success. The restored tree outlives the agent. Prints the new root PID and the restore time."},
    footer = {"", "Examples:", "  criu-agent restore --images-dir /var/lib/criu/in",
        "  criu-agent restore --images-dir /var/lib/criu/in --tcp-established --json"})
final class RestoreCommand implements Callable<Integer> {
  @Mixin CommonOptions common;
  @Spec CommandSpec spec;

  @Option(names = "--images-dir", paramLabel = "DIR", required = true, description = "The complete image set.")
  Path imagesDir;

  @Option(names = "--tcp-established", description = "Restore established TCP connections (as dumped).")
  boolean tcpEstablished;

  @Option(names = "--shell-job", description = "As given to the dump.")
  boolean shellJob;

  @Option(names = "--ext-unix-sk", description = "As given to the dump.")
  boolean extUnixSk;

  @Option(names = "--network-lock", paramLabel = "iptables|nftables|skip", defaultValue = "nftables",
      converter = NetworkLocks.class, description = "As given to the dump (default: nftables).")
  NetworkLock networkLock;

  @Option(names = "--require-page-server", description = "Refuse unless a page server recorded success in DIR.")
  boolean requirePageServer;

  @Override
  public Integer call() {
    RestoreRequest request = RestoreRequest.newBuilder()
        .setImagesDir(imagesDir.toString())
        .setTcpEstablished(tcpEstablished)
        .setShellJob(shellJob)
        .setExtUnixSk(extUnixSk)
        .setNetworkLock(networkLock)
        .setRequirePageServerOk(requirePageServer)
        .build();
    return new OperationRunner(common, spec.commandLine().getOut(), spec.commandLine().getErr())
        .run(new RestoreOperation(request), result -> true, HumanText::of);
  }
}
