package dev.criumigration.agent.criu;

import java.nio.file.Path;

/** Where CRIU is: env CRIU_BINARY, else PATH, /usr/local/sbin/criu, /usr/sbin/criu. */
public final class CriuBinary {
    // TODO(agent-core): not implemented yet; the signatures are stable.

    public static CriuBinary locate() throws CriuUnavailableException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public Path path() {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
