package dev.criumigration.migration;

import java.time.Duration;

/**
 * What a running engine call reports while it works. Called from engine threads (also the agent
 * reader threads): implementations must be quick and thread-safe.
 */
public interface MigrationListener {
    default void phaseStarted(Phase phase) {}

    default void phaseFinished(Phase phase, Duration duration) {}

    /** Pages and bytes moved so far in {@code phase} (cumulative). */
    default void progress(Phase phase, long pages, long bytes) {}

    default void log(String line) {}

    default void warning(String line) {}

    MigrationListener NONE = new MigrationListener() {};
}
