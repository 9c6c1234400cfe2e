package dev.criumigration.migration.flows;

import dev.criumigration.agent.protocol.DumpResult;
import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.MigrationReport;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.SshSettings;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.hosts.HostSessions;
import dev.criumigration.migration.pagestream.PageStreamCertificates;
import dev.criumigration.migration.phases.CommitPhase;
import dev.criumigration.migration.phases.CopyImagesPhase;
import dev.criumigration.migration.phases.DumpPhase;
import dev.criumigration.migration.phases.PageServerPhase;
import dev.criumigration.migration.phases.PhaseClock;
import dev.criumigration.migration.phases.PhaseContext;
import dev.criumigration.migration.phases.RestorePhase;
import dev.criumigration.migration.phases.Rollback;
import dev.criumigration.migration.phases.RollbackLedger;
import dev.criumigration.migration.phases.Undo;
import dev.criumigration.migration.plan.Deadlines;
import dev.criumigration.migration.plan.MigrationPlan;
import dev.criumigration.migration.preflight.Preflight;

import java.util.ArrayList;
import java.util.List;

/**
 * The whole migration with one owner of the frozen window: preflight, page server, dump to CRIU's
 * post-dump commit point, copy of the non-page images, page-server status, restore, commit (CRIU kills
 * the source), clean-up. Each phase writes into the ledger; any failure before the commit is one
 * {@link Rollback} over it, and the failure carries the report so far.
 */
public final class OneShotMigration {
    private final SshSettings settings;
    private final HostSessions sessions;
    private final MigrationListener listener;
    private final Deadlines deadlines;

    public OneShotMigration(SshSettings settings, HostSessions sessions, MigrationListener listener, Deadlines deadlines) {
        this.settings = settings;
        this.sessions = sessions;
        this.listener = listener;
        this.deadlines = deadlines;
    }

    public MigrationReport run(MigrationSpec spec) throws MigrationException {
        MigrationPlan plan;
        try {
            plan = MigrationPlan.of(spec, settings, deadlines);
            Checks.resolvable(spec.from(), spec.to());
        } catch (UsageException e) {
            throw Checks.usage(e);
        }
        PhaseClock clock = new PhaseClock(listener, sessions, plan.deadline());
        RollbackLedger ledger = new RollbackLedger(spec.from(), spec.to(), spec.pid());
        PhaseContext context = new PhaseContext(sessions, listener, clock, ledger);
        List<String> warnings = new ArrayList<>();
        PageServerPhase pageServer = null;
        Preflight.Findings found = null;
        try {
            clock.begin(Phase.PREFLIGHT);
            HostSessions.Pair hosts = sessions.openBoth(spec.from(), spec.to());
            ledger.sessions(hosts.source(), hosts.destination());
            found = new Preflight(sessions, listener, settings.commandTimeout())
                    .run(hosts.source(), hosts.destination(), spec, clock);
            warnings.addAll(found.warnings());
            clock.end();
            if (spec.dryRun()) {
                return report(plan, clock, found, warnings, 0, null, null);
            }

            clock.begin(Phase.PAGE_SERVER);
            String address = found.pageServerAddress();
            PageStreamCertificates certificates = spec.tls() ? PageStreamCertificates.issue(address) : null;
            if (certificates == null) {
                warnings.add("the page stream was not encrypted (tls false)");
            }
            pageServer = new PageServerPhase(context);
            PageServerListening listening = pageServer.start(hosts.destination(), plan.pagesDir(), found.tmpfsSize(),
                    address, 0, certificates == null ? null : certificates.forPageServer(false),
                    DumpPhase.transport(spec.pageStream()), false, clock.remaining()).listening();
            clock.end();

            clock.begin(Phase.DUMP);
            new DumpPhase(context).toCommitPoint(hosts.source(), hosts.destination(), new DumpPhase.Target(spec.pid(),
                    plan.dumpDir(), listening.getAddress().isEmpty() ? address : listening.getAddress(),
                    listening.getPort(), spec.tcpEstablished(), spec.shellJob(),
                    certificates == null ? null : certificates.forDump(), spec.pageStream(),
                    found.tree().getResidentBytes()), clock.remaining());
            clock.end();

            String source = spec.from().toString();
            clock.begin(Phase.COPY_IMAGES);
            DumpPhase.requireFrozen(ledger, source);
            new CopyImagesPhase(context).copy(hosts.source(), plan.dumpDir(), hosts.destination(), plan.pagesDir(),
                    clock.remaining());
            clock.end();

            clock.begin(Phase.PAGE_SERVER_STATUS);
            DumpPhase.requireFrozen(ledger, source);
            pageServer.awaitSuccess(spec.to().toString());
            clock.end();

            clock.begin(Phase.RESTORE);
            DumpPhase.requireFrozen(ledger, source);
            int restoredPid = new RestorePhase(context).restore(hosts.destination(), plan.pagesDir(),
                    spec.tcpEstablished(), spec.shellJob(), false, clock.remaining()).getPid();
            clock.end();

            clock.begin(Phase.COMMIT);
            DumpPhase.requireFrozen(ledger, source);
            DumpResult dump = new CommitPhase(context).commitAtCommitPoint();
            if (!dump.getSourceKilled()) {
                warnings.add("the source agent did not report the source as killed");
            }
            clock.end();

            clock.begin(Phase.CLEANUP);
            Undo undo = new Undo(sessions, listener);
            Rollback.endPageServer(ledger);
            undo.cleanup(hosts.destination(), spec.to(), plan.pagesDir());
            undo.cleanup(hosts.source(), spec.from(), plan.dumpDir());
            clock.end();
            return report(plan, clock, found, warnings, restoredPid, dump, pageServer);
        } catch (MigrationException | RuntimeException e) {
            // The dump ending first is the cause, also of a destination call it cancelled.
            MigrationException dumpEnded = DumpPhase.endedBeforeCommit(ledger, spec.from().toString());
            MigrationException failure = clock.failure(dumpEnded != null ? dumpEnded : e);
            failure = failure.withProgress(failure.phases(), report(plan, clock, found, warnings, 0, null, null));
            throw new Rollback(new Undo(sessions, listener), listener).run(ledger, failure);
        } finally {
            sessions.close(ledger.src());
            sessions.close(ledger.dst());
        }
    }

    /**
     * The report of what ran; after a failure, what the plan, the clock and the preflight know. The
     * memory moved comes from CRIU's stats, else from the page server's own count; the frozen window
     * from CRIU's frozen time, else from the dump's start to the commit (an upper bound).
     */
    private static MigrationReport report(MigrationPlan plan, PhaseClock clock, Preflight.Findings found,
                                          List<String> warnings, int restoredPid, DumpResult dump,
                                          PageServerPhase pageServer) {
        MigrationSpec spec = plan.spec();
        long pages = 0;
        long bytes = 0;
        long frozenMillis = 0;
        double rate = 0;
        if (dump != null) {
            pages = dump.getStats().getPagesWritten() > 0 ? dump.getStats().getPagesWritten() : pageServer.pagesSeen();
            bytes = dump.getStats().getBytesWritten() > 0 ? dump.getStats().getBytesWritten() : pageServer.bytesSeen();
            frozenMillis = dump.getStats().getFrozenTimeMicros() > 0 ? dump.getStats().getFrozenTimeMicros() / 1000
                    : clock.millis(Phase.DUMP) + clock.millis(Phase.COPY_IMAGES) + clock.millis(Phase.PAGE_SERVER_STATUS)
                    + clock.millis(Phase.RESTORE) + clock.millis(Phase.COMMIT);
            long dumpMillis = clock.millis(Phase.DUMP);
            rate = dump.getStats().getMegabytesPerSecond() > 0 ? dump.getStats().getMegabytesPerSecond()
                    : dumpMillis <= 0 ? 0 : bytes / (double) (1 << 20) / (dumpMillis / 1000.0);
        }
        int processes = Math.max(dump == null ? 0 : (int) dump.getProcesses(),
                found == null ? 0 : found.tree().getPidsCount());
        return new MigrationReport(plan.id(), spec.from().toString(), spec.to().toString(), spec.pid(), restoredPid,
                spec.dryRun(), clock.timings(), frozenMillis, pages, bytes, rate, processes,
                found == null ? null : found.criuVersions(), found == null ? null : found.cpuCheck(),
                found == null ? null : found.tmpfsSize(), warnings, spec.tls(),
                spec.pageStream().transport().name().toLowerCase(java.util.Locale.ROOT),
                dump == null ? 0 : dump.getRelay().getWireBytes());
    }
}
