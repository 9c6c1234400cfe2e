package dev.criumigration.migration;

/** The phases of a migration, in order. Each is timed and named in reports and errors. */
public enum Phase {
    /** Agent check on both hosts, CRIU versions, CPU compatibility, tmpfs capacity. */
    PREFLIGHT,
    /** Destination: tmpfs and CRIU page server. */
    PAGE_SERVER,
    /** Source: CRIU dump streaming pages to the page server. */
    DUMP,
    /** Non-page images carried from the source agent to the destination agent. */
    COPY_IMAGES,
    /** The page server's exit status is confirmed to be success. */
    PAGE_SERVER_STATUS,
    /** Destination: CRIU restore, the restored root confirmed alive. */
    RESTORE,
    /** The source is finished (killed) now that the destination runs the tree. */
    COMMIT,
    /** Temporary files, mounts and page servers removed on both hosts. */
    CLEANUP;

    /** Lower-case name with dashes, as used in text reports: "page-server-status". */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
