package dev.criumigration.agent.criu;

import java.io.IOException;

/** No usable CRIU binary on this host. */
public final class CriuUnavailableException extends IOException {
    public CriuUnavailableException(String message) {
        super(message);
    }
}
