package dev.criumigration.migration.flows;

import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.RestoreResult;
import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.Paths;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.RestoreInfo;
import dev.criumigration.migration.RestoreSpec;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.hosts.AgentRequests;
import dev.criumigration.migration.hosts.HostSessions;
import dev.criumigration.migration.phases.CommitPhase;
import dev.criumigration.migration.phases.CopyImagesPhase;
import dev.criumigration.migration.phases.PhaseClock;
import dev.criumigration.migration.phases.PhaseContext;
import dev.criumigration.migration.phases.RestorePhase;
import dev.criumigration.migration.phases.RollbackLedger;
import dev.criumigration.migration.phases.RollbackLedger.SourceHold;
import dev.criumigration.migration.phases.Undo;
import dev.criumigration.migration.ssh.HostAddress;

/**
 * Step 3: copies the non-page images from the dump's source, confirms the page server received every
 * page, restores (the agent confirms the restored root runs), then kills the stopped source (when
 * killSource). On any failure before that, the restored copy goes, the source is resumed and both
 * hosts are cleaned.
 */
public final class RestoreStep {
    private final StepContext steps;

    public RestoreStep(StepContext steps) {
        this.steps = steps;
    }

    public RestoreInfo run(HostAddress destination, RestoreSpec spec, DumpInfo dump) throws MigrationException {
        Checks.require(destination, "destination");
        Checks.require(dump, "dump");
        RestoreSpec s = spec == null ? RestoreSpec.defaults() : spec;
        HostAddress pageServerHost = Checks.hostOf(dump.pageServer().host(), "the dump's page server host");
        if (!pageServerHost.host().equals(destination.host()) || pageServerHost.port() != destination.port()) {
            throw new MigrationException(null, Kind.USAGE, "the dump's pages went to a page server on "
                    + pageServerHost + ", not to " + destination, "restore on the page server's host");
        }
        HostAddress source = Checks.hostOf(dump.source(), "the dump's source");
        String imagesDir = s.imagesDir() != null ? s.imagesDir() : dump.pageServer().imagesDir();
        String base = steps.settings().imagesBase();
        try {
            Paths.inside(Paths.absolute(imagesDir, "imagesDir"), base, "imagesDir", false);
            Paths.inside(Paths.absolute(dump.imagesDir(), "the dump's imagesDir"), base, "the dump's imagesDir", false);
            Checks.resolvable(source, destination);
        } catch (UsageException e) {
            throw Checks.usage(e);
        }
        boolean tcpEstablished = s.tcpEstablished() || dump.tcpEstablished();
        PhaseContext context = steps.phases(steps.deadline(s.timeout()), source, destination, dump.pid());
        PhaseClock clock = context.clock();
        RollbackLedger ledger = context.ledger();
        // The source waits, stopped, since the dump step; its images and the page server's are ours now.
        ledger.dumpDir(dump.imagesDir());
        ledger.dumpStarted(SourceHold.LEFT_STOPPED);
        ledger.destinationDir(imagesDir);
        long startNanos = System.nanoTime();
        try {
            clock.begin(Phase.COPY_IMAGES);
            HostSessions.Pair hosts = steps.sessions().openBoth(source, destination);
            ledger.sessions(hosts.source(), hosts.destination());
            new CopyImagesPhase(context).copy(hosts.source(), dump.imagesDir(), hosts.destination(), imagesDir,
                    clock.remaining());
            clock.end();

            clock.begin(Phase.PAGE_SERVER_STATUS);
            PageServerStatus status = hosts.destination().call(AgentRequests.pageServerStatus(imagesDir, false),
                    clock.remaining()).getPageServerStatus();
            if (status.getState() != PageServerStatus.State.FINISHED_OK) {
                throw new MigrationException(Phase.PAGE_SERVER_STATUS, Kind.PAGE_SERVER_FAILED, "the page server on "
                        + destination + " did not finish successfully (state " + status.getState() + ", exit status "
                        + status.getExitStatus() + ")", "the pages may be incomplete; see the dump's errors");
            }
            clock.end();

            clock.begin(Phase.RESTORE);
            RestoreResult restored = new RestorePhase(context).restore(hosts.destination(), imagesDir, tcpEstablished,
                    dump.shellJob(), true, clock.remaining());
            clock.end();

            clock.begin(Phase.COMMIT);
            boolean sourceKilled = false;
            if (s.killSource()) {
                new CommitPhase(context).killStoppedSource(hosts.source(), dump.pid(), clock.remaining());
                sourceKilled = true;
            } else {
                steps.listener().warning("the source tree " + dump.pid() + " on " + source + " stays stopped "
                        + "(killSource false): kill or resume it yourself");
            }
            clock.end();

            clock.begin(Phase.CLEANUP);
            Undo undo = steps.undo();
            undo.cleanup(hosts.destination(), destination, imagesDir);
            undo.cleanup(hosts.source(), source, dump.imagesDir());
            clock.end();
            return new RestoreInfo(destination.toString(), restored.getPid(), imagesDir, source.toString(), dump.pid(),
                    sourceKilled, restored.getStats().getPagesRestored(), (System.nanoTime() - startNanos) / 1_000_000);
        } catch (MigrationException | RuntimeException e) {
            throw steps.rollback().run(ledger, clock.failure(e));
        } finally {
            steps.sessions().close(ledger.src());
            steps.sessions().close(ledger.dst());
        }
    }
}
