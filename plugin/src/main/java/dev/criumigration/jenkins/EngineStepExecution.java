package dev.criumigration.jenkins;

import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.SshSettings;
import dev.criumigration.migration.UsageException;
import edu.umd.cs.findbugs.annotations.NonNull;
import hudson.AbortException;
import hudson.model.Run;
import hudson.model.TaskListener;
import hudson.security.ACL;
import hudson.security.ACLContext;
import hudson.util.ClassLoaderSanityThreadFactory;
import hudson.util.DaemonThreadFactory;
import hudson.util.NamingThreadFactory;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jenkins.model.Jenkins;
import org.jenkinsci.plugins.workflow.steps.StepContext;
import org.jenkinsci.plugins.workflow.steps.StepExecution;
import org.jenkinsci.plugins.workflow.steps.SynchronousResumeNotSupportedException;
import org.springframework.security.core.Authentication;

/**
 * Runs one engine call on a background thread, so the CPS VM thread never waits for a host.
 *
 * <p>Aborting the build cancels the engine instead of interrupting the thread: the engine then rolls
 * back (the source resumes, the destination loses its page server, mount and images) and the step
 * ends, with the abort's cause, only when that is done. An interrupt could cut the rollback short.
 *
 * @param <T> what the step returns to the Pipeline script
 */
abstract class EngineStepExecution<T> extends StepExecution {
    private static final long serialVersionUID = 1L;

    private static final ExecutorService THREADS = Executors.newCachedThreadPool(new NamingThreadFactory(
            new ClassLoaderSanityThreadFactory(new DaemonThreadFactory()), "CRIU migration step"));

    private transient volatile Future<?> task;
    private transient volatile MigrationEngine engine;
    private transient volatile Throwable stopCause;
    private transient volatile BuildLogListener buildLog;

    EngineStepExecution(StepContext context) {
        super(context);
    }

    /**
     * The step's work, on a background thread: check the arguments, call the engine through
     * {@link #withEngine}, write the summary and the build's report, return the step's value. Throw
     * {@link AbortException} for mistakes the user can fix.
     */
    protected abstract T perform(Run<?, ?> build, TaskListener listener, BuildLogListener buildLog) throws Exception;

    /** The engine call of {@link #run}. */
    @FunctionalInterface
    protected interface EngineCall<R> {
        R call(MigrationEngine engine) throws MigrationException;
    }

    @Override
    public final boolean start() {
        Authentication auth = Jenkins.getAuthentication2();
        task = THREADS.submit(() -> {
            try (ACLContext ignored = ACL.as2(auth)) {
                execute();
            }
        });
        return false;
    }

    private void execute() {
        StepContext context = getContext();
        TaskListener listener = TaskListener.NULL;
        try {
            listener = context.get(TaskListener.class);
            BuildLogListener log = new BuildLogListener(listener);
            buildLog = log;
            T result = perform(context.get(Run.class), listener, log);
            Throwable cause = stopCause;
            if (cause == null) {
                context.onSuccess(result);
            } else {
                listener.getLogger().println(Messages.EngineStep_FinishedDespiteAbort(result));
                context.onFailure(cause);
            }
        } catch (Throwable failure) {
            Throwable userFacing = forBuildLog(failure);
            Throwable cause = stopCause;
            if (cause == null) {
                context.onFailure(userFacing);
            } else {
                // The abort is the reason; what the rollback did is worth reading next to it.
                listener.getLogger().println(userFacing instanceof AbortException ? userFacing.getMessage() : userFacing);
                cause.addSuppressed(failure);
                context.onFailure(cause);
            }
        }
    }

    /**
     * Runs {@code call} on a fresh engine for these settings, one that {@link #stop} can cancel.
     * Engine and usage errors leave here as they are; {@link #forBuildLog} words them for people.
     */
    protected final <R> R withEngine(SshSettings settings, BuildLogListener log, EngineCall<R> call)
            throws MigrationException, AbortException {
        try (MigrationEngine created = new MigrationEngine(settings, log)) {
            engine = created;
            if (stopCause != null) { // stopped before the engine existed: nothing started, nothing to undo
                throw new AbortException(Messages.EngineStep_StoppedBeforeStart());
            }
            return call.call(created);
        } finally {
            engine = null;
        }
    }

    /** How a failed step shows in the build's report: the phase, what went wrong, the source's state. */
    static String outcomeOf(Throwable failure) {
        if (failure instanceof MigrationException e) {
            String what = e.phase() == null ? e.getMessage() : Messages.Record_PhaseFailed(e.phase().label(), e.getMessage());
            return e.sourceResumed() ? Messages.Record_SourceResumed(what) : what;
        }
        return failure.getMessage() == null ? failure.toString() : failure.getMessage();
    }

    /** Mistakes the user can fix read as a message with what to do; bugs keep their stack trace. */
    static Throwable forBuildLog(Throwable failure) {
        if (failure instanceof MigrationException e && e.kind() != MigrationException.Kind.INTERNAL) {
            return new AbortException(e.describe());
        }
        if (failure instanceof UsageException e) {
            return new AbortException(e.getMessage());
        }
        return failure;
    }

    @Override
    public void stop(@NonNull Throwable cause) {
        stopCause = cause;
        BuildLogListener log = buildLog;
        if (log != null) {
            log.log().println(Messages.EngineStep_Cancelling());
        }
        MigrationEngine running = engine;
        if (running != null) {
            // The engine call rolls back and throws; execute() then reports the cause. Cancelling
            // talks to the agents, so it runs off the CPS VM thread: a hung host must not hang it.
            THREADS.execute(running::cancel);
        }
    }

    @Override
    public void onResume() {
        // The engine's connections died with the old controller process; the agents on the hosts roll
        // back when their controller goes away. The step cannot pick up where it was.
        getContext().onFailure(new SynchronousResumeNotSupportedException(getContext()));
    }

    @Override
    public String getStatus() {
        BuildLogListener log = buildLog;
        Phase phase = log == null ? null : log.currentPhase();
        return phase == null ? "connecting" : "running phase " + phase.label();
    }

    @Override
    public boolean blocksRestart() {
        Future<?> started = task;
        return started != null && !started.isDone();
    }
}
