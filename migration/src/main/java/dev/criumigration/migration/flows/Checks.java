package dev.criumigration.migration.flows;

import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.ssh.HostAddress;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** Checks of a call's arguments before any host is touched; each failure is USAGE. */
final class Checks {
    private Checks() {}

    static MigrationException usage(UsageException e) {
        return new MigrationException(null, Kind.USAGE, e.getMessage(), "");
    }

    static void require(Object value, String what) throws MigrationException {
        if (value == null) {
            throw new MigrationException(null, Kind.USAGE, "the " + what + " is required", "");
        }
    }

    /** A host named in an earlier step's result. */
    static HostAddress hostOf(String text, String what) throws MigrationException {
        try {
            return HostAddress.parse(text);
        } catch (UsageException e) {
            throw new MigrationException(null, Kind.USAGE, what + ": " + e.getMessage(), "");
        }
    }

    /**
     * A host name that does not resolve is a mistake to report before any host is touched (otherwise
     * the other host would already have been prepared).
     */
    static void resolvable(HostAddress... hosts) {
        for (HostAddress host : hosts) {
            try {
                InetAddress.getByName(host.host());
            } catch (UnknownHostException e) {
                throw new UsageException("unknown host '" + host.host() + "': it does not resolve here; check the name "
                        + "or give an IP address");
            }
        }
    }

    /** The host's address as this controller resolves it: where a page server listens when nobody says. */
    static String resolve(HostAddress host) throws MigrationException {
        try {
            return InetAddress.getByName(host.host()).getHostAddress();
        } catch (UnknownHostException e) {
            throw new MigrationException(null, Kind.CONNECT, "cannot resolve " + host.host(),
                    "give the page server's address explicitly");
        }
    }
}
