package dev.criumigration.migration.flows;

import dev.criumigration.agent.protocol.CheckResult;
import dev.criumigration.agent.protocol.SourceResult;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.hosts.AgentRequests;
import dev.criumigration.migration.hosts.HostSession;
import dev.criumigration.migration.phases.PhaseClock;
import dev.criumigration.migration.preflight.Preflight;
import dev.criumigration.migration.ssh.HostAddress;

/** Single operations on one host: its agent's check, and resume or kill of a tree left stopped. */
public final class HostActions {
    private final StepContext steps;

    public HostActions(StepContext steps) {
        this.steps = steps;
    }

    public CheckResult check(HostAddress host) throws MigrationException {
        Checks.require(host, "host");
        return onOneHost(host, Phase.PREFLIGHT, session ->
                new Preflight(steps.sessions(), steps.listener(), steps.settings().commandTimeout())
                        .check(session, Phase.PREFLIGHT, true));
    }

    /** Resumes (or, once it runs elsewhere, kills) a tree left stopped by a dump. */
    public SourceResult sourceAction(HostAddress source, int pid, boolean resume) throws MigrationException {
        Checks.require(source, "source");
        if (pid <= 1) {
            throw new MigrationException(null, Kind.USAGE, "pid " + pid + " is not a tree's root", "give the dumped PID");
        }
        return onOneHost(source, Phase.COMMIT, session -> session.call(resume ? AgentRequests.resume(pid)
                : AgentRequests.kill(pid), steps.settings().operationTimeout()).getSource());
    }

    private interface OnHost<T> {
        T run(HostSession session) throws MigrationException;
    }

    private <T> T onOneHost(HostAddress host, Phase phase, OnHost<T> action) throws MigrationException {
        PhaseClock clock = new PhaseClock(steps.listener(), steps.sessions(), null);
        HostSession session = null;
        try {
            Checks.resolvable(host);
            clock.begin(phase);
            session = steps.sessions().open(host);
            T result = action.run(session);
            clock.end();
            return result;
        } catch (MigrationException | RuntimeException e) {
            throw clock.failure(e);
        } finally {
            steps.sessions().close(session);
        }
    }
}
