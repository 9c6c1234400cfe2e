package dev.criumigration.migration;

import java.time.Duration;
import java.util.Collections;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * The deadlines of the engines a test made, for fault tests: expire them on purpose. Each engine's
 * deadlines are its own ({@link MigrationEngine#endDeadlinesWithin}); this only remembers which
 * engines a test made, so that a cap also reaches the engines of the steps that follow.
 */
public final class EngineClock {
    private static final Set<MigrationEngine> ENGINES = Collections.synchronizedSet(
            Collections.newSetFromMap(new WeakHashMap<>()));
    private static volatile Long capNanos;

    private EngineClock() {}

    /** An engine of the test: capped now if a cap is in force, and by later caps. */
    public static MigrationEngine register(MigrationEngine engine) {
        ENGINES.add(engine);
        Long cap = capNanos;
        if (cap != null) {
            engine.endDeadlinesWithin(Duration.ofNanos(Math.max(0, cap - System.nanoTime())));
        }
        return engine;
    }

    /** From now on every deadline of the test's engines ends within {@code within} (zero: has ended). */
    public static void expireWithin(Duration within) {
        capNanos = System.nanoTime() + within.toNanos();
        synchronized (ENGINES) {
            ENGINES.forEach(engine -> engine.endDeadlinesWithin(within));
        }
    }

    /** Deadlines run on the real clock again. */
    public static void reset() {
        capNanos = null;
        synchronized (ENGINES) {
            ENGINES.forEach(engine -> engine.endDeadlinesWithin(null));
        }
    }
}
