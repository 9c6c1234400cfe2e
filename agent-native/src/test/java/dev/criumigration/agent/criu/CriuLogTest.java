package dev.criumigration.agent.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CriuLogTest {
    @TempDir
    Path dir;

    @Test
    void excerptSurroundsTheFirstRealErrorSkippingTheRlimitOne() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            lines.add("(00.0000" + i + ") line " + i);
        }
        lines.set(2, "(00.000020) Error (criu/util.c:1234): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted");
        lines.set(10, "(00.000100) Error (criu/cr-dump.c:2100): Dumping FAILED.");
        lines.set(12, "(00.000120) Error (criu/cr-dump.c:2200): a later error");
        Path log = Files.write(dir.resolve("dump.log"), lines);

        List<String> excerpt = CriuLog.excerpt(log);
        assertEquals(lines.subList(5, 16), excerpt);
    }

    @Test
    void theHarmlessRlimitErrmsgGivesWayToTheFirstRealError() throws IOException {
        String rlimit = "rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted";
        Path log = Files.write(dir.resolve("dump.log"), List.of(
                "(00.000020) Error (criu/util.c:1534): " + rlimit,
                "(00.000100) Error (criu/page-xfer.c:415): page-xfer: Can't write to the page server: No space left on device",
                "(00.000120) Error (criu/cr-dump.c:2200): Dumping FAILED."));
        assertEquals("page-xfer: Can't write to the page server: No space left on device",
                CriuLog.meaningfulErrmsg(rlimit, log));
        assertEquals("some real message", CriuLog.meaningfulErrmsg("some real message", log));
        assertEquals("page-xfer: Can't write to the page server: No space left on device",
                CriuLog.meaningfulErrmsg("", log), "no errmsg at all: the log's first real error");
        assertEquals(rlimit, CriuLog.meaningfulErrmsg(rlimit, dir.resolve("missing.log")));
    }

    @Test
    void withoutAnErrorTheExcerptIsTheTailWhereCriuStopped() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            lines.add("line " + i);
        }
        lines.set(3, "(00.000020) Error (criu/util.c:1234): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted");
        Path log = Files.write(dir.resolve("dump.log"), lines);
        assertEquals(lines.subList(20, 30), CriuLog.excerpt(log));
    }

    @Test
    void anErrorAtTheStartAndAMissingLog() throws IOException {
        Path log = Files.write(dir.resolve("dump.log"), List.of("Error (criu/crtools.c:1): bad", "next"));
        assertEquals(List.of("Error (criu/crtools.c:1): bad", "next"), CriuLog.excerpt(log));
        assertTrue(CriuLog.excerpt(dir.resolve("missing.log")).isEmpty());
        assertTrue(CriuLog.excerpt(null).isEmpty());
    }

    @Test
    void exceptionsQuoteTheExcerptAndTheLogPath() {
        Path log = dir.resolve("dump.log");
        CriuException error = new CriuException(dev.criumigration.agent.criu.rpc.CriuReqType.DUMP, 3,
                "Error (criu/cr-dump.c:1): no such process", List.of("a", "b"), log);
        String newline = System.lineSeparator();
        assertEquals("CRIU DUMP failed: Error (criu/cr-dump.c:1): no such process (errno 3) (CRIU log: " + log + ")"
                + newline + "  a" + newline + "  b", error.getMessage());
        assertEquals(List.of("a", "b"), error.logExcerpt());
        assertEquals(log, error.logFile().orElseThrow());
    }
}
