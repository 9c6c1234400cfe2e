package dev.criumigration.migration;

import java.util.OptionalLong;

/**
 * Pages moved so far in a phase, as the agents report them about once a second.
 *
 * @param pages         pages moved (cumulative)
 * @param bytes         bytes moved (cumulative)
 * @param expectedBytes what the whole phase should move (the tree's resident memory); 0: unknown
 * @param elapsedMillis since the stream began; 0: unknown
 */
public record Transfer(long pages, long bytes, long expectedBytes, long elapsedMillis) {
    /** Average bytes a second so far; 0 when unknown. */
    public double bytesPerSecond() {
        return elapsedMillis <= 0 ? 0 : bytes * 1000.0 / elapsedMillis;
    }

    /** Milliseconds left at the rate so far, when both the rate and the total are known. */
    public OptionalLong etaMillis() {
        double rate = bytesPerSecond();
        if (rate <= 0 || expectedBytes <= 0) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Math.round(Math.max(0, expectedBytes - bytes) * 1000.0 / rate));
    }

    /** "412.0 MiB of 1.0 GiB, 380.2 MiB/s, about 2 s left": what a progress line says. */
    public String describe() {
        StringBuilder text = new StringBuilder(Sizes.human(bytes));
        if (expectedBytes > 0) {
            text.append(" of about ").append(Sizes.human(expectedBytes));
        }
        if (bytesPerSecond() > 0) {
            text.append(", ").append(Sizes.human(Math.round(bytesPerSecond()))).append("/s");
        }
        etaMillis().ifPresent(eta -> text.append(", about ").append(Math.max(1, Math.round(eta / 1000.0))).append(" s left"));
        return text.toString();
    }
}
