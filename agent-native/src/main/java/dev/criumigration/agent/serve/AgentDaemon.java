package dev.criumigration.agent.serve;

import dev.criumigration.agent.ops.AgentException;
import dev.criumigration.agent.ops.ImagesBase;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * {@code criu-agent daemon}: the agent kept running between migrations (by systemd), so that a
 * controller's migration starts no JVM. It listens on a Unix socket only root can reach (mode 0600 in
 * a 0700 directory); controllers come through their SSH connection (OpenSSH's streamlocal forwarding),
 * never through a network port. Each connection is one controller's session ({@link AgentServer}), all
 * sharing one {@link AgentHost}: a second controller's request for a process or images directory
 * another one holds is refused. When the jar it runs from is replaced (an upgrade), the daemon stops
 * taking connections, ends once its sessions have, and systemd starts the new build.
 */
public final class AgentDaemon {
  public static final String DEFAULT_SOCKET = "/run/criu-agent/agent.sock";
  /** How long a stop (SIGTERM) waits for the sessions to put back what they run. */
  private static final Duration STOP_WAIT = Duration.ofSeconds(90);

  private final Path socket;
  private final ServerSocketChannel server;
  private final AgentHost host;
  private final PrintStream log;
  private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
  private final List<Thread> sessionThreads = new CopyOnWriteArrayList<>();
  private long connectionsAccepted;

  private AgentDaemon(Path socket, ServerSocketChannel server, AgentHost host, PrintStream log) {
    this.socket = socket;
    this.server = server;
    this.host = host;
    this.log = log;
  }

  /** Binds {@code socket}; refused while another daemon answers on it. */
  public static AgentDaemon bind(Path socket, ImagesBase imagesBase, PrintStream log) throws AgentException {
    Path dir = socket.toAbsolutePath().getParent();
    try {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
      if (Files.exists(socket)) {
        if (answers(socket)) {
          throw AgentException.usage("an agent daemon already listens on " + socket,
              "stop it first (systemctl stop criu-agent), or give this one another --socket");
        }
        Files.delete(socket);  // left by a daemon that was killed
      }
      ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      server.bind(UnixDomainSocketAddress.of(socket));
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
      return new AgentDaemon(socket, server, new AgentHost(AgentBuild.current(), imagesBase, true), log);
    } catch (IOException e) {
      throw AgentException.of(dev.criumigration.agent.protocol.ErrorKind.IO,
          "cannot listen on " + socket + ": " + e.getMessage(), "run the daemon as root, with a writable " + dir);
    }
  }

  private static boolean answers(Path socket) {
    try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Serves connections until stopped or retired; then waits for the sessions to end. */
  public int run() throws InterruptedException {
    Thread stopper = new Thread(this::stop, "criu-agent-daemon-stop");
    Runtime.getRuntime().addShutdownHook(stopper);
    log.println("criu-agent daemon: listening on " + socket + " (build " + shortBuild(host.build().sha256())
        + ", images base " + host.imagesBase() + ")");
    try {
      while (true) {
        SocketChannel connection;
        try {
          connection = server.accept();
        } catch (AsynchronousCloseException e) {
          break;  // stopped or retired
        } catch (IOException e) {
          log.println("criu-agent daemon: accepting failed: " + e.getMessage());
          break;
        }
        serve(connection);
        Optional<String> upgrade = host.build().replaced();
        if (upgrade.isPresent()) {
          log.println("criu-agent daemon: the jar was replaced (build " + shortBuild(upgrade.get())
              + "): taking no more connections and ending once the sessions have ended");
          closeServer();
        }
      }
    } finally {
      closeServer();
    }
    for (Thread session : sessionThreads) {
      session.join();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(stopper);
    } catch (IllegalStateException e) {
      // shutting down already: the hook is running
    }
    return 0;
  }

  private void serve(SocketChannel connection) {
    String name = "connection " + ++connectionsAccepted;
    connections.add(connection);
    Thread session = new Thread(() -> {
      try (connection) {
        new AgentServer(new BufferedInputStream(SocketStreams.input(connection)),
            new BufferedOutputStream(SocketStreams.output(connection)),
            log, host, name).serve();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (IOException e) {
        log.println(name + ": closing failed: " + e.getMessage());
      } finally {
        connections.remove(connection);
        sessionThreads.remove(Thread.currentThread());
        log.println(name + ": ended");
      }
    }, "criu-agent-" + name.replace(' ', '-'));
    sessionThreads.add(session);
    log.println(name + ": a controller connected (" + host.sessions() + " other sessions)");
    session.start();
  }

  /** SIGTERM: no new sessions; every session sees its input end and puts back what it runs. */
  private void stop() {
    log.println("criu-agent daemon: stopping: every session puts back what it runs");
    closeServer();
    for (SocketChannel connection : connections) {
      try {
        connection.shutdownInput();
      } catch (IOException e) {
        // closed meanwhile
      }
    }
    long until = System.nanoTime() + STOP_WAIT.toNanos();
    for (Thread session : sessionThreads) {
      try {
        session.join(Math.max(1, (until - System.nanoTime()) / 1_000_000));
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private synchronized void closeServer() {
    if (server.isOpen()) {
      try {
        server.close();
        Files.deleteIfExists(socket);
      } catch (IOException e) {
        log.println("criu-agent daemon: closing " + socket + " failed: " + e.getMessage());
      }
    }
  }

  private static String shortBuild(String sha256) {
    return sha256.isEmpty() ? "from classes" : sha256.substring(0, 12);
  }
}
