package dev.criumigration.migration;

/** What {@link MigrationEngine#abort} found and did. */
public enum AbortOutcome {
    /** Only a page server had been started: it was stopped and its images removed. */
    PAGE_SERVER_REMOVED,
    /** The source runs again; the destination holds nothing of the migration. */
    SOURCE_RESUMED,
    /** The source was asked to resume but could not be confirmed running (see the warnings). */
    SOURCE_NOT_CONFIRMED,
    /**
     * The source was already gone and the tree restored from the page server's images runs: the
     * restore step had finished the migration, so the restored tree, the only copy, was left running;
     * only the images were removed.
     */
    ALREADY_MIGRATED
}
