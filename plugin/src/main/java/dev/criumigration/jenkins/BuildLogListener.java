package dev.criumigration.jenkins;

import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.MigrationReport.PhaseTiming;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.Transfer;
import hudson.model.TaskListener;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Writes what the engine reports to the build log: each phase as it starts and ends, the pages sent
 * while they flow (at most one line every two seconds), the engine's own lines and warnings. Keeps
 * the phase timings the engine reports, for the record of a successful call (a failure carries its
 * own). Called from engine threads.
 */
final class BuildLogListener implements MigrationListener {
    private static final long PROGRESS_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final PrintStream log;
    private final List<PhaseTiming> phases = new ArrayList<>();
    private volatile Phase current;
    private long lastProgressNanos;

    BuildLogListener(TaskListener listener) {
        this.log = listener.getLogger();
    }

    @Override
    public void phaseStarted(Phase phase) {
        current = phase;
        log.println(Messages.BuildLog_PhaseStarted(phase.label()));
    }

    @Override
    public synchronized void phaseFinished(Phase phase, Duration duration) {
        phases.add(new PhaseTiming(phase, duration.toMillis()));
        log.println(Messages.BuildLog_PhaseFinished(phase.label(), MigrationRecord.formatMillis(duration.toMillis())));
    }

    @Override
    public synchronized void progress(Phase phase, Transfer transfer) {
        long now = System.nanoTime();
        if (lastProgressNanos != 0 && now - lastProgressNanos < PROGRESS_INTERVAL_NANOS) {
            return;
        }
        lastProgressNanos = now;
        log.println(Messages.BuildLog_Progress(phase.label(), transfer.pages(), transfer.describe()));
    }

    @Override
    public void log(String line) {
        log.println(line);
    }

    @Override
    public void warning(String line) {
        log.println(Messages.BuildLog_Warning(line));
    }

    /** The phase running now, for the step's status; null before the first. */
    Phase currentPhase() {
        return current;
    }

    /** The phases finished so far, in order. */
    synchronized List<PhaseTiming> phases() {
        return List.copyOf(phases);
    }

    PrintStream log() {
        return log;
    }
}
