package dev.criumigration.migration.ssh;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real OpenSSH sshd on 127.0.0.1 as a test "host": its own host key, authorized keys and config in
 * a temporary directory, run in the foreground (-D -e) and stopped with every session it started.
 */
public final class SshdHost implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final Process process;
    private final String hostKeyLine;

    private SshdHost(Path dir, int port, Process process, String hostKeyLine) {
        this.dir = dir;
        this.port = port;
        this.process = process;
        this.hostKeyLine = hostKeyLine;
    }

    /** Starts sshd trusting the public keys of {@code clientKeys}. */
    public static SshdHost start(String name, ClientKeys clientKeys) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("sshd-" + name + "-");
        Path hostKey = dir.resolve("ssh_host_ed25519_key");
        ClientKeys.run(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", hostKey.toString()));
        Files.writeString(dir.resolve("authorized_keys"), clientKeys.authorizedKeys());
        Files.createDirectories(Path.of("/run/sshd")); // sshd's privilege separation directory
        for (int attempt = 0; ; attempt++) {
            int port = freePort();
            Path config = dir.resolve("sshd_config");
            Files.writeString(config, String.join("\n",
                    "ListenAddress 127.0.0.1",
                    "Port " + port,
                    "HostKey " + hostKey,
                    "PidFile " + dir.resolve("sshd.pid"),
                    "AuthorizedKeysFile " + dir.resolve("authorized_keys"),
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "Subsystem sftp internal-sftp",
                    "LogLevel VERBOSE",
                    ""));
            Process process = new ProcessBuilder("/usr/sbin/sshd", "-D", "-e", "-f", config.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("sshd.log").toFile())
                    .start();
            if (waitForPort(port, process, Duration.ofSeconds(10))) {
                String hostKeyLine = Files.readString(dir.resolve("ssh_host_ed25519_key.pub")).strip();
                return new SshdHost(dir, port, process, hostKeyLine);
            }
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            if (attempt == 2) {
                throw new IOException("sshd did not start; its log: " + Files.readString(dir.resolve("sshd.log")));
            }
        }
    }

    public int port() {
        return port;
    }

    public Path dir() {
        return dir;
    }

    /** This host as the engine addresses it: {@code user@127.0.0.1:PORT}. */
    public HostAddress address(String user) {
        return HostAddress.of(user, "127.0.0.1", port);
    }

    /** The public host key line, "ssh-ed25519 AAAA... name". */
    public String hostKeyLine() {
        return hostKeyLine;
    }

    /** The known_hosts line for this host. */
    public String knownHostsLine() {
        return "[127.0.0.1]:" + port + " " + hostKeyLine;
    }

    public String log() throws IOException {
        return Files.readString(dir.resolve("sshd.log"), StandardCharsets.UTF_8);
    }

    /** PIDs of the per-connection sshd processes (the listener's children). */
    public List<Long> sessionPids() {
        List<Long> pids = new ArrayList<>();
        process.toHandle().children().forEach(child -> pids.add(child.pid()));
        return pids;
    }

    /** Everything running under this sshd (sessions and the commands they run). */
    public java.util.stream.Stream<ProcessHandle> descendants() {
        return process.toHandle().descendants();
    }

    /** Kills every session process at once, as a dropped connection would end them. */
    public void killSessions() {
        process.toHandle().children().forEach(ProcessHandle::destroyForcibly);
    }

    /** Stops sshd and everything its sessions still run. */
    @Override
    public void close() throws IOException, InterruptedException {
        List<ProcessHandle> tree = new ArrayList<>();
        process.toHandle().descendants().forEach(tree::add);
        tree.forEach(ProcessHandle::destroy);
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        for (ProcessHandle handle : tree) {
            if (handle.isAlive()) {
                handle.destroyForcibly();
            }
        }
        ClientKeys.deleteTree(dir);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static boolean waitForPort(int port, Process process, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                return false;
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return true;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        return false;
    }
}
