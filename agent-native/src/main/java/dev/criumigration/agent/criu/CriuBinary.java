package dev.criumigration.agent.criu;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Where CRIU is: env CRIU_BINARY, else the first {@code criu} in PATH, /usr/local/sbin/criu, /usr/sbin/criu. */
public final class CriuBinary {
    static final String INSTALL_HINT = "install it with src/install/install-host.sh";

    private final Path path;

    private CriuBinary(Path path) {
        this.path = path;
    }

    public static CriuBinary locate() throws CriuUnavailableException {
        return locate(System.getenv());
    }

    /** {@link #locate()} against the given environment (CRIU_BINARY, PATH). */
    static CriuBinary locate(Map<String, String> env) throws CriuUnavailableException {
        String configured = env.get("CRIU_BINARY");
        if (configured != null && !configured.isEmpty()) {
            Path path = Path.of(configured);
            if (!isExecutableFile(path)) {
                throw new CriuUnavailableException("CRIU_BINARY=" + configured + " is not an executable file; "
                        + "point it at CRIU or unset it, or " + INSTALL_HINT);
            }
            return new CriuBinary(path.toAbsolutePath());
        }
        List<Path> candidates = new ArrayList<>();
        for (String dir : env.getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty()) {
                candidates.add(Path.of(dir, "criu"));
            }
        }
        candidates.add(Path.of("/usr/local/sbin/criu"));
        candidates.add(Path.of("/usr/sbin/criu"));
        for (Path candidate : candidates) {
            if (isExecutableFile(candidate)) {
                return new CriuBinary(candidate.toAbsolutePath());
            }
        }
        throw new CriuUnavailableException("CRIU not found; " + INSTALL_HINT
                + " (or set CRIU_BINARY to its path)");
    }

    private static boolean isExecutableFile(Path path) {
        return Files.isRegularFile(path) && Files.isExecutable(path);
    }

    public Path path() {
        return path;
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
