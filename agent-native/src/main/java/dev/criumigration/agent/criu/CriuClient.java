package dev.criumigration.agent.criu;

import dev.criumigration.agent.criu.rpc.CriuFeatures;
import dev.criumigration.agent.criu.rpc.CriuReq;
import dev.criumigration.agent.criu.rpc.CriuResp;
import dev.criumigration.agent.criu.rpc.CriuVersion;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * One {@code criu swrk} process and the SOCK_SEQPACKET socket we talk RPC with. Several calls may
 * run one after the other on one client (keep_open requests such as PAGE_SERVER_CHLD then WAIT_PID).
 */
public final class CriuClient implements Closeable {

    /** Answers CRIU's NOTIFY messages (with {@code notify_scripts}); true lets CRIU go on. */
    public interface NotifyHandler {
        /**
         * May block (the post-dump commit point waits for the controller); that time does not count
         * against the call's timeout. Throwing, or being interrupted, answers CRIU with failure.
         */
        boolean onNotify(String script, int pid) throws IOException, InterruptedException;
    }

    // TODO(agent-core): not implemented yet; the signatures are stable.

    /** Spawns {@code criu swrk 3}; CRIU's stdout and stderr go to {@code outputFile}. */
    public static CriuClient start(Path criu, Map<String, String> extraEnv, Path outputFile) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /**
     * Sends {@code request} and returns CRIU's final (non-NOTIFY) response.
     *
     * @param timeout       how long CRIU's own work may take (time in {@code notifications} is not counted);
     *                      on expiry CRIU is killed and {@link CriuTimeoutException} thrown
     * @param notifications answers NOTIFY messages; null answers every one with success
     * @param criuLogFile   CRIU's log (for excerpts in exceptions), or null
     * @throws CriuException         CRIU answered success=false
     * @throws CriuCrashedException  CRIU ended without answering
     * @throws CriuTimeoutException  the deadline passed
     */
    public CriuResp call(CriuReq request, Duration timeout, NotifyHandler notifications, Path criuLogFile)
            throws IOException, InterruptedException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** CRIU's version (VERSION request). */
    public CriuVersion version(Duration timeout) throws IOException, InterruptedException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Which of mem_track, lazy_pages, pidfd_store this CRIU and kernel support (FEATURE_CHECK request). */
    public CriuFeatures features(Duration timeout) throws IOException, InterruptedException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public int pid() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Kills CRIU if it still runs, reaps it, closes the socket. */
    @Override
    public void close() {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
