package dev.criumigration.migration;

import java.time.Duration;

/** The end of a whole engine call: each step gets what is left, capped by its own limit. */
final class Deadline {
    /** How far tests have moved every deadline's clock on ({@link #fastForward}); 0 otherwise. */
    private static final java.util.concurrent.atomic.AtomicLong skewNanos = new java.util.concurrent.atomic.AtomicLong();

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
        long left = endNanos - System.nanoTime() - skewNanos.get();
        if (left <= 0) {
            throw new MigrationException(phase, MigrationException.Kind.TIMEOUT, "the deadline of "
                    + total.toSeconds() + " s passed", "raise --timeout if the workload is large");
        }
        return Duration.ofNanos(left);
    }

    /**
     * For the fault tests: makes every deadline's clock run {@code ahead} faster from now on, as if that
     * much time had passed ({@link Duration#ZERO} puts it back). Not for production use.
     */
    static void fastForward(Duration ahead) {
        skewNanos.set(ahead.toNanos());
    }

    Duration remaining(Phase phase, Duration cap) throws MigrationException {
        Duration left = remaining(phase);
        return left.compareTo(cap) < 0 ? left : cap;
    }
}
