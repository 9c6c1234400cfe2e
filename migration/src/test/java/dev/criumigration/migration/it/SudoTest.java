package dev.criumigration.migration.it;

import dev.criumigration.migration.Gate;
import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.MigrationReport;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.RecordingListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A login other than root: the engine runs the agent (and every privileged command) through sudo -n.
 * A throw-away user is made for the test, with or without a NOPASSWD rule, and removed afterwards.
 */
class SudoTest extends TwoHosts {
    private String user;
    private Path sudoersRule;

    @BeforeEach
    void makeUser() throws Exception {
        Gate.requireRootWith("/usr/bin/sudo", "/usr/sbin/useradd", "/usr/sbin/userdel", "/usr/sbin/usermod");
        user = "criumig" + ThreadLocalRandom.current().nextInt(10_000, 99_999);
        run("useradd", "-M", "-s", "/bin/sh", user);
        run("usermod", "-p", "*", user); // no password, but not locked: sshd lets keys in
    }

    @AfterEach
    void removeUser() throws Exception {
        if (sudoersRule != null) {
            Files.deleteIfExists(sudoersRule);
        }
        if (user != null) {
            run("pkill", "-KILL", "-u", user);
            run("userdel", user);
        }
    }

    private void allowSudoWithoutPassword() throws Exception {
        sudoersRule = Path.of("/etc/sudoers.d/" + user);
        Files.writeString(sudoersRule, user + " ALL=(root) NOPASSWD: ALL\n");
        Files.setPosixFilePermissions(sudoersRule, java.nio.file.attribute.PosixFilePermissions.fromString("r--r-----"));
    }

    @Test
    void migratesAsANonRootUserThroughSudo() throws Exception {
        allowSudoWithoutPassword();
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        MigrationReport report;
        try (MigrationEngine engine = new MigrationEngine(settings().useSudo(true).build(), new RecordingListener())) {
            report = engine.migrate(MigrationSpec.builder(source.address(user), destination.address(user),
                    workload.rootPid()).imagesDir(imagesRoot.toString()).build());
        }
        assertEquals(List.of(report.restoredPid()), workload.roots());
        assertEquals(before.checksum(), workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20)).checksum());
        assertTrue(source.log().contains("Accepted publickey for " + user), "logged in as " + user);
        assertNothingLeft();
    }

    @Test
    void sudoAskingForAPasswordIsAClearError() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        MigrationException e = assertThrows(MigrationException.class, () -> {
            try (MigrationEngine engine = new MigrationEngine(settings().useSudo(true).build(), new RecordingListener())) {
                engine.migrate(MigrationSpec.builder(source.address(user), destination.address(user),
                        workload.rootPid()).imagesDir(imagesRoot.toString()).build());
            }
        });
        assertEquals(Kind.AUTH, e.kind(), e.describe());
        assertTrue(e.getMessage().contains("sudo on " + user + "@127.0.0.1"), e.getMessage());
        assertTrue(e.hint().contains("NOPASSWD") || e.hint().contains("sudo rule"), e.hint());
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }

    private static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        int exit = process.waitFor();
        if (exit != 0 && !command[0].equals("pkill")) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
        }
    }
}
