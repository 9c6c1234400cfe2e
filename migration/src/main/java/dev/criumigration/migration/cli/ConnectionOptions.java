package dev.criumigration.migration.cli;

import dev.criumigration.migration.SshSettings;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.ssh.HostKeyPolicy;
import dev.criumigration.migration.ssh.SshIdentity;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** How to reach the hosts: keys, host-key policy, sudo, deadlines. Shared by every command. */
final class ConnectionOptions {
    @Option(names = {"-i", "--identity"}, paramLabel = "KEY",
            description = "Private key to log in with (OpenSSH or PEM; ed25519, RSA, ECDSA). Repeatable. "
                    + "Default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa.")
    List<Path> identities = new ArrayList<>();

    @Option(names = "--passphrase-file", paramLabel = "FILE",
            description = "File holding the passphrase of the encrypted key(s) (never give it on the command line).")
    Path passphraseFile;

    @Option(names = {"-l", "--user"}, paramLabel = "USER", description = "Login for hosts given without USER@ (default: root).")
    String user;

    @Option(names = "--known-hosts", paramLabel = "FILE",
            description = "known_hosts file the host keys are checked against (default: ~/.ssh/known_hosts).")
    Path knownHosts;

    @Option(names = "--host-key", paramLabel = "KEYLINE",
            description = "Trust exactly this host key ('ssh-ed25519 AAAA...' or a known_hosts line) instead of "
                    + "a known_hosts file. Repeatable.")
    List<String> hostKeys = new ArrayList<>();

    @Option(names = "--accept-any-host-key",
            description = "INSECURE: trust whatever key a host presents (a warning is printed on every connect).")
    boolean acceptAnyHostKey;

    @Option(names = "--sudo", description = "Run the agent through 'sudo -n' (for logins other than root).")
    boolean sudo;

    @Option(names = "--agent-dir", paramLabel = "DIR",
            description = "Where the agent jar is kept on the hosts (default: " + SshSettings.DEFAULT_AGENT_DIR + ").")
    String agentDir;

    @Option(names = "--agent-socket", paramLabel = "PATH",
            description = {"Where the hosts' warm agent daemon listens (default: " + SshSettings.DEFAULT_AGENT_SOCKET
                    + "); where none of this build listens, an agent is started for the migration.",
                    "'' never uses a daemon."})
    String agentSocket;

    @Option(names = "--java", paramLabel = "PATH", description = "Java launcher on the hosts (default: java).")
    String java;

    @Option(names = "--images-base", paramLabel = "DIR",
            description = "Every images directory on the hosts is inside DIR; the agents refuse others (default: "
                    + SshSettings.DEFAULT_IMAGES_BASE + ").")
    String imagesBase;

    @Option(names = "--connect-timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "Deadline for connecting and for authenticating (default: 15s).")
    Duration connectTimeout;

    @Option(names = "--command-timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "Deadline of each short remote command (default: 60s).")
    Duration commandTimeout;

    @Option(names = {"-v", "--verbose"}, description = "Also print the agents' log lines (on stderr).")
    boolean verbose;

    @Option(names = "--json", description = "Print exactly one JSON document on stdout (progress stays on stderr).")
    boolean json;

    SshSettings settings(Duration operationTimeout) {
        if (acceptAnyHostKey && (knownHosts != null || !hostKeys.isEmpty())) {
            throw new UsageException("--accept-any-host-key cannot be combined with --known-hosts or --host-key");
        }
        if (knownHosts != null && !hostKeys.isEmpty()) {
            throw new UsageException("give either --known-hosts or --host-key, not both");
        }
        SshSettings.Builder builder = SshSettings.builder();
        char[] passphrase = readPassphrase();
        for (Path identity : identities) {
            builder.identity(SshIdentity.fromFile(identity, passphrase));
        }
        if (acceptAnyHostKey) {
            builder.hostKeyPolicy(HostKeyPolicy.acceptAny());
        } else if (!hostKeys.isEmpty()) {
            builder.hostKeyPolicy(HostKeyPolicy.explicitKey(hostKeys.toArray(String[]::new)));
        } else if (knownHosts != null) {
            if (!Files.isReadable(knownHosts)) {
                throw new UsageException("known_hosts file " + knownHosts + " does not exist or is not readable");
            }
            builder.hostKeyPolicy(HostKeyPolicy.knownHosts(knownHosts));
        }
        if (user != null) {
            builder.defaultUser(user);
        }
        if (agentSocket != null) {
            builder.agentSocket(agentSocket);
        }
        if (agentDir != null) {
            builder.agentDir(agentDir);
        }
        if (java != null) {
            builder.javaCommand(java);
        }
        if (imagesBase != null) {
            builder.imagesBase(imagesBase);
        }
        if (connectTimeout != null) {
            builder.connectTimeout(connectTimeout).authTimeout(connectTimeout);
        }
        if (commandTimeout != null) {
            builder.commandTimeout(commandTimeout);
        }
        if (operationTimeout != null) {
            builder.operationTimeout(operationTimeout);
        }
        return builder.useSudo(sudo).build();
    }

    private char[] readPassphrase() {
        if (passphraseFile == null) {
            return null;
        }
        try {
            String text = Files.readString(passphraseFile, StandardCharsets.UTF_8);
            return text.endsWith("\n") ? text.substring(0, text.length() - 1).toCharArray() : text.toCharArray();
        } catch (IOException e) {
            throw new UsageException("cannot read the passphrase file " + passphraseFile + ": " + e.getMessage());
        }
    }
}
