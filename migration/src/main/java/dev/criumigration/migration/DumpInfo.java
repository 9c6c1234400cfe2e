package dev.criumigration.migration;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A finished dump, as {@link MigrationEngine#dump} made it.
 *
 * @param source         the source host, {@code [user@]host[:port]}
 * @param pid            the dumped tree's root PID on the source
 * @param imagesDir      the source's directory with the non-page images
 * @param leftStopped    the source tree waits, stopped, for restore (then kill) or resume
 * @param tcpEstablished dumped with established TCP connections
 * @param shellJob       dumped as a shell job
 * @param pageServer     where the pages went
 * @param processes      processes in the tree
 * @param pages          pages written to the page server
 * @param bytes          bytes written to the page server
 * @param frozenMillis   how long CRIU kept the tree frozen during the dump
 * @param durationMillis the dump call, end to end
 */
public record DumpInfo(String source, int pid, String imagesDir, boolean leftStopped, boolean tcpEstablished,
                       boolean shellJob, PageServerInfo pageServer, int processes, long pages, long bytes,
                       long frozenMillis, long durationMillis) {

    /** Megabytes (MiB) per second over the dump's duration; 0 when unknown. */
    public double megabytesPerSecond() {
        return durationMillis <= 0 ? 0 : bytes / (double) (1 << 20) / (durationMillis / 1000.0);
    }

    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("source", source);
        map.put("pid", pid);
        map.put("imagesDir", imagesDir);
        map.put("leftStopped", leftStopped);
        map.put("tcpEstablished", tcpEstablished);
        map.put("shellJob", shellJob);
        map.put("pageServer", pageServer.toMap());
        map.put("processes", processes);
        map.put("pages", pages);
        map.put("bytes", bytes);
        map.put("frozenMillis", frozenMillis);
        map.put("durationMillis", durationMillis);
        map.put("megabytesPerSecond", Math.round(megabytesPerSecond() * 10) / 10.0);
        return map;
    }

    public static DumpInfo fromMap(Map<?, ?> map) {
        MapValues v = new MapValues("the dump map", map);
        return new DumpInfo(v.string("source"), v.intValue("pid"), v.string("imagesDir"), v.bool("leftStopped", true),
                v.bool("tcpEstablished", false), v.bool("shellJob", false), PageServerInfo.fromMap(v.map("pageServer")),
                v.intValue("processes", 0), v.longValue("pages", 0), v.longValue("bytes", 0),
                v.longValue("frozenMillis", 0), v.longValue("durationMillis", 0));
    }
}
