package dev.criumigration.agent.cli;

import dev.criumigration.agent.ops.PageServerOperation;
import dev.criumigration.agent.protocol.PageServerRequest;
import dev.criumigration.agent.protocol.TlsFiles;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import dev.criumigration.agent.protocol.PageTransport;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "page-server", mixinStandardHelpOptions = true,
    description = {"Receives a dump's memory pages (run it on the destination).",
        "Creates DIR, mounts a tmpfs on it when --tmpfs-size is given, starts CRIU's page server "
            + "and prints its address and port as soon as it listens. Waits until the dumping side has "
            + "sent everything and disconnected, records CRIU's exit status in DIR and exits with it. "
            + "With --detach it returns once it listens; ask for the outcome with page-server-status."},
    footer = {"", "Examples:",
        "  criu-agent page-server --images-dir /var/lib/criu/in --tmpfs-size 2G \\",
        "      --address 10.0.0.2 --port 27000",
        "  criu-agent page-server --images-dir /var/lib/criu/in --tmpfs-size 512M \\",
        "      --detach --json"})
final class PageServerCommand implements Callable<Integer> {
  @Mixin CommonOptions common;
  @Spec CommandSpec spec;

  @Option(names = "--images-dir", paramLabel = "DIR", required = true,
      description = "Where the pages go; created if missing, must be empty (or left by the agent).")
  Path imagesDir;

  @Option(names = "--tmpfs-size", paramLabel = "SIZE",
      description = "Mount a tmpfs of SIZE on DIR (512M, 2G; powers of 1024). It must hold the tree's memory.")
  String tmpfsSize;

  @Option(names = "--address", paramLabel = "ADDR",
      description = "IP address to listen on (default: " + PageServerOperation.DEFAULT_ADDRESS
          + "); give the one the source host reaches this host on.")
  String address;

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "0",
      converter = CommonOptions.ListenPortConverter.class,
      description = "TCP port to listen on; 0 (default) lets CRIU pick a free one.")
  int port;

  @Option(names = "--detach", description = "Return once it listens; it serves on in a session of its own.")
  boolean detach;

  @Mixin TlsOptions tls;

  @Option(names = "--page-transport", paramLabel = "criu|relay", defaultValue = "criu", converter = PageTransports.class,
      description = "criu: CRIU's page server listens itself (with --tls-*: CRIU's TLS). relay: this agent listens "
          + "and feeds CRIU's page server; the dump must use --page-transport relay too (with --tls-*: TLS 1.3 "
          + "between the agents, both sides authenticated). Default: criu.")
  PageTransport pageTransport;

  @Override
  public Integer call() {
    PageServerRequest.Builder request = PageServerRequest.newBuilder()
        .setImagesDir(imagesDir.toString())
        .setTmpfsSize(tmpfsSize == null ? "" : tmpfsSize)
        .setAddress(address == null ? "" : address)
        .setPort(port)
        .setDetach(detach)
        .setTransport(pageTransport);
    TlsFiles tlsFiles = tls.files();
    if (tlsFiles != null) {
      request.setTls(tlsFiles);
    }
    OperationRunner runner = new OperationRunner(common, spec.commandLine().getOut(), spec.commandLine().getErr());
    return runner.run(new PageServerOperation(request.build()), result -> result.getExitStatus() == 0,
        result -> detach
            ? "page server detached; its outcome: criu-agent page-server-status --images-dir " + result.getImagesDir()
            : HumanText.of(result));
  }
}
