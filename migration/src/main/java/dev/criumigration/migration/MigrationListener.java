package dev.criumigration.migration;

import java.time.Duration;

/**
 * What a running engine call reports while it works. Called from engine threads (also the agent
 * reader threads): implementations must be quick and thread-safe.
 */
public interface MigrationListener {
    default void phaseStarted(Phase phase) {}

    default void phaseFinished(Phase phase, Duration duration) {}

    /** Pages moved so far in {@code phase}, about once a second while they flow. */
    default void progress(Phase phase, Transfer transfer) {}

    default void log(String line) {}

    default void warning(String line) {}

    MigrationListener NONE = new MigrationListener() {};
}
