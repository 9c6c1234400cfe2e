package dev.criumigration.migration.ssh;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The quoted command line goes through a real sh and comes back as the same argv. */
class ShellQuoteTest {
    @Test
    void everyArgumentSurvivesTheShellUnchanged() throws Exception {
        List<String> argv = List.of("plain", "", "with space", "it's", "\"double\"", "$HOME", "`id`", "$(id)",
                "a;b", "a|b", "*", "~", "new\nline", "back\\slash", "-n", "--", "ünïcode");
        String line = "printf '%s\\0' " + ShellQuote.join(argv);
        Process sh = new ProcessBuilder("sh", "-c", line).start();
        String out = new String(sh.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, sh.waitFor());
        assertEquals(argv, List.of(out.split("\0", -1)).subList(0, argv.size()));
    }

    @Test
    void safeWordsStayReadable() {
        assertEquals("java -jar /var/lib/criu-migration/agent/criu-agent-ab12.jar serve",
                ShellQuote.join(List.of("java", "-jar", "/var/lib/criu-migration/agent/criu-agent-ab12.jar", "serve")));
    }
}
