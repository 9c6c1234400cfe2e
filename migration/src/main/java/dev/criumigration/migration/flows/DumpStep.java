package dev.criumigration.migration.flows;

import dev.criumigration.agent.protocol.DumpResult;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.TlsPem;
import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.DumpSpec;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.PageServerInfo;
import dev.criumigration.migration.PageStream;
import dev.criumigration.migration.Paths;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.hosts.AgentRequests;
import dev.criumigration.migration.hosts.HostSession;
import dev.criumigration.migration.phases.DumpPhase;
import dev.criumigration.migration.phases.PhaseClock;
import dev.criumigration.migration.phases.PhaseContext;
import dev.criumigration.migration.plan.Deadline;
import dev.criumigration.migration.plan.MigrationPlan;
import dev.criumigration.migration.ssh.HostAddress;

/**
 * Step 2: dumps the tree on the source, its pages to the detached page server of step 1. With
 * leaveStopped (the default) the source stays stopped for the restore step (or a resume). On failure
 * the source runs again and the page server is stopped and removed.
 */
public final class DumpStep {
    private final StepContext steps;

    public DumpStep(StepContext steps) {
        this.steps = steps;
    }

    public DumpInfo run(HostAddress source, DumpSpec spec, PageServerInfo pageServer) throws MigrationException {
        Checks.require(source, "source");
        Checks.require(spec, "dump spec");
        Checks.require(pageServer, "page server");
        HostAddress pageServerHost = Checks.hostOf(pageServer.host(), "the page server's host");
        String imagesDir = spec.imagesDir() != null ? spec.imagesDir()
                : MigrationPlan.siblingDir(pageServer.imagesDir(), ".dump");
        String base = steps.settings().imagesBase();
        try {
            Paths.inside(Paths.absolute(pageServer.imagesDir(), "the page server's imagesDir"), base,
                    "the page server's imagesDir", false);
            Paths.inside(imagesDir, base, "imagesDir", false);
            Checks.resolvable(source, pageServerHost);
        } catch (UsageException e) {
            throw Checks.usage(e);
        }
        Deadline deadline = steps.deadline(spec.timeout());
        PhaseContext context = steps.phases(deadline, source, pageServerHost, spec.pid());
        PhaseClock clock = context.clock();
        HostSession src = null;
        try {
            clock.begin(Phase.DUMP);
            TlsPem tls = null;
            if (pageServer.tls()) {
                tls = dumpCertificates(pageServerHost, pageServer, clock);
            } else {
                context.warnPlainText();
            }
            src = steps.sessions().open(source);
            context.ledger().sessions(src, null);
            context.ledger().destinationDir(pageServer.imagesDir());
            context.ledger().detachedPageServer();
            long startNanos = System.nanoTime();
            DumpResult dump = new DumpPhase(context).leavingStopped(src, new DumpPhase.Target(spec.pid(), imagesDir,
                    pageServer.address(), pageServer.port(), spec.tcpEstablished(), spec.shellJob(), tls,
                    new PageStream(pageServer.transport(), false, 0), 0),
                    spec.leaveStopped(), clock.remaining());
            long durationMillis = (System.nanoTime() - startNanos) / 1_000_000;
            clock.end();
            return new DumpInfo(source.toString(), spec.pid(), imagesDir, dump.getLeftStopped(), spec.tcpEstablished(),
                    spec.shellJob(), pageServer, (int) dump.getProcesses(), dump.getStats().getPagesWritten(),
                    dump.getStats().getBytesWritten(), dump.getStats().getFrozenTimeMicros() / 1000, durationMillis);
        } catch (MigrationException | RuntimeException e) {
            throw steps.rollback().run(context.ledger(), clock.failure(e));
        } finally {
            steps.sessions().close(src);
        }
    }

    /**
     * The certificate and key that the page server keeps for its dump (written by its agent beside its
     * own), read from its agent: they never travel in the pipeline's maps.
     */
    private TlsPem dumpCertificates(HostAddress pageServerHost, PageServerInfo pageServer, PhaseClock clock)
            throws MigrationException {
        HostSession dst = steps.sessions().open(pageServerHost);
        try {
            PageServerStatus status = dst.call(AgentRequests.pageServerStatus(pageServer.imagesDir(), true),
                    clock.remaining(steps.settings().commandTimeout())).getPageServerStatus();
            return status.getDumpTls();
        } finally {
            steps.sessions().close(dst);
        }
    }
}
