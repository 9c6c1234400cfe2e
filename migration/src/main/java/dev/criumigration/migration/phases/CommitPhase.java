package dev.criumigration.migration.phases;

import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.CommitDecision;
import dev.criumigration.agent.protocol.DumpResult;
import dev.criumigration.agent.protocol.SourceResult;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.hosts.AgentRequests;
import dev.criumigration.migration.hosts.HostSession;

import java.time.Duration;

/**
 * The destination runs the tree: the source goes. At the commit point, the dump's agent answers CRIU's
 * post-dump notification with success and CRIU kills the frozen tree; a source left stopped is killed
 * by its agent. The ledger knows the commit went out before it does, so a lost answer is never undone
 * blindly.
 */
public final class CommitPhase {
    private final PhaseContext context;

    public CommitPhase(PhaseContext context) {
        this.context = context;
    }

    /** Commits the dump waiting at the commit point; its result comes once CRIU finished the source. */
    public DumpResult commitAtCommitPoint() throws MigrationException {
        RollbackLedger ledger = context.ledger();
        ledger.sendingCommit();
        ledger.dumpAgent.send(AgentRequest.newBuilder().setDecision(CommitDecision.newBuilder()
                .setDumpRequestId(ledger.dumpCall.id()).setCommit(true)));
        DumpResult dump = ledger.dumpAgent.await(ledger.dumpCall).getDump();
        ledger.sourceKilled();
        return dump;
    }

    /** Kills the source that a leave-stopped dump left stopped. */
    public SourceResult killStoppedSource(HostSession src, int pid, Duration timeout) throws MigrationException {
        context.ledger().sendingCommit();
        SourceResult killed = src.call(AgentRequests.kill(pid), timeout).getSource();
        context.ledger().sourceKilled();
        context.listener().log("source tree " + pid + " on " + src + " " + killed.getAction());
        return killed;
    }
}
