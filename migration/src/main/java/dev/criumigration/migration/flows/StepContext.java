package dev.criumigration.migration.flows;

import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.SshSettings;
import dev.criumigration.migration.hosts.HostSessions;
import dev.criumigration.migration.phases.PhaseClock;
import dev.criumigration.migration.phases.PhaseContext;
import dev.criumigration.migration.phases.Rollback;
import dev.criumigration.migration.phases.RollbackLedger;
import dev.criumigration.migration.phases.Undo;
import dev.criumigration.migration.plan.Deadline;
import dev.criumigration.migration.plan.Deadlines;
import dev.criumigration.migration.ssh.HostAddress;

import java.time.Duration;

/** What the engine's flows share: settings, hosts, listener, deadlines. One per engine. */
public record StepContext(SshSettings settings, HostSessions sessions, MigrationListener listener, Deadlines deadlines) {

    /** The deadline of a call: its own timeout, else the engine's operation timeout. */
    Deadline deadline(Duration timeout) {
        return deadlines.after(timeout != null ? timeout : settings.operationTimeout());
    }

    /** A new call's phases: a clock (with {@code deadline}, may be null) and a ledger of what it does. */
    PhaseContext phases(Deadline deadline, HostAddress source, HostAddress destination, int pid) {
        return new PhaseContext(sessions, listener, new PhaseClock(listener, sessions, deadline),
                new RollbackLedger(source, destination, pid));
    }

    Undo undo() {
        return new Undo(sessions, listener);
    }

    Rollback rollback() {
        return new Rollback(undo(), listener);
    }
}
