package dev.criumigration.migration;

import java.time.Duration;

/** The engine's deadlines, for fault tests in other packages: expire them on purpose. */
public final class EngineClock {
    private EngineClock() {}

    /** From now on every engine deadline ends within {@code within} (zero: has ended). */
    public static void expireWithin(Duration within) {
        Deadline.capAll(within);
    }

    /** Deadlines run on the real clock again. */
    public static void reset() {
        Deadline.capAll(null);
    }
}
