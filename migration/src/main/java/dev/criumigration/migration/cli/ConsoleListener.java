package dev.criumigration.migration.cli;

import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.Transfer;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;

/**
 * Progress for people, on stderr (stdout carries the result): a line per phase, pages as they flow
 * (at most one line a second), warnings always, agent logs with --verbose.
 */
final class ConsoleListener implements MigrationListener {
    private static final long PROGRESS_INTERVAL_NANOS = 1_000_000_000L;

    private final PrintWriter err;
    private final boolean verbose;
    private long lastProgressNanos;
    private long lastBytes = -1;

    ConsoleListener(PrintWriter err, boolean verbose) {
        this.err = err;
        this.verbose = verbose;
    }

    @Override
    public synchronized void phaseStarted(Phase phase) {
        err.println("==> " + phase.label());
        lastBytes = -1;
    }

    @Override
    public synchronized void phaseFinished(Phase phase, Duration duration) {
        err.printf(Locale.ROOT, "    %s done in %.2f s%n", phase.label(), duration.toMillis() / 1000.0);
    }

    @Override
    public synchronized void progress(Phase phase, Transfer transfer) {
        long now = System.nanoTime();
        if (transfer.bytes() == lastBytes || now - lastProgressNanos < PROGRESS_INTERVAL_NANOS) {
            return;
        }
        lastProgressNanos = now;
        lastBytes = transfer.bytes();
        err.printf(Locale.ROOT, "    %s: %s%n", phase.label(), transfer.describe());
    }

    @Override
    public synchronized void log(String line) {
        if (verbose) {
            err.println("    " + line);
        }
    }

    @Override
    public synchronized void warning(String line) {
        err.println(line.startsWith("WARNING") ? line : "WARNING: " + line);
    }
}
