package dev.criumigration.migration;

import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.CheckRequest;
import dev.criumigration.agent.protocol.CheckResult;
import dev.criumigration.agent.protocol.CleanupRequest;
import dev.criumigration.agent.protocol.CleanupResult;
import dev.criumigration.agent.protocol.CommitDecision;
import dev.criumigration.agent.protocol.DumpRequest;
import dev.criumigration.agent.protocol.DumpResult;
import dev.criumigration.agent.protocol.FetchImagesRequest;
import dev.criumigration.agent.protocol.FetchImagesResult;
import dev.criumigration.agent.protocol.Frozen;
import dev.criumigration.agent.protocol.ImageFile;
import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.agent.protocol.PageServerRequest;
import dev.criumigration.agent.protocol.PageServerResult;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.PageServerStatusRequest;
import dev.criumigration.agent.protocol.PutImagesRequest;
import dev.criumigration.agent.protocol.RestoreRequest;
import dev.criumigration.agent.protocol.RestoreResult;
import dev.criumigration.agent.protocol.Result;
import dev.criumigration.agent.protocol.SourceRequest;
import dev.criumigration.agent.protocol.SourceResult;
import dev.criumigration.agent.protocol.TlsPem;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.MigrationReport.PhaseTiming;
import dev.criumigration.migration.deploy.AgentDeployer;
import dev.criumigration.migration.remote.RemoteAgent;
import dev.criumigration.migration.ssh.CommandResult;
import dev.criumigration.migration.ssh.HostAddress;
import dev.criumigration.migration.ssh.RemoteHost;
import dev.criumigration.migration.ssh.SshConnector;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Moves process trees between hosts over SSH by driving criu-agent on each. One engine holds one SSH
 * client; it serves calls one after another. {@link #cancel()} may be called from any thread: the
 * running call rolls back (the source resumed, the destination cleaned) and throws CANCELLED; later
 * calls are refused.
 *
 * <p>{@link #migrate} owns the whole frozen phase (CRIU's post-dump notification is the commit point).
 * {@link #startPageServer}, {@link #dump} and {@link #restore} are the same steps one by one, with the
 * source left stopped between dump and restore.
 */
public final class MigrationEngine implements AutoCloseable {
    /** Deadline for each clean-up step after a failure: bounded, so a dead host cannot hang the rollback. */
    private static final Duration ROLLBACK_STEP = Duration.ofSeconds(60);
    /** How long a resumed source may take to leave its stopped state before we say it did not. */
    private static final Duration RESUME_CONFIRMATION = Duration.ofSeconds(15);
    /** Room on the destination tmpfs beyond the workload's resident memory (non-page images, slack). */
    private static final long TMPFS_SLACK_BYTES = 32L << 20;

    private final SshSettings settings;
    private final MigrationListener listener;
    private final SshConnector ssh;
    private final AgentDeployer deployer;
    private final Set<AgentSession> active = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final ExecutorService workers = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "migration-engine-worker");
        thread.setDaemon(true);
        return thread;
    });

    public MigrationEngine(SshSettings settings, MigrationListener listener) {
        if (settings == null) {
            throw new UsageException("SSH settings are required");
        }
        this.settings = settings;
        this.listener = listener == null ? MigrationListener.NONE : listener;
        this.ssh = new SshConnector(settings, this.listener);
        this.deployer = new AgentDeployer(this.listener::log);
    }

    // ---- the three-step flow ----------------------------------------------------------------------

    /** Starts a detached page server on a tmpfs on the destination; it waits there for one dump. */
    public PageServerInfo startPageServer(HostAddress destination, PageServerSpec spec) throws MigrationException {
        requireArgument(destination, "destination");
        PageServerSpec s = spec == null ? PageServerSpec.defaults() : spec;
        Run run = new Run();
        String imagesDir = s.imagesDir() != null ? s.imagesDir() : settings.imagesBase() + "/" + newId() + ".pages";
        AgentSession dst = null;
        boolean started = false;
        try {
            Paths.inside(imagesDir, settings.imagesBase(), "imagesDir", false);
            checkResolvable(destination);
            run.begin(Phase.PAGE_SERVER);
            dst = open(destination);
            String tmpfsSize = s.tmpfsSize();
            if (tmpfsSize == null) {
                CheckResult check = check(dst, Phase.PAGE_SERVER);
                tmpfsSize = Sizes.megabytes(check.getMemoryAvailableBytes()).replaceFirst("^0M$", "64M");
            }
            String address = s.address() != null ? s.address() : resolve(destination);
            Duration timeout = s.timeout() != null ? s.timeout() : settings.operationTimeout();
            PageServerRequest.Builder request = PageServerRequest.newBuilder().setImagesDir(imagesDir)
                    .setTmpfsSize(tmpfsSize).setAddress(address).setPort(s.port()).setDetach(true);
            if (s.tls()) {
                // The dump's certificate waits on the destination, beside the page server's, for the dump step.
                request.setTlsPem(PageStreamCertificates.issue(address).forPageServer(true));
            } else {
                warnPlainText();
            }
            CompletableFuture<PageServerListening> listening = new CompletableFuture<>();
            started = true;
            Result result = dst.call(AgentRequest.newBuilder().setPageServer(request), timeout, event -> {
                if (event.hasListening()) {
                    listening.complete(event.getListening());
                }
            });
            PageServerResult server = result.getPageServer();
            int pid = listening.isDone() ? listening.join().getPid() : 0;
            PageServerInfo info = new PageServerInfo(destination.toString(),
                    server.getAddress().isEmpty() ? address : server.getAddress(), (int) server.getPort(),
                    server.getImagesDir().isEmpty() ? imagesDir : server.getImagesDir(), server.getTmpfsMounted(),
                    server.getTmpfsMounted() ? tmpfsSize : "", pid, s.tls());
            run.end();
            listener.log("page server on " + destination + " listening on " + info.address() + ":" + info.port()
                    + ", images in " + info.imagesDir());
            return info;
        } catch (MigrationException | RuntimeException e) {
            MigrationException failure = failure(run, e);
            if (started) {
                cleanup(dst, destination, imagesDir);
            }
            throw failure;
        } finally {
            close(dst);
        }
    }

    /**
     * Dumps the tree rooted at {@code spec.pid()} on the source, its pages to the page server. With
     * leaveStopped (the default) the source stays stopped for {@link #restore} (or a resume).
     */
    public DumpInfo dump(HostAddress source, DumpSpec spec, PageServerInfo pageServer) throws MigrationException {
        requireArgument(source, "source");
        requireArgument(spec, "dump spec");
        requireArgument(pageServer, "page server");
        HostAddress pageServerHost = hostOf(pageServer.host(), "the page server's host");
        Deadline deadline = new Deadline(spec.timeout() != null ? spec.timeout() : settings.operationTimeout());
        Run run = new Run(deadline);
        String imagesDir = spec.imagesDir() != null ? spec.imagesDir() : siblingDir(pageServer.imagesDir(), ".dump");
        AgentSession src = null;
        boolean dumpStarted = false;
        try {
            Paths.inside(Paths.absolute(pageServer.imagesDir(), "the page server's imagesDir"), settings.imagesBase(),
                    "the page server's imagesDir", false);
            Paths.inside(imagesDir, settings.imagesBase(), "imagesDir", false);
            checkResolvable(source, pageServerHost);
            run.begin(Phase.DUMP);
            src = open(source);
            DumpRequest.Builder request = DumpRequest.newBuilder().setPid(spec.pid()).setImagesDir(imagesDir)
                    .setPageServerHost(pageServer.address()).setPageServerPort(pageServer.port())
                    .setLeaveStopped(spec.leaveStopped()).setTcpEstablished(spec.tcpEstablished())
                    .setShellJob(spec.shellJob());
            if (pageServer.tls()) {
                request.setTlsPem(dumpCertificates(pageServerHost, pageServer));
            } else {
                warnPlainText();
            }
            dumpStarted = true;
            long startNanos = System.nanoTime();
            DumpResult dump = src.call(AgentRequest.newBuilder().setDump(request), deadline.remaining(Phase.DUMP),
                    progressTo(Phase.DUMP, null)).getDump();
            long durationMillis = (System.nanoTime() - startNanos) / 1_000_000;
            DumpInfo info = new DumpInfo(source.toString(), spec.pid(), imagesDir, dump.getLeftStopped(),
                    spec.tcpEstablished(), spec.shellJob(), pageServer, (int) dump.getProcesses(),
                    dump.getStats().getPagesWritten(), dump.getStats().getBytesWritten(),
                    dump.getStats().getFrozenTimeMicros() / 1000, durationMillis);
            run.end();
            return info;
        } catch (MigrationException | RuntimeException e) {
            MigrationException failure = failure(run, e);
            boolean resumed = false;
            if (dumpStarted) {
                // CRIU resumes a tree whose dump failed; confirm it, then clear both hosts.
                resumed = confirmSourceRuns(src, source, spec.pid());
                cleanup(src, source, imagesDir);
                String pageServerFailure = stopPageServer(pageServerHost, pageServer);
                if (pageServerFailure != null) {
                    // Its own failure follows from the dump's, unless its tmpfs was what ran out.
                    String hint = failure.getMessage().contains("TLS") ? failure.hint() : "if the page server's tmpfs ("
                            + pageServer.tmpfsSize() + ") is full, start it with a larger tmpfsSize";
                    failure = new MigrationException(failure.phase(), failure.kind(), failure.getMessage() + "; "
                            + pageServerFailure, hint, failure.sourceResumed(), failure.criuLogExcerpt(),
                            failure.getCause());
                }
            }
            throw failure.in(failure.phase(), resumed);
        } finally {
            close(src);
        }
    }

    /**
     * Copies the non-page images from the dump's source, confirms the page server received every page,
     * restores, confirms the restored root runs, then kills the stopped source (when killSource). On any
     * failure the source is resumed and the destination cleaned.
     */
    public RestoreInfo restore(HostAddress destination, RestoreSpec spec, DumpInfo dump) throws MigrationException {
        requireArgument(destination, "destination");
        requireArgument(dump, "dump");
        RestoreSpec s = spec == null ? RestoreSpec.defaults() : spec;
        HostAddress pageServerHost = hostOf(dump.pageServer().host(), "the dump's page server host");
        if (!pageServerHost.host().equals(destination.host()) || pageServerHost.port() != destination.port()) {
            throw new MigrationException(null, Kind.USAGE, "the dump's pages went to a page server on "
                    + pageServerHost + ", not to " + destination, "restore on the host that ran criuPageServer");
        }
        HostAddress source = hostOf(dump.source(), "the dump's source");
        String imagesDir = s.imagesDir() != null ? s.imagesDir() : dump.pageServer().imagesDir();
        try {
            Paths.inside(Paths.absolute(imagesDir, "imagesDir"), settings.imagesBase(), "imagesDir", false);
            Paths.inside(Paths.absolute(dump.imagesDir(), "the dump's imagesDir"), settings.imagesBase(),
                    "the dump's imagesDir", false);
            checkResolvable(source, destination);
        } catch (UsageException e) {
            throw new MigrationException(null, Kind.USAGE, e.getMessage(), "");
        }
        boolean tcpEstablished = s.tcpEstablished() || dump.tcpEstablished();
        Deadline deadline = new Deadline(s.timeout() != null ? s.timeout() : settings.operationTimeout());
        Run run = new Run(deadline);
        long startNanos = System.nanoTime();
        AgentSession src = null;
        AgentSession dst = null;
        int restoredPid = 0;
        boolean sourceKilled = false;
        try {
            run.begin(Phase.COPY_IMAGES);
            CompletableFuture<AgentSession> dstOpening = async(() -> open(destination));
            CompletableFuture<AgentSession> srcOpening = async(() -> open(source));
            dst = awaitOrClose(dstOpening, srcOpening);
            src = await(srcOpening);
            copyImages(src, dump.imagesDir(), dst, imagesDir, deadline.remaining(Phase.COPY_IMAGES));
            run.end();

            run.begin(Phase.PAGE_SERVER_STATUS);
            PageServerStatus status = dst.call(AgentRequest.newBuilder().setPageServerStatus(
                    PageServerStatusRequest.newBuilder().setImagesDir(imagesDir)), deadline.remaining(Phase.PAGE_SERVER_STATUS),
                    null).getPageServerStatus();
            if (status.getState() != PageServerStatus.State.FINISHED_OK) {
                throw new MigrationException(Phase.PAGE_SERVER_STATUS, Kind.REMOTE, "the page server on " + destination
                        + " did not finish successfully (state " + status.getState() + ", exit status "
                        + status.getExitStatus() + ")", "the pages may be incomplete; see the dump's errors");
            }
            run.end();

            run.begin(Phase.RESTORE);
            RestoreResult restored = restore(dst, imagesDir, tcpEstablished, dump.shellJob(), true,
                    deadline.remaining(Phase.RESTORE));
            restoredPid = restored.getPid();
            confirmRunning(dst, restoredPid);
            run.end();

            run.begin(Phase.COMMIT);
            if (s.killSource()) {
                SourceResult killed = src.call(AgentRequest.newBuilder().setKill(
                        SourceRequest.newBuilder().setPid(dump.pid())), deadline.remaining(Phase.COMMIT), null).getSource();
                sourceKilled = true;
                listener.log("source tree " + dump.pid() + " on " + source + " " + killed.getAction());
            } else {
                listener.warning("the source tree " + dump.pid() + " on " + source + " stays stopped (killSource=false)"
                        + ": kill or resume it yourself");
            }
            run.end();

            run.begin(Phase.CLEANUP);
            cleanup(dst, destination, imagesDir);
            cleanup(src, source, dump.imagesDir());
            run.end();
            return new RestoreInfo(destination.toString(), restoredPid, imagesDir, source.toString(), dump.pid(),
                    sourceKilled, restored.getStats().getPagesRestored(), (System.nanoTime() - startNanos) / 1_000_000);
        } catch (MigrationException | RuntimeException e) {
            MigrationException failure = failure(run, e);
            if (sourceKilled) {
                // Past the commit: the destination runs the tree; only clean-up failed.
                throw failure;
            }
            SourceState sourceState = failure.phase() == Phase.COMMIT && restoredPid > 0
                    ? sourceState(source, dump.pid()) : SourceState.EXISTS;
            if (sourceState == SourceState.GONE) {
                // The kill went through but its answer was lost: the destination's copy is the only one.
                listener.warning("the source tree " + dump.pid() + " is gone and " + destination + " runs it as PID "
                        + restoredPid + ": the migration went through, only the confirmation was lost");
                cleanup(dst, destination, imagesDir);
                cleanup(src, source, dump.imagesDir());
                throw failure;
            }
            if (sourceState == SourceState.UNKNOWN) {
                // The kill may have gone through, making the restored copy the only one: it stays. The
                // source, if it still exists, stays stopped (leave_stopped): one copy runs either way.
                throw new MigrationException(Phase.COMMIT, failure.kind(), failure.getMessage() + "; whether the "
                        + "source tree was killed cannot be told, so the tree restored on " + destination + " (PID "
                        + restoredPid + ") runs on and the source, if it still exists, stays stopped",
                        "once " + source + " answers, keep the restored copy with: criu-migrate kill --from " + source
                        + " --pid " + dump.pid() + " (or give the migration up with criu-migrate abort)", false,
                        List.of(), failure);
            }
            killRestoredTree(dst, destination, restoredPid);
            cleanup(dst, destination, imagesDir);
            boolean resumed = resumeSource(src, source, dump.pid());
            cleanup(src, source, dump.imagesDir());
            throw failure.in(failure.phase(), resumed);
        } finally {
            close(src);
            close(dst);
        }
    }

    // ---- the one-shot migration -------------------------------------------------------------------

    /** What a migration has done so far, for its rollback. */
    private static final class Progress {
        AgentSession src;
        AgentSession dst;
        /** Agents of their own for the two long operations, beside each session's main agent. */
        RemoteAgent dumpAgent;
        RemoteAgent pageServerAgent;
        RemoteAgent.Call pageServerCall;
        RemoteAgent.Call dumpCall;
        boolean dumpStarted;
        boolean frozen;
        int restoredPid;
        /** Read under the lock of this object by the dump's completion, on the agent's reader thread. */
        boolean committed;
        /** Set under the lock of this object: from then on the rollback owns the destination's calls. */
        boolean rollingBack;
        final AtomicLongArray pagesAndBytes = new AtomicLongArray(2);
    }

    /**
     * Migrates with every phase: preflight, page server, dump to the post-dump commit point, copy of
     * the non-page images, page-server status, restore, commit (CRIU kills the source), clean-up. Any
     * failure before the commit resumes the source and cleans the destination.
     */
    public MigrationReport migrate(MigrationSpec spec) throws MigrationException {
        requireArgument(spec, "migration spec");
        Deadline deadline = new Deadline(spec.timeout() != null ? spec.timeout() : settings.operationTimeout());
        Run run = new Run(deadline);
        String id = newId();
        String root = spec.imagesDir() != null ? spec.imagesDir() : settings.imagesBase();
        String dumpDir = root + "/" + id + ".dump";
        String pagesDir = root + "/" + id + ".pages";
        Progress p = new Progress();
        List<String> warnings = new ArrayList<>();
        try {
            Paths.inside(root, settings.imagesBase(), "imagesDir", true);
            checkResolvable(spec.from(), spec.to());
            run.begin(Phase.PREFLIGHT);
            // Both hosts at once, and every agent started before the source freezes.
            CompletableFuture<AgentSession> dstOpening = async(() -> open(spec.to()));
            CompletableFuture<AgentSession> srcOpening = async(() -> open(spec.from()));
            p.dst = awaitOrClose(dstOpening, srcOpening);
            p.src = await(srcOpening);
            p.pageServerAgent = p.dst.startAgent();
            p.dumpAgent = p.src.startAgent();
            Preflight preflight = preflight(p.src, p.dst, spec, root + "/" + id + ".cpuinfo", deadline);
            warnings.addAll(preflight.warnings());
            run.end();
            if (spec.dryRun()) {
                return new MigrationReport(id, spec.from().toString(), spec.to().toString(), spec.pid(), 0, true,
                        run.timings, 0, 0, 0, 0, preflight.tree().pids().size(), preflight.criuVersions(),
                        preflight.cpuCheck(), preflight.tmpfsSize(), warnings, spec.tls());
            }

            run.begin(Phase.PAGE_SERVER);
            String address = resolve(spec.to());
            PageStreamCertificates certificates = spec.tls() ? PageStreamCertificates.issue(address) : null;
            if (certificates == null) {
                warnPlainText();
                warnings.add("the page stream was not encrypted (tls false)");
            }
            PageServerRequest.Builder pageServerRequest = PageServerRequest.newBuilder().setImagesDir(pagesDir)
                    .setTmpfsSize(preflight.tmpfsSize()).setAddress(address);
            if (certificates != null) {
                pageServerRequest.setTlsPem(certificates.forPageServer(false));
            }
            CompletableFuture<PageServerListening> listening = new CompletableFuture<>();
            p.pageServerCall = p.pageServerAgent.start(AgentRequest.newBuilder().setPageServer(pageServerRequest),
                    deadline.remaining(Phase.PAGE_SERVER), event -> {
                        if (event.hasListening()) {
                            listening.complete(event.getListening());
                        } else if (event.hasProgress() && event.getProgress().getBytes() > 0) {
                            // Pages arriving on the destination: the live progress of the dump.
                            p.pagesAndBytes.set(0, event.getProgress().getPages());
                            p.pagesAndBytes.set(1, event.getProgress().getBytes());
                            listener.progress(Phase.DUMP, event.getProgress().getPages(), event.getProgress().getBytes());
                        }
                    });
            failWith(p.pageServerCall, listening, "the page server exited before it listened");
            PageServerListening server = p.pageServerAgent.await(listening, p.pageServerCall);
            run.end();

            run.begin(Phase.DUMP);
            CompletableFuture<Frozen> frozen = new CompletableFuture<>();
            DumpRequest.Builder dumpRequest = DumpRequest.newBuilder().setPid(spec.pid()).setImagesDir(dumpDir)
                    .setPageServerHost(server.getAddress().isEmpty() ? address : server.getAddress())
                    .setPageServerPort(server.getPort()).setTcpEstablished(spec.tcpEstablished())
                    .setShellJob(spec.shellJob()).setCommitPoint(true);
            if (certificates != null) {
                dumpRequest.setTlsPem(certificates.forDump());
            }
            p.dumpStarted = true;
            p.dumpCall = p.dumpAgent.start(AgentRequest.newBuilder().setDump(dumpRequest),
                    deadline.remaining(Phase.DUMP), progressTo(Phase.DUMP, null, frozen));
            failWith(p.dumpCall, frozen, "the dump finished without stopping at the commit point");
            p.dumpAgent.await(frozen, p.dumpCall);
            p.frozen = true;
            // A dump that ends before the commit has resumed the source: whatever the destination is
            // doing for this migration stops at once, not at the next phase's start.
            AgentSession dst = p.dst;
            p.dumpCall.result().whenComplete((result, error) -> {
                synchronized (p) {
                    if (!p.committed && !p.rollingBack) {
                        dst.agents().forEach(RemoteAgent::cancelCalls);
                    }
                }
            });
            run.end();

            run.begin(Phase.COPY_IMAGES);
            requireFrozen(p, spec);
            copyImages(p.src, dumpDir, p.dst, pagesDir, deadline.remaining(Phase.COPY_IMAGES));
            run.end();

            run.begin(Phase.PAGE_SERVER_STATUS);
            requireFrozen(p, spec);
            PageServerResult pageServerResult = p.pageServerAgent.await(p.pageServerCall).getPageServer();
            if (pageServerResult.getExitStatus() != 0) {
                throw new MigrationException(Phase.PAGE_SERVER_STATUS, Kind.REMOTE, "the page server on " + spec.to()
                        + " exited with status " + pageServerResult.getExitStatus(), "the pages may be incomplete");
            }
            run.end();

            run.begin(Phase.RESTORE);
            requireFrozen(p, spec);
            RestoreResult restored = restore(p.dst, pagesDir, spec.tcpEstablished(), spec.shellJob(), false,
                    deadline.remaining(Phase.RESTORE));
            p.restoredPid = restored.getPid();
            confirmRunning(p.dst, p.restoredPid);
            run.end();

            run.begin(Phase.COMMIT);
            requireFrozen(p, spec);
            synchronized (p) {
                p.committed = true;
            }
            p.dumpAgent.send(AgentRequest.newBuilder().setDecision(CommitDecision.newBuilder()
                    .setDumpRequestId(p.dumpCall.id()).setCommit(true)));
            DumpResult dump = p.dumpAgent.await(p.dumpCall).getDump();
            if (!dump.getSourceKilled()) {
                warnings.add("the source agent did not report the source as killed");
            }
            run.end();

            run.begin(Phase.CLEANUP);
            stopPageServerAgent(p);
            cleanup(p.dst, spec.to(), pagesDir);
            cleanup(p.src, spec.from(), dumpDir);
            run.end();

            long pages = dump.getStats().getPagesWritten() > 0 ? dump.getStats().getPagesWritten()
                    : p.pagesAndBytes.get(0);
            long bytes = dump.getStats().getBytesWritten() > 0 ? dump.getStats().getBytesWritten()
                    : p.pagesAndBytes.get(1);
            long frozenMillis = dump.getStats().getFrozenTimeMicros() > 0 ? dump.getStats().getFrozenTimeMicros() / 1000
                    : frozenWindowFallback(run);
            double rate = dump.getStats().getMegabytesPerSecond() > 0 ? dump.getStats().getMegabytesPerSecond()
                    : rate(bytes, run.millis(Phase.DUMP));
            return new MigrationReport(id, spec.from().toString(), spec.to().toString(), spec.pid(), p.restoredPid,
                    false, run.timings, frozenMillis, pages, bytes, rate, Math.max((int) dump.getProcesses(),
                    preflight.tree().pids().size()), preflight.criuVersions(), preflight.cpuCheck(),
                    preflight.tmpfsSize(), warnings, spec.tls());
        } catch (MigrationException | RuntimeException e) {
            // The dump ending first is the cause, also of a destination call it cancelled.
            MigrationException dumpEnded = p.frozen && !p.committed ? dumpEnded(p, spec) : null;
            throw rollback(run, p, spec, dumpDir, pagesDir, failure(run, dumpEnded != null ? dumpEnded : e));
        } finally {
            close(p.src);
            close(p.dst);
        }
    }

    private MigrationException rollback(Run run, Progress p, MigrationSpec spec, String dumpDir, String pagesDir,
                                        MigrationException failure) {
        synchronized (p) {
            p.rollingBack = true; // the rollback's own calls on the destination are never cancelled
        }
        if (p.committed && p.restoredPid > 0 && failure.phase() != Phase.COMMIT) {
            // The destination runs the tree and CRIU finished the source; only clean-up failed.
            stopPageServerAgent(p);
            cleanup(p.dst, spec.to(), pagesDir);
            cleanup(p.src, spec.from(), dumpDir);
            return failure;
        }
        if (p.dumpStarted || p.pageServerCall != null) {
            listener.warning(failure.describe().lines().findFirst().orElse("") + " - rolling back");
        }
        boolean resumed = false;
        if (p.dumpStarted) {
            if (!p.committed) {
                // The restored copy goes before the source may run again: never two copies at once.
                killRestoredTree(p.dst, spec.to(), p.restoredPid);
            }
            abortDump(p);
            if (p.committed) {
                // The commit was sent but its outcome is unknown. A source that still runs wins: the
                // copy on the destination goes, so the tree never runs twice.
                resumed = confirmSourceRuns(p.src, spec.from(), spec.pid());
                if (resumed) {
                    killRestoredTree(p.dst, spec.to(), p.restoredPid);
                } else {
                    listener.warning("the source tree is gone and the destination runs it as PID " + p.restoredPid
                            + "; the commit went through, only its confirmation was lost");
                    return failure.in(Phase.COMMIT, false);
                }
            } else {
                resumed = confirmSourceRuns(p.src, spec.from(), spec.pid());
            }
        }
        stopPageServerAgent(p);
        if (p.pageServerCall != null) {
            cleanup(p.dst, spec.to(), pagesDir);
        }
        if (p.dumpStarted) {
            cleanup(p.src, spec.from(), dumpDir);
        }
        return failure.in(failure.phase(), resumed);
    }

    /**
     * The source must still wait, frozen, at the commit point. A dump that ended before the commit (its
     * CRIU or its agent gone) has resumed it: nothing may be restored or committed any more.
     */
    private static void requireFrozen(Progress p, MigrationSpec spec) throws MigrationException {
        MigrationException ended = dumpEnded(p, spec);
        if (ended != null) {
            throw ended;
        }
    }

    /** Why the dump has ended before the commit, or null while it waits at the commit point. */
    private static MigrationException dumpEnded(Progress p, MigrationSpec spec) {
        if (!p.dumpCall.result().isDone()) {
            return null;
        }
        try {
            p.dumpCall.result().join();
        } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
            if (e.getCause() instanceof MigrationException failure) {
                return new MigrationException(null, failure.kind(), "the dump ended before the commit: "
                        + failure.getMessage(), failure.hint(), failure.sourceResumed(), failure.criuLogExcerpt(),
                        failure);
            }
        }
        return new MigrationException(null, Kind.REMOTE, "the dump on " + spec.from() + " ended before the commit", "");
    }

    /**
     * Tells the source agent to abort the dump (a frozen tree is resumed by CRIU) and waits for the
     * dump's outcome. A lost agent needs nothing: its channel closing makes it resume the tree.
     */
    private void abortDump(Progress p) {
        if (p.dumpAgent == null || p.dumpCall == null || !p.dumpAgent.isOpen()) {
            return;
        }
        try {
            if (p.frozen && !p.committed) {
                p.dumpAgent.send(AgentRequest.newBuilder().setDecision(CommitDecision.newBuilder()
                        .setDumpRequestId(p.dumpCall.id()).setCommit(false)));
            } else if (!p.committed && !p.dumpCall.result().isDone()) {
                p.dumpAgent.cancelQuietly(p.dumpCall);
            }
            p.dumpAgent.await(p.dumpCall);
        } catch (MigrationException expected) {
            listener.log("dump on " + p.src + " ended: " + expected.getMessage());
        }
    }

    /**
     * Ends the page server's agent (a page server still running is stopped by its cancel) and waits for
     * it to exit: it supervises the images directory until then, and cleanup waits for its supervisor.
     */
    private void stopPageServerAgent(Progress p) {
        if (p.pageServerAgent != null) {
            if (p.pageServerCall != null && !p.pageServerCall.result().isDone()) {
                p.pageServerAgent.cancelQuietly(p.pageServerCall);
            }
            p.pageServerAgent.close(ROLLBACK_STEP);
        }
    }

    // ---- giving up a step-by-step migration -------------------------------------------------------

    /**
     * Gives up a step-by-step migration, after any step or when its controller died during one. When
     * the source tree still exists: on the destination kills a tree restored from the page server's
     * images (a restore step that did not finish), stops the page server and removes its images, and
     * only then resumes the source that {@code dump} left stopped (never two copies). When the source is
     * already gone, the restore step had finished the migration: the restored tree is left running and
     * only the images are removed - unless no restored tree runs, when the images may be the tree's last
     * copy: then nothing is removed and the abort fails. When the source cannot be reached, nothing is
     * changed. {@code dump} may be null (only a page server was started).
     */
    public AbortOutcome abort(PageServerInfo pageServer, DumpInfo dump) throws MigrationException {
        PageServerInfo server = dump != null ? dump.pageServer() : pageServer;
        requireArgument(server, "page server");
        HostAddress pageServerHost = hostOf(server.host(), "the page server's host");
        HostAddress source = dump == null ? null : hostOf(dump.source(), "the dump's source");
        try {
            Paths.inside(Paths.absolute(server.imagesDir(), "the page server's imagesDir"), settings.imagesBase(),
                    "the page server's imagesDir", false);
            if (dump != null) {
                Paths.inside(Paths.absolute(dump.imagesDir(), "the dump's imagesDir"), settings.imagesBase(),
                        "the dump's imagesDir", false);
                checkResolvable(source);
            }
            checkResolvable(pageServerHost);
        } catch (UsageException e) {
            throw new MigrationException(null, Kind.USAGE, e.getMessage(), "");
        }
        if (dump == null) {
            cleanup(null, pageServerHost, server.imagesDir(), false);
            return AbortOutcome.PAGE_SERVER_REMOVED;
        }
        SourceState sourceState = sourceState(source, dump.pid());
        if (sourceState == SourceState.UNKNOWN) {
            throw new MigrationException(null, Kind.CONNECT, "cannot tell whether the source tree " + dump.pid()
                    + " on " + source + " still exists: nothing was changed", "run the abort again once " + source
                    + " answers");
        }
        if (sourceState == SourceState.GONE) {
            removeMigratedImages(pageServerHost, server.imagesDir(), source, dump);
            listener.warning("the source tree " + dump.pid() + " on " + source + " is gone: the restore step had "
                    + "finished the migration, so the tree restored on " + pageServerHost + " stays");
            cleanup(null, source, dump.imagesDir());
            return AbortOutcome.ALREADY_MIGRATED;
        }
        // The destination first: a tree restored there goes before the source may run again.
        if (!cleanup(null, pageServerHost, server.imagesDir(), true)) {
            throw new MigrationException(null, Kind.REMOTE, "could not clear " + server.imagesDir() + " on "
                    + pageServerHost + ", where a restored copy of the tree may run: the source tree " + dump.pid()
                    + " on " + source + " stays stopped", "once no copy runs on " + pageServerHost + ", resume the "
                    + "source with: criu-migrate resume --from " + source + " --pid " + dump.pid());
        }
        boolean runs = resumeSource(null, source, dump.pid());
        cleanup(null, source, dump.imagesDir());
        return runs ? AbortOutcome.SOURCE_RESUMED : AbortOutcome.SOURCE_NOT_CONFIRMED;
    }

    /**
     * Removes the page server's images of a migration whose source is gone, but only if the tree
     * restored from them runs: otherwise they may be the tree's last copy, and both hosts keep theirs.
     */
    private void removeMigratedImages(HostAddress host, String imagesDir, HostAddress source, DumpInfo dump)
            throws MigrationException {
        try {
            onHost(null, host, s -> s.callWhateverHappened(AgentRequest.newBuilder().setCleanup(CleanupRequest
                    .newBuilder().setImagesDir(imagesDir).setOnlyIfRestoredRuns(true)), ROLLBACK_STEP));
        } catch (MigrationException e) {
            if (e.kind() != Kind.USAGE) {
                throw e;
            }
            throw new MigrationException(null, Kind.REMOTE, "the source tree " + dump.pid() + " on " + source
                    + " is gone, but no tree restored from " + imagesDir + " runs on " + host + ": the images there "
                    + "and in " + dump.imagesDir() + " on " + source + " are kept, as they may be the tree's last copy",
                    "look at them with criu-agent images --images-dir " + imagesDir + " on " + host + "; remove them "
                    + "with criu-agent cleanup --images-dir DIR on each host once nothing needs them");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException(null, Kind.CANCELLED, "interrupted while removing " + imagesDir, "");
        }
    }

    /** What a look at the source tree's root found. */
    private enum SourceState { EXISTS, GONE, UNKNOWN }

    /** Whether the tree's root still exists (running or stopped) on the host, or that it cannot be told. */
    private SourceState sourceState(HostAddress source, int pid) {
        try (RemoteHost probe = ssh.connect(source)) {
            char state = HostProbe.state(probe, pid);
            return state != 0 && state != 'Z' && state != 'X' ? SourceState.EXISTS : SourceState.GONE;
        } catch (MigrationException e) {
            listener.warning("cannot tell whether the source tree " + pid + " on " + source + " still exists: "
                    + e.getMessage());
            return SourceState.UNKNOWN;
        }
    }

    // ---- single operations used by the command line ---------------------------------------------

    /** Runs the agent's host check (CRIU, kernel, Java) on {@code host}. */
    public CheckResult check(HostAddress host) throws MigrationException {
        requireArgument(host, "host");
        Run run = new Run();
        AgentSession session = null;
        try {
            checkResolvable(host);
            run.begin(Phase.PREFLIGHT);
            session = open(host);
            CheckResult result = check(session, Phase.PREFLIGHT);
            run.end();
            return result;
        } catch (MigrationException | RuntimeException e) {
            throw failure(run, e);
        } finally {
            close(session);
        }
    }

    /** Resumes a tree left stopped by a dump (the three-step flow's way back). */
    public SourceResult resume(HostAddress source, int pid) throws MigrationException {
        return sourceAction(source, pid, true);
    }

    /** Kills a tree left stopped by a dump, once it runs elsewhere. */
    public SourceResult kill(HostAddress source, int pid) throws MigrationException {
        return sourceAction(source, pid, false);
    }

    private SourceResult sourceAction(HostAddress source, int pid, boolean resume) throws MigrationException {
        requireArgument(source, "source");
        if (pid <= 1) {
            throw new MigrationException(null, Kind.USAGE, "pid " + pid + " is not a tree's root", "give the dumped PID");
        }
        Run run = new Run();
        AgentSession session = null;
        try {
            checkResolvable(source);
            run.begin(Phase.COMMIT);
            session = open(source);
            SourceRequest.Builder request = SourceRequest.newBuilder().setPid(pid);
            AgentRequest.Builder call = resume ? AgentRequest.newBuilder().setResume(request)
                    : AgentRequest.newBuilder().setKill(request);
            SourceResult result = session.call(call, settings.operationTimeout(), null).getSource();
            run.end();
            return result;
        } catch (MigrationException | RuntimeException e) {
            throw failure(run, e);
        } finally {
            close(session);
        }
    }

    // ---- phases' parts ----------------------------------------------------------------------------

    private record Preflight(HostProbe.Tree tree, String tmpfsSize, String criuVersions, String cpuCheck,
                             List<String> warnings) {}

    private Preflight preflight(AgentSession src, AgentSession dst, MigrationSpec spec, String cpuinfoDir,
                                Deadline deadline) throws MigrationException {
        List<String> warnings = new ArrayList<>();
        CompletableFuture<CheckResult> dstChecking = async(() -> check(dst, Phase.PREFLIGHT));
        CompletableFuture<HostProbe.Tree> treeProbing = async(() -> HostProbe.tree(src.host(), spec.pid()));
        CheckResult srcCheck = check(src, Phase.PREFLIGHT);
        CheckResult dstCheck = await(dstChecking);
        HostProbe.Tree tree = await(treeProbing);
        String criuVersions = srcCheck.getCriuVersion() + " -> " + dstCheck.getCriuVersion();
        int order = compareVersions(dstCheck.getCriuVersion(), srcCheck.getCriuVersion());
        if (order < 0) {
            throw new MigrationException(Phase.PREFLIGHT, Kind.INCOMPATIBLE, "CRIU on " + spec.to() + " ("
                    + dstCheck.getCriuVersion() + ") is older than on " + spec.from() + " (" + srcCheck.getCriuVersion()
                    + "): it may not read the images", "install the same CRIU on both hosts (src/install/install-host.sh)");
        }
        if (order > 0) {
            warnings.add("CRIU versions differ (" + criuVersions + "); a newer CRIU restores older images");
        }

        if (!tree.ownPidNamespace()) {
            Set<Integer> taken = HostProbe.pidsInUse(dst.host(), tree.pids());
            if (!taken.isEmpty()) {
                throw new MigrationException(Phase.PREFLIGHT, Kind.INCOMPATIBLE, "PIDs " + taken + " of the tree are "
                        + "in use on " + spec.to() + "; CRIU restores a tree with its original PIDs",
                        "run the workload in its own PID namespace (unshare --pid --fork), or free those PIDs");
            }
        }
        if (!tree.ownNetNamespace() && !tree.listeningPorts().isEmpty()) {
            Set<Integer> busy = new java.util.TreeSet<>(HostProbe.portsInUse(dst.host()));
            busy.retainAll(tree.listeningPorts());
            if (!busy.isEmpty()) {
                throw new MigrationException(Phase.PREFLIGHT, Kind.INCOMPATIBLE, "TCP ports " + busy + " the tree "
                        + "listens on are in use on " + spec.to(), "free them there, or run the workload in its own "
                        + "network namespace");
            }
        }

        long needed = tree.residentBytes() + TMPFS_SLACK_BYTES;
        String tmpfsSize;
        if (spec.tmpfsSize() != null) {
            tmpfsSize = spec.tmpfsSize();
            long size = Sizes.parse(tmpfsSize, "tmpfsSize");
            if (size < needed) {
                throw new MigrationException(Phase.PREFLIGHT, Kind.INCOMPATIBLE, "a tmpfs of " + tmpfsSize + " on "
                        + spec.to() + " cannot hold the tree's memory (" + Sizes.human(tree.residentBytes())
                        + " resident in " + tree.pids().size() + " processes)", "give --tmpfs-size "
                        + Sizes.megabytes(needed) + " or more, or leave it out to size it automatically");
            }
        } else {
            tmpfsSize = Sizes.megabytes(needed + needed / 2);
        }
        long available = dstCheck.getMemoryAvailableBytes();
        if (available > 0 && available < needed) {
            throw new MigrationException(Phase.PREFLIGHT, Kind.INCOMPATIBLE, spec.to() + " has " + Sizes.human(available)
                    + " of memory available, the tree needs about " + Sizes.human(needed), "free memory there");
        }

        String cpuCheck = cpuCheck(srcCheck, dstCheck, dst, cpuinfoDir, deadline);
        return new Preflight(tree, tmpfsSize, criuVersions, cpuCheck, warnings);
    }

    /** CRIU's own CPU compatibility check: the source's cpuinfo image checked by CRIU on the destination. */
    private String cpuCheck(CheckResult srcCheck, CheckResult dstCheck, AgentSession dst, String dir, Deadline deadline)
            throws MigrationException {
        if (srcCheck.getCpuinfo().isEmpty()) {
            listener.warning("CPU compatibility not checked: the source agent sent no cpuinfo image");
            return "not checked (the source agent sent no cpuinfo image)";
        }
        String criu = dstCheck.getCriuPath().isEmpty() ? "criu" : dstCheck.getCriuPath();
        dst.call(AgentRequest.newBuilder().setPutImages(PutImagesRequest.newBuilder().setImagesDir(dir)
                .addFiles(ImageFile.newBuilder().setName("cpuinfo.img").setContent(srcCheck.getCpuinfo()))),
                deadline.remaining(Phase.PREFLIGHT, settings.commandTimeout()), null);
        try {
            CommandResult result = dst.host().run(List.of(criu, "cpuinfo", "check", "-D", dir, "-o", "/dev/null"),
                    true, deadline.remaining(Phase.PREFLIGHT, settings.commandTimeout()));
            if (!result.ok()) {
                throw new MigrationException(Phase.PREFLIGHT, Kind.INCOMPATIBLE, "the CPU of " + dst + " lacks features "
                        + "the source's CPU has (criu cpuinfo check: " + result.firstErrorLine() + ")",
                        "migrate to a host with the same or a newer CPU");
            }
            return "compatible (criu cpuinfo check on the destination)";
        } finally {
            dst.call(AgentRequest.newBuilder().setCleanup(CleanupRequest.newBuilder().setImagesDir(dir)),
                    settings.commandTimeout(), null);
        }
    }

    private CheckResult check(AgentSession session, Phase phase) throws MigrationException {
        CheckResult check = session.call(AgentRequest.newBuilder().setCheck(CheckRequest.getDefaultInstance()),
                settings.commandTimeout().plus(Duration.ofSeconds(30)), null).getCheck();
        if (!check.getOk()) {
            throw new MigrationException(phase, Kind.HOST_NOT_READY, session + " cannot take part in a migration: "
                    + String.join("; ", check.getProblemsList()), "install CRIU 4.2+ and Java 17+ with "
                    + "src/install/install-host.sh or the Ansible role criumigration.criu.criu_host");
        }
        return check;
    }

    private void copyImages(AgentSession src, String fromDir, AgentSession dst, String toDir, Duration timeout)
            throws MigrationException {
        FetchImagesResult images = src.call(AgentRequest.newBuilder().setFetchImages(
                FetchImagesRequest.newBuilder().setImagesDir(fromDir)), timeout, null).getFetchImages();
        dst.call(AgentRequest.newBuilder().setPutImages(PutImagesRequest.newBuilder().setImagesDir(toDir)
                .addAllFiles(images.getFilesList())), timeout, null);
        long bytes = images.getFilesList().stream().mapToLong(file -> file.getContent().size()).sum();
        listener.log("copied " + images.getFilesCount() + " image files (" + Sizes.human(bytes) + ") from " + src
                + " to " + dst);
    }

    private RestoreResult restore(AgentSession dst, String imagesDir, boolean tcpEstablished, boolean shellJob,
                                  boolean requirePageServerOk, Duration timeout) throws MigrationException {
        return dst.call(AgentRequest.newBuilder().setRestore(RestoreRequest.newBuilder().setImagesDir(imagesDir)
                        .setTcpEstablished(tcpEstablished).setShellJob(shellJob)
                        .setRequirePageServerOk(requirePageServerOk)), timeout,
                progressTo(Phase.RESTORE, null)).getRestore();
    }

    /** The restored root must be a running process, not a zombie nor still stopped. */
    private void confirmRunning(AgentSession dst, int pid) throws MigrationException {
        char state = pid > 0 ? HostProbe.state(dst.host(), pid) : 0;
        if (!HostProbe.running(state)) {
            throw new MigrationException(Phase.RESTORE, Kind.REMOTE, "the restored tree's root " + pid + " on " + dst
                    + " is not running (state " + (state == 0 ? "gone" : String.valueOf(state)) + ")", "");
        }
        listener.log("restored tree runs on " + dst + " as PID " + pid);
    }

    /** Events of a dump or restore call: progress to the listener, Frozen to {@code frozen}. */
    private java.util.function.Consumer<AgentEvent> progressTo(Phase phase, AtomicLongArray last) {
        return progressTo(phase, last, null);
    }

    private java.util.function.Consumer<AgentEvent> progressTo(Phase phase, AtomicLongArray last,
                                                              CompletableFuture<Frozen> frozen) {
        return event -> {
            if (event.hasProgress() && (event.getProgress().getPages() > 0 || event.getProgress().getBytes() > 0)) {
                long pages = event.getProgress().getPages();
                long bytes = event.getProgress().getBytes();
                if (last != null) {
                    last.set(0, pages);
                    last.set(1, bytes);
                }
                listener.progress(phase, pages, bytes);
            } else if (event.hasProgress()) {
                listener.log(phase.label() + ": " + event.getProgress().getStage());
            } else if (event.hasFrozen() && frozen != null) {
                frozen.complete(event.getFrozen());
            }
        };
    }

    /** When the call ends before {@code awaited} happened, {@code awaited} fails with the call's failure. */
    private static void failWith(RemoteAgent.Call call, CompletableFuture<?> awaited, String ifSuccessful) {
        call.result().whenComplete((result, error) -> awaited.completeExceptionally(error != null ? error
                : new MigrationException(null, Kind.INTERNAL, ifSuccessful, "")));
    }

    // ---- the page stream's TLS -------------------------------------------------------------------

    private void warnPlainText() {
        listener.warning("the page stream is NOT encrypted (TLS turned off): the tree's memory crosses the network "
                + "in plain text and anyone who reaches the page server first can feed it pages");
    }

    /**
     * The certificate and key the three-step flow's page server keeps for its dump (written by its
     * agent into DIR/.criu-agent/tls), read over SSH: they never travel in the pipeline's maps.
     */
    private TlsPem dumpCertificates(HostAddress pageServerHost, PageServerInfo pageServer) throws MigrationException {
        String dir = pageServer.imagesDir() + "/.criu-agent/tls/";
        checkCancelled();
        try (RemoteHost dst = ssh.connect(pageServerHost)) {
            return TlsPem.newBuilder().setCaCert(readPem(dst, dir + "ca.pem")).setCert(readPem(dst, dir + "peer-cert.pem"))
                    .setKey(readPem(dst, dir + "peer-key.pem")).build();
        }
    }

    private static String readPem(RemoteHost host, String path) throws MigrationException {
        CommandResult result = host.run(List.of("cat", "--", path), true);
        if (!result.ok() || !result.stdout().startsWith("-----BEGIN ")) {
            throw new MigrationException(Phase.DUMP, Kind.REMOTE, "the page server on " + host + " is gone: its TLS "
                    + "file " + path + " cannot be read (" + (result.ok() ? "not PEM" : result.firstErrorLine()) + ")",
                    "a page server that no dump reaches within its timeout stops and removes itself: start it "
                    + "again (criuPageServer / criu-migrate page-server) and dump within its timeout");
        }
        return result.stdout();
    }

    // ---- rollback and clean-up helpers (best effort, each bounded) -------------------------------

    /** What a rollback step does on a host. */
    private interface OnHost<T> {
        T run(AgentSession session) throws MigrationException, InterruptedException;
    }

    /**
     * Runs a rollback step on {@code session}, or on a fresh session when it is gone - also when it
     * goes while the step runs (a dropped connection is often noticed only then).
     */
    private <T> T onHost(AgentSession session, HostAddress host, OnHost<T> step)
            throws MigrationException, InterruptedException {
        if (session != null && session.host().isOpen()) {
            try {
                return step.run(session);
            } catch (MigrationException e) {
                if (e.kind() != Kind.CONNECT && session.host().isOpen()) {
                    throw e;
                }
                listener.log("the connection to " + host + " is gone; trying again on a new one");
            }
        }
        try (AgentSession fresh = open(host, true)) {
            return step.run(fresh);
        }
    }

    /** Waits for the source root to run again (CRIU resumes a tree whose dump failed or was aborted). */
    private boolean confirmSourceRuns(AgentSession src, HostAddress source, int pid) {
        try {
            char state = onHost(src, source, session -> {
                long until = System.nanoTime() + RESUME_CONFIRMATION.toNanos();
                char seen;
                do {
                    seen = HostProbe.state(session.host(), pid);
                    if (HostProbe.running(seen)) {
                        return seen;
                    }
                    Thread.sleep(200);
                } while (System.nanoTime() < until);
                return seen;
            });
            if (HostProbe.running(state)) {
                listener.log("source tree " + pid + " on " + source + " runs (state " + state + ")");
                return true;
            }
            listener.warning("the source tree " + pid + " on " + source + " is " + (state == 0 ? "gone"
                    : "not running (state " + state + ")") + "; if it is stopped, resume it with: criu-migrate resume "
                    + "--from " + source + " --pid " + pid);
        } catch (MigrationException e) {
            listener.warning("cannot confirm the source tree " + pid + " on " + source + " runs: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    /** Resumes a stopped source through its agent (a new session when the old one is gone), then confirms. */
    private boolean resumeSource(AgentSession src, HostAddress source, int pid) {
        try {
            SourceResult result = onHost(src, source, session -> session.callWhateverHappened(
                    AgentRequest.newBuilder().setResume(SourceRequest.newBuilder().setPid(pid)), ROLLBACK_STEP))
                    .getSource();
            listener.log("source tree " + pid + " on " + source + " " + result.getAction());
        } catch (MigrationException e) {
            listener.warning("resuming the source tree " + pid + " on " + source + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return confirmSourceRuns(src, source, pid);
    }

    /**
     * Kills a tree this engine restored, and only that: its PID came from our own restore. (The agent's
     * kill refuses running trees, rightly for sources; this one runs and must go.)
     */
    private void killRestoredTree(AgentSession dst, HostAddress destination, int pid) {
        if (pid <= 0) {
            return;
        }
        try {
            if (onHost(dst, destination, session -> HostProbe.killTree(session.host(), pid, ROLLBACK_STEP))) {
                listener.log("killed the restored tree " + pid + " on " + destination);
            } else {
                listener.warning("the restored tree " + pid + " on " + destination + " did not go away; kill it by hand");
            }
        } catch (MigrationException e) {
            listener.warning("killing the restored tree " + pid + " on " + destination + " failed: " + e.getMessage()
                    + "; kill it by hand");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops a detached page server and removes its tmpfs and images. Returns what went wrong on its side
     * (it failed, e.g. its tmpfs was full), or null.
     */
    private String stopPageServer(HostAddress host, PageServerInfo pageServer) {
        String failure = null;
        try (AgentSession session = open(host, true)) {
            PageServerStatus status = session.callWhateverHappened(AgentRequest.newBuilder().setPageServerStatus(
                    PageServerStatusRequest.newBuilder().setImagesDir(pageServer.imagesDir())), ROLLBACK_STEP)
                    .getPageServerStatus();
            if (status.getState() == PageServerStatus.State.FAILED) {
                failure = "the page server on " + host + " failed too (exit status " + status.getExitStatus() + ")";
            }
            cleanup(session, host, pageServer.imagesDir());
        } catch (MigrationException e) {
            listener.warning("stopping the page server on " + host + " failed: " + e.getMessage());
            cleanup(null, host, pageServer.imagesDir());
        }
        return failure;
    }

    /** Removes a dump's images, or a page server with its tmpfs and images, on a host. */
    private void cleanup(AgentSession session, HostAddress host, String imagesDir) {
        cleanup(session, host, imagesDir, false);
    }

    /** As above; {@code killRestored} also ends a tree restored from there. True when it all went. */
    private boolean cleanup(AgentSession session, HostAddress host, String imagesDir, boolean killRestored) {
        try {
            CleanupResult result = onHost(session, host, s -> s.callWhateverHappened(AgentRequest.newBuilder()
                    .setCleanup(CleanupRequest.newBuilder().setImagesDir(imagesDir).setKillRestored(killRestored)),
                    ROLLBACK_STEP)).getCleanup();
            if (result.getRestoredKilled() > 0) {
                listener.log("killed the tree restored on " + host + " (PID " + result.getRestoredKilled() + ")");
            }
            return true;
        } catch (MigrationException e) {
            listener.warning("cleaning up " + imagesDir + " on " + host + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    // ---- plumbing ---------------------------------------------------------------------------------

    /** A step that may fail with a MigrationException, for {@link #async}. */
    private interface Step<T> {
        T run() throws MigrationException;
    }

    /** Runs {@code step} on the engine's own threads (hosts are prepared side by side). */
    private <T> CompletableFuture<T> async(Step<T> step) {
        CompletableFuture<T> future = new CompletableFuture<>();
        workers.execute(() -> {
            try {
                future.complete(step.run());
            } catch (MigrationException | RuntimeException e) {
                future.completeExceptionally(e);
            }
        });
        return future;
    }

    private static <T> T await(CompletableFuture<T> future) throws MigrationException {
        try {
            return future.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof MigrationException failure) {
                throw failure;
            }
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new MigrationException(null, Kind.INTERNAL, "internal error: " + e.getCause(), "");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw cancelledFailure();
        }
    }

    /** The session {@code wanted} opens; when it fails, the {@code other} one is closed as soon as it is open. */
    private AgentSession awaitOrClose(CompletableFuture<AgentSession> wanted, CompletableFuture<AgentSession> other)
            throws MigrationException {
        try {
            return await(wanted);
        } catch (MigrationException | RuntimeException e) {
            other.whenComplete((session, error) -> close(session));
            throw e;
        }
    }

    private AgentSession open(HostAddress address) throws MigrationException {
        return open(address, false);
    }

    /** A session registered for {@link #cancel()}; rollback sessions are opened even after a cancel. */
    private AgentSession open(HostAddress address, boolean forRollback) throws MigrationException {
        if (!forRollback) {
            checkCancelled();
        }
        AgentSession session = AgentSession.open(ssh, deployer, address, listener::log);
        if (!forRollback) {
            active.add(session);
            if (cancelled.get()) {
                close(session);
                throw cancelledFailure();
            }
        }
        return session;
    }

    private void close(AgentSession session) {
        if (session != null) {
            active.remove(session);
            session.close();
        }
    }

    private void checkCancelled() throws MigrationException {
        if (cancelled.get()) {
            throw cancelledFailure();
        }
    }

    private static MigrationException cancelledFailure() {
        return new MigrationException(null, Kind.CANCELLED, "the migration was cancelled", "");
    }

    /**
     * Times phases for the listener and the report; remembers the one running for failures. With a
     * deadline, no phase but the clean-up starts once it has passed.
     */
    private final class Run {
        final List<PhaseTiming> timings = new ArrayList<>();
        final Deadline deadline;
        Phase current;
        long startNanos;

        Run() {
            this(null);
        }

        Run(Deadline deadline) {
            this.deadline = deadline;
        }

        void begin(Phase phase) throws MigrationException {
            checkCancelled();
            current = phase;
            startNanos = System.nanoTime();
            listener.phaseStarted(phase);
            if (deadline != null && phase != Phase.CLEANUP) {
                deadline.remaining(phase);
            }
        }

        void end() {
            long millis = (System.nanoTime() - startNanos) / 1_000_000;
            timings.add(new PhaseTiming(current, millis));
            listener.phaseFinished(current, Duration.ofMillis(millis));
            current = null;
        }

        long millis(Phase phase) {
            return timings.stream().filter(t -> t.phase() == phase).mapToLong(PhaseTiming::millis).sum();
        }
    }

    /** The failure as a MigrationException of the phase that was running. */
    private MigrationException failure(Run run, Exception e) {
        MigrationException failure;
        if (e instanceof MigrationException m) {
            failure = m;
        } else if (e instanceof UsageException usage) {
            failure = new MigrationException(null, Kind.USAGE, usage.getMessage(), "");
        } else {
            failure = new MigrationException(null, Kind.INTERNAL, "internal error: " + e, "", false, List.of(), e);
        }
        if (cancelled.get() && failure.kind() != Kind.CANCELLED && failure.kind() != Kind.USAGE) {
            failure = new MigrationException(failure.phase(), Kind.CANCELLED, "the migration was cancelled", "",
                    failure.sourceResumed(), List.of(), failure);
        }
        Phase phase = failure.phase() != null ? failure.phase() : run.current;
        if (run.current != null) {
            listener.phaseFinished(run.current, Duration.ofNanos(System.nanoTime() - run.startNanos));
        }
        return failure.in(phase, failure.sourceResumed());
    }

    private static HostAddress hostOf(String text, String what) throws MigrationException {
        try {
            return HostAddress.parse(text);
        } catch (UsageException e) {
            throw new MigrationException(null, Kind.USAGE, what + ": " + e.getMessage(), "");
        }
    }

    private static void requireArgument(Object value, String what) throws MigrationException {
        if (value == null) {
            throw new MigrationException(null, Kind.USAGE, "the " + what + " is required", "");
        }
    }

    /**
     * A host name that does not resolve is a mistake to report before any host is touched (otherwise
     * the other host would already have been prepared).
     */
    private static void checkResolvable(HostAddress... hosts) {
        for (HostAddress host : hosts) {
            try {
                InetAddress.getByName(host.host());
            } catch (UnknownHostException e) {
                throw new UsageException("unknown host '" + host.host() + "': it does not resolve here; check the name "
                        + "or give an IP address");
            }
        }
    }

    /** The destination's address as this controller resolves it: the page server listens there only. */
    private static String resolve(HostAddress host) throws MigrationException {
        try {
            return InetAddress.getByName(host.host()).getHostAddress();
        } catch (UnknownHostException e) {
            throw new MigrationException(Phase.PAGE_SERVER, Kind.CONNECT, "cannot resolve " + host.host(),
                    "give the page server's address explicitly");
        }
    }

    private static String siblingDir(String dir, String suffix) {
        String base = dir.endsWith(".pages") ? dir.substring(0, dir.length() - ".pages".length()) : dir;
        return base + suffix;
    }

    private static String newId() {
        byte[] random = new byte[3];
        ThreadLocalRandom.current().nextBytes(random);
        return "m" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-"
                + HexFormat.of().formatHex(random);
    }

    /** Compares dotted versions ("4.2.1"); unknown parts count as 0. */
    static int compareVersions(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int cmp = Integer.compare(number(x, i), number(y, i));
            if (cmp != 0) {
                return cmp;
            }
        }
        return 0;
    }

    private static int number(String[] parts, int i) {
        if (i >= parts.length) {
            return 0;
        }
        String digits = parts[i].replaceAll("\\D.*$", "");
        return digits.isEmpty() ? 0 : Integer.parseInt(digits);
    }

    private static double rate(long bytes, long millis) {
        return millis <= 0 ? 0 : bytes / (double) (1 << 20) / (millis / 1000.0);
    }

    /** Without CRIU's stats: from the dump's start to the commit, an upper bound of the frozen window. */
    private static long frozenWindowFallback(Run run) {
        return run.millis(Phase.DUMP) + run.millis(Phase.COPY_IMAGES) + run.millis(Phase.PAGE_SERVER_STATUS)
                + run.millis(Phase.RESTORE) + run.millis(Phase.COMMIT);
    }

    /** Makes the running call roll back and throw MigrationException(CANCELLED); later calls are refused. */
    public void cancel() {
        if (cancelled.compareAndSet(false, true)) {
            listener.warning("cancel requested: rolling back");
            for (AgentSession session : active) {
                session.agents().forEach(RemoteAgent::cancelCalls);
            }
        }
    }

    @Override
    public void close() {
        for (AgentSession session : active) {
            session.agents().forEach(RemoteAgent::abort);
        }
        workers.shutdownNow();
        ssh.close();
    }
}
