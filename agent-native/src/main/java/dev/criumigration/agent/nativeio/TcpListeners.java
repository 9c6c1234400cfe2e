package dev.criumigration.agent.nativeio;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Listening TCP sockets of this process's network namespace, from /proc/net/tcp and /proc/net/tcp6
 * (what {@code ss -tln} shows, without iproute2).
 */
public final class TcpListeners {
    /** TCP_LISTEN of include/net/tcp_states.h, the "st" column in hex. */
    private static final String LISTEN = "0A";

    private TcpListeners() {
    }

    /** A listening socket: its local port and its inode (the "socket:[INODE]" of the fd holding it). */
    public record Listener(int port, long inode) {
    }

    /** IPv4 and IPv6 listeners; a kernel without IPv6 has no tcp6 table. */
    public static List<Listener> all() throws IOException {
        List<Listener> listeners = new ArrayList<>(parse(Files.readString(Path.of("/proc/net/tcp"))));
        try {
            listeners.addAll(parse(Files.readString(Path.of("/proc/net/tcp6"))));
        } catch (NoSuchFileException noIpv6) {
            // IPv6 is off in this kernel
        }
        return listeners;
    }

    /**
     * The LISTEN rows of a /proc/net/tcp or tcp6 text. A row: "sl local_address rem_address st tx:rx
     * tr:when retrnsmt uid timeout inode ...", the addresses as hex ADDRESS:PORT.
     */
    static List<Listener> parse(String table) {
        List<Listener> listeners = new ArrayList<>();
        for (String row : table.lines().skip(1).toList()) {
            String[] columns = row.trim().split("\\s+");
            if (columns.length > 9 && columns[3].equals(LISTEN)) {
                String local = columns[1];
                listeners.add(new Listener(Integer.parseInt(local.substring(local.lastIndexOf(':') + 1), 16),
                        Long.parseLong(columns[9])));
            }
        }
        return listeners;
    }
}
