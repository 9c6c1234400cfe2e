package dev.criumigration.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * A detached page server running on the destination, as {@link MigrationEngine#startPageServer}
 * started it.
 *
 * @param host          the destination, as {@code [user@]host[:port]}
 * @param address       the address the page server listens on (what the source connects to)
 * @param port          its TCP port
 * @param imagesDir     its images directory on the destination
 * @param tmpfsMounted  a tmpfs was mounted on imagesDir (and is unmounted by cleanup)
 * @param tmpfsSize     the tmpfs size, "512M"; empty when none was mounted
 * @param pid           the page server's PID on the destination
 * @param tls           the page server speaks TLS; the certificate and key for the dump wait beside its
 *                      own on the destination (never in this map), and the dump step fetches them
 * @param pageTransport "relay" (the destination's agent listens) or "criu" (CRIU does); the dump step
 *                      uses the same; null (a map of an older build): "criu"
 */
public record PageServerInfo(@JsonProperty(required = true) String host,
                             @JsonProperty(required = true) String address, @JsonProperty(required = true) int port,
                             @JsonProperty(required = true) String imagesDir, boolean tmpfsMounted, String tmpfsSize,
                             int pid, boolean tls, String pageTransport) {

    /** The transport the page server was started with, for its dump. */
    public PageStream.Transport transport() {
        return "relay".equals(pageTransport) ? PageStream.Transport.RELAY : PageStream.Transport.CRIU;
    }

    /** The plain map a step hands on (a Jenkins step's return value, the state file's "pageServer"). */
    public Map<String, Object> toMap() {
        return Documents.toMap(this);
    }

    public static PageServerInfo fromMap(Map<?, ?> map) {
        return Documents.fromMap(map, PageServerInfo.class, "the page server map");
    }
}
