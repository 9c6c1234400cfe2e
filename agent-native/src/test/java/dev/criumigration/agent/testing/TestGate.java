package dev.criumigration.agent.testing;

import dev.criumigration.agent.criu.CriuBinary;
import dev.criumigration.agent.criu.CriuUnavailableException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Gating for tests that need real root, CRIU and the like: on a developer's machine without them the
 * test is skipped; under CI ({@code CI=true}) it fails, so CI cannot pass by skipping.
 */
public final class TestGate {
    private TestGate() {
    }

    public static boolean underCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** Skips (or under CI fails) the test unless {@code available}; {@code missing} says what is missing. */
    public static void require(boolean available, String missing) {
        if (available) {
            return;
        }
        if (underCi()) {
            Assertions.fail("CI=true and this test needs " + missing);
        }
        Assumptions.abort("skipped: needs " + missing);
    }

    public static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    public static void requireRoot() {
        require(isRoot(), "root (Linux, uid 0)");
    }

    /** Requires root and a CRIU binary; returns it. */
    public static CriuBinary requireRootAndCriu() {
        requireRoot();
        try {
            return CriuBinary.locate();
        } catch (CriuUnavailableException e) {
            require(false, "CRIU: " + e.getMessage());
            throw new AssertionError("unreachable");
        }
    }
}
