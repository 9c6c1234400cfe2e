package dev.criumigration.migration;

import dev.criumigration.agent.protocol.CheckResult;
import dev.criumigration.agent.protocol.SourceResult;
import dev.criumigration.migration.flows.AbortStep;
import dev.criumigration.migration.flows.DumpStep;
import dev.criumigration.migration.flows.HostActions;
import dev.criumigration.migration.flows.OneShotMigration;
import dev.criumigration.migration.flows.PageServerStep;
import dev.criumigration.migration.flows.RestoreStep;
import dev.criumigration.migration.flows.StepContext;
import dev.criumigration.migration.hosts.HostSessions;
import dev.criumigration.migration.plan.Deadlines;
import dev.criumigration.migration.ssh.HostAddress;

import java.time.Duration;

/**
 * Moves process trees between hosts over SSH by driving criu-agent on each. One engine holds one SSH
 * client; it serves calls one after another. {@link #cancel()} may be called from any thread: the
 * running call rolls back (the source resumed, the destination cleaned) and throws CANCELLED; later
 * calls are refused.
 *
 * <p>The engine is a facade over the flows (package {@code flows}): {@link #migrate} owns the whole
 * frozen phase (CRIU's post-dump notification is the commit point); {@link #startPageServer},
 * {@link #dump} and {@link #restore} are the same phases one by one, with the source left stopped
 * between dump and restore. A failed call has rolled back and its exception carries the phases it ran.
 */
public final class MigrationEngine implements AutoCloseable {
    private final HostSessions sessions;
    private final Deadlines deadlines = new Deadlines();
    private final StepContext steps;

    public MigrationEngine(SshSettings settings, MigrationListener listener) {
        if (settings == null) {
            throw new UsageException("SSH settings are required");
        }
        MigrationListener events = listener == null ? MigrationListener.NONE : listener;
        this.sessions = new HostSessions(settings, events);
        this.steps = new StepContext(settings, sessions, events, deadlines);
    }

    /**
     * Migrates with every phase: preflight, page server, dump to the post-dump commit point, copy of
     * the non-page images, page-server status, restore, commit (CRIU kills the source), clean-up. Any
     * failure before the commit resumes the source and cleans the destination.
     */
    public MigrationReport migrate(MigrationSpec spec) throws MigrationException {
        if (spec == null) {
            throw new MigrationException(null, MigrationException.Kind.USAGE, "the migration spec is required", "");
        }
        return new OneShotMigration(steps.settings(), sessions, steps.listener(), deadlines).run(spec);
    }

    /** Starts a detached page server on a tmpfs on the destination; it waits there for one dump. */
    public PageServerInfo startPageServer(HostAddress destination, PageServerSpec spec) throws MigrationException {
        return new PageServerStep(steps).run(destination, spec);
    }

    /**
     * Dumps the tree rooted at {@code spec.pid()} on the source, its pages to the page server. With
     * leaveStopped (the default) the source stays stopped for {@link #restore} (or a resume).
     */
    public DumpInfo dump(HostAddress source, DumpSpec spec, PageServerInfo pageServer) throws MigrationException {
        return new DumpStep(steps).run(source, spec, pageServer);
    }

    /**
     * Copies the non-page images from the dump's source, confirms the page server received every page,
     * restores, then kills the stopped source (when killSource). On any failure the source is resumed
     * and the destination cleaned.
     */
    public RestoreInfo restore(HostAddress destination, RestoreSpec spec, DumpInfo dump) throws MigrationException {
        return new RestoreStep(steps).run(destination, spec, dump);
    }

    /**
     * Gives up a step-by-step migration after any step (see {@link AbortStep}): never two copies, and
     * nothing removed that may be the tree's last copy. {@code dump} may be null (only a page server).
     */
    public AbortOutcome abort(PageServerInfo pageServer, DumpInfo dump) throws MigrationException {
        return new AbortStep(steps).run(pageServer, dump);
    }

    /** Runs the agent's host check (CRIU, kernel, Java) on {@code host}. */
    public CheckResult check(HostAddress host) throws MigrationException {
        return new HostActions(steps).check(host);
    }

    /** Resumes a tree left stopped by a dump (the step-by-step flow's way back). */
    public SourceResult resume(HostAddress source, int pid) throws MigrationException {
        return new HostActions(steps).sourceAction(source, pid, true);
    }

    /** Kills a tree left stopped by a dump, once it runs elsewhere. */
    public SourceResult kill(HostAddress source, int pid) throws MigrationException {
        return new HostActions(steps).sourceAction(source, pid, false);
    }

    /**
     * Brings every deadline of this engine's calls forward: from now on none ends later than
     * {@code within} from now, and each call ends (or rolls back) by then. Null lifts it.
     */
    public void endDeadlinesWithin(Duration within) {
        deadlines.endWithin(within);
    }

    /** Makes the running call roll back and throw MigrationException(CANCELLED); later calls are refused. */
    public void cancel() {
        sessions.cancel();
    }

    @Override
    public void close() {
        sessions.close();
    }
}
