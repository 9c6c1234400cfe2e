package dev.criumigration.migration.phases;

import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.CommitDecision;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.phases.RollbackLedger.SourceHold;
import dev.criumigration.migration.phases.Undo.SourceState;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The one rollback of a failed engine call, over its {@link RollbackLedger}: never two copies of the
 * tree at once, and never none. Past the commit it only cleans up; with the commit's outcome unknown
 * it asks the source; before the commit it kills a restored copy, then brings the source back, then
 * clears the destination and the source.
 */
public final class Rollback {
    private final Undo undo;
    private final MigrationListener listener;

    public Rollback(Undo undo, MigrationListener listener) {
        this.undo = undo;
        this.listener = listener;
    }

    /** Puts the hosts back after {@code failure}; returns it knowing whether the source was resumed. */
    public MigrationException run(RollbackLedger l, MigrationException failure) {
        l.beginRollback(); // the rollback's own calls on the destination are never cancelled
        if (l.sourceKilled || (l.commitSent() && l.restoredPid > 0 && failure.phase() != Phase.COMMIT)) {
            // The destination runs the tree and the source is finished; only clean-up failed.
            clearDestination(l);
            clearSource(l);
            return failure;
        }
        if (l.dumpStarted || l.pageServerCall != null) {
            listener.warning(failure.describe().lines().findFirst().orElse("") + " - rolling back");
        }
        boolean resumed = false;
        if (l.dumpStarted && l.commitSent()) {
            AfterLostCommit outcome = afterLostCommit(l, failure);
            if (outcome.settled() != null) {
                return outcome.settled();
            }
            resumed = outcome.resumed();
        } else if (l.dumpStarted) {
            // The restored copy goes before the source may run again.
            undo.killRestored(l.dst, l.destination, l.pagesDir, l.restoredPid);
            resumed = bringBackSource(l);
        }
        String pageServerFailure = clearDestination(l);
        clearSource(l);
        if (pageServerFailure != null) {
            // Its own failure follows from the dump's, unless its tmpfs was what ran out.
            String hint = failure.kind() == MigrationException.Kind.TLS_FAILED ? failure.hint()
                    : "if the page server's tmpfs is full, start it with a larger tmpfs size";
            failure = new MigrationException(failure.phase(), failure.kind(), failure.getMessage() + "; "
                    + pageServerFailure, hint, failure.sourceResumed(), failure.criuLogExcerpt(), failure.getCause())
                    .withProgress(failure.phases(), failure.partialReport().orElse(null));
        }
        return failure.in(failure.phase(), resumed);
    }

    /** After a lost commit: the source's fate, or the failure as it stands when nothing more may be undone. */
    private record AfterLostCommit(boolean resumed, MigrationException settled) {}

    /**
     * The commit went out and its answer did not come back. A source that still runs (or exists,
     * stopped) wins: the restored copy goes and the source runs. A source that is gone means the commit
     * went through: the restored copy stays. When the source cannot be seen, nothing more is touched.
     */
    private AfterLostCommit afterLostCommit(RollbackLedger l, MigrationException failure) {
        if (l.hold == SourceHold.COMMIT_POINT) {
            abortDump(l);
            if (undo.confirmSourceRuns(l.src, l.source, l.pid)) {
                undo.killRestored(l.dst, l.destination, l.pagesDir, l.restoredPid);
                return new AfterLostCommit(true, null);
            }
            listener.warning("the source tree is gone and the destination runs it as PID " + l.restoredPid
                    + "; the commit went through, only its confirmation was lost");
            clearDestination(l);
            clearSource(l);
            return new AfterLostCommit(false, failure.in(Phase.COMMIT, false));
        }
        SourceState state = undo.sourceState(l.src, l.source, l.pid);
        if (state == SourceState.GONE) {
            listener.warning("the source tree " + l.pid + " is gone and " + l.destination + " runs it as PID "
                    + l.restoredPid + ": the migration went through, only the confirmation was lost");
            clearDestination(l);
            clearSource(l);
            return new AfterLostCommit(false, failure);
        }
        if (state == SourceState.UNKNOWN) {
            // The kill may have gone through, making the restored copy the only one: it stays. The
            // source, if it still exists, stays stopped: one copy runs either way.
            return new AfterLostCommit(false, new MigrationException(Phase.COMMIT, failure.kind(), failure.getMessage()
                    + "; whether the source tree was killed cannot be told, so the tree restored on " + l.destination
                    + " (PID " + l.restoredPid + ") runs on and the source, if it still exists, stays stopped",
                    "once " + l.source + " answers, keep the restored copy by killing the stopped source tree "
                    + l.pid + " there (or give the migration up with an abort)", false, List.of(), failure)
                    .withProgress(failure.phases(), failure.partialReport().orElse(null)));
        }
        undo.killRestored(l.dst, l.destination, l.pagesDir, l.restoredPid);
        return new AfterLostCommit(bringBackSource(l), null);
    }

    /** The source runs again: CRIU resumes a tree whose dump failed or was aborted; a stopped one is resumed. */
    private boolean bringBackSource(RollbackLedger l) {
        return switch (l.hold) {
            case COMMIT_POINT -> {
                abortDump(l);
                yield undo.confirmSourceRuns(l.src, l.source, l.pid);
            }
            case LEFT_STOPPED -> undo.resumeSource(l.src, l.source, l.pid);
            case DUMP_IN_FLIGHT -> undo.confirmSourceRuns(l.src, l.source, l.pid);
        };
    }

    /**
     * Tells the source agent to abort the commit-point dump (CRIU resumes the frozen tree) and waits
     * for the dump's outcome. A lost agent needs nothing: its channel closing makes it resume the tree.
     */
    private void abortDump(RollbackLedger l) {
        if (l.dumpAgent == null || l.dumpCall == null || !l.dumpAgent.isOpen()) {
            return;
        }
        try {
            if (l.frozen && !l.commitSent()) {
                l.dumpAgent.send(AgentRequest.newBuilder().setDecision(CommitDecision.newBuilder()
                        .setDumpRequestId(l.dumpCall.id()).setCommit(false)));
            } else if (!l.commitSent() && !l.dumpCall.result().isDone()) {
                l.dumpAgent.cancelQuietly(l.dumpCall);
            }
            l.dumpAgent.await(l.dumpCall);
        } catch (MigrationException expected) {
            listener.log("dump on " + l.source + " ended: " + expected.getMessage());
        }
    }

    /** Stops the page server and removes the destination's directory; says how a detached page server failed. */
    private String clearDestination(RollbackLedger l) {
        endPageServer(l);
        if (l.pagesDir == null) {
            return null;
        }
        if (l.detachedPageServer) {
            return undo.stopDetachedPageServer(l.destination, l.pagesDir);
        }
        undo.cleanup(l.dst, l.destination, l.pagesDir);
        return null;
    }

    private void clearSource(RollbackLedger l) {
        if (l.dumpStarted) {
            undo.cleanup(l.src, l.source, l.dumpDir);
        }
    }

    /**
     * Ends the attached page server (a page server still running is stopped by its cancel) and waits,
     * bounded, for its request to end: it supervises the images directory until then, and clean-up
     * waits for its supervisor. The agent itself serves on.
     */
    public static void endPageServer(RollbackLedger l) {
        if (l.pageServerCall == null || l.pageServerCall.result().isDone()) {
            return;
        }
        l.pageServerAgent.cancelQuietly(l.pageServerCall);
        try {
            l.pageServerCall.result().get(Undo.STEP.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException expected) {
            // cancelled as asked, or the agent is gone: the clean-up's own request says which
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
