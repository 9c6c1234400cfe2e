package dev.criumigration.migration.hosts;

import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.SshSettings;
import dev.criumigration.migration.deploy.AgentDeployer;
import dev.criumigration.migration.ssh.HostAddress;
import dev.criumigration.migration.ssh.SshConnector;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The engine's way to the hosts: one SSH client, one agent deployer, the sessions open now and the
 * one cancel switch over them. {@link #cancel()} may come from any thread: every agent call in flight
 * is cancelled (the agents undo what they did) and no new session opens, except for the rollback.
 */
public final class HostSessions implements AutoCloseable {
    private final MigrationListener listener;
    private final SshConnector ssh;
    private final AgentDeployer deployer;
    private final Set<HostSession> active = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final ExecutorService workers = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "migration-engine-worker");
        thread.setDaemon(true);
        return thread;
    });

    public HostSessions(SshSettings settings, MigrationListener listener) {
        this.listener = listener;
        this.ssh = new SshConnector(settings, listener);
        this.deployer = new AgentDeployer(listener::log);
    }

    /** A step that may fail with a MigrationException. */
    public interface Step<T> {
        T run() throws MigrationException;
    }

    /** What a rollback step does on a host. */
    public interface OnHost<T> {
        T run(HostSession session) throws MigrationException;
    }

    /** The two hosts' sessions, opened side by side. */
    public record Pair(HostSession source, HostSession destination) {}

    /** Opens a session registered for {@link #cancel()}; refused once cancelled. */
    public HostSession open(HostAddress address) throws MigrationException {
        checkCancelled();
        HostSession session = HostSession.open(ssh, deployer, address, listener::log);
        active.add(session);
        if (cancelled.get()) {
            close(session);
            throw cancelledFailure();
        }
        return session;
    }

    /** Opens both hosts at once; when one fails, the other is closed as soon as it is open. */
    public Pair openBoth(HostAddress source, HostAddress destination) throws MigrationException {
        CompletableFuture<HostSession> dstOpening = async(() -> open(destination));
        CompletableFuture<HostSession> srcOpening = async(() -> open(source));
        HostSession dst;
        try {
            dst = await(dstOpening);
        } catch (MigrationException | RuntimeException e) {
            srcOpening.whenComplete((session, error) -> close(session));
            throw e;
        }
        try {
            return new Pair(await(srcOpening), dst);
        } catch (MigrationException | RuntimeException e) {
            close(dst);
            throw e;
        }
    }

    /**
     * Runs a rollback step on {@code session}, or on a fresh session when it is gone - also when it
     * goes while the step runs (a dropped connection is often noticed only then). Rollback sessions
     * open even after a cancel.
     */
    public <T> T onHost(HostSession session, HostAddress host, OnHost<T> step) throws MigrationException {
        if (session != null && session.isOpen()) {
            try {
                return step.run(session);
            } catch (MigrationException e) {
                if (e.kind() != Kind.CONNECT && session.isOpen()) {
                    throw e;
                }
                listener.log("the connection to " + host + " is gone; trying again on a new one");
            }
        }
        try (HostSession fresh = HostSession.open(ssh, deployer, host, listener::log)) {
            return step.run(fresh);
        }
    }

    /** Runs {@code step} on the engine's own threads (hosts are prepared side by side). */
    public <T> CompletableFuture<T> async(Step<T> step) {
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

    public static <T> T await(CompletableFuture<T> future) throws MigrationException {
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

    public void close(HostSession session) {
        if (session != null) {
            active.remove(session);
            session.close();
        }
    }

    public boolean isCancelled() {
        return cancelled.get();
    }

    public void checkCancelled() throws MigrationException {
        if (cancelled.get()) {
            throw cancelledFailure();
        }
    }

    public static MigrationException cancelledFailure() {
        return new MigrationException(null, Kind.CANCELLED, "the migration was cancelled", "");
    }

    /** Makes every call in flight end (the agents roll back what they did); later sessions are refused. */
    public void cancel() {
        if (cancelled.compareAndSet(false, true)) {
            listener.warning("cancel requested: rolling back");
            active.forEach(HostSession::cancelCalls);
        }
    }

    @Override
    public void close() {
        active.forEach(HostSession::abort);
        workers.shutdownNow();
        ssh.close();
    }
}
