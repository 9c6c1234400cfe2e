package dev.criumigration.migration.ssh;

import dev.criumigration.migration.UsageException;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where to log in: {@code [user@]host[:port]}, with {@code [v6-address]} in brackets. The user is
 * optional (the settings' default user then applies); the port defaults to 22.
 */
public final class HostAddress {
    public static final int DEFAULT_PORT = 22;

    // POSIX portable user names (plus the widespread lower-case start); never a leading dash.
    private static final Pattern USER = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}");
    // RFC 1123 host names and dotted IPv4 addresses.
    private static final Pattern HOST_NAME = Pattern.compile(
            "(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?");

    private final String user;
    private final String host;
    private final int port;

    private HostAddress(String user, String host, int port) {
        this.user = user;
        this.host = host;
        this.port = port;
    }

    public static HostAddress of(String user, String host, int port) {
        if (user != null && !USER.matcher(user).matches()) {
            throw new UsageException("'" + user + "' is not a valid user name: use letters, digits, '_', '.', '-' "
                    + "(not starting with '-')");
        }
        if (port < 1 || port > 65535) {
            throw new UsageException("port " + port + " is out of range: use 1-65535");
        }
        String bare = host == null ? "" : host.startsWith("[") && host.endsWith("]")
                ? host.substring(1, host.length() - 1) : host;
        boolean v6 = bare.contains(":");
        if (v6 ? !IPV6.matcher(bare).matches() : !HOST_NAME.matcher(bare).matches()) {
            throw new UsageException("'" + host + "' is not a valid host name or address");
        }
        return new HostAddress(user, bare.toLowerCase(Locale.ROOT), port);
    }

    /** Parses {@code [user@]host[:port]}; IPv6 addresses in brackets: {@code user@[::1]:2222}. */
    public static HostAddress parse(String text) {
        if (text == null || text.isBlank()) {
            throw new UsageException("a host is required, as [USER@]HOST[:PORT]");
        }
        String rest = text.trim();
        String user = null;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            user = rest.substring(0, at);
            rest = rest.substring(at + 1);
            if (user.isEmpty()) {
                throw new UsageException("'" + text + "' has an empty user before '@': write USER@HOST or just HOST");
            }
        }
        String host;
        String portText = null;
        if (rest.startsWith("[")) {
            int close = rest.indexOf(']');
            if (close < 0) {
                throw new UsageException("'" + text + "' opens '[' without closing it: write [IPV6]:PORT");
            }
            host = rest.substring(1, close);
            String after = rest.substring(close + 1);
            if (!after.isEmpty()) {
                if (!after.startsWith(":")) {
                    throw new UsageException("'" + text + "' has '" + after + "' after ']': write [IPV6]:PORT");
                }
                portText = after.substring(1);
            }
        } else {
            int colon = rest.indexOf(':');
            if (colon >= 0 && rest.indexOf(':', colon + 1) >= 0) {
                throw new UsageException("'" + text + "' looks like an IPv6 address: put it in brackets, as [" + rest
                        + "] or [ADDRESS]:PORT");
            }
            host = colon >= 0 ? rest.substring(0, colon) : rest;
            portText = colon >= 0 ? rest.substring(colon + 1) : null;
        }
        if (host.isEmpty()) {
            throw new UsageException("'" + text + "' has no host: write [USER@]HOST[:PORT]");
        }
        int port = DEFAULT_PORT;
        if (portText != null) {
            if (!portText.matches("[0-9]{1,5}")) {
                throw new UsageException("'" + portText + "' in '" + text + "' is not a port number: use 1-65535");
            }
            port = Integer.parseInt(portText);
        }
        return of(user, host, port);
    }

    public Optional<String> user() {
        return Optional.ofNullable(user);
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    /** The same host with {@code defaultUser} when none was given. */
    public HostAddress withDefaultUser(String defaultUser) {
        return user != null || defaultUser == null ? this : of(defaultUser, host, port);
    }

    /** How known_hosts names this host: {@code host} on port 22, {@code [host]:port} otherwise. */
    public String knownHostsName() {
        return port == DEFAULT_PORT ? host : "[" + host + "]:" + port;
    }

    /** {@code [user@]host[:port]}, parseable by {@link #parse}. */
    @Override
    public String toString() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return (user == null ? "" : user + "@") + h + (port == DEFAULT_PORT ? "" : ":" + port);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof HostAddress that && Objects.equals(user, that.user) && host.equals(that.host)
                && port == that.port;
    }

    @Override
    public int hashCode() {
        return Objects.hash(user, host, port);
    }
}
