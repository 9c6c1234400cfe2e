package dev.criumigration.migration;

import dev.criumigration.migration.MigrationReport.PhaseTiming;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportTest {
    static MigrationReport sampleReport() {
        return new MigrationReport("m20261129-120000-abcdef", "root@src", "root@dst:2222", 4242, 99, false,
                List.of(new PhaseTiming(Phase.PREFLIGHT, 812), new PhaseTiming(Phase.PAGE_SERVER, 95),
                        new PhaseTiming(Phase.DUMP, 3190), new PhaseTiming(Phase.COPY_IMAGES, 19),
                        new PhaseTiming(Phase.PAGE_SERVER_STATUS, 3), new PhaseTiming(Phase.RESTORE, 5570),
                        new PhaseTiming(Phase.COMMIT, 40), new PhaseTiming(Phase.CLEANUP, 60)),
                8830, 262144, 1L << 30, 396.8, 2, "4.2.1 -> 4.2.1", "compatible", "1536M",
                List.of("CRIU versions differ"), true, "relay", 1L << 29);
    }

    @Test
    void textShowsPhasesFrozenWindowAndRate() {
        String text = sampleReport().toText();
        assertTrue(text.startsWith("Migrated PID 4242 from root@src to root@dst:2222 (now PID 99 there)"), text);
        assertTrue(text.contains("  page-server-status   3 ms"), text);
        assertTrue(text.contains("  dump                 3.19 s"), text);
        assertTrue(text.contains("  total                9.79 s"), text);
        assertTrue(text.contains("Frozen window: 8.83 s"), text);
        assertTrue(text.contains("Memory: 262144 pages, 1.00 GiB at 396.8 MiB/s, 2 processes, TLS (the agents' relay, "
                + "512.0 MiB on the wire)"), text);
        assertTrue(text.contains("Warning: CRIU versions differ"), text);
    }

    @Test
    void jsonIsOneDocumentWithTheSameContent() {
        MigrationReport report = sampleReport();
        Map<?, ?> parsed = (Map<?, ?>) Documents.parseObject(report.toJson());
        assertEquals(9789L, parsed.get("totalMillis"));
        assertEquals(8830L, parsed.get("frozenMillis"));
        assertEquals("DUMP", ((Map<?, ?>) ((List<?>) parsed.get("phases")).get(2)).get("phase"));
        assertEquals(report, MigrationReport.fromMap(parsed));
    }

    @Test
    void dryRunSaysSoAndHasNoMemoryLine() {
        MigrationReport dry = new MigrationReport("m1", "a", "b", 7, 0, true,
                List.of(new PhaseTiming(Phase.PREFLIGHT, 1200)), 0, 0, 0, 0, 1, "4.2.1 -> 4.2.1", "compatible", "64M",
                List.of(), true, "relay", 0);
        String text = dry.toText();
        assertTrue(text.startsWith("Dry run (preflight only) of PID 7 from a to b: the hosts are ready"), text);
        assertTrue(!text.contains("Frozen window"), text);
    }

    @Test
    void jsonEscapesAndSizesParse() {
        assertEquals("{\n  \"a\": \"q\\\"\\n\\u0001\"\n}", Documents.toJson(Map.of("a", "q\"\n\u0001")));
        assertEquals(Map.of("a", List.of(1L, 2.5, true, "x")), Documents.parseObject("{\"a\": [1, 2.5, true, \"x\"]}"));
        assertEquals(512L << 20, Sizes.parse("512M", "size"));
        assertEquals(2L << 30, Sizes.parse("2g", "size"));
        assertEquals(1024, Sizes.parse("1KiB", "size"));
        assertEquals("17M", Sizes.megabytes((16L << 20) + 1));
    }
}
