package dev.criumigration.migration.ssh;

import dev.criumigration.migration.UsageException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How the host keys of the hosts are trusted. Strict by default: {@link #knownHosts(Path)} with
 * {@code ~/.ssh/known_hosts}. An unknown or changed key is refused during the key exchange, before
 * authentication and before any command is sent.
 */
public final class HostKeyPolicy {
    enum Mode { KNOWN_HOSTS, EXPLICIT, ACCEPT_ANY }

    private final Mode mode;
    private final Path knownHostsFile;
    private final List<String> explicitKeys;

    private HostKeyPolicy(Mode mode, Path knownHostsFile, List<String> explicitKeys) {
        this.mode = mode;
        this.knownHostsFile = knownHostsFile;
        this.explicitKeys = explicitKeys;
    }

    /** Keys listed in an OpenSSH known_hosts file (plain or hashed host names, {@code [host]:port}). */
    public static HostKeyPolicy knownHosts(Path file) {
        return new HostKeyPolicy(Mode.KNOWN_HOSTS, Objects.requireNonNull(file, "known_hosts file"), List.of());
    }

    /** {@code ~/.ssh/known_hosts} of the user running the controller. */
    public static HostKeyPolicy defaultKnownHosts() {
        return knownHosts(Path.of(System.getProperty("user.home"), ".ssh", "known_hosts"));
    }

    /**
     * Exactly the given keys. Each line is either a public key ({@code ssh-ed25519 AAAA... [comment]},
     * trusted for every host) or a known_hosts line ({@code host1,[host2]:2222 ssh-ed25519 AAAA...},
     * trusted for those hosts only). Several lines may be given in one string.
     */
    public static HostKeyPolicy explicitKey(String... keyLines) {
        List<String> lines = new ArrayList<>();
        for (String text : keyLines) {
            if (text == null) {
                continue;
            }
            for (String line : text.split("\\R")) {
                String trimmed = line.strip();
                if (!trimmed.isEmpty() && !trimmed.startsWith("#")) {
                    lines.add(trimmed);
                }
            }
        }
        if (lines.isEmpty()) {
            throw new UsageException("no host key given: pass a public key line such as the output of "
                    + "'ssh-keyscan -t ed25519 HOST' or the host's /etc/ssh/ssh_host_ed25519_key.pub");
        }
        HostKeyVerifiers.parseExplicit(lines); // fails early on a malformed key
        return new HostKeyPolicy(Mode.EXPLICIT, null, List.copyOf(lines));
    }

    /** Trusts every host key. Insecure (anyone on the path can impersonate the host): warns on each connect. */
    public static HostKeyPolicy acceptAny() {
        return new HostKeyPolicy(Mode.ACCEPT_ANY, null, List.of());
    }

    Mode mode() {
        return mode;
    }

    Path knownHostsFile() {
        return knownHostsFile;
    }

    List<String> explicitKeys() {
        return explicitKeys;
    }

    @Override
    public String toString() {
        return switch (mode) {
            case KNOWN_HOSTS -> "known_hosts " + knownHostsFile;
            case EXPLICIT -> explicitKeys.size() + " explicit host key(s)";
            case ACCEPT_ANY -> "accept any host key (insecure)";
        };
    }
}
