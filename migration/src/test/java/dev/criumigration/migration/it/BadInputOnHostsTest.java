package dev.criumigration.migration.it;

import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.DumpSpec;
import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.PageServerInfo;
import dev.criumigration.migration.RecordingListener;
import dev.criumigration.migration.RestoreSpec;
import dev.criumigration.migration.cli.MigrateMain;
import dev.criumigration.migration.ssh.ClientKeys;
import dev.criumigration.migration.ssh.HostAddress;
import dev.criumigration.migration.ssh.SshIdentity;
import dev.criumigration.migration.ssh.SshdHost;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input with real hosts, through the engine API the Jenkins steps call and through criu-migrate:
 * refused as a usage error, and nothing changed on either host. Where the input is wrong before any
 * host matters, the sshd logs prove that not even a login happened.
 */
class BadInputOnHostsTest extends TwoHosts {
    private final Path marker = Path.of("/tmp/criu-migrate-pwned-" + UUID.randomUUID());
    private Workload workload;
    private Workload.Tick before;
    private long loginsBefore;

    @BeforeEach
    void startWorkload() throws Exception {
        workload = workload("8M", 0);
        before = workload.lastTick();
        loginsBefore = logins();
    }

    @AfterEach
    void nothingChanged() throws Exception {
        assertFalse(Files.exists(marker), "a shell ran the input");
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }

    private static long logins() throws Exception {
        long count = 0;
        for (SshdHost host : new SshdHost[] {source, destination}) {
            count += host.log().lines().filter(line -> line.contains("Accepted publickey")).count();
        }
        return count;
    }

    private void assertNoLogin() throws Exception {
        assertEquals(loginsBefore, logins(), "no host was logged in to");
    }

    private static MigrationException usageError(String expected, EngineCall call) {
        MigrationException e = assertThrows(MigrationException.class, call::run);
        assertEquals(Kind.USAGE, e.kind(), e.describe());
        assertTrue(e.getMessage().contains(expected), e.describe());
        return e;
    }

    interface EngineCall {
        void run() throws Exception;
    }

    /** A page server map as a pipeline would pass it, with one value changed. */
    private Map<String, Object> pageServerMap(String key, Object value) {
        Map<String, Object> map = new LinkedHashMap<>(new PageServerInfo(to().toString(), "127.0.0.1", 27000,
                imagesRoot.resolve("step.pages").toString(), true, "64M", 4242, true, "relay").toMap());
        map.put(key, value);
        return map;
    }

    @Test
    void aPidThatIsNotAProcess() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = MigrateMain.run(new String[] {"-i", keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH).toString(),
            "--known-hosts", knownHosts.toString(), "--agent-dir", agentDir.toString(), "--images-base",
            stateDir.toString(), "--from", from().toString(), "--to", to().toString(), "--pid", "999999",
            "--images-dir", imagesRoot.toString()}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, exit, text);
        assertTrue(text.contains("there is no process 999999") && text.contains("Hint:"), text);
        assertFalse(text.contains("\tat "), "no stack trace");
    }

    @Test
    void aPageServerMapPointingOutOfTheImagesBase() throws Exception {
        usageError("is not inside the images base directory", () -> {
            try (MigrationEngine engine = engine(new RecordingListener())) {
                engine.dump(from(), DumpSpec.of(workload.rootPid()), PageServerInfo.fromMap(
                        pageServerMap("imagesDir", "/etc/criu")));
            }
        });
        assertNoLogin();
    }

    @Test
    void aDumpMapWithShellMetacharacters() throws Exception {
        Map<String, Object> dump = new LinkedHashMap<>(new DumpInfo(from().toString(), workload.rootPid(),
                imagesRoot.resolve("x; touch " + marker).toString(), true, false, false,
                PageServerInfo.fromMap(pageServerMap("port", 27000)), 1, 1, 1, 1, 1).toMap());
        usageError("has characters other than", () -> {
            try (MigrationEngine engine = engine(new RecordingListener())) {
                engine.restore(to(), RestoreSpec.defaults(), DumpInfo.fromMap(dump));
            }
        });
        assertNoLogin();
    }

    @Test
    void aPageServerHostThatIsNotAHost() throws Exception {
        MigrationException e = usageError("not a valid host name", () -> {
            try (MigrationEngine engine = engine(new RecordingListener())) {
                engine.dump(from(), DumpSpec.of(workload.rootPid()), PageServerInfo.fromMap(
                        pageServerMap("host", "dst;touch " + marker)));
            }
        });
        assertTrue(e.getMessage().startsWith("the page server's host"), e.getMessage());
        assertNoLogin();
    }

    @Test
    void aMigrationOutsideTheImagesBase() throws Exception {
        usageError("is not inside the images base directory", () -> {
            try (MigrationEngine engine = engine(new RecordingListener())) {
                engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid()).imagesDir("/srv/images").build());
            }
        });
        assertNoLogin();
    }

    @Test
    void anUnknownHost() throws Exception {
        usageError("unknown host 'no-such-host.invalid'", () -> {
            try (MigrationEngine engine = engine(new RecordingListener())) {
                engine.migrate(MigrationSpec.builder(from(), HostAddress.parse("no-such-host.invalid"),
                        workload.rootPid()).imagesDir(imagesRoot.toString()).build());
            }
        });
        assertNoLogin();
    }

    @Test
    void aWrongPassphrase() throws Exception {
        usageError("could not be decrypted", () -> {
            try (MigrationEngine engine = new MigrationEngine(settings().identity(SshIdentity.fromFile(
                    keys.privateKey(ClientKeys.Kind.ED25519_PASSPHRASE), "not it".toCharArray())).build(),
                    new RecordingListener())) {
                engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                        .imagesDir(imagesRoot.toString()).build());
            }
        });
        assertNoLogin();
    }
}
