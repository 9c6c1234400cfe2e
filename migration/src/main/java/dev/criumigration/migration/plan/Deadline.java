package dev.criumigration.migration.plan;

import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.Phase;

import java.time.Duration;

/** The end of a whole engine call: each step gets what is left, capped by its own limit. */
public final class Deadline {
    private final Deadlines clock;
    private final long endNanos;
    private final Duration total;

    Deadline(Deadlines clock, Duration total) {
        this.clock = clock;
        this.total = total;
        this.endNanos = System.nanoTime() + total.toNanos();
    }

    public Duration total() {
        return total;
    }

    /** Time left, at least one millisecond past zero so that a call fails by its own timeout. */
    public Duration remaining(Phase phase) throws MigrationException {
        long now = System.nanoTime();
        long left = Math.min(endNanos, clock.capNanos()) - now;
        if (left <= 0) {
            throw new MigrationException(phase, MigrationException.Kind.TIMEOUT, "the deadline of "
                    + total.toSeconds() + " s passed", "raise the timeout if the workload is large");
        }
        return Duration.ofNanos(left);
    }

    public Duration remaining(Phase phase, Duration cap) throws MigrationException {
        Duration left = remaining(phase);
        return left.compareTo(cap) < 0 ? left : cap;
    }
}
