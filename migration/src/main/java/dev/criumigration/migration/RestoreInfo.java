package dev.criumigration.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * A finished restore, as {@link MigrationEngine#restore} made it.
 *
 * @param destination    the destination host, {@code [user@]host[:port]}
 * @param pid            the restored tree's root PID on the destination (confirmed alive)
 * @param imagesDir      the images it was restored from (removed afterwards)
 * @param source         the source host
 * @param sourcePid      the source tree's root PID
 * @param sourceKilled   the stopped source was killed after the restore
 * @param pagesRestored  pages CRIU restored
 * @param durationMillis the restore call, end to end (images copy, restore, confirm, kill)
 */
public record RestoreInfo(@JsonProperty(required = true) String destination, @JsonProperty(required = true) int pid,
                          @JsonProperty(required = true) String imagesDir, @JsonProperty(required = true) String source,
                          @JsonProperty(required = true) int sourcePid, boolean sourceKilled, long pagesRestored,
                          long durationMillis) {

    /** The plain map a step hands on (a Jenkins step's return value, the state file's "restore"). */
    public Map<String, Object> toMap() {
        return Documents.toMap(this);
    }

    public static RestoreInfo fromMap(Map<?, ?> map) {
        return Documents.fromMap(map, RestoreInfo.class, "the restore map");
    }
}
