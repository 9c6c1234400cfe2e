package dev.criumigration.migration;

import java.time.Duration;

/**
 * A detached page server on the destination.
 *
 * @param imagesDir where the images go, inside the images base ({@link SshSettings#imagesBase()}); null: a
 *                  new directory there
 * @param tmpfsSize size of the tmpfs mounted on imagesDir ("512M", "2G"); null: the destination's
 *                  available memory
 * @param address   address the page server listens on; null: the destination's address as the
 *                  controller resolves it (bind narrowly, never to every interface). The step does not
 *                  know the source; the one-shot migration asks the destination for its route there.
 * @param port      0: CRIU picks a free port
 * @param timeout   how long the page server waits for the dump; null: the engine's operation timeout
 * @param tls       the page stream with TLS and certificates made for this page server and its dump (the
 *                  default); false: plain text
 * @param transport who carries the stream (the dump step follows); null: the agents' relay
 */
public record PageServerSpec(String imagesDir, String tmpfsSize, String address, int port, Duration timeout,
                             boolean tls, PageStream.Transport transport) {
    public PageServerSpec {
        if (transport == null) {
            transport = PageStream.Transport.RELAY;
        }
        imagesDir = Paths.absolute(imagesDir, "imagesDir");
        if (tmpfsSize != null && tmpfsSize.isBlank()) {
            tmpfsSize = null;
        }
        if (tmpfsSize != null) {
            Sizes.parse(tmpfsSize, "tmpfsSize");
        }
        address = checkedAddress(address);
        if (port < 0 || port > 65535) {
            throw new UsageException("page server port " + port + " is out of range: use 0 (any) or 1-65535");
        }
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new UsageException("timeout must be positive");
        }
    }

    /**
     * A page server's listening address as the agent takes it (IPv4 dotted, IPv6 in hex), never every
     * interface; blank is null (the default).
     */
    static String checkedAddress(String address) {
        if (address == null || address.isBlank()) {
            return null;
        }
        if (!address.matches("[0-9.]+|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*")) {
            throw new UsageException("page server address '" + Paths.printable(address) + "' is not an IP address: "
                    + "give the address of the destination that the source connects to (CRIU binds to an address, "
                    + "not a name)");
        }
        if (address.equals("0.0.0.0") || address.matches("[0:]+")
                || address.toLowerCase(java.util.Locale.ROOT).matches("[0:]*:ffff:0{1,4}:0{1,4}")) {
            throw new UsageException("page server address " + address + " would listen on every interface: give the "
                    + "one address of the destination that the source connects to");
        }
        return address;
    }

    /** Everything by default. */
    public static PageServerSpec defaults() {
        return new PageServerSpec(null, null, null, 0, null, true, null);
    }

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private String imagesDir;
        private String tmpfsSize;
        private String address;
        private int port;
        private Duration timeout;
        private boolean tls = true;
        private PageStream.Transport transport;

        public Builder imagesDir(String v) { imagesDir = v; return this; }
        public Builder tmpfsSize(String v) { tmpfsSize = v; return this; }
        public Builder address(String v) { address = v; return this; }
        public Builder port(int v) { port = v; return this; }
        public Builder timeout(Duration v) { timeout = v; return this; }
        /** false: the page stream is not encrypted (logged as a warning). */
        public Builder tls(boolean v) { tls = v; return this; }
        public Builder transport(PageStream.Transport v) { transport = v; return this; }

        public PageServerSpec build() {
            return new PageServerSpec(imagesDir, tmpfsSize, address, port, timeout, tls, transport);
        }
    }
}
