package dev.criumigration.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
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
public record DumpInfo(@JsonProperty(required = true) String source, @JsonProperty(required = true) int pid,
                       @JsonProperty(required = true) String imagesDir,
                       @JsonProperty(required = true) boolean leftStopped, boolean tcpEstablished, boolean shellJob,
                       @JsonProperty(required = true) PageServerInfo pageServer, int processes, long pages, long bytes,
                       long frozenMillis, long durationMillis) {

    /** Megabytes (MiB) per second over the dump's duration, to a tenth; 0 when unknown. */
    @JsonProperty("megabytesPerSecond")
    public double megabytesPerSecond() {
        return durationMillis <= 0 ? 0 : Math.round(bytes / (double) (1 << 20) / (durationMillis / 1000.0) * 10) / 10.0;
    }

    /** The plain map a step hands on (a Jenkins step's return value, the state file's "dump"). */
    public Map<String, Object> toMap() {
        return Documents.toMap(this);
    }

    /**
     * The dump a map made by {@link #toMap} describes; the required entries are there. Without
     * "leftStopped" the map is refused: whether the source still waits decides what restore may do.
     */
    public static DumpInfo fromMap(Map<?, ?> map) {
        return Documents.fromMap(map, DumpInfo.class, "the dump map");
    }
}
