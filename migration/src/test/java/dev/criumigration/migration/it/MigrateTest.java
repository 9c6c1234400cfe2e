package dev.criumigration.migration.it;

import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationReport;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.RecordingListener;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whole migrations over SSH of the shared stateful workload, its state checked on the destination. */
class MigrateTest extends TwoHosts {
    @Test
    void migratesTheWorkloadWithItsMemoryAndCounter() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        RecordingListener listener = new RecordingListener();
        MigrationReport report;
        try (MigrationEngine engine = engine(listener)) {
            report = engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                    .imagesDir(imagesRoot.toString()).build());
        }
        System.out.println(report.toText());

        // The source is gone; one copy runs, the restored one, going on from where it was.
        assertEquals(0, Procs.state(workload.rootPid()) == 'Z' ? 0 : Procs.state(workload.rootPid()),
                "the source was killed");
        List<Integer> roots = workload.roots();
        assertEquals(List.of(report.restoredPid()), roots);
        assertNotEquals(workload.rootPid(), report.restoredPid());
        Workload.Tick after = workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20));
        assertEquals(before.checksum(), after.checksum(), "memory came across intact");

        assertEquals(List.of(Phase.PREFLIGHT, Phase.PAGE_SERVER, Phase.DUMP, Phase.COPY_IMAGES,
                Phase.PAGE_SERVER_STATUS, Phase.RESTORE, Phase.COMMIT, Phase.CLEANUP),
                report.phases().stream().map(MigrationReport.PhaseTiming::phase).toList());
        assertEquals(listener.finished, listener.started);
        assertTrue(report.bytes() >= 16L << 20, "at least the workload's 16 MiB moved: " + report.bytes());
        assertTrue(report.pages() >= 4096, "pages: " + report.pages());
        assertTrue(report.frozenMillis() > 0 && report.frozenMillis() < report.totalMillis(), report.toText());
        assertTrue(report.cpuCheck().startsWith("compatible"), report.cpuCheck());
        assertNothingLeft();
    }

    @Test
    void migratesATcpServerInItsOwnNetworkNamespace() throws Exception {
        int port = 7000 + (int) (ProcessHandle.current().pid() % 1000);
        Workload workload = workload("16M", port);
        String servedBefore = workload.tcpState(workload.rootPid());
        assertTrue(servedBefore.startsWith("tick="), servedBefore);
        Workload.Tick before = workload.lastTick();
        MigrationReport report;
        try (MigrationEngine engine = engine(new RecordingListener())) {
            report = engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                    .imagesDir(imagesRoot.toString()).tcpEstablished(true).build());
        }
        assertEquals(List.of(report.restoredPid()), workload.roots());
        Workload.Tick after = workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20));
        assertEquals(before.checksum(), after.checksum());
        String servedAfter = workload.tcpState(report.restoredPid());
        assertTrue(servedAfter.startsWith("tick=") && servedAfter.endsWith("checksum=" + before.checksum()),
                "the restored server answers with its state: " + servedAfter);
        assertNothingLeft();
    }

    @Test
    void dryRunChecksBothHostsAndChangesNothing() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        MigrationReport report;
        try (MigrationEngine engine = engine(new RecordingListener())) {
            report = engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                    .imagesDir(imagesRoot.toString()).dryRun(true).build());
        }
        assertTrue(report.dryRun());
        assertEquals(List.of(Phase.PREFLIGHT), report.phases().stream().map(MigrationReport.PhaseTiming::phase).toList());
        assertTrue(report.criuVersions().matches("\\d+\\.\\d+.* -> \\d+\\.\\d+.*"), report.criuVersions());
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }

    @Test
    void aSecondPreflightReusesWhatTheAgentsKeptAndRecheckAsksCriuAgain() throws Exception {
        Workload workload = workload("16M", 0);
        MigrationSpec.Builder spec = MigrationSpec.builder(from(), to(), workload.rootPid())
                .imagesDir(imagesRoot.toString()).dryRun(true);
        RecordingListener asked = new RecordingListener();
        RecordingListener kept = new RecordingListener();
        MigrationReport first;
        MigrationReport second;
        MigrationReport forced;
        try (MigrationEngine engine = engine(asked)) {
            first = engine.migrate(spec.recheck(true).build());
        }
        try (MigrationEngine engine = engine(kept)) {
            second = engine.migrate(spec.recheck(false).build());
        }
        try (MigrationEngine engine = engine(new RecordingListener())) {
            forced = engine.migrate(spec.recheck(true).build());
        }
        assertEquals("compatible (CRIU's cpuinfo check on the destination)", first.cpuCheck());
        assertTrue(asked.logs.stream().noneMatch(line -> line.contains("as kept from an earlier check")), asked.logs.toString());
        assertEquals("compatible (CRIU's cpuinfo check on the destination, as kept from an earlier one)", second.cpuCheck());
        assertEquals(2, kept.logs.stream().filter(line -> line.contains("as kept from an earlier check")).count(),
                "both hosts' checks came from the agents' cache: " + kept.logs);
        assertEquals(first.criuVersions(), second.criuVersions());
        assertEquals(first.cpuCheck(), forced.cpuCheck());
        assertNothingLeft();
    }
}
