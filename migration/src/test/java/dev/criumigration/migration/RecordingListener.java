package dev.criumigration.migration;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Keeps everything an engine reported, and echoes it to stdout for the test log. */
public class RecordingListener implements MigrationListener {
    public final List<String> logs = new CopyOnWriteArrayList<>();
    public final List<String> warnings = new CopyOnWriteArrayList<>();
    public final List<Phase> started = new CopyOnWriteArrayList<>();
    public final List<Phase> finished = new CopyOnWriteArrayList<>();
    /** The dump's progress reports, in order. */
    public final List<Transfer> dumpProgress = new CopyOnWriteArrayList<>();

    @Override
    public void phaseStarted(Phase phase) {
        started.add(phase);
        System.out.println("[phase] " + phase + " started");
    }

    @Override
    public void phaseFinished(Phase phase, Duration duration) {
        finished.add(phase);
        System.out.println("[phase] " + phase + " finished in " + duration.toMillis() + " ms");
    }

    @Override
    public void progress(Phase phase, Transfer transfer) {
        if (phase == Phase.DUMP) {
            dumpProgress.add(transfer);
        }
        System.out.println("[progress] " + phase + " " + transfer.describe());
    }

    @Override
    public void log(String line) {
        logs.add(line);
        System.out.println("[log] " + line);
    }

    @Override
    public void warning(String line) {
        warnings.add(line);
        System.out.println("[warning] " + line);
    }
}
