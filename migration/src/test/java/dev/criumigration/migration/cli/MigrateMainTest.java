package dev.criumigration.migration.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line's handling of what people type: exit statuses, messages, no stack traces. */
class MigrateMainTest {
    @TempDir
    Path temp;

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = MigrateMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static void assertUsageError(Run run, String expected) {
        assertEquals(2, run.exit(), run.toString());
        assertTrue(run.err().contains(expected), run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
    }

    @Test
    void helpShowsOptionsSubcommandsAndExamples() {
        Run help = run("--help");
        assertEquals(0, help.exit());
        for (String text : new String[] {"--from", "--to", "--pid", "--identity", "--known-hosts", "--images-dir",
            "--tmpfs-size", "--tcp-established", "--json", "--dry-run", "--accept-any-host-key", "--sudo", "--timeout",
            "page-server", "dump", "restore", "resume", "kill", "check", "Examples:", "systemd"}) {
            assertTrue(help.out().contains(text), "help mentions " + text);
        }
        assertEquals(0, run("restore", "--help").exit());
    }

    @Test
    void missingArgumentsAreUsageErrors() {
        assertUsageError(run(), "missing --from");
        assertUsageError(run("--from", "a", "--to", "b"), "missing --pid");
        assertUsageError(run("dump", "--from", "a"), "Missing required options");
    }

    @Test
    void badValuesSayWhatToWrite() {
        assertUsageError(run("--from", "fe80::1", "--to", "b", "--pid", "42"), "brackets");
        assertUsageError(run("--from", "a:99999", "--to", "b", "--pid", "42"), "1-65535");
        assertUsageError(run("--from", "a", "--to", "b", "--pid", "1"), "pid 1 cannot be migrated");
        assertUsageError(run("--from", "a", "--to", "b", "--pid", "42", "--timeout", "soon"), "not a duration");
        assertUsageError(run("--from", "a", "--to", "b", "--pid", "42", "--tmpfs-size", "lots"), "not a size");
        assertUsageError(run("--from", "a", "--to", "b", "--pid", "42", "--images-dir", "relative/dir"),
                "absolute path");
        assertUsageError(run("--from", "a", "--to", "b", "--pid", "x"), "'x'");
    }

    @Test
    void contradictoryHostKeyOptionsAreRefused() throws Exception {
        Path knownHosts = Files.writeString(temp.resolve("known_hosts"), "");
        assertUsageError(run("--from", "a", "--to", "b", "--pid", "42", "--accept-any-host-key", "--known-hosts",
                knownHosts.toString()), "cannot be combined");
        assertUsageError(run("--from", "a", "--to", "b", "--pid", "42", "--known-hosts", temp.resolve("none").toString()),
                "does not exist");
        assertUsageError(run("--from", "a", "--to", "b", "--pid", "42", "--identity", temp.resolve("no-key").toString()),
                "identity file");
    }

    @Test
    void stepsNeedTheStateOfThePreviousStep() {
        assertUsageError(run("dump", "--from", "a", "--pid", "42", "--state", temp.resolve("missing.json").toString()),
                "state file");
        assertUsageError(run("page-server", "--to", "b", "--state", temp.resolve("no/such/dir/s.json").toString()),
                "cannot write the state file");
    }
}
