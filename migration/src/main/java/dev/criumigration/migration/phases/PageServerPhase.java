package dev.criumigration.migration.phases;

import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.agent.protocol.PageServerRequest;
import dev.criumigration.agent.protocol.PageServerResult;
import dev.criumigration.agent.protocol.PageTransport;
import dev.criumigration.agent.protocol.TlsPem;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.Transfer;
import dev.criumigration.migration.hosts.HostSession;
import dev.criumigration.migration.remote.RemoteAgent;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The destination's page server on a tmpfs, bound to the one address the source dials. Attached, it
 * runs as one request of the destination's agent for the rest of the migration; detached, it waits on the host for a dump
 * of a later step and this call ends once it listens.
 */
public final class PageServerPhase {
    private final PhaseContext context;
    /** The attached page server's count of what arrived, for a report when CRIU's stats say nothing. */
    private volatile long pagesSeen;
    private volatile long bytesSeen;

    public PageServerPhase(PhaseContext context) {
        this.context = context;
    }

    /** Where it listens and, when detached, its result so far. */
    public record Started(PageServerListening listening, PageServerResult detachedResult) {}

    /**
     * @param tls the page server's certificates (null: plain text); detached, they include the dump's
     */
    public Started start(HostSession dst, String imagesDir, String tmpfsSize, String address, int port, TlsPem tls,
                         PageTransport transport, boolean detached, Duration timeout) throws MigrationException {
        PageServerRequest.Builder request = PageServerRequest.newBuilder().setImagesDir(imagesDir)
                .setTmpfsSize(tmpfsSize).setAddress(address).setPort(port).setDetach(detached).setTransport(transport);
        if (tls != null) {
            request.setTlsPem(tls);
        } else {
            context.warnPlainText();
        }
        CompletableFuture<PageServerListening> listening = new CompletableFuture<>();
        context.ledger().destinationDir(imagesDir);
        if (detached) {
            PageServerResult result = dst.call(AgentRequest.newBuilder().setPageServer(request), timeout, event -> {
                if (event.hasListening()) {
                    listening.complete(event.getListening());
                }
            }).getPageServer();
            PageServerListening where = listening.getNow(PageServerListening.getDefaultInstance());
            announce(dst, where.getAddress().isEmpty() ? result.getAddress() : where.getAddress(),
                    where.getPort() > 0 ? where.getPort() : result.getPort());
            return new Started(where, result);
        }
        RemoteAgent agent = dst.agent();
        RemoteAgent.Call call = agent.start(AgentRequest.newBuilder().setPageServer(request), timeout, event -> {
            if (event.hasListening()) {
                listening.complete(event.getListening());
            } else if (event.hasProgress() && event.getProgress().getBytes() > 0) {
                pagesSeen = event.getProgress().getPages();
                bytesSeen = event.getProgress().getBytes();
                // Pages arriving on the destination: the dump's live progress, unless the source's relay reports it.
                if (transport != PageTransport.AGENT_RELAY) {
                    context.listener().progress(Phase.DUMP, new Transfer(pagesSeen, bytesSeen, 0,
                            event.getProgress().getElapsedMillis()));
                }
            }
        });
        context.ledger().pageServerCall(agent, call);
        failWith(call, listening, "the page server exited before it listened");
        PageServerListening where = agent.await(listening, call);
        announce(dst, where.getAddress().isEmpty() ? address : where.getAddress(), where.getPort());
        return new Started(where, null);
    }

    private void announce(HostSession dst, String address, int port) {
        context.listener().log(dst + ": the page server listens on " + address + " port " + port);
    }

    /** The attached page server's outcome: it must have received every page and exited with 0. */
    public void awaitSuccess(String destination) throws MigrationException {
        RollbackLedger ledger = context.ledger();
        PageServerResult result = ledger.pageServerAgent.await(ledger.pageServerCall).getPageServer();
        if (result.getExitStatus() != 0) {
            throw new MigrationException(Phase.PAGE_SERVER_STATUS, Kind.PAGE_SERVER_FAILED, "the page server on "
                    + destination + " exited with status " + result.getExitStatus(), "the pages may be incomplete");
        }
    }

    public long pagesSeen() {
        return pagesSeen;
    }

    public long bytesSeen() {
        return bytesSeen;
    }

    /** When the call ends before {@code awaited} happened, {@code awaited} fails with the call's failure. */
    static void failWith(RemoteAgent.Call call, CompletableFuture<?> awaited, String ifSuccessful) {
        call.result().whenComplete((result, error) -> awaited.completeExceptionally(error != null ? error
                : new MigrationException(null, Kind.INTERNAL, ifSuccessful, "")));
    }
}
