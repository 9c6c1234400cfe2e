package dev.criumigration.migration.ssh;

import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.SshSettings;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.client.config.hosts.HostConfigEntryResolver;
import org.apache.sshd.client.future.ConnectFuture;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.client.session.ClientSession.ClientSessionEvent;
import org.apache.sshd.common.keyprovider.KeyIdentityProvider;
import org.apache.sshd.core.CoreModuleProperties;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The engine's one SSH client: logs in to hosts with public keys only, checks host keys by the
 * policy before authenticating, keeps sessions alive with heartbeats.
 */
public final class SshConnector implements AutoCloseable {
    /** Missed heartbeat replies after which a session counts as dead. */
    private static final int HEARTBEAT_NO_REPLY_MAX = 3;

    private final SshSettings settings;
    private final MigrationListener listener;
    private final SshClient client;
    private final HostKeyVerifiers.Rejections rejections = new HostKeyVerifiers.Rejections();
    private List<KeyPair> keys;

    public SshConnector(SshSettings settings, MigrationListener listener) {
        this.settings = settings;
        this.listener = listener;
        this.client = SshClient.setUpDefaultClient();
        // Only what the settings say: no ~/.ssh/config rewriting hosts, no agent or default key files
        // behind the caller's back, no password prompts.
        client.setHostConfigEntryResolver(HostConfigEntryResolver.EMPTY);
        client.setKeyIdentityProvider(KeyIdentityProvider.EMPTY_KEYS_PROVIDER);
        client.setUserAuthFactories(List.of(UserAuthPublicKeyFactory.INSTANCE));
        client.setServerKeyVerifier(HostKeyVerifiers.create(settings.hostKeyPolicy(), listener::warning, rejections));
        CoreModuleProperties.HEARTBEAT_INTERVAL.set(client, settings.heartbeatInterval());
        CoreModuleProperties.HEARTBEAT_REPLY_WAIT.set(client, settings.heartbeatInterval());
        CoreModuleProperties.HEARTBEAT_NO_REPLY_MAX.set(client, HEARTBEAT_NO_REPLY_MAX);
        // Agent operations may be silent for long (a page server waiting for its dump): no idle cut-off,
        // the heartbeat finds dead peers.
        CoreModuleProperties.IDLE_TIMEOUT.set(client, Duration.ZERO);
        CoreModuleProperties.NIO2_READ_TIMEOUT.set(client, Duration.ZERO);
        CoreModuleProperties.AUTH_TIMEOUT.set(client, settings.authTimeout());
        client.start();
    }

    public SshSettings settings() {
        return settings;
    }

    /** The login user for {@code address}: its own, else the identity's, else the default user. */
    public String userFor(HostAddress address) {
        if (address.user().isPresent()) {
            return address.user().get();
        }
        for (SshIdentity identity : settings.identities()) {
            if (identity.user().isPresent()) {
                return identity.user().get();
            }
        }
        return settings.defaultUser();
    }

    /** Connects and authenticates; host key refused, auth failed or deadlines passed are typed failures. */
    public RemoteHost connect(HostAddress address) throws MigrationException {
        List<KeyPair> identities = keys();
        HostAddress login = address.withDefaultUser(userFor(address));
        String user = login.user().orElseThrow();
        ClientSession session = null;
        try {
            ConnectFuture connecting = client.connect(user, login.host(), login.port());
            if (!connecting.await(settings.connectTimeout())) {
                connecting.cancel();
                throw new MigrationException(null, Kind.TIMEOUT, "connecting to " + login + " took longer than "
                        + seconds(settings.connectTimeout()), "check that the host is up and its SSH port "
                        + login.port() + " is reachable from here");
            }
            if (connecting.getException() != null) {
                throw connectFailure(login, connecting.getException());
            }
            session = connecting.getSession();
            // The key exchange (and so the host-key check) completes before authentication starts.
            Set<ClientSessionEvent> state = session.waitFor(
                    EnumSet.of(ClientSessionEvent.WAIT_AUTH, ClientSessionEvent.CLOSED), settings.connectTimeout());
            hostKeyRejection(session, login);
            if (state.contains(ClientSessionEvent.TIMEOUT)) {
                throw new MigrationException(null, Kind.TIMEOUT, "the SSH key exchange with " + login
                        + " took longer than " + seconds(settings.connectTimeout()), "");
            }
            if (state.contains(ClientSessionEvent.CLOSED)) {
                throw new MigrationException(null, Kind.CONNECT, "SSH session with " + login + " closed during the "
                        + "key exchange", "check the host's sshd log");
            }
            for (KeyPair key : identities) {
                session.addPublicKeyIdentity(key);
            }
            try {
                session.auth().verify(settings.authTimeout());
            } catch (IOException e) {
                hostKeyRejection(session, login);
                if (isTimeout(e)) {
                    throw new MigrationException(null, Kind.TIMEOUT, "SSH authentication with " + login
                            + " took longer than " + seconds(settings.authTimeout()), "");
                }
                throw new MigrationException(null, Kind.AUTH, "SSH authentication as " + user + " on " + login
                        + " failed: the host accepted none of the " + identities.size() + " key(s) offered ("
                        + describeIdentities() + ")", "add the public key to ~" + user + "/.ssh/authorized_keys "
                        + "on the host, or give the right key (--identity) and user (USER@HOST)",
                        false, List.of(), e);
            }
            RemoteHost host = new RemoteHost(login, session, settings, listener);
            session = null;
            return host;
        } catch (InterruptedIOException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException(null, Kind.CANCELLED, "connecting to " + login + " was interrupted", "");
        } catch (IOException e) {
            throw connectFailure(login, e);
        } finally {
            if (session != null) {
                rejections.take(session);
                session.close(true);
            }
        }
    }

    private void hostKeyRejection(ClientSession session, HostAddress login) throws MigrationException {
        HostKeyVerifiers.HostKeyRejection rejection = rejections.take(session);
        if (rejection != null) {
            throw new MigrationException(null, Kind.HOST_KEY, rejection.message(), rejection.hint());
        }
    }

    private MigrationException connectFailure(HostAddress login, Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root instanceof UnknownHostException) {
            return new MigrationException(null, Kind.CONNECT, "unknown host " + login.host(),
                    "check the host name (DNS or /etc/hosts)", false, List.of(), e);
        }
        if (root instanceof ConnectException) {
            return new MigrationException(null, Kind.CONNECT, "cannot connect to " + login + ": " + root.getMessage(),
                    "check that sshd runs on the host and listens on port " + login.port(), false, List.of(), e);
        }
        return new MigrationException(null, Kind.CONNECT, "SSH connection to " + login + " failed: " + e.getMessage(),
                "", false, List.of(), e);
    }

    private synchronized List<KeyPair> keys() throws MigrationException {
        if (keys == null) {
            List<KeyPair> loaded = new ArrayList<>();
            for (SshIdentity identity : settings.identities()) {
                loaded.addAll(KeyLoader.load(identity));
            }
            if (settings.identities().isEmpty()) {
                loaded.addAll(KeyLoader.loadDefaults(listener::log));
            }
            if (loaded.isEmpty()) {
                throw new MigrationException(null, Kind.AUTH, "no SSH key to log in with: none was given and ~/.ssh "
                        + "has no unencrypted id_ed25519, id_ecdsa or id_rsa", "give a private key with --identity");
            }
            keys = List.copyOf(loaded);
        }
        return keys;
    }

    private String describeIdentities() {
        if (settings.identities().isEmpty()) {
            return "default keys in ~/.ssh";
        }
        List<String> names = new ArrayList<>();
        settings.identities().forEach(identity -> names.add(identity.describe()));
        return String.join(", ", names);
    }

    static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String message = String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT);
            if (t instanceof java.util.concurrent.TimeoutException || message.contains("timeout")
                    || message.contains("timed out")) {
                return true;
            }
        }
        return false;
    }

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    @Override
    public void close() {
        client.stop();
    }
}
