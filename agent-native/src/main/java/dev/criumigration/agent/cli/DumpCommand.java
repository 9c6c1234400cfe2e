package dev.criumigration.agent.cli;

import dev.criumigration.agent.ops.Arguments;
import dev.criumigration.agent.ops.DumpOperation;
import dev.criumigration.agent.protocol.DumpRequest;
import dev.criumigration.agent.protocol.NetworkLock;
import dev.criumigration.agent.protocol.PageCompression;
import dev.criumigration.agent.protocol.PageRelayOptions;
import dev.criumigration.agent.protocol.PageTransport;
import dev.criumigration.agent.protocol.TlsFiles;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "dump", mixinStandardHelpOptions = true,
    description = {"Checkpoints the process tree rooted at PID.",
        "Writes its images into DIR; its memory pages go to the page server when one is given. "
            + "With --leave-stopped the source waits, stopped, for `resume` or `kill`; without it the "
            + "source keeps running. A failed dump leaves the source running. Prints the frozen time, "
            + "pages, bytes and throughput."},
    footer = {"", "Examples:",
        "  criu-agent dump --pid 4242 --images-dir /var/lib/criu/out \\",
        "      --page-server 10.0.0.2:27000 --leave-stopped",
        "  criu-agent dump --pid 4242 --images-dir /tmp/checkpoint --tcp-established --json",
        "  criu-agent dump --pid 4242 --images-dir /var/lib/criu/out --page-server 10.0.0.2:27000 \\",
        "      --page-transport relay --tls-cacert ca.pem --tls-cert dump.pem --tls-key dump-key.pem --max-rate 200M"})
final class DumpCommand implements Callable<Integer> {
  @Mixin CommonOptions common;
  @Spec CommandSpec spec;

  @Option(names = "--pid", paramLabel = "PID", required = true, description = "The root of the tree to dump.")
  int pid;

  @Option(names = "--images-dir", paramLabel = "DIR", required = true,
      description = "Where the images go (created if missing; must not hold an earlier dump).")
  Path imagesDir;

  @Option(names = "--page-server", paramLabel = "HOST:PORT", converter = CommonOptions.HostPortConverter.class,
      description = "Send the memory pages to this page server instead of writing them into DIR.")
  Arguments.HostPort pageServer;

  @Option(names = "--leave-stopped", description = "Leave the source stopped after the dump, for resume or kill.")
  boolean leaveStopped;

  @Option(names = "--tcp-established", description = "Dump established TCP connections (CRIU's --tcp-established).")
  boolean tcpEstablished;

  @Option(names = "--shell-job", description = "The tree was started from a shell (CRIU's --shell-job).")
  boolean shellJob;

  @Option(names = "--ext-unix-sk", description = "Allow external UNIX sockets (CRIU's --ext-unix-sk).")
  boolean extUnixSk;

  @Option(names = "--network-lock", paramLabel = "iptables|nftables|skip", defaultValue = "nftables",
      converter = NetworkLocks.class, description = "How CRIU locks the tree's network while frozen (default: nftables).")
  NetworkLock networkLock;

  @Mixin TlsOptions tls;

  @Option(names = "--page-transport", paramLabel = "criu|relay", defaultValue = "criu", converter = PageTransports.class,
      description = "criu: CRIU dials the page server itself (with --tls-*: CRIU's TLS). relay: this agent dials "
          + "the page server's agent (started with --page-transport relay) and carries the stream (with --tls-*: "
          + "TLS 1.3 between the agents). Default: criu.")
  PageTransport pageTransport;

  @Option(names = "--compress", paramLabel = "none|lz4", defaultValue = "none",
      converter = PageTransports.Compressions.class,
      description = "relay only: compress the page stream with LZ4 (pays on real memory, not on random bytes). Default: none.")
  PageCompression compress;

  @Option(names = "--max-rate", paramLabel = "SIZE", converter = CommonOptions.SizeConverter.class, description = "relay only: at most SIZE bytes a second on the wire "
      + "(100M, 1G), so that a migration leaves bandwidth to production traffic. Default: no cap.")
  Long maxRate;

  @Override
  public Integer call() {
    DumpRequest.Builder request = DumpRequest.newBuilder()
        .setPid(pid)
        .setImagesDir(imagesDir.toString())
        .setLeaveStopped(leaveStopped)
        .setTcpEstablished(tcpEstablished)
        .setShellJob(shellJob)
        .setExtUnixSk(extUnixSk)
        .setNetworkLock(networkLock);
    if (pageServer != null) {
      request.setPageServerHost(pageServer.host()).setPageServerPort(pageServer.port());
    }
    TlsFiles tlsFiles = tls.files();
    if (tlsFiles != null) {
      request.setTls(tlsFiles);
    }
    if ((compress != PageCompression.NO_COMPRESSION || maxRate != null) && pageTransport != PageTransport.AGENT_RELAY) {
      throw new ParameterException(spec.commandLine(), "--compress and --max-rate need --page-transport relay");
    }
    request.setTransport(pageTransport).setRelay(PageRelayOptions.newBuilder().setCompression(compress)
        .setMaxBytesPerSecond(maxRate == null ? 0 : maxRate));
    return new OperationRunner(common, spec.commandLine().getOut(), spec.commandLine().getErr())
        .run(new DumpOperation(request.build()), result -> true, HumanText::of);
  }
}
