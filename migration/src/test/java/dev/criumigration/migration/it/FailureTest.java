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
 * Breaking migrations on purpose. Each ends with the source running with its state (its counter goes
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
    void destinationAgentKilledMidRestore() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        AtomicReference<String> killed = new AtomicReference<>("nothing");
        RecordingListener listener = onPhase(Phase.RESTORE, () -> {
            // Once CRIU restores under the destination's sshd, SIGKILL the agents there.
            Thread killer = new Thread(() -> {
                long until = System.nanoTime() + 20_000_000_000L;
                while (System.nanoTime() < until) {
                    if (destination.descendants().anyMatch(p -> Procs.comm((int) p.pid()).equals("criu"))) {
                        List<ProcessHandle> agents = destination.descendants()
                                .filter(p -> Procs.cmdline((int) p.pid()).contains("serve")).toList();
                        agents.forEach(ProcessHandle::destroyForcibly);
                        killed.set(agents.size() + " agent(s) while CRIU restored");
                        return;
                    }
                    Thread.onSpinWait();
                }
            });
            killer.setDaemon(true);
            killer.start();
        });
        MigrationException e = migrateExpectingFailure(workload, listener, settings().build());
        System.out.println(e.describe() + "\nkilled " + killed.get());
        assertTrue(killed.get().contains("while CRIU restored"), killed.get());
        assertEquals(Phase.RESTORE, e.phase(), e.describe());
        assertTrue(e.sourceResumed(), e.describe());
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }

    @Test
    void destinationTmpfsTooSmallIsRefusedBeforeTheFreeze() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        RecordingListener listener = new RecordingListener();
        MigrationException e = assertThrows(MigrationException.class, () -> {
            try (MigrationEngine engine = engine(listener)) {
                engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                        .imagesDir(imagesRoot.toString()).tmpfsSize("4M").build());
            }
        });
        assertEquals(Phase.PREFLIGHT, e.phase());
        assertEquals(Kind.INCOMPATIBLE, e.kind());
        assertTrue(e.getMessage().contains("a tmpfs of 4M") && e.hint().contains("--tmpfs-size"), e.describe());
        assertFalse(listener.started.contains(Phase.DUMP), "the source was never frozen");
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }

    @Test
    void sourceConnectionDroppedWhileFrozen() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        AtomicReference<Character> stateWhenDropped = new AtomicReference<>();
        RecordingListener listener = onPhase(Phase.COPY_IMAGES, () -> {
            stateWhenDropped.set(Procs.state(workload.rootPid()));
            source.killSessions(); // every SSH session to the source dies, as with a network failure
        });
        MigrationException e = migrateExpectingFailure(workload, listener, settings().build());
        System.out.println(e.describe());
        assertEquals('t', stateWhenDropped.get().charValue(), "the source was frozen (traced by CRIU) at the drop");
        assertEquals(Phase.COPY_IMAGES, e.phase(), e.describe());
        assertTrue(e.sourceResumed(), e.describe());
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }

    @Test
    void failingRestoreOfADamagedImage() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        AtomicReference<String> damaged = new AtomicReference<>();
        RecordingListener listener = onPhase(Phase.PAGE_SERVER_STATUS, () -> {
            try (Stream<Path> dirs = Files.list(imagesRoot)) {
                Path pages = dirs.filter(d -> d.toString().endsWith(".pages")).findFirst().orElseThrow();
                try (Stream<Path> cores = Files.list(pages)) {
                    Path core = cores.filter(f -> f.getFileName().toString().startsWith("core-")).findFirst().orElseThrow();
                    byte[] bytes = Files.readAllBytes(core);
                    for (int i = 8; i < bytes.length; i++) {
                        bytes[i] = (byte) 0xA5; // keep CRIU's magic, garble the entries
                    }
                    Files.write(core, bytes);
                    damaged.set(core.toString());
                }
            } catch (Exception ex) {
                throw new IllegalStateException(ex);
            }
        });
        MigrationException e = migrateExpectingFailure(workload, listener, settings().build());
        System.out.println(e.describe());
        assertTrue(damaged.get() != null);
        assertEquals(Phase.RESTORE, e.phase(), e.describe());
        assertEquals(Kind.REMOTE, e.kind(), e.describe());
        assertTrue(e.sourceResumed(), e.describe());
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
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
