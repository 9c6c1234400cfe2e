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

    @Test
    void tmpfsTooSmallFailsTheDumpAndResumesTheSource() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        PageServerInfo pageServer = startPageServer("8M");
        MigrationException e = assertThrows(MigrationException.class, () -> {
            try (MigrationEngine engine = engine(new RecordingListener())) {
                engine.dump(from(), DumpSpec.of(workload.rootPid()), pageServer);
            }
        });
        System.out.println(e.describe());
        assertEquals(Phase.DUMP, e.phase());
        assertTrue(e.sourceResumed(), e.describe());
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }

    @Test
    void failingRestoreResumesTheStoppedSource() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        PageServerInfo pageServer = startPageServer("256M");
        DumpInfo dump;
        try (MigrationEngine engine = engine(new RecordingListener())) {
            dump = engine.dump(from(), DumpSpec.of(workload.rootPid()), pageServer);
        }
        // Garble the source's pstree image: the copy carries it to the destination and CRIU refuses it.
        try (Stream<Path> files = Files.list(Path.of(dump.imagesDir()))) {
            Path pstree = files.filter(f -> f.getFileName().toString().equals("pstree.img")).findFirst().orElseThrow();
            byte[] bytes = Files.readAllBytes(pstree);
            for (int i = 8; i < bytes.length; i++) {
                bytes[i] = (byte) 0xFF;
            }
            Files.write(pstree, bytes);
        }
        MigrationException e = assertThrows(MigrationException.class, () -> {
            try (MigrationEngine engine = engine(new RecordingListener())) {
                engine.restore(to(), RestoreSpec.defaults(), dump);
            }
        });
        System.out.println(e.describe());
        assertEquals(Phase.RESTORE, e.phase(), e.describe());
        assertEquals(Kind.REMOTE, e.kind(), e.describe());
        assertTrue(e.sourceResumed(), e.describe());
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }
}
