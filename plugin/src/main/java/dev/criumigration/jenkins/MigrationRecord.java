package dev.criumigration.jenkins;

import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationReport.PhaseTiming;
import dev.criumigration.migration.Sizes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One migration as the build page shows it: hosts, PIDs, the phases with their times, the frozen
 * window, the pages moved and at what rate, and how it ended. A three-step migration is one record:
 * criuDump opens it, criuRestore completes it. Kept with the build (plain fields for XStream).
 */
public final class MigrationRecord {
    private final String source;
    private final int pid;
    private String destination;
    private int restoredPid;
    private final List<PhaseTime> phases = new ArrayList<>();
    private long frozenMillis;
    private long pages;
    private long bytes;
    private double megabytesPerSecond;
    private String outcome;
    private boolean failed;
    /** Dumped with the source left stopped, and no criuRestore has finished it yet. */
    private boolean awaitingRestore;

    MigrationRecord(String source, int pid, String destination) {
        this.source = source;
        this.pid = pid;
        this.destination = destination;
    }

    /** One phase and how long it took. */
    public static final class PhaseTime {
        private final String phase;
        private final long millis;

        PhaseTime(String phase, long millis) {
            this.phase = phase;
            this.millis = millis;
        }

        public String getPhase() {
            return phase;
        }

        public long getMillis() {
            return millis;
        }

        public String getDuration() {
            return formatMillis(millis);
        }
    }

    synchronized void addPhases(List<PhaseTiming> more) {
        for (PhaseTiming timing : more) {
            phases.add(new PhaseTime(timing.phase().label(), timing.millis()));
        }
    }

    /**
     * The call failed: the phases it ran (the failed one with its time so far), for a one-shot
     * migration what its partial report knows of the memory moved, and which phase failed how.
     */
    synchronized void failed(Throwable failure) {
        if (failure instanceof MigrationException e) {
            addPhases(e.phases());
            e.partialReport().ifPresent(report ->
                    setMemory(report.frozenMillis(), report.pages(), report.bytes(), report.megabytesPerSecond()));
        }
        finish(outcomeOf(failure), true, false);
    }

    private static String outcomeOf(Throwable failure) {
        if (failure instanceof MigrationException e) {
            String what = e.phase() == null ? e.getMessage() : Messages.Record_PhaseFailed(e.phase().label(), e.getMessage());
            return e.sourceResumed() ? Messages.Record_SourceResumed(what) : what;
        }
        return failure.getMessage() == null ? failure.toString() : failure.getMessage();
    }

    synchronized void setMemory(long frozenMillis, long pages, long bytes, double megabytesPerSecond) {
        this.frozenMillis = frozenMillis;
        this.pages = pages;
        this.bytes = bytes;
        this.megabytesPerSecond = megabytesPerSecond;
    }

    synchronized void restored(String destination, int restoredPid) {
        this.destination = destination;
        this.restoredPid = restoredPid;
    }

    synchronized void finish(String outcome, boolean failed, boolean awaitingRestore) {
        this.outcome = outcome;
        this.failed = failed;
        this.awaitingRestore = awaitingRestore;
    }

    synchronized boolean isAwaitingRestoreOf(String source, int pid) {
        return awaitingRestore && this.source.equals(source) && this.pid == pid;
    }

    public String getSource() {
        return source;
    }

    public int getPid() {
        return pid;
    }

    public synchronized String getDestination() {
        return destination;
    }

    /** 0 until the tree runs on the destination. */
    public synchronized int getRestoredPid() {
        return restoredPid;
    }

    public synchronized List<PhaseTime> getPhases() {
        return List.copyOf(phases);
    }

    public synchronized String getTotal() {
        return formatMillis(phases.stream().mapToLong(PhaseTime::getMillis).sum());
    }

    /** The frozen window, or empty when no dump has reported it. */
    public synchronized String getFrozen() {
        return frozenMillis > 0 ? formatMillis(frozenMillis) : "";
    }

    public synchronized long getPages() {
        return pages;
    }

    public synchronized String getMemory() {
        return bytes > 0 ? Sizes.human(bytes) : "";
    }

    public synchronized String getMegabytesPerSecond() {
        return megabytesPerSecond > 0 ? String.format(Locale.ROOT, "%.1f", megabytesPerSecond) : "";
    }

    public synchronized String getOutcome() {
        return outcome;
    }

    public synchronized boolean isFailed() {
        return failed;
    }

    static String formatMillis(long millis) {
        return millis < 1000 ? millis + " ms" : String.format(Locale.ROOT, "%.2f s", millis / 1000.0);
    }
}
