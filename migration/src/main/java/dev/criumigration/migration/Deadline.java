package dev.criumigration.migration;

import java.time.Duration;

/** The end of a whole engine call: each step gets what is left, capped by its own limit. */
final class Deadline {
    private final long endNanos;
    private final Duration total;

    Deadline(Duration total) {
        this.total = total;
        this.endNanos = System.nanoTime() + total.toNanos();
    }

    Duration total() {
        return total;
    }

    /** Time left, at least one millisecond past zero so that a call fails by its own timeout. */
    Duration remaining(Phase phase) throws MigrationException {
        long left = endNanos - System.nanoTime();
        if (left <= 0) {
            throw new MigrationException(phase, MigrationException.Kind.TIMEOUT, "the deadline of "
                    + total.toSeconds() + " s passed", "raise --timeout if the workload is large");
        }
        return Duration.ofNanos(left);
    }

    Duration remaining(Phase phase, Duration cap) throws MigrationException {
        Duration left = remaining(phase);
        return left.compareTo(cap) < 0 ? left : cap;
    }
}
