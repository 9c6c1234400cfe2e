package dev.criumigration.migration.phases;

import dev.criumigration.migration.Transfer;
import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.hosts.HostSessions;

import java.util.function.Consumer;

/**
 * What every phase of one engine call works with: the hosts, the listener, the call's phase clock and
 * its rollback ledger, where each phase writes down what it did.
 */
public record PhaseContext(HostSessions sessions, MigrationListener listener, PhaseClock clock, RollbackLedger ledger) {

    /** Events of a dump or restore call for the listener: pages moved, or the stage CRIU is at. */
    public Consumer<AgentEvent> progressTo(Phase phase) {
        return progressTo(phase, 0);
    }

    /** The same, with what the phase should move in all ({@code expectedBytes}, 0: unknown) for an estimate. */
    public Consumer<AgentEvent> progressTo(Phase phase, long expectedBytes) {
        return event -> {
            if (event.hasProgress() && (event.getProgress().getPages() > 0 || event.getProgress().getBytes() > 0)) {
                listener.progress(phase, new Transfer(event.getProgress().getPages(), event.getProgress().getBytes(),
                        expectedBytes, event.getProgress().getElapsedMillis()));
            } else if (event.hasProgress()) {
                listener.log(phase.label() + ": " + event.getProgress().getStage());
            }
        };
    }

    /** The warning for a page stream in plain text, said once per call that sends one. */
    public void warnPlainText() {
        listener.warning("the page stream is NOT encrypted (TLS turned off): the tree's memory crosses the network "
                + "in plain text and anyone who reaches the page server first can feed it pages");
    }
}
