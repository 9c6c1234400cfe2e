package dev.criumigration.migration;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Tests that drive real sshd, CRIU and namespaces need root and those tools. On a developer machine
 * without them they are skipped; under CI (CI=true) they fail, so CI cannot pass by skipping.
 */
public final class Gate {
    private Gate() {}

    public static void requireRootWith(String... executables) {
        StringBuilder missing = new StringBuilder();
        if (!"root".equals(System.getProperty("user.name"))) {
            missing.append("root; ");
        }
        for (String executable : executables) {
            if (!Files.isExecutable(Path.of(executable))) {
                missing.append(executable).append("; ");
            }
        }
        if (missing.length() == 0) {
            return;
        }
        String reason = "needs " + missing.substring(0, missing.length() - 2);
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            throw new AssertionError("CI=true and this test cannot run here: it " + reason);
        }
        Assumptions.assumeTrue(false, reason);
    }

    public static void requireSshd() {
        requireRootWith("/usr/sbin/sshd", "/usr/bin/ssh-keygen");
    }

    public static void requireCriu() {
        requireRootWith("/usr/sbin/sshd", "/usr/bin/ssh-keygen", "/usr/local/sbin/criu", "/usr/bin/unshare",
                "/usr/bin/python3");
    }
}
