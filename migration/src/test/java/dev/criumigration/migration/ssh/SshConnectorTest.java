package dev.criumigration.migration.ssh;

import dev.criumigration.migration.Gate;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.RecordingListener;
import dev.criumigration.migration.SshSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SSH against a real OpenSSH sshd on loopback: keys, host-key policies, deadlines. */
class SshConnectorTest {
    private static ClientKeys keys;
    private static SshdHost host;
    private static SshdHost otherHost;

    @TempDir
    Path temp;

    @BeforeAll
    static void startSshd() throws Exception {
        Gate.requireSshd();
        keys = ClientKeys.generate();
        host = SshdHost.start("host", keys);
        otherHost = SshdHost.start("other", keys);
    }

    @AfterAll
    static void stopSshd() throws Exception {
        if (otherHost != null) {
            otherHost.close();
        }
        if (host != null) {
            host.close();
        }
        if (keys != null) {
            keys.close();
        }
    }

    private Path knownHosts(String... lines) throws Exception {
        Path file = Files.createTempFile(temp, "known_hosts", "");
        Files.writeString(file, String.join("\n", lines) + "\n");
        return file;
    }

    private SshSettings.Builder settings(SshIdentity identity) throws Exception {
        return SshSettings.builder().identity(identity)
                .hostKeyPolicy(HostKeyPolicy.knownHosts(knownHosts(host.knownHostsLine())))
                .connectTimeout(Duration.ofSeconds(10)).authTimeout(Duration.ofSeconds(10))
                .commandTimeout(Duration.ofSeconds(20));
    }

    private static String remoteUid(SshSettings settings, RecordingListener listener) throws MigrationException {
        try (SshConnector connector = new SshConnector(settings, listener);
             RemoteHost remote = connector.connect(host.address(null))) {
            CommandResult result = remote.run(List.of("id", "-u"), false);
            assertTrue(result.ok(), result.toString());
            return result.stdout().strip();
        }
    }

    @ParameterizedTest
    @EnumSource(value = ClientKeys.Kind.class, mode = EnumSource.Mode.EXCLUDE, names = "UNAUTHORIZED")
    void logsInWithEachKeyTypeFromFile(ClientKeys.Kind kind) throws Exception {
        SshIdentity identity = SshIdentity.fromFile(keys.privateKey(kind), kind.passphrase());
        assertEquals("0", remoteUid(settings(identity).build(), new RecordingListener()));
    }

    @ParameterizedTest
    @EnumSource(value = ClientKeys.Kind.class, mode = EnumSource.Mode.EXCLUDE, names = "UNAUTHORIZED")
    void logsInWithEachKeyTypeFromText(ClientKeys.Kind kind) throws Exception {
        SshIdentity identity = SshIdentity.fromText("root", keys.privateKeyText(kind), kind.passphrase());
        assertEquals("0", remoteUid(settings(identity).build(), new RecordingListener()));
    }

    @Test
    void unknownHostKeyIsRefusedWithItsFingerprintAndHowToTrustIt() throws Exception {
        Path emptyKnownHosts = knownHosts(otherHost.knownHostsLine());
        SshSettings settings = settings(SshIdentity.fromFile(keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH), null))
                .hostKeyPolicy(HostKeyPolicy.knownHosts(emptyKnownHosts)).build();
        int acceptedBefore = acceptedLogins(host);
        MigrationException e = assertThrows(MigrationException.class, () -> remoteUid(settings, new RecordingListener()));
        assertEquals(Kind.HOST_KEY, e.kind(), e.describe());
        String fingerprint = fingerprint(host);
        assertTrue(e.getMessage().contains(fingerprint), e.getMessage());
        assertTrue(e.getMessage().contains("is not in " + emptyKnownHosts), e.getMessage());
        assertTrue(e.hint().contains("ssh-keyscan -p " + host.port() + " -t ed25519 127.0.0.1 >> " + emptyKnownHosts),
                e.hint());
        // The refusal came in the key exchange: sshd never saw an authentication, let alone a command.
        assertEquals(acceptedBefore, acceptedLogins(host));
    }

    @Test
    void changedHostKeyIsRefusedBeforeAnyCommandRuns() throws Exception {
        // known_hosts claims the other host's key for this host: exactly what an impostor looks like.
        String impostorLine = "[127.0.0.1]:" + host.port() + " " + otherHost.hostKeyLine();
        SshSettings settings = settings(SshIdentity.fromFile(keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH), null))
                .hostKeyPolicy(HostKeyPolicy.knownHosts(knownHosts(impostorLine))).build();
        Path marker = temp.resolve("marker");
        int acceptedBefore = acceptedLogins(host);
        MigrationException e = assertThrows(MigrationException.class, () -> {
            try (SshConnector connector = new SshConnector(settings, new RecordingListener());
                 RemoteHost remote = connector.connect(host.address(null))) {
                remote.run(List.of("touch", marker.toString()), false);
            }
        });
        assertEquals(Kind.HOST_KEY, e.kind(), e.describe());
        assertTrue(e.getMessage().contains("CHANGED"), e.getMessage());
        assertTrue(e.getMessage().contains(fingerprint(host)), e.getMessage());
        assertTrue(e.hint().contains("ssh-keygen -R '[127.0.0.1]:" + host.port() + "'"), e.hint());
        assertFalse(Files.exists(marker), "the command must not have run");
        assertEquals(acceptedBefore, acceptedLogins(host));
    }

    @Test
    void explicitHostKeyIsTrustedAndAnyOtherRefused() throws Exception {
        SshIdentity identity = SshIdentity.fromFile(keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH), null);
        SshSettings right = settings(identity).hostKeyPolicy(HostKeyPolicy.explicitKey(host.hostKeyLine())).build();
        assertEquals("0", remoteUid(right, new RecordingListener()));

        SshSettings wrong = settings(identity).hostKeyPolicy(HostKeyPolicy.explicitKey(otherHost.hostKeyLine())).build();
        MigrationException e = assertThrows(MigrationException.class, () -> remoteUid(wrong, new RecordingListener()));
        assertEquals(Kind.HOST_KEY, e.kind(), e.describe());
        assertTrue(e.getMessage().contains(fingerprint(host)), e.getMessage());

        // A known_hosts-style line only trusts the hosts it names.
        SshSettings otherHostsLine = settings(identity)
                .hostKeyPolicy(HostKeyPolicy.explicitKey("[127.0.0.1]:" + otherHost.port() + " " + host.hostKeyLine()))
                .build();
        assertEquals(Kind.HOST_KEY, assertThrows(MigrationException.class,
                () -> remoteUid(otherHostsLine, new RecordingListener())).kind());
    }

    @Test
    void acceptAnyWorksAndWarnsLoudly() throws Exception {
        RecordingListener listener = new RecordingListener();
        SshSettings settings = settings(SshIdentity.fromFile(keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH), null))
                .hostKeyPolicy(HostKeyPolicy.acceptAny()).build();
        assertEquals("0", remoteUid(settings, listener));
        assertEquals(1, listener.warnings.size(), listener.warnings.toString());
        assertTrue(listener.warnings.get(0).startsWith("WARNING: host key checking is OFF"));
        assertTrue(listener.warnings.get(0).contains(fingerprint(host)));
    }

    @Test
    void unauthorizedKeyFailsAuthenticationClearly() throws Exception {
        SshSettings settings = settings(SshIdentity.fromFile(keys.privateKey(ClientKeys.Kind.UNAUTHORIZED), null)).build();
        MigrationException e = assertThrows(MigrationException.class, () -> remoteUid(settings, new RecordingListener()));
        assertEquals(Kind.AUTH, e.kind());
        assertTrue(e.getMessage().contains("SSH authentication as root on root@127.0.0.1:" + host.port() + " failed"),
                e.getMessage());
        assertTrue(e.isUserError());
    }

    @Test
    void wrongOrMissingPassphraseIsAnAuthenticationError() throws Exception {
        Path encrypted = keys.privateKey(ClientKeys.Kind.ED25519_PASSPHRASE);
        MigrationException wrong = assertThrows(MigrationException.class, () -> remoteUid(
                settings(SshIdentity.fromFile(encrypted, "wrong".toCharArray())).build(), new RecordingListener()));
        assertEquals(Kind.AUTH, wrong.kind());
        assertTrue(wrong.getMessage().contains("could not be decrypted"), wrong.getMessage());
        assertFalse(wrong.getMessage().contains("wrong"), "the passphrase must not be echoed: " + wrong.getMessage());

        MigrationException missing = assertThrows(MigrationException.class, () -> remoteUid(
                settings(SshIdentity.fromFile(encrypted, null)).build(), new RecordingListener()));
        assertEquals(Kind.AUTH, missing.kind());
        assertTrue(missing.getMessage().contains("is encrypted and no passphrase was given"), missing.getMessage());
    }

    @Test
    void connectionRefusedIsAConnectError() throws Exception {
        SshSettings settings = settings(SshIdentity.fromFile(keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH), null))
                .build();
        try (SshConnector connector = new SshConnector(settings, new RecordingListener())) {
            MigrationException e = assertThrows(MigrationException.class,
                    () -> connector.connect(HostAddress.of("root", "127.0.0.1", 1)));
            assertEquals(Kind.CONNECT, e.kind());
        }
    }

    @Test
    void commandDeadlineEndsTheCommandOnTheHostToo() throws Exception {
        SshSettings settings = settings(SshIdentity.fromFile(keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH), null))
                .build();
        String unique = "31.7" + ProcessHandle.current().pid();
        try (SshConnector connector = new SshConnector(settings, new RecordingListener());
             RemoteHost remote = connector.connect(host.address(null))) {
            long start = System.nanoTime();
            MigrationException e = assertThrows(MigrationException.class,
                    () -> remote.run(List.of("sleep", unique), false, Duration.ofSeconds(1)));
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            assertEquals(Kind.TIMEOUT, e.kind());
            assertTrue(tookMillis < 8000, "took " + tookMillis + " ms");
            // The session still works, and the sleep is gone from the host.
            assertEquals("ok", remote.run(List.of("echo", "ok"), false).stdout().strip());
        }
        assertTrue(ProcessHandle.allProcesses().noneMatch(p -> p.info().arguments()
                .map(args -> List.of(args).contains(unique)).orElse(false)), "sleep still runs");
    }

    @Test
    void argumentsAreQuotedNotInterpreted() throws Exception {
        SshSettings settings = settings(SshIdentity.fromFile(keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH), null))
                .build();
        Path marker = temp.resolve("injected");
        String hostile = "x; touch " + marker + " $(touch " + marker + ") '\"`touch " + marker + "`";
        try (SshConnector connector = new SshConnector(settings, new RecordingListener());
             RemoteHost remote = connector.connect(host.address(null))) {
            assertEquals(hostile, remote.run(List.of("printf", "%s", hostile), false).stdout());
        }
        assertFalse(Files.exists(marker));
    }

    private static int acceptedLogins(SshdHost sshd) throws Exception {
        return (int) sshd.log().lines().filter(line -> line.contains("Accepted publickey")).count();
    }

    private static String fingerprint(SshdHost sshd) throws Exception {
        Process process = new ProcessBuilder("ssh-keygen", "-lf", sshd.dir().resolve("ssh_host_ed25519_key.pub")
                .toString()).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes());
        process.waitFor();
        return out.split("\\s+")[1]; // "256 SHA256:... comment (ED25519)"
    }
}
