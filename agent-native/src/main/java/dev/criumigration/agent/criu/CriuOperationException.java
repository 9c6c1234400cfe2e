package dev.criumigration.agent.criu;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** A CRIU call that did not succeed; carries the lines of CRIU's log that explain it. */
public abstract class CriuOperationException extends IOException {
    private final List<String> logExcerpt;
    private final Path logFile;

    protected CriuOperationException(String message, List<String> logExcerpt, Path logFile) {
        super(withExcerpt(message, logExcerpt, logFile));
        this.logExcerpt = List.copyOf(logExcerpt);
        this.logFile = logFile;
    }

    /** CRIU's log lines around its first real error (empty when there is no log or no error in it). */
    public List<String> logExcerpt() {
        return logExcerpt;
    }

    public Optional<Path> logFile() {
        return Optional.ofNullable(logFile);
    }

    private static String withExcerpt(String message, List<String> excerpt, Path logFile) {
        StringBuilder text = new StringBuilder(message);
        if (logFile != null) {
            text.append(" (CRIU log: ").append(logFile).append(')');
        }
        for (String line : excerpt) {
            text.append(System.lineSeparator()).append("  ").append(line);
        }
        return text.toString();
    }
}
