package dev.criumigration.migration.plan;

import java.time.Duration;

/**
 * Makes the deadlines of one engine's calls, and can bring them all forward: an operator (or a fault
 * test) who wants the running call finished or rolled back soon. Per engine, never shared.
 */
public final class Deadlines {
    private volatile long capNanos = Long.MAX_VALUE;

    public Deadline after(Duration total) {
        return new Deadline(this, total);
    }

    /** From now on no deadline of this engine ends later than {@code within} from now; null lifts it. */
    public void endWithin(Duration within) {
        capNanos = within == null ? Long.MAX_VALUE : System.nanoTime() + within.toNanos();
    }

    long capNanos() {
        return capNanos;
    }
}
