package dev.criumigration.agent.cli;

import dev.criumigration.agent.ops.AgentException;
import dev.criumigration.agent.ops.ImagesBase;
import dev.criumigration.agent.serve.AgentDaemon;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "daemon", mixinStandardHelpOptions = true,
    description = {"Serves controllers from a Unix socket, kept running between migrations (the criu-agent "
        + "systemd unit), so that a migration starts no JVM on this host.",
        "Each connection speaks the protocol of 'serve'. The socket is root's alone (0600 in a 0700 directory); "
            + "controllers reach it through their SSH connection (OpenSSH's streamlocal forwarding, on by default), "
            + "never over the network. Requests of two controllers for the same process or images directory: the "
            + "second is refused. When its jar is replaced the daemon takes no more connections and exits once its "
            + "sessions have ended (systemd starts the new one). SIGTERM puts back what every session runs."},
    footer = {"", "Example (what the unit runs):",
        "  java -jar /var/lib/criu-migration/agent/criu-agent.jar daemon --socket " + AgentDaemon.DEFAULT_SOCKET})
final class DaemonCommand implements Callable<Integer> {
  @Option(names = "--socket", paramLabel = "PATH", defaultValue = AgentDaemon.DEFAULT_SOCKET,
      description = "The Unix socket to listen on (default: ${DEFAULT-VALUE}).")
  Path socket;

  @Option(names = "--images-base", paramLabel = "DIR",
      description = "Every images directory must be inside DIR (default: $" + ImagesBase.ENV + ", else "
          + ImagesBase.DEFAULT + ").")
  String imagesBase;

  @Override
  public Integer call() throws InterruptedException {
    AgentDaemon daemon;
    try {
      daemon = AgentDaemon.bind(socket, ImagesBase.of(imagesBase), System.err);
    } catch (AgentException e) {
      System.err.println("criu-agent daemon: " + e.getMessage() + "\n  what to do: " + e.error().getHint());
      return OperationRunner.USAGE;
    }
    return daemon.run();
  }
}
