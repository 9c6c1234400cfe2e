package dev.criumigration.migration;

import java.util.LinkedHashMap;
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
 */
public record PageServerInfo(String host, String address, int port, String imagesDir, boolean tmpfsMounted,
                             String tmpfsSize, int pid, boolean tls) {

    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("host", host);
        map.put("address", address);
        map.put("port", port);
        map.put("imagesDir", imagesDir);
        map.put("tmpfsMounted", tmpfsMounted);
        map.put("tmpfsSize", tmpfsSize == null ? "" : tmpfsSize);
        map.put("pid", pid);
        map.put("tls", tls);
        return map;
    }

    public static PageServerInfo fromMap(Map<?, ?> map) {
        MapValues v = new MapValues("the page server map", map);
        return new PageServerInfo(v.string("host"), v.string("address"), v.intValue("port"), v.string("imagesDir"),
                v.bool("tmpfsMounted", false), v.optString("tmpfsSize"), v.intValue("pid", 0), v.bool("tls", false));
    }
}
