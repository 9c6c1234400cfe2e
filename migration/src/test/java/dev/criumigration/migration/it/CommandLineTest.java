package dev.criumigration.migration.it;

import dev.criumigration.migration.Documents;
import dev.criumigration.migration.cli.MigrateMain;
import dev.criumigration.migration.ssh.ClientKeys;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** criu-migrate against the two sshd hosts, as cron or a person would run it. */
class CommandLineTest extends TwoHosts {
    record Run(int exit, String out, String err) {}

    private Run criuMigrate(Path knownHostsFile, String... args) {
        List<String> argv = new ArrayList<>(List.of(args));
        int insertAt = argv.isEmpty() || argv.get(0).startsWith("-") ? 0 : 1; // after a subcommand
        argv.addAll(insertAt, List.of("-i", keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH).toString(),
                "--known-hosts", knownHostsFile.toString(), "--agent-dir", agentDir.toString(),
                "--images-base", stateDir.toString()));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = MigrateMain.run(argv.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        Run run = new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        System.out.println("criu-migrate " + String.join(" ", args) + " -> " + exit + "\n" + run.err() + run.out());
        return run;
    }

    @Test
    void migratesWithJsonReport() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        Run run = criuMigrate(knownHosts, "--from", from().toString(), "--to", to().toString(),
                "--pid", String.valueOf(workload.rootPid()), "--images-dir", imagesRoot.toString(), "--json");
        assertEquals(0, run.exit(), run.err());
        Map<?, ?> report = (Map<?, ?>) Documents.parseObject(run.out());
        int restored = ((Number) report.get("restoredPid")).intValue();
        assertEquals(List.of(restored), workload.roots());
        assertEquals(before.checksum(), workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20)).checksum());
        assertTrue(run.err().contains("==> dump") && run.err().contains("done in"), "progress on stderr");
        assertNothingLeft();
    }

    @Test
    void thePageServerListensWhereTheCommandLineSays() throws Exception {
        // 127.0.0.2 is loopback too, but not the destination's own address toward the source (127.0.0.1).
        Workload workload = workload("16M", 0);
        Run run = criuMigrate(knownHosts, "--from", from().toString(), "--to", to().toString(),
                "--pid", String.valueOf(workload.rootPid()), "--images-dir", imagesRoot.toString(),
                "--page-server-address", "127.0.0.2", "-v");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.err().contains("the page server listens on 127.0.0.2 port "), run.err());
        assertNothingLeft();
    }

    @Test
    void stepByStepWithAStateFile() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        Path state = stateDir.resolve("state-" + System.nanoTime() + ".json");
        assertEquals(0, criuMigrate(knownHosts, "page-server", "--to", to().toString(), "--state", state.toString(),
                "--images-dir", imagesRoot.resolve("cli.pages").toString(), "--tmpfs-size", "256M").exit());
        assertEquals(0, criuMigrate(knownHosts, "dump", "--from", from().toString(), "--pid",
                String.valueOf(workload.rootPid()), "--state", state.toString()).exit());
        assertEquals('T', Procs.state(workload.rootPid()));
        Run restore = criuMigrate(knownHosts, "restore", "--state", state.toString(), "--json");
        assertEquals(0, restore.exit(), restore.err());
        Map<?, ?> document = (Map<?, ?>) Documents.parseObject(Files.readString(state));
        assertTrue(document.keySet().containsAll(List.of("pageServer", "dump", "restore")), document.toString());
        int restored = ((Number) ((Map<?, ?>) Documents.parseObject(restore.out())).get("pid")).intValue();
        assertEquals(List.of(restored), workload.roots());
        assertEquals(before.checksum(), workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20)).checksum());
        assertNothingLeft();
    }

    @Test
    void unknownHostKeyFailsWithExitOneAndAJsonError() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        Path onlySource = stateDir.resolve("only_source_known");
        Files.writeString(onlySource, source.knownHostsLine() + "\n");
        Run run = criuMigrate(onlySource, "--from", from().toString(), "--to", to().toString(),
                "--pid", String.valueOf(workload.rootPid()), "--images-dir", imagesRoot.toString(), "--json");
        assertEquals(1, run.exit());
        Map<?, ?> error = (Map<?, ?>) Documents.parseObject(run.out());
        assertEquals(false, error.get("ok"));
        assertEquals("HOST_KEY", error.get("kind"));
        assertTrue(run.err().contains("ssh-keyscan -p " + destination.port()), run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace");
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }
}
