package dev.criumigration.migration.ssh;

import dev.criumigration.migration.UsageException;
import org.apache.sshd.client.config.hosts.KnownHostEntry;
import org.apache.sshd.client.keyverifier.KnownHostsServerKeyVerifier;
import org.apache.sshd.client.keyverifier.RejectAllServerKeyVerifier;
import org.apache.sshd.client.keyverifier.ServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.common.util.net.SshdSocketAddress;

import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/** The {@link ServerKeyVerifier}s behind each {@link HostKeyPolicy}, recording why a key was refused. */
final class HostKeyVerifiers {
    /**
     * Why host keys were refused, per session, read after the failed connect (a session's own
     * attributes are cleared when it closes).
     */
    static final class Rejections {
        private final Map<ClientSession, HostKeyRejection> bySession = new ConcurrentHashMap<>();

        void record(ClientSession session, HostKeyRejection rejection) {
            bySession.put(session, rejection);
        }

        HostKeyRejection take(ClientSession session) {
            return bySession.remove(session);
        }
    }

    record HostKeyRejection(String message, String hint) {}

    /** A trusted key, for every host (patterns null) or for the hosts of a known_hosts line. */
    record TrustedKey(KnownHostEntry patterns, PublicKey key) {}

    private HostKeyVerifiers() {}

    static ServerKeyVerifier create(HostKeyPolicy policy, Consumer<String> warnings, Rejections rejections) {
        return switch (policy.mode()) {
            case KNOWN_HOSTS -> new StrictKnownHosts(policy.knownHostsFile(), rejections);
            case EXPLICIT -> explicit(parseExplicit(policy.explicitKeys()), rejections);
            case ACCEPT_ANY -> (session, remote, key) -> {
                warnings.accept("WARNING: host key checking is OFF (accept any host key): accepting "
                        + describe(key) + " from " + hostName(session) + " without verification. Anyone on the "
                        + "network path could impersonate this host. Use a known_hosts file instead.");
                return true;
            };
        };
    }

    static List<TrustedKey> parseExplicit(List<String> lines) {
        List<TrustedKey> keys = new ArrayList<>();
        for (String line : lines) {
            try {
                String firstToken = line.split("\\s+", 2)[0];
                boolean bareKey = KeyUtils.getPublicKeyEntryDecoder(firstToken) != null
                        || firstToken.startsWith("ssh-") || firstToken.startsWith("ecdsa-")
                        || firstToken.startsWith("sk-");
                if (bareKey) {
                    keys.add(new TrustedKey(null, resolve(PublicKeyEntry.parsePublicKeyEntry(line))));
                } else {
                    KnownHostEntry entry = KnownHostEntry.parseKnownHostEntry(line);
                    if (entry == null || entry.getKeyEntry() == null) {
                        throw new IllegalArgumentException("no key in the line");
                    }
                    keys.add(new TrustedKey(entry, resolve(entry.getKeyEntry())));
                }
            } catch (Exception e) {
                throw new UsageException("the host key '" + abbreviate(line) + "' cannot be read (" + e.getMessage()
                        + "): give a line like 'ssh-ed25519 AAAA...' as printed by ssh-keyscan or found in the host's "
                        + "/etc/ssh/ssh_host_*_key.pub");
            }
        }
        return keys;
    }

    private static PublicKey resolve(PublicKeyEntry entry) throws Exception {
        PublicKey key = entry.resolvePublicKey(null, null, PublicKeyEntryResolver.FAILING);
        if (key == null) {
            throw new IllegalArgumentException("unsupported key type " + entry.getKeyType());
        }
        return key;
    }

    private static ServerKeyVerifier explicit(List<TrustedKey> trusted, Rejections rejections) {
        return (session, remote, key) -> {
            SshdSocketAddress address = connectAddress(session);
            for (TrustedKey candidate : trusted) {
                boolean hostMatches = candidate.patterns() == null
                        || candidate.patterns().isHostMatch(address.getHostName(), address.getPort());
                if (hostMatches && KeyUtils.compareKeys(candidate.key(), key)) {
                    return true;
                }
            }
            rejections.record(session, new HostKeyRejection(
                    "the SSH host key of " + hostName(session) + " (" + describe(key) + ") is not the host key that "
                            + "was given; refused before anything was sent",
                    "if the host's key really is " + KeyUtils.getFingerPrint(key) + " (check on the host with "
                            + "'ssh-keygen -lf /etc/ssh/ssh_host_" + keyscanType(key) + "_key.pub'), give its public "
                            + "key line instead, e.g. the output of '" + keyscan(address, key) + "'"));
            return false;
        };
    }

    /** known_hosts checking that refuses unknown, changed and revoked keys, saying why. */
    private static final class StrictKnownHosts extends KnownHostsServerKeyVerifier {
        private final Path file;
        private final Rejections rejections;

        StrictKnownHosts(Path file, Rejections rejections) {
            super(RejectAllServerKeyVerifier.INSTANCE, file);
            this.file = file;
            this.rejections = rejections;
        }

        @Override
        protected boolean acceptUnknownHostKey(ClientSession session, SocketAddress remote, PublicKey key) {
            SshdSocketAddress address = connectAddress(session);
            String where = Files.exists(file) ? "is not in " + file : "cannot be checked: " + file + " does not exist";
            rejections.record(session, new HostKeyRejection(
                    "the SSH host key of " + hostName(session) + " (" + describe(key) + ") " + where
                            + "; refused before anything was sent",
                    "compare " + KeyUtils.getFingerPrint(key) + " with the host's own key (on the host: 'ssh-keygen -lf "
                            + "/etc/ssh/ssh_host_" + keyscanType(key) + "_key.pub'); if they match, trust it with: "
                            + keyscan(address, key) + " >> " + file));
            return false;
        }

        @Override
        public boolean acceptModifiedServerKey(ClientSession session, SocketAddress remote, KnownHostEntry entry,
                                               PublicKey expected, PublicKey actual) {
            SshdSocketAddress address = connectAddress(session);
            rejections.record(session, new HostKeyRejection(
                    "the SSH host key of " + hostName(session) + " has CHANGED: " + file + " has " + describe(expected)
                            + ", the host presented " + describe(actual) + "; refused before anything was sent. Someone "
                            + "may be impersonating the host, or it was reinstalled",
                    "only if you know the host's key was replaced, and " + KeyUtils.getFingerPrint(actual) + " is its "
                            + "new key, remove the old entry with: ssh-keygen -R '" + knownHostsName(address) + "' -f "
                            + file + " and trust the new one with: " + keyscan(address, actual) + " >> " + file));
            return false;
        }

        @Override
        protected void handleRevokedKey(ClientSession session, SocketAddress remote, PublicKey key) {
            rejections.record(session, new HostKeyRejection(
                    "the SSH host key of " + hostName(session) + " (" + describe(key) + ") is marked @revoked in " + file
                            + "; refused before anything was sent",
                    "the host must get a new host key; then trust that one"));
        }
    }

    static String describe(PublicKey key) {
        return KeyUtils.getKeyType(key) + " " + KeyUtils.getFingerPrint(key);
    }

    private static SshdSocketAddress connectAddress(ClientSession session) {
        SocketAddress connect = session.getConnectAddress();
        return connect instanceof SshdSocketAddress sshd ? sshd : SshdSocketAddress.toSshdSocketAddress(connect);
    }

    private static String hostName(ClientSession session) {
        SshdSocketAddress address = connectAddress(session);
        return knownHostsName(address);
    }

    private static String knownHostsName(SshdSocketAddress address) {
        return address.getPort() == HostAddress.DEFAULT_PORT ? address.getHostName()
                : "[" + address.getHostName() + "]:" + address.getPort();
    }

    private static String keyscan(SshdSocketAddress address, PublicKey key) {
        return "ssh-keyscan " + (address.getPort() == HostAddress.DEFAULT_PORT ? "" : "-p " + address.getPort() + " ")
                + "-t " + keyscanType(key) + " " + address.getHostName();
    }

    /** The type name ssh-keyscan -t and the host key files use: ed25519, rsa, ecdsa. */
    private static String keyscanType(PublicKey key) {
        String type = KeyUtils.getKeyType(key);
        if (type.contains("ed25519")) {
            return "ed25519";
        }
        if (type.startsWith("ecdsa")) {
            return "ecdsa";
        }
        return type.contains("rsa") ? "rsa" : type;
    }

    private static String abbreviate(String line) {
        return line.length() <= 40 ? line : line.substring(0, 37) + "...";
    }
}
