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
import java.io.PrintStream;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jenkins.model.Jenkins;
import org.jenkinsci.plugins.workflow.steps.StepContext;
import org.jenkinsci.plugins.workflow.steps.StepExecution;
import org.jenkinsci.plugins.workflow.steps.SynchronousResumeNotSupportedException;
import org.springframework.security.core.Authentication;

/**
 * Runs one step's engine call on a background thread, so the CPS VM thread never waits for a host.
 * What every step does around its call is here: the SSH settings from the step's credentials, the
 * build log as the engine's listener, the call on an engine that {@link #stop} can cancel, the
 * build's migration report (the engine's phases, and a failure's partial report), and failures
 * worded for people. A step's {@code Execution} only says what to call and what it returns.
 *
 * <p>Aborting the build cancels the engine instead of interrupting the thread: the engine then rolls
 * back (the source resumes, the destination loses its page server, mount and images) and the step
 * ends, with the abort's cause, only when that is done. An interrupt could cut the rollback short.
 *
 * @param <R> what the engine call returns
 */
abstract class EngineStepExecution<R> extends StepExecution {
    private static final long serialVersionUID = 1L;

    private static final ExecutorService THREADS = Executors.newCachedThreadPool(new NamingThreadFactory(
            new ClassLoaderSanityThreadFactory(new DaemonThreadFactory()), "CRIU migration step"));

    // Transient: the step cannot resume after a restart (onResume), so nothing here outlives the JVM.
    private final transient CriuStep step;
    private transient volatile Future<?> task;
    private transient volatile MigrationEngine engine;
    private transient volatile Throwable stopCause;
    private transient volatile BuildLogListener buildLog;

    EngineStepExecution(CriuStep step, StepContext context) {
        super(context);
        this.step = step;
    }

    /** The engine call of a step. */
    @FunctionalInterface
    protected interface EngineCall<R> {
        R call(MigrationEngine engine) throws MigrationException;
    }

    /**
     * Checks the step's arguments and says what to call; runs before anything connects. Throw
     * {@link AbortException} for mistakes the user can fix.
     *
     * @param build where a three-step migration finds its record ({@link MigrationReportAction#awaitingRestore})
     * @return the call, and the record it completes (null for a call the report does not show)
     */
    protected abstract Call<R> prepare(Run<?, ?> build) throws AbortException;

    /**
     * After a successful call: completes the record (null when there is none), writes the step's
     * summary to the build log and returns the step's value for the Pipeline script.
     */
    protected abstract Object succeeded(R result, MigrationRecord record, PrintStream log);

    /** What {@link #prepare} decided: the engine call and the report's record of it, or null. */
    protected record Call<R>(EngineCall<R> engineCall, MigrationRecord record) {}

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
            Object result = perform(context.get(Run.class), listener);
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

    private Object perform(Run<?, ?> build, TaskListener listener) throws Exception {
        BuildLogListener log = new BuildLogListener(listener);
        buildLog = log;
        Call<R> call = prepare(build);
        SshSettings settings = step.sshSettings(build, listener);
        MigrationRecord record = call.record();
        R result;
        try {
            result = withEngine(settings, log, call.engineCall());
        } catch (Exception e) {
            if (record != null) {
                record.failed(e);
                MigrationReportAction.of(build).add(record);
            }
            throw e;
        }
        if (record != null) {
            // Only a one-shot migration's result carries its phases; these are the engine's, as it reported them.
            record.addPhases(log.phases());
        }
        Object value = succeeded(result, record, listener.getLogger());
        if (record != null) {
            MigrationReportAction.of(build).add(record);
        }
        return value;
    }

    /** Runs {@code call} on a fresh engine for these settings, one that {@link #stop} can cancel. */
    private R withEngine(SshSettings settings, BuildLogListener log, EngineCall<R> call)
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
