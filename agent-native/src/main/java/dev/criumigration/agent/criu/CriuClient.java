package dev.criumigration.agent.criu;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.criumigration.agent.criu.rpc.CriuFeatures;
import dev.criumigration.agent.criu.rpc.CriuReq;
import dev.criumigration.agent.criu.rpc.CriuReqType;
import dev.criumigration.agent.criu.rpc.CriuResp;
import dev.criumigration.agent.criu.rpc.CriuVersion;
import dev.criumigration.agent.nativeio.LibC;
import dev.criumigration.agent.nativeio.NativeException;
import dev.criumigration.agent.nativeio.SeqPacketSocket;
import dev.criumigration.agent.nativeio.SpawnedProcess;
import dev.criumigration.agent.nativeio.StreamSocket;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * One {@code criu swrk} process and the SOCK_SEQPACKET socket we talk RPC with.
 *
 * <p>CRIU serves one request and exits, unless the request has {@code keep_open} (CRIU allows it only
 * for PAGE_SERVER, PAGE_SERVER_CHLD, CPUINFO_*, FEATURE_CHECK and VERSION): then the next request
 * goes to the same CRIU, e.g. PAGE_SERVER_CHLD then WAIT_PID for the page server's exit status.
 * Calls on one client run one at a time. Interrupting a call kills CRIU, except while a
 * {@link NotifyHandler} runs: the handler's failure is answered to CRIU, which then cleans up itself.
 *
 * <p>What CRIU starts may outlive it: a page server from PAGE_SERVER_CHLD is a child of CRIU and
 * keeps running if CRIU dies (the caller kills {@code resp.ps.pid} when it gives up on it); a tree
 * restored without {@code rst_sibling} is CRIU's child and passes to init (or the nearest subreaper)
 * when CRIU exits after answering; with {@code rst_sibling} it is created as our child (we reap it).
 */
public final class CriuClient implements Closeable {
    /** CRIU's file descriptor number for its end of the socket. */
    private static final int CRIU_SOCKET_FD = 3;
    /** Where CRIU finds the page stream's socket given to {@link #start(Path, Map, Path, StreamSocket)}. */
    public static final int PAGE_STREAM_FD = 4;
    /** How often a waiting call looks whether CRIU still lives. */
    private static final Duration LIVENESS_CHECK = Duration.ofMillis(200);
    /** How long CRIU gets to end after it closed the socket, before it is killed. */
    private static final Duration EXIT_GRACE = Duration.ofSeconds(2);

    /** Answers CRIU's NOTIFY messages (with {@code notify_scripts}); true lets CRIU go on. */
    public interface NotifyHandler {
        /**
         * May block (the post-dump commit point waits for the controller); that time does not count
         * against the call's timeout, so the handler bounds its own waiting. Throwing, or being
         * interrupted, answers CRIU with failure (after post-dump CRIU then resumes the tree).
         */
        boolean onNotify(String script, int pid) throws IOException, InterruptedException;
    }

    private final SpawnedProcess criu;
    private final SeqPacketSocket socket;
    private final Path outputFile;

    private CriuClient(SpawnedProcess criu, SeqPacketSocket socket, Path outputFile) {
        this.criu = criu;
        this.socket = socket;
        this.outputFile = outputFile;
    }

    /** Spawns {@code criu swrk 3}; CRIU's stdout and stderr are appended to {@code outputFile}. */
    public static CriuClient start(Path criu, Map<String, String> extraEnv, Path outputFile) throws IOException {
        return start(criu, extraEnv, outputFile, null);
    }

    /**
     * Spawns {@code criu swrk 3} with a copy of {@code pageStream} (null: none) as its descriptor
     * {@link #PAGE_STREAM_FD}, for {@code ps.fd}: CRIU's page stream then runs over that socket instead
     * of a TCP connection of its own. The caller keeps and closes its {@code pageStream}.
     */
    public static CriuClient start(Path criu, Map<String, String> extraEnv, Path outputFile, StreamSocket pageStream)
            throws IOException {
        SeqPacketSocket.Pair pair = SeqPacketSocket.pair();
        SpawnedProcess process;
        try {
            Map<Integer, Integer> handedOver = pageStream == null ? Map.of(CRIU_SOCKET_FD, pair.second().fd())
                    : Map.of(CRIU_SOCKET_FD, pair.second().fd(), PAGE_STREAM_FD, pageStream.fd());
            process = SpawnedProcess.spawn(List.of(criu.toString(), "swrk", Integer.toString(CRIU_SOCKET_FD)),
                    extraEnv, handedOver, outputFile);
        } catch (IOException | RuntimeException e) {
            pair.close();
            throw e;
        }
        // Only CRIU holds its end now: if CRIU dies we read EOF instead of waiting forever.
        pair.second().close();
        return new CriuClient(process, pair.first(), outputFile);
    }

    /**
     * Sends {@code request} and returns CRIU's final (non-NOTIFY) response, answering every NOTIFY on
     * the way with {@code notifications}.
     *
     * @param timeout       how long CRIU's own work may take (time spent in {@code notifications} is not
     *                      counted); on expiry CRIU is killed and {@link CriuTimeoutException} thrown
     * @param notifications answers NOTIFY messages; null answers every one with success
     * @param criuLogFile   CRIU's log (for excerpts in exceptions), or null to quote CRIU's output file
     * @throws CriuException         CRIU answered success=false
     * @throws CriuCrashedException  CRIU ended without answering
     * @throws CriuTimeoutException  the deadline passed (CRIU has been killed)
     * @throws InterruptedException  the thread was interrupted while CRIU worked (CRIU has been killed),
     *                               or the handler was (CRIU was answered with failure first)
     */
    public synchronized CriuResp call(CriuReq request, Duration timeout, NotifyHandler notifications, Path criuLogFile)
            throws IOException, InterruptedException {
        CriuReqType type = request.getType();
        Path log = criuLogFile != null ? criuLogFile : outputFile;
        long deadline = System.nanoTime() + timeout.toNanos();
        send(request, type, log);
        while (true) {
            CriuResp response = receive(type, timeout, deadline, log);
            if (response.getType() != CriuReqType.NOTIFY) {
                if (!response.getSuccess()) {
                    throw new CriuException(type, response.getCrErrno(),
                            CriuLog.meaningfulErrmsg(response.getCrErrmsg(), log), CriuLog.excerpt(log), log);
                }
                return response;
            }
            long handlerStarted = System.nanoTime();
            boolean verdict;
            try {
                verdict = notifications == null
                        || notifications.onNotify(response.getNotify().getScript(), response.getNotify().getPid());
            } catch (IOException | InterruptedException | RuntimeException e) {
                answerFailureAndWait(e, type, timeout, deadline + (System.nanoTime() - handlerStarted), log);
                throw e;
            }
            deadline += System.nanoTime() - handlerStarted;
            send(notifyAnswer(verdict), type, log);
        }
    }

    /**
     * The handler failed: tell CRIU (so it cleans up, e.g. resumes a dumped tree) and wait for its final
     * answer within what is left of the deadline, even if this thread was interrupted. CRIU's failure
     * is attached to the handler's exception as suppressed.
     */
    private void answerFailureAndWait(Exception handlerFailure, CriuReqType type, Duration timeout,
                                                         long deadline, Path log) {
        boolean interrupted = Thread.interrupted();
        try {
            send(notifyAnswer(false), type, log);
            while (true) {
                CriuResp response = receive(type, timeout, deadline, log);
                if (response.getType() != CriuReqType.NOTIFY) {
                    if (!response.getSuccess()) {
                        handlerFailure.addSuppressed(new CriuException(type, response.getCrErrno(),
                                CriuLog.meaningfulErrmsg(response.getCrErrmsg(), log), CriuLog.excerpt(log), log));
                    }
                    return;
                }
                // Notifications of CRIU's own cleanup (network-unlock after a refused post-dump): let it clean up.
                send(notifyAnswer(true), type, log);
            }
        } catch (IOException | InterruptedException e) {
            handlerFailure.addSuppressed(e);
        } finally {
            if (interrupted || handlerFailure instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static CriuReq notifyAnswer(boolean verdict) {
        return CriuReq.newBuilder().setType(CriuReqType.NOTIFY).setNotifySuccess(verdict).build();
    }

    private void send(CriuReq request, CriuReqType type, Path log) throws IOException, InterruptedException {
        try {
            socket.send(request.toByteArray());
        } catch (IOException e) {
            // EPIPE/ECONNRESET: CRIU is gone (or closed its end without answering).
            throw crashed(type, log, e);
        }
    }

    private CriuResp receive(CriuReqType type, Duration timeout, long deadline, Path log)
            throws IOException, InterruptedException {
        byte[] message;
        try {
            message = receiveWhileCriuLives(type, deadline, log);
        } catch (SocketTimeoutException e) {
            criu.kill();
            throw new CriuTimeoutException(type, timeout, CriuLog.excerpt(log), log);
        } catch (EOFException e) {
            throw crashed(type, log, e);
        } catch (NativeException e) {
            if (e.errno() != LibC.ECONNRESET) {
                throw e;
            }
            throw crashed(type, log, e);  // CRIU died with our last message unread
        } catch (InterruptedIOException e) {
            criu.kill();
            InterruptedException interrupted = new InterruptedException("interrupted while CRIU ran " + type + "; CRIU was killed");
            interrupted.initCause(e);
            throw interrupted;
        }
        try {
            return CriuResp.parseFrom(message);
        } catch (InvalidProtocolBufferException e) {
            criu.kill();
            throw new IOException("CRIU sent an unreadable response to " + type + "; CRIU was killed", e);
        }
    }

    /**
     * The next message, looking at CRIU between waits: a page server CRIU forked inherits CRIU's end
     * of the socket, so while it runs, CRIU's death is no EOF.
     */
    private byte[] receiveWhileCriuLives(CriuReqType type, long deadline, Path log)
            throws IOException, InterruptedException {
        while (true) {
            long left = Math.max(0, deadline - System.nanoTime());
            try {
                return socket.receive(Duration.ofNanos(Math.min(left, LIVENESS_CHECK.toNanos())));
            } catch (SocketTimeoutException e) {
                if (!criu.isAlive()) {
                    try {
                        return socket.receive(Duration.ZERO);  // its last words, sent just before it exited
                    } catch (SocketTimeoutException silent) {
                        throw crashed(type, log, silent);
                    }
                }
                if (left <= LIVENESS_CHECK.toNanos()) {
                    throw e;
                }
            }
        }
    }

    private CriuCrashedException crashed(CriuReqType type, Path log, IOException cause) throws InterruptedException {
        OptionalInt status = criu.waitFor(EXIT_GRACE);
        if (status.isEmpty()) {
            criu.kill();
        }
        CriuCrashedException crashed = new CriuCrashedException(type, status, CriuLog.excerpt(log), log);
        crashed.initCause(cause);
        return crashed;
    }

    /** CRIU's version (VERSION request, keep_open: the client stays usable). */
    public CriuVersion version(Duration timeout) throws IOException, InterruptedException {
        CriuReq request = CriuReq.newBuilder().setType(CriuReqType.VERSION).setKeepOpen(true).build();
        return call(request, timeout, null, null).getVersion();
    }

    /**
     * Which of mem_track, lazy_pages and pidfd_store this CRIU and kernel support (FEATURE_CHECK
     * request for all three, keep_open: the client stays usable).
     */
    public CriuFeatures features(Duration timeout) throws IOException, InterruptedException {
        CriuReq request = CriuReq.newBuilder().setType(CriuReqType.FEATURE_CHECK).setKeepOpen(true)
                .setFeatures(CriuFeatures.newBuilder().setMemTrack(true).setLazyPages(true).setPidfdStore(true))
                .build();
        return call(request, timeout, null, null).getFeatures();
    }

    /** CRIU's PID (the swrk process). */
    public int pid() {
        return criu.pid();
    }

    /** True until CRIU has exited. */
    public boolean isAlive() {
        return criu.isAlive();
    }

    /**
     * Waits for CRIU to exit, as it does after a request without keep_open; its raw wait status (see
     * {@link dev.criumigration.agent.nativeio.WaitStatus}), empty if it still runs after {@code timeout}.
     */
    public OptionalInt waitForExit(Duration timeout) throws InterruptedException {
        return criu.waitFor(timeout);
    }

    /**
     * Kills CRIU if it still runs, reaps it, closes the socket. From another thread this cancels a
     * running call: CRIU is killed at once, and the socket is closed once that call has ended.
     */
    @Override
    public void close() {
        try {
            criu.close();
        } finally {
            synchronized (this) {
                socket.close();
            }
        }
    }
}
