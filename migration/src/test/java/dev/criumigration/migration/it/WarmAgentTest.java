package dev.criumigration.migration.it;

import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationReport;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.RecordingListener;
import dev.criumigration.migration.deploy.AgentDeployer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Migrations through a warm agent daemon, started from this build's agent jar as the criu-agent
 * systemd unit starts it, reached by the engine through each host's SSH connection (OpenSSH's
 * streamlocal forwarding). Both test hosts share the machine, so they share the one daemon.
 */
class WarmAgentTest extends TwoHosts {
    private static Process daemon;
    private static Path socket;

    @BeforeAll
    static void startDaemon() throws Exception {
        Path dir = Files.createDirectories(stateDir.resolve("warm"));
        Path jar = dir.resolve("criu-agent.jar");
        Files.write(jar, AgentDeployer.embeddedJar().bytes());
        socket = dir.resolve("run/agent.sock");
        daemon = startDaemon(jar, socket);
    }

    /** criu-agent daemon from {@code jar}, as the systemd unit starts it; returns once it answers. */
    private static Process startDaemon(Path jar, Path socket) throws Exception {
        Path log = jar.resolveSibling(jar.getFileName() + ".log");
        Process started = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                jar.toString(), "daemon", "--socket", socket.toString(), "--images-base", stateDir.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                return started;
            } catch (IOException notYet) {
                assertTrue(started.isAlive() && System.nanoTime() < until, "the daemon did not listen: "
                        + Files.readString(log));
                Thread.sleep(20);
            }
        }
    }

    /** The same agent as another build: its entries rewritten with a comment, so its SHA-256 differs. */
    private static void rewriteAsAnotherBuild(Path jar) throws IOException {
        Path copy = jar.resolveSibling(jar.getFileName() + ".new");
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(jar));
             ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(copy))) {
            for (ZipEntry entry; (entry = in.getNextEntry()) != null; ) {
                out.putNextEntry(new ZipEntry(entry.getName()));
                in.transferTo(out);
                out.closeEntry();
            }
            out.setComment("another build");
        }
        Files.move(copy, jar, StandardCopyOption.REPLACE_EXISTING);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        if (daemon != null) {
            daemon.destroy();
            assertTrue(daemon.waitFor(60, TimeUnit.SECONDS), "the daemon stopped on SIGTERM");
        }
    }

    private MigrationEngine warmEngine(RecordingListener listener) {
        return new MigrationEngine(settings().agentSocket(socket.toString()).build(), listener);
    }

    /** Agent JVMs started over SSH for this controller, as the engine starts them without a daemon. */
    private static List<Integer> agentsStartedOverSsh() throws IOException {
        return Procs.pids().stream().filter(pid -> {
            List<String> argv = Procs.cmdline(pid);
            return argv.contains("serve") && argv.stream().anyMatch(a -> a.contains("criu-agent-"));
        }).toList();
    }

    @Test
    void aMigrationThroughTheDaemonStartsNoAgentJvm() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        List<List<Integer>> agentsSeen = new java.util.concurrent.CopyOnWriteArrayList<>();
        RecordingListener listener = new RecordingListener() {
            @Override
            public void phaseStarted(Phase phase) {
                super.phaseStarted(phase);
                try {
                    agentsSeen.add(agentsStartedOverSsh());
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        };
        MigrationReport report;
        try (MigrationEngine engine = warmEngine(listener)) {
            report = engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                    .imagesDir(imagesRoot.toString()).build());
        }
        assertEquals(List.of(report.restoredPid()), workload.roots());
        assertEquals(before.checksum(), workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20)).checksum());
        assertEquals(2, listener.logs.stream().filter(line -> line.contains(": warm agent daemon (pid " + daemon.pid()))
                .count(), "both hosts were served by the daemon: " + listener.logs);
        assertFalse(listener.logs.stream().anyMatch(line -> line.contains("starting an agent")
                || line.contains("agent uploaded") || line.contains("present and intact")), listener.logs.toString());
        assertEquals(8, agentsSeen.size());
        assertTrue(agentsSeen.stream().allMatch(List::isEmpty), "no agent JVM ran during any phase: " + agentsSeen);
        assertNothingLeft();
    }

    @Test
    void aDaemonOfAnotherBuildIsPassedByAndAReplacedJarRetiresTheDaemon() throws Exception {
        Path dir = Files.createDirectories(stateDir.resolve("upgrade"));
        Path jar = dir.resolve("criu-agent.jar");
        Files.write(jar, AgentDeployer.embeddedJar().bytes());
        rewriteAsAnotherBuild(jar);
        Path otherSocket = dir.resolve("run/agent.sock");
        Process other = startDaemon(jar, otherSocket);
        try {
            // A daemon of another build: the controller says so and starts its own agent on each host.
            Workload workload = workload("16M", 0);
            RecordingListener listener = new RecordingListener();
            try (MigrationEngine engine = new MigrationEngine(settings().agentSocket(otherSocket.toString()).build(),
                    listener)) {
                MigrationReport report = engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                        .imagesDir(imagesRoot.toString()).build());
                assertEquals(List.of(report.restoredPid()), workload.roots());
            }
            assertEquals(2, listener.logs.stream().filter(line -> line.contains("its agent daemon runs agent build ")
                    && line.contains("starting an agent for this migration")).count(), listener.logs.toString());
            assertNothingLeft();

            // The role deploys this controller's build over the daemon's jar: the daemon takes no more
            // connections, ends once its sessions have, and systemd would start the new build.
            Files.write(jar, AgentDeployer.embeddedJar().bytes());
            SocketChannel.open(UnixDomainSocketAddress.of(otherSocket)).close();  // a connection: it looks at its jar
            assertTrue(other.waitFor(30, TimeUnit.SECONDS), "the daemon of the replaced jar ended");
            assertFalse(Files.exists(otherSocket), "it stopped listening");
            Process upgradedDaemon = startDaemon(jar, otherSocket);
            other = upgradedDaemon;
            RecordingListener upgraded = new RecordingListener();
            Workload second = workload("16M", 0);
            try (MigrationEngine engine = new MigrationEngine(settings().agentSocket(otherSocket.toString()).build(),
                    upgraded)) {
                engine.migrate(MigrationSpec.builder(from(), to(), second.rootPid()).imagesDir(imagesRoot.toString())
                        .build());
            }
            assertEquals(2, upgraded.logs.stream().filter(line -> line.contains(": warm agent daemon (pid " + upgradedDaemon.pid()))
                    .count(), "the new build serves both hosts: " + upgraded.logs);
            assertNothingLeft();
        } finally {
            other.destroy();
            other.waitFor(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void aSecondControllerIsRefusedTheTreeAnotherOneHoldsFrozen() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        CountDownLatch frozen = new CountDownLatch(1);
        CountDownLatch secondDone = new CountDownLatch(1);
        RecordingListener holdsTheFreeze = new RecordingListener() {
            @Override
            public void phaseStarted(Phase phase) {
                super.phaseStarted(phase);
                if (phase == Phase.COPY_IMAGES) {
                    frozen.countDown();
                    try {
                        secondDone.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        };
        CompletableFuture<MigrationReport> first = CompletableFuture.supplyAsync(() -> {
            try (MigrationEngine engine = warmEngine(holdsTheFreeze)) {
                return engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                        .imagesDir(imagesRoot.toString()).build());
            } catch (MigrationException e) {
                throw new IllegalStateException(e);
            }
        });
        assertTrue(frozen.await(90, TimeUnit.SECONDS), "the first migration froze the tree");
        MigrationException refused;
        try (MigrationEngine engine = warmEngine(new RecordingListener())) {
            refused = assertThrows(MigrationException.class, () -> engine.migrate(
                    MigrationSpec.builder(from(), to(), workload.rootPid()).imagesDir(imagesRoot.toString()).build()));
        } finally {
            secondDone.countDown();
        }
        assertEquals(MigrationException.Kind.BUSY, refused.kind(), refused.describe());
        assertTrue(refused.getMessage().contains("process " + workload.rootPid() + " is in use by "), refused.describe());
        assertEquals(Phase.DUMP, refused.phase());

        // The refused controller did not touch the frozen tree: the first one completes, nothing lost.
        MigrationReport report = first.get(120, TimeUnit.SECONDS);
        assertEquals(List.of(report.restoredPid()), workload.roots());
        assertEquals(before.checksum(), workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20)).checksum());
        assertNothingLeft();
    }
}
