package dev.criumigration.migration.phases;

import dev.criumigration.agent.protocol.RestoreResult;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.hosts.AgentRequests;
import dev.criumigration.migration.hosts.HostSession;

import java.time.Duration;

/**
 * The destination's CRIU restore. The agent answers once the restored root runs (it confirms that
 * itself), so the tree is confirmed once, on the host, and the ledger learns its PID for the rollback.
 */
public final class RestorePhase {
    private final PhaseContext context;

    public RestorePhase(PhaseContext context) {
        this.context = context;
    }

    /** @param requirePageServerOk the agent refuses unless the page server recorded success (detached) */
    public RestoreResult restore(HostSession dst, String imagesDir, boolean tcpEstablished, boolean shellJob,
                                 boolean requirePageServerOk, Duration timeout) throws MigrationException {
        RestoreResult restored = dst.call(AgentRequests.restore(imagesDir, tcpEstablished, shellJob, requirePageServerOk),
                timeout, context.progressTo(Phase.RESTORE)).getRestore();
        context.ledger().restored(restored.getPid());
        context.listener().log("restored tree runs on " + dst + " as PID " + restored.getPid());
        return restored;
    }
}
