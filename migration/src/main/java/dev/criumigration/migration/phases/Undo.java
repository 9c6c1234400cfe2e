package dev.criumigration.migration.phases;

import dev.criumigration.agent.protocol.CleanupResult;
import dev.criumigration.agent.protocol.KillRestoredResult;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.ProcessState;
import dev.criumigration.agent.protocol.ProcessStateRequest.Wait;
import dev.criumigration.agent.protocol.SourceResult;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.hosts.AgentRequests;
import dev.criumigration.migration.hosts.HostSession;
import dev.criumigration.migration.hosts.HostSessions;
import dev.criumigration.migration.ssh.HostAddress;

import java.time.Duration;

/**
 * The host actions that put things back, each bounded and best effort: a dead host cannot hang them,
 * and what fails is said as a warning with what to do by hand. Each runs on the session given, or on a
 * fresh one when that is gone ({@link HostSessions#onHost}). The host waits for process states itself
 * (one agent request), the controller does not poll.
 */
public final class Undo {
    /** Deadline for each step: bounded, so a dead host cannot hang the rollback. */
    static final Duration STEP = Duration.ofSeconds(60);
    /** How long a resumed source may take to leave its stopped state before we say it did not. */
    private static final Duration RESUME_CONFIRMATION = Duration.ofSeconds(15);

    private final HostSessions sessions;
    private final MigrationListener listener;

    public Undo(HostSessions sessions, MigrationListener listener) {
        this.sessions = sessions;
        this.listener = listener;
    }

    /** What a look at the source tree's root found. */
    public enum SourceState { EXISTS, GONE, UNKNOWN }

    /** Whether the tree's root still exists (running or stopped) on the host, or that it cannot be told. */
    public SourceState sourceState(HostSession session, HostAddress source, int pid) {
        try {
            ProcessState state = sessions.onHost(session, source, s -> s.callWhateverHappened(
                    AgentRequests.processState(pid, Wait.NO_WAIT), STEP).getProcessState());
            return state.getExists() ? SourceState.EXISTS : SourceState.GONE;
        } catch (MigrationException e) {
            listener.warning("cannot tell whether the source tree " + pid + " on " + source + " still exists: "
                    + e.getMessage());
            return SourceState.UNKNOWN;
        }
    }

    /** Waits for the source root to run again (CRIU resumes a tree whose dump failed or was aborted). */
    public boolean confirmSourceRuns(HostSession session, HostAddress source, int pid) {
        try {
            ProcessState state = sessions.onHost(session, source, s -> s.callWhateverHappened(
                    AgentRequests.processState(pid, Wait.RUNNING), RESUME_CONFIRMATION).getProcessState());
            if (state.getRunning()) {
                listener.log("source tree " + pid + " on " + source + " runs (state " + state.getState() + ")");
                return true;
            }
            listener.warning("the source tree " + pid + " on " + source + " is " + (state.getState().isEmpty() ? "gone"
                    : "not running (state " + state.getState() + ")") + "; if it is stopped, resume it (resume "
                    + "of PID " + pid + " on " + source + ")");
        } catch (MigrationException e) {
            listener.warning("cannot confirm the source tree " + pid + " on " + source + " runs: " + e.getMessage());
        }
        return false;
    }

    /** Resumes a stopped source through its agent, then confirms it runs. */
    public boolean resumeSource(HostSession session, HostAddress source, int pid) {
        try {
            SourceResult result = sessions.onHost(session, source, s -> s.callWhateverHappened(
                    AgentRequests.resume(pid), STEP)).getSource();
            listener.log("source tree " + pid + " on " + source + " " + result.getAction());
        } catch (MigrationException e) {
            listener.warning("resuming the source tree " + pid + " on " + source + " failed: " + e.getMessage());
        }
        return confirmSourceRuns(session, source, pid);
    }

    /** Kills the tree this engine restored from {@code imagesDir}, and only that one. */
    public void killRestored(HostSession session, HostAddress destination, String imagesDir, int pid) {
        if (pid <= 0) {
            return;
        }
        try {
            KillRestoredResult result = sessions.onHost(session, destination, s -> s.callWhateverHappened(
                    AgentRequests.killRestored(imagesDir, pid), STEP)).getKillRestored();
            listener.log(result.getKilled() ? "killed the restored tree " + pid + " on " + destination
                    : "the restored tree " + pid + " on " + destination + " was gone already");
        } catch (MigrationException e) {
            listener.warning("killing the restored tree " + pid + " on " + destination + " failed: " + e.getMessage()
                    + "; kill it by hand");
        }
    }

    /** Removes a dump's images, or a page server with its tmpfs and images, on a host. */
    public void cleanup(HostSession session, HostAddress host, String imagesDir) {
        cleanup(session, host, imagesDir, false);
    }

    /** As above; {@code killRestored} also ends a tree restored from there. True when it all went. */
    public boolean cleanup(HostSession session, HostAddress host, String imagesDir, boolean killRestored) {
        try {
            CleanupResult result = sessions.onHost(session, host, s -> s.callWhateverHappened(
                    AgentRequests.cleanup(imagesDir, killRestored, false), STEP)).getCleanup();
            if (result.getRestoredKilled() > 0) {
                listener.log("killed the tree restored on " + host + " (PID " + result.getRestoredKilled() + ")");
            }
            return true;
        } catch (MigrationException e) {
            listener.warning("cleaning up " + imagesDir + " on " + host + " failed: " + e.getMessage());
        }
        return false;
    }

    /**
     * Stops a detached page server and removes its tmpfs and images. Returns what went wrong on its side
     * (it failed, e.g. its tmpfs was full), or null.
     */
    public String stopDetachedPageServer(HostAddress host, String imagesDir) {
        try {
            PageServerStatus status = sessions.onHost(null, host, session -> {
                PageServerStatus seen = session.callWhateverHappened(AgentRequests.pageServerStatus(imagesDir, false),
                        STEP).getPageServerStatus();
                cleanup(session, host, imagesDir);
                return seen;
            });
            return status.getState() == PageServerStatus.State.FAILED ? "the page server on " + host
                    + " failed too (exit status " + status.getExitStatus() + ")" : null;
        } catch (MigrationException e) {
            listener.warning("stopping the page server on " + host + " failed: " + e.getMessage());
            cleanup(null, host, imagesDir);
            return null;
        }
    }
}
