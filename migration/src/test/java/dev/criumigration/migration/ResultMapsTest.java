package dev.criumigration.migration;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The maps the Jenkins steps pass from one step to the next. */
class ResultMapsTest {
    static final PageServerInfo PAGE_SERVER = new PageServerInfo("root@dst:2222", "10.0.0.2", 41234,
            "/var/lib/criu-migration/images/m1.pages", true, "256M", 777, true, "relay");
    static final DumpInfo DUMP = new DumpInfo("root@src", 4242, "/var/lib/criu-migration/images/m1.dump", true, true,
            false, PAGE_SERVER, 3, 4096, 16777216, 812, 1500);

    @Test
    void everyResultSurvivesItsMap() {
        assertEquals(PAGE_SERVER, PageServerInfo.fromMap(PAGE_SERVER.toMap()));
        assertEquals(DUMP, DumpInfo.fromMap(DUMP.toMap()));
        RestoreInfo restore = new RestoreInfo("root@dst:2222", 9001, "/x.pages", "root@src", 4242, true, 4096, 2100);
        assertEquals(restore, RestoreInfo.fromMap(restore.toMap()));
        MigrationReport report = ReportTest.sampleReport();
        assertEquals(report, MigrationReport.fromMap(report.toMap()));
    }

    @Test
    void mapsHoldOnlyPlainValues() {
        assertPlain(DUMP.toMap());
        assertPlain(ReportTest.sampleReport().toMap());
    }

    @Test
    void readsNumbersAsAPipelineHandsThemBack() {
        Map<String, Object> fromGroovy = new HashMap<>(PAGE_SERVER.toMap());
        fromGroovy.put("port", new BigDecimal("41234"));
        fromGroovy.put("pid", "777");
        fromGroovy.put("tmpfsMounted", "true");
        assertEquals(PAGE_SERVER, PageServerInfo.fromMap(fromGroovy));
        // ... and after a JSON round trip (the command line's state file).
        assertEquals(DUMP, DumpInfo.fromMap((Map<?, ?>) Documents.parseObject(Documents.toJson(DUMP.toMap()))));
    }

    @Test
    void aMissingOrMistypedEntryIsAUsageErrorNamingIt() {
        Map<String, Object> map = new HashMap<>(DUMP.toMap());
        map.remove("pageServer");
        assertTrue(assertThrows(UsageException.class, () -> DumpInfo.fromMap(map)).getMessage().contains("'pageServer'"));
        map.put("pageServer", PAGE_SERVER.toMap());
        map.put("pid", "forty-two");
        assertTrue(assertThrows(UsageException.class, () -> DumpInfo.fromMap(map)).getMessage().contains("'pid'"));
        assertTrue(assertThrows(UsageException.class, () -> PageServerInfo.fromMap(null)).getMessage()
                .contains("previous step"));
    }

    private static void assertPlain(Object value) {
        if (value instanceof Map<?, ?> map) {
            map.forEach((k, v) -> {
                assertTrue(k instanceof String);
                assertPlain(v);
            });
        } else if (value instanceof List<?> list) {
            list.forEach(ResultMapsTest::assertPlain);
        } else {
            assertTrue(value == null || value instanceof String || value instanceof Number || value instanceof Boolean,
                    "not a plain value: " + value.getClass());
        }
    }
}
