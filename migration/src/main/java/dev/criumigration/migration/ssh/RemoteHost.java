package dev.criumigration.migration.ssh;

import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.SshSettings;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannel;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.sftp.client.SftpClient;
import org.apache.sshd.sftp.client.SftpClientFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** One authenticated SSH session to a host: remote commands with deadlines, exec channels, SFTP. */
public final class RemoteHost implements AutoCloseable {
    /** coreutils timeout's exit status when the deadline passed (124), or when it had to SIGKILL (137). */
    private static final int TIMEOUT_EXIT_STATUS = 124;
    private static final int TIMEOUT_KILLED_EXIT_STATUS = 137;
    /** How long past its deadline a command may take to report that it was timed out on the host. */
    private static final Duration COMMAND_GRACE = Duration.ofSeconds(10);
    private final HostAddress address;
    private final ClientSession session;
    private final SshSettings settings;
    private final MigrationListener listener;

    RemoteHost(HostAddress address, ClientSession session, SshSettings settings, MigrationListener listener) {
        this.address = address;
        this.session = session;
        this.settings = settings;
        this.listener = listener;
    }

    /** The address logged in to, with its user. */
    public HostAddress address() {
        return address;
    }

    public boolean isOpen() {
        return session.isOpen();
    }

    /** The remote command line for {@code argv}: every argument quoted, behind {@code sudo -n} if configured. */
    public String commandLine(List<String> argv, boolean privileged) {
        List<String> full = new ArrayList<>();
        if (privileged && settings.useSudo()) {
            full.addAll(List.of("sudo", "-n", "--"));
        }
        full.addAll(argv);
        return ShellQuote.join(full);
    }

    /** Runs {@code argv} (as root via sudo when {@code privileged} and configured) with the command deadline. */
    public CommandResult run(List<String> argv, boolean privileged) throws MigrationException {
        return run(argv, privileged, settings.commandTimeout());
    }

    public CommandResult run(List<String> argv, boolean privileged, Duration timeout) throws MigrationException {
        // coreutils' timeout ends the command on the host too: a command whose channel we give up on
        // must not go on running there.
        List<String> bounded = new ArrayList<>(List.of("timeout", "-k", "5", timeout.toMillis() / 1000.0 + "s"));
        bounded.addAll(argv);
        String line = commandLine(bounded, privileged);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long started = System.nanoTime();
        long deadline = started + timeout.plus(COMMAND_GRACE).toNanos();
        try (ChannelExec channel = session.createExecChannel(line)) {
            channel.setOut(out);
            channel.setErr(err);
            channel.open().verify(timeout);
            Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
            Set<ClientChannelEvent> events = channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), left);
            if (!events.contains(ClientChannelEvent.CLOSED)) {
                channel.close(true);
                throw new MigrationException(null, Kind.TIMEOUT, "'" + abbreviate(line) + "' on " + address
                        + " did not finish within " + SshConnector.seconds(timeout), "");
            }
            Integer status = channel.getExitStatus();
            String stdout = out.toString(StandardCharsets.UTF_8);
            String stderr = err.toString(StandardCharsets.UTF_8);
            if (status == null) {
                throw new MigrationException(null, Kind.CONNECT, "'" + abbreviate(line) + "' on " + address
                        + " ended without an exit status" + (channel.getExitSignal() != null
                        ? " (signal " + channel.getExitSignal() + ")" : "") + "; the connection may have dropped", "");
            }
            CommandResult result = new CommandResult(status, stdout, stderr);
            if (privileged && settings.useSudo()) {
                checkSudo(result);
            }
            boolean deadlinePassed = System.nanoTime() - started >= timeout.toNanos();
            if (status == TIMEOUT_EXIT_STATUS || (status == TIMEOUT_KILLED_EXIT_STATUS && deadlinePassed)) {
                throw new MigrationException(null, Kind.TIMEOUT, "'" + abbreviate(commandLine(argv, privileged))
                        + "' on " + address + " did not finish within " + SshConnector.seconds(timeout), "");
            }
            return result;
        } catch (IOException e) {
            if (!session.isOpen()) {
                throw new MigrationException(null, Kind.CONNECT, "the SSH connection to " + address + " was lost",
                        "", false, List.of(), e);
            }
            if (SshConnector.isTimeout(e)) {
                throw new MigrationException(null, Kind.TIMEOUT, "'" + abbreviate(line) + "' on " + address
                        + " did not start within " + SshConnector.seconds(timeout), "", false, List.of(), e);
            }
            throw new MigrationException(null, Kind.CONNECT, "running '" + abbreviate(line) + "' on " + address
                    + " failed: " + e.getMessage(), "", false, List.of(), e);
        }
    }

    /** A failed sudo says so on stderr; the command itself never ran. */
    public void checkSudo(CommandResult result) throws MigrationException {
        if (result.ok()) {
            return;
        }
        String stderr = result.stderr();
        if (stderr.contains("sudo: a password is required") || stderr.contains("sudo: a terminal is required")
                || stderr.contains("no tty present")) {
            throw new MigrationException(null, Kind.AUTH, "sudo on " + address + " asks for a password (sudo -n "
                    + "refuses to prompt)", "let " + address.user().orElse("the user") + " run the agent without a "
                    + "password (a NOPASSWD rule in /etc/sudoers.d) or log in as root");
        }
        if (stderr.contains("is not in the sudoers file") || stderr.contains("is not allowed to execute")) {
            throw new MigrationException(null, Kind.AUTH, "sudo on " + address + " refuses: " + firstLine(stderr),
                    "give " + address.user().orElse("the user") + " a sudo rule for the agent, or log in as root");
        }
        if (result.exitStatus() == 127 && stderr.contains("sudo")) {
            throw new MigrationException(null, Kind.HOST_NOT_READY, "sudo is not installed on " + address,
                    "install sudo or log in as root");
        }
    }

    /** Opens an exec channel for {@code argv}; the caller owns (and closes) it. */
    public ChannelExec openExec(List<String> argv, boolean privileged) throws MigrationException {
        String line = commandLine(argv, privileged);
        try {
            ChannelExec channel = session.createExecChannel(line);
            channel.open().verify(settings.commandTimeout());
            return channel;
        } catch (IOException e) {
            throw new MigrationException(null, Kind.CONNECT, "starting '"
                    + abbreviate(line) + "' on " + address + " failed: " + e.getMessage(), "", false, List.of(), e);
        }
    }

    /**
     * A stream to the Unix socket {@code path} on the host through this connection, or empty when sshd
     * refuses it (nothing listens there, the login user may not reach it, or forwarding is off).
     */
    public java.util.Optional<ClientChannel> openUnixSocket(String path) throws MigrationException {
        StreamLocalChannel channel = new StreamLocalChannel(path);
        try {
            session.getService(ConnectionService.class).registerChannel(channel);
            channel.open().verify(settings.commandTimeout());
            return java.util.Optional.of(channel);
        } catch (IOException e) {
            channel.close(true);
            if (refusedBySshd(e)) {
                return java.util.Optional.empty();
            }
            throw new MigrationException(null, Kind.CONNECT, "opening " + path + " on " + address + " failed: "
                    + e.getMessage(), "", false, List.of(), e);
        }
    }

    /** The channel open was answered with a refusal (verify() wraps it in an SshException). */
    private static boolean refusedBySshd(Throwable e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof SshChannelOpenException) {
                return true;
            }
        }
        return false;
    }

    /** An SFTP client on this session; the caller closes it. */
    public SftpClient sftp() throws MigrationException {
        try {
            return SftpClientFactory.instance().createSftpClient(session);
        } catch (IOException e) {
            throw new MigrationException(null, Kind.CONNECT, "SFTP to " + address + " failed: " + e.getMessage(),
                    "the host's sshd needs the sftp subsystem (Subsystem sftp ... in sshd_config)", false, List.of(), e);
        }
    }

    public MigrationListener listener() {
        return listener;
    }

    public SshSettings settings() {
        return settings;
    }

    @Override
    public void close() {
        session.close(false);
    }

    /** Drops the connection at once, without a polite close. */
    public void abort() {
        session.close(true);
    }

    static String firstLine(String text) {
        for (String line : text.split("\\R")) {
            if (!line.isBlank()) {
                return line.strip();
            }
        }
        return "";
    }

    private static String abbreviate(String line) {
        return line.length() <= 120 ? line : line.substring(0, 117) + "...";
    }

    @Override
    public String toString() {
        return address.toString();
    }
}
