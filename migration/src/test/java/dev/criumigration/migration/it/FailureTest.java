package dev.criumigration.migration.it;

import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.RecordingListener;
import dev.criumigration.migration.SshSettings;
import dev.criumigration.migration.ssh.ClientKeys;
import dev.criumigration.migration.ssh.HostKeyPolicy;
import dev.criumigration.migration.ssh.SshIdentity;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Breaking migrations on purpose beyond the fault matrix ({@link FaultMatrixTest}): a cancel, an
 * impostor host, a refused login. Each ends with the source running with its state (its counter goes
 * on, its memory checksum unchanged, no second copy) and nothing left on either host.
 */
class FailureTest extends TwoHosts {

    /** A listener that does something to the hosts when a phase starts, on the engine's thread. */
    private static RecordingListener onPhase(Phase phase, Runnable action) {
        return new RecordingListener() {
            @Override
            public void phaseStarted(Phase started) {
                super.phaseStarted(started);
                if (started == phase) {
                    action.run();
                }
            }
        };
    }

    private MigrationException migrateExpectingFailure(Workload workload, RecordingListener listener,
                                                       SshSettings settings) {
        return assertThrows(MigrationException.class, () -> {
            try (MigrationEngine engine = new MigrationEngine(settings, listener)) {
                engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                        .imagesDir(imagesRoot.toString()).build());
            }
        });
    }

    @Test
    void cancelWhileFrozenResumesTheSource() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        AtomicReference<MigrationEngine> engineRef = new AtomicReference<>();
        RecordingListener listener = onPhase(Phase.COPY_IMAGES, () -> {
            Thread abort = new Thread(() -> engineRef.get().cancel(), "jenkins-abort");
            abort.start();
            try {
                abort.join();
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        });
        MigrationException e = assertThrows(MigrationException.class, () -> {
            try (MigrationEngine engine = new MigrationEngine(settings().build(), listener)) {
                engineRef.set(engine);
                engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                        .imagesDir(imagesRoot.toString()).build());
            }
        });
        assertEquals(Kind.CANCELLED, e.kind(), e.describe());
        assertTrue(e.sourceResumed(), e.describe());
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }

    @Test
    void wrongHostKeyIsRefusedBeforeAnyCommandRuns() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        Path impostor = stateDir.resolve("impostor_known_hosts");
        // The destination's entry carries the source's key: the destination looks like an impostor.
        Files.writeString(impostor, source.knownHostsLine() + "\n[127.0.0.1]:" + destination.port() + " "
                + source.hostKeyLine() + "\n");
        long destinationLoginsBefore = acceptedLogins(destination);
        MigrationException e = migrateExpectingFailure(workload, new RecordingListener(),
                settings().hostKeyPolicy(HostKeyPolicy.knownHosts(impostor)).build());
        assertEquals(Kind.HOST_KEY, e.kind(), e.describe());
        assertTrue(e.getMessage().contains("CHANGED") && e.getMessage().contains("SHA256:"), e.getMessage());
        // The refusal came during the key exchange: the destination's sshd never authenticated anyone,
        // so no command (no upload, no agent) ran there.
        assertEquals(destinationLoginsBefore, acceptedLogins(destination), "no login on the destination");
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }

    private static long acceptedLogins(dev.criumigration.migration.ssh.SshdHost host) throws Exception {
        return host.log().lines().filter(line -> line.contains("Accepted publickey")).count();
    }

    @Test
    void failedAuthenticationChangesNothing() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        Path freshAgentDir = stateDir.resolve("agent-never-deployed-2");
        SshSettings unauthorized = SshSettings.builder()
                .identity(SshIdentity.fromFile(keys.privateKey(ClientKeys.Kind.UNAUTHORIZED), null))
                .hostKeyPolicy(HostKeyPolicy.knownHosts(knownHosts)).agentDir(freshAgentDir.toString())
                .imagesBase(stateDir.toString()).build();
        MigrationException e = migrateExpectingFailure(workload, new RecordingListener(), unauthorized);
        assertEquals(Kind.AUTH, e.kind(), e.describe());
        assertEquals(Phase.PREFLIGHT, e.phase());
        assertTrue(e.isUserError());
        assertFalse(Files.exists(freshAgentDir));
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }
}
