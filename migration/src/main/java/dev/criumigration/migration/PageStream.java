package dev.criumigration.migration;

/**
 * How a migration's memory pages travel from the source to the destination (docs/page-transport.md).
 *
 * @param transport         who carries the stream
 * @param compress          LZ4 on the relay's connection (RELAY only): pays on real memory, not on random bytes
 * @param maxBytesPerSecond cap on the bytes a second the relay sends (RELAY only); 0: none
 */
public record PageStream(Transport transport, boolean compress, long maxBytesPerSecond) {
    /** The default: the agents' relay, TLS 1.3 unless the spec turns TLS off, uncompressed, no cap. */
    public static final PageStream DEFAULT = new PageStream(Transport.RELAY, false, 0);

    public enum Transport {
        /** The agents carry the stream over their own connection (CRIU gets a local socket). */
        RELAY,
        /** CRIU's own page-server connection (with TLS: CRIU's GnuTLS, 1.7-2.2x the plain frozen time here). */
        CRIU
    }

    /**
     * From the words users give (the CLI, the Jenkins step): {@code transport} "relay" or "criu" (null or
     * blank: relay), {@code maxRate} a size a second such as "200M" (null or blank: no cap).
     */
    public static PageStream of(String transport, boolean compress, String maxRate) {
        String word = transport == null || transport.isBlank() ? "relay" : transport.trim().toLowerCase(java.util.Locale.ROOT);
        Transport chosen = switch (word) {
            case "relay" -> Transport.RELAY;
            case "criu" -> Transport.CRIU;
            default -> throw new UsageException("page transport '" + Paths.printable(transport)
                    + "' is not one: give relay (the default) or criu");
        };
        return new PageStream(chosen, compress, maxRate == null || maxRate.isBlank() ? 0 : Sizes.parse(maxRate, "maxRate"));
    }

    public PageStream {
        if (transport == null) {
            transport = Transport.RELAY;
        }
        if (maxBytesPerSecond < 0) {
            throw new UsageException("maxRate must not be negative");
        }
        if (transport == Transport.CRIU && (compress || maxBytesPerSecond > 0)) {
            throw new UsageException("compression and a rate cap need the relay page transport (pageTransport relay), "
                    + "not CRIU's own connection");
        }
    }
}
