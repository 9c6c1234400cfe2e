package dev.criumigration.migration.phases;

import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.MigrationReport.PhaseTiming;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.hosts.HostSessions;
import dev.criumigration.migration.plan.Deadline;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Times the phases of one engine call for the listener and the report, and remembers the one running
 * for failures. With a deadline, no phase but the clean-up starts once it has passed; after a cancel,
 * none starts at all.
 */
public final class PhaseClock {
    private final MigrationListener listener;
    private final HostSessions sessions;
    private final Deadline deadline;
    private final List<PhaseTiming> timings = new ArrayList<>();
    private Phase current;
    private long startNanos;

    public PhaseClock(MigrationListener listener, HostSessions sessions, Deadline deadline) {
        this.listener = listener;
        this.sessions = sessions;
        this.deadline = deadline;
    }

    public void begin(Phase phase) throws MigrationException {
        sessions.checkCancelled();
        current = phase;
        startNanos = System.nanoTime();
        listener.phaseStarted(phase);
        if (deadline != null && phase != Phase.CLEANUP) {
            deadline.remaining(phase);
        }
    }

    public void end() {
        long millis = (System.nanoTime() - startNanos) / 1_000_000;
        timings.add(new PhaseTiming(current, millis));
        listener.phaseFinished(current, Duration.ofMillis(millis));
        current = null;
    }

    /** What the running phase may still take. */
    public Duration remaining() throws MigrationException {
        return deadline.remaining(current);
    }

    /** The same, at most {@code cap}. */
    public Duration remaining(Duration cap) throws MigrationException {
        return deadline.remaining(current, cap);
    }

    public Deadline deadline() {
        return deadline;
    }

    /** The phases finished so far. */
    public List<PhaseTiming> timings() {
        return List.copyOf(timings);
    }

    public long millis(Phase phase) {
        return timings.stream().filter(t -> t.phase() == phase).mapToLong(PhaseTiming::millis).sum();
    }

    /**
     * The failure as a MigrationException of the phase that was running (that phase is closed with its
     * time so far): usage errors keep their kind, anything after a cancel reads as CANCELLED, anything
     * unexpected is INTERNAL.
     */
    public MigrationException failure(Exception e) {
        MigrationException failure;
        if (e instanceof MigrationException m) {
            failure = m;
        } else if (e instanceof UsageException usage) {
            failure = new MigrationException(null, Kind.USAGE, usage.getMessage(), "");
        } else {
            failure = new MigrationException(null, Kind.INTERNAL, "internal error: " + e, "", false, List.of(), e);
        }
        if (sessions.isCancelled() && failure.kind() != Kind.CANCELLED && failure.kind() != Kind.USAGE) {
            failure = new MigrationException(failure.phase(), Kind.CANCELLED, "the migration was cancelled", "",
                    failure.sourceResumed(), List.of(), failure);
        }
        Phase phase = failure.phase() != null ? failure.phase() : current;
        if (current != null) {
            long millis = (System.nanoTime() - startNanos) / 1_000_000;
            timings.add(new PhaseTiming(current, millis));
            listener.phaseFinished(current, Duration.ofMillis(millis));
            current = null;
        }
        return failure.in(phase, failure.sourceResumed()).withProgress(timings, null);
    }
}
