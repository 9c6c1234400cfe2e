package dev.criumigration.migration;

import java.time.Duration;

/**
 * A restore on the destination from a dump's images.
 *
 * @param imagesDir      null: the page server's directory named in the dump
 * @param tcpEstablished restore established TCP connections; must match the dump
 * @param killSource     on success kill the stopped source (default); false leaves it stopped
 * @param timeout        null: the engine's operation timeout
 */
public record RestoreSpec(String imagesDir, boolean tcpEstablished, boolean killSource, Duration timeout) {
    public RestoreSpec {
        imagesDir = Paths.absolute(imagesDir, "imagesDir");
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new UsageException("timeout must be positive");
        }
    }

    /** Restore where the dump's page server wrote, tcp-established as the dump, kill the source after. */
    public static RestoreSpec defaults() {
        return new RestoreSpec(null, false, true, null);
    }

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private String imagesDir;
        private boolean tcpEstablished;
        private boolean killSource = true;
        private Duration timeout;

        public Builder imagesDir(String v) { imagesDir = v; return this; }
        public Builder tcpEstablished(boolean v) { tcpEstablished = v; return this; }
        public Builder killSource(boolean v) { killSource = v; return this; }
        public Builder timeout(Duration v) { timeout = v; return this; }

        public RestoreSpec build() {
            return new RestoreSpec(imagesDir, tcpEstablished, killSource, timeout);
        }
    }
}
