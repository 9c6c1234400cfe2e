package dev.criumigration.migration;

import java.util.LinkedHashMap;
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
public record RestoreInfo(String destination, int pid, String imagesDir, String source, int sourcePid,
                          boolean sourceKilled, long pagesRestored, long durationMillis) {

    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("destination", destination);
        map.put("pid", pid);
        map.put("imagesDir", imagesDir);
        map.put("source", source);
        map.put("sourcePid", sourcePid);
        map.put("sourceKilled", sourceKilled);
        map.put("pagesRestored", pagesRestored);
        map.put("durationMillis", durationMillis);
        return map;
    }

    public static RestoreInfo fromMap(Map<?, ?> map) {
        MapValues v = new MapValues("the restore map", map);
        return new RestoreInfo(v.string("destination"), v.intValue("pid"), v.string("imagesDir"), v.string("source"),
                v.intValue("sourcePid"), v.bool("sourceKilled", false), v.longValue("pagesRestored", 0),
                v.longValue("durationMillis", 0));
    }
}
