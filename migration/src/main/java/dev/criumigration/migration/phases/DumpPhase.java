package dev.criumigration.migration.phases;

import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.DumpRequest;
import dev.criumigration.agent.protocol.DumpResult;
import dev.criumigration.agent.protocol.Frozen;
import dev.criumigration.agent.protocol.PageCompression;
import dev.criumigration.agent.protocol.PageRelayOptions;
import dev.criumigration.agent.protocol.PageTransport;
import dev.criumigration.agent.protocol.TlsPem;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.PageStream;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.hosts.HostSession;
import dev.criumigration.migration.phases.RollbackLedger.SourceHold;
import dev.criumigration.migration.remote.RemoteAgent;

import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The source's CRIU dump, its pages streamed to the page server. To the commit point (the one-shot
 * migration): the call returns once CRIU's post-dump notification has the tree frozen with every image
 * written, and the dump waits on the source's agent for the commit. Leave-stopped (the step-by-step flow):
 * the call returns with the dump's result and the tree stays stopped.
 */
public final class DumpPhase {
    private final PhaseContext context;

    public DumpPhase(PhaseContext context) {
        this.context = context;
    }

    /**
     * What to dump and where the pages go.
     *
     * @param expectedBytes the tree's resident memory, for the progress's estimate (0: unknown)
     */
    public record Target(int pid, String imagesDir, String pageServerHost, int pageServerPort, boolean tcpEstablished,
                         boolean shellJob, TlsPem tls, PageStream pageStream, long expectedBytes) {
        DumpRequest.Builder request() {
            DumpRequest.Builder request = DumpRequest.newBuilder().setPid(pid).setImagesDir(imagesDir)
                    .setPageServerHost(pageServerHost).setPageServerPort(pageServerPort)
                    .setTcpEstablished(tcpEstablished).setShellJob(shellJob)
                    .setTransport(transport(pageStream));
            if (pageStream.transport() == PageStream.Transport.RELAY) {
                request.setRelay(PageRelayOptions.newBuilder().setMaxBytesPerSecond(pageStream.maxBytesPerSecond())
                        .setCompression(pageStream.compress() ? PageCompression.LZ4 : PageCompression.NO_COMPRESSION));
            }
            if (tls != null) {
                request.setTlsPem(tls);
            }
            return request;
        }
    }

    /** The agents' name for {@code pageStream}'s transport. */
    public static PageTransport transport(PageStream pageStream) {
        return pageStream.transport() == PageStream.Transport.RELAY ? PageTransport.AGENT_RELAY : PageTransport.CRIU_TCP;
    }

    /**
     * Dumps to the commit point. From the freeze on, a dump that ends before the
     * commit (its CRIU or its agent gone) has resumed the source: whatever the destination is doing for
     * this migration is cancelled at once, unless the rollback already owns it.
     */
    public void toCommitPoint(HostSession src, HostSession dst, Target target, Duration timeout)
            throws MigrationException {
        RollbackLedger ledger = context.ledger();
        ledger.dumpDir(target.imagesDir());
        RemoteAgent agent = src.agent();
        CompletableFuture<Frozen> frozen = new CompletableFuture<>();
        ledger.dumpStarted(SourceHold.COMMIT_POINT);
        RemoteAgent.Call call = agent.start(AgentRequest.newBuilder().setDump(target.request().setCommitPoint(true)),
                timeout, event -> {
                    if (event.hasFrozen()) {
                        frozen.complete(event.getFrozen());
                    } else {
                        context.progressTo(Phase.DUMP, target.expectedBytes()).accept(event);
                    }
                });
        ledger.dumpCall(agent, call);
        PageServerPhase.failWith(call, frozen, "the dump finished without stopping at the commit point");
        try {
            agent.await(frozen, call);
        } catch (MigrationException e) {
            throw refusedOrFailed(e);
        }
        ledger.frozenAtCommitPoint(agent, call);
        call.result().whenComplete((result, error) -> {
            synchronized (ledger) {
                if (!ledger.commitSent() && !ledger.rollingBack()) {
                    dst.agent().cancelCalls();
                }
            }
        });
    }

    /** Dumps leaving the tree stopped (or, without leaveStopped, running), on the session's agent. */
    public DumpResult leavingStopped(HostSession src, Target target, boolean leaveStopped, Duration timeout)
            throws MigrationException {
        context.ledger().dumpDir(target.imagesDir());
        context.ledger().dumpStarted(SourceHold.DUMP_IN_FLIGHT);
        try {
            return src.call(AgentRequest.newBuilder().setDump(target.request().setLeaveStopped(leaveStopped)), timeout,
                    context.progressTo(Phase.DUMP, target.expectedBytes())).getDump();
        } catch (MigrationException e) {
            throw refusedOrFailed(e);
        }
    }

    /** A dump the agent refused to start (BUSY: another migration holds the tree) froze nothing. */
    private MigrationException refusedOrFailed(MigrationException e) {
        if (e.kind() == Kind.BUSY) {
            context.ledger().dumpRefused();
        }
        return e;
    }

    /**
     * The source must still wait, frozen, at the commit point. A dump that ended before the commit has
     * resumed it: nothing may be restored or committed any more.
     */
    public static void requireFrozen(RollbackLedger ledger, String source) throws MigrationException {
        MigrationException ended = endedBeforeCommit(ledger, source);
        if (ended != null) {
            throw ended;
        }
    }

    /** Why the commit-point dump has ended before the commit, or null while it waits (or never froze). */
    public static MigrationException endedBeforeCommit(RollbackLedger ledger, String source) {
        if (!ledger.frozen || ledger.commitSent() || !ledger.dumpCall.result().isDone()) {
            return null;
        }
        try {
            ledger.dumpCall.result().join();
        } catch (CompletionException | CancellationException e) {
            if (e.getCause() instanceof MigrationException failure) {
                return new MigrationException(null, failure.kind(), "the dump ended before the commit: "
                        + failure.getMessage(), failure.hint(), failure.sourceResumed(), failure.criuLogExcerpt(),
                        failure);
            }
        }
        return new MigrationException(null, Kind.REMOTE, "the dump on " + source + " ended before the commit", "");
    }
}
