package dev.criumigration.migration.it;

import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.DumpSpec;
import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.PageServerInfo;
import dev.criumigration.migration.PageServerSpec;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.RecordingListener;
import dev.criumigration.migration.RestoreInfo;
import dev.criumigration.migration.RestoreSpec;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The step-by-step flow the Jenkins steps use (criuPageServer, criuDump, criuRestore), each step with
 * its own engine and the maps passed along as a pipeline would.
 */
class ThreeStepTest extends TwoHosts {

    private PageServerInfo startPageServer(String tmpfsSize) throws Exception {
        try (MigrationEngine engine = engine(new RecordingListener())) {
            PageServerInfo info = engine.startPageServer(to(), PageServerSpec.builder()
                    .imagesDir(imagesRoot.resolve("step.pages").toString()).tmpfsSize(tmpfsSize).build());
            return PageServerInfo.fromMap(info.toMap());
        }
    }

    @Test
    void pageServerThenDumpThenRestore() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();

        PageServerInfo pageServer = startPageServer("256M");
        assertTrue(pageServer.port() > 0 && pageServer.tmpfsMounted(), pageServer.toString());
        assertEquals("127.0.0.1", pageServer.address());

        DumpInfo dump;
        try (MigrationEngine engine = engine(new RecordingListener())) {
            dump = DumpInfo.fromMap(engine.dump(from(), DumpSpec.of(workload.rootPid()), pageServer).toMap());
        }
        assertTrue(dump.leftStopped());
        assertEquals('T', Procs.state(workload.rootPid()), "the source waits, stopped, after its session ended");
        assertTrue(dump.pages() > 4096 && dump.bytes() >= 16L << 20, dump.toString());
        assertTrue(dump.imagesDir().startsWith(imagesRoot.toString()), dump.imagesDir());

        RestoreInfo restore;
        try (MigrationEngine engine = engine(new RecordingListener())) {
            restore = engine.restore(to(), RestoreSpec.defaults(), dump);
        }
        assertTrue(restore.sourceKilled());
        assertEquals(List.of(restore.pid()), workload.roots(), "only the restored copy runs");
        Workload.Tick after = workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20));
        assertEquals(before.checksum(), after.checksum());
        assertNothingLeft();
    }

    /**
     * The stopped source dies some other way (OOM, a hand) before any restore: an abort must not take
     * the source's absence for a finished migration and remove the images, the tree's last copy.
     */
    @Test
    void abortKeepsTheImagesWhenTheSourceDiedWithoutARestoredCopy() throws Exception {
        Workload workload = workload("8M", 0);
        PageServerInfo pageServer = startPageServer("64M");
        DumpInfo dump;
        try (MigrationEngine engine = engine(new RecordingListener())) {
            dump = engine.dump(from(), DumpSpec.of(workload.rootPid()), pageServer);
        }
        Procs.signal(workload.rootPid(), "KILL");
        long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (Procs.state(workload.rootPid()) != 0 && System.nanoTime() < until) {
            Thread.sleep(100);
        }

        try {
            MigrationException refused;
            try (MigrationEngine engine = engine(new RecordingListener())) {
                refused = assertThrows(MigrationException.class, () -> engine.abort(pageServer, dump));
            }
            assertEquals(Kind.REMOTE, refused.kind(), refused.describe());
            assertTrue(refused.getMessage().contains("may be the tree's last copy"), refused.getMessage());
            try (Stream<Path> files = Files.list(Path.of(pageServer.imagesDir()))) {
                assertTrue(files.anyMatch(f -> f.getFileName().toString().startsWith("pages-")), "the pages are kept");
            }
            assertTrue(Files.exists(Path.of(dump.imagesDir()).resolve("inventory.img")), "the dump's images are kept");
        } finally {
            // As the error says: remove them with the agent once nothing needs them.
            for (String dir : List.of(pageServer.imagesDir(), dump.imagesDir())) {
                String javaCommand = ProcessHandle.current().info().command().orElse("java");
                Process cleanup = new ProcessBuilder(javaCommand, "-jar", deployedAgentJar().toString(), "cleanup",
                        "--images-base", stateDir.toString(), "--images-dir", dir).inheritIO().start();
                assertTrue(cleanup.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) && cleanup.exitValue() == 0);
            }
        }
        assertNothingLeft();
    }

    private static Path deployedAgentJar() throws Exception {
        try (Stream<Path> jars = Files.list(agentDir)) {
            return jars.filter(f -> f.getFileName().toString().endsWith(".jar")).findFirst().orElseThrow();
        }
    }
}
