package dev.criumigration.agent.criu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Picks the lines of a CRIU log that explain a failure. */
final class CriuLog {
    static final int CONTEXT_LINES = 5;
    static final int TAIL_LINES = 10;

    private CriuLog() {
    }

    /**
     * The lines around the first {@code Error (file:line)} that is not the harmless RLIMIT_NOFILE complaint every
     * CRIU run logs on some hosts; without such an error, the last lines (where a hung CRIU stopped).
     * Empty when there is no log.
     */
    static List<String> excerpt(Path log) {
        if (log == null) {
            return List.of();
        }
        List<String> lines;
        try {
            // CRIU logs bytes, not necessarily UTF-8: decode leniently.
            lines = new String(Files.readAllBytes(log), StandardCharsets.UTF_8).lines().toList();
        } catch (IOException e) {
            return List.of();
        }
        for (int i = 0; i < lines.size(); i++) {
            if (isRealError(lines.get(i))) {
                return new ArrayList<>(lines.subList(Math.max(0, i - CONTEXT_LINES), Math.min(lines.size(), i + CONTEXT_LINES + 1)));
            }
        }
        return new ArrayList<>(lines.subList(Math.max(0, lines.size() - TAIL_LINES), lines.size()));
    }

    static boolean isRealError(String line) {
        return line.contains("Error (") && !isHarmless(line);
    }

    private static boolean isHarmless(String text) {
        return text.contains("Can't setup RLIMIT_NOFILE");
    }

    /**
     * CRIU's cr_errmsg is the first error it logged, which on some hosts is the harmless RLIMIT_NOFILE
     * complaint, and it is empty when a request's work failed in a child CRIU forked (CPUINFO_CHECK):
     * then the first real error of the log (its text after {@code Error (file:line): }) says what
     * failed. Otherwise {@code crErrmsg} as CRIU sent it.
     */
    static String meaningfulErrmsg(String crErrmsg, Path log) {
        if (!crErrmsg.isEmpty() && !isHarmless(crErrmsg) || log == null) {
            return crErrmsg;
        }
        try {
            return new String(Files.readAllBytes(log), StandardCharsets.UTF_8).lines()
                    .filter(CriuLog::isRealError)
                    .map(line -> line.substring(line.indexOf("): ", line.indexOf("Error (")) + 3).trim())
                    .findFirst().orElse(crErrmsg);
        } catch (IOException | StringIndexOutOfBoundsException e) {
            return crErrmsg;
        }
    }
}
