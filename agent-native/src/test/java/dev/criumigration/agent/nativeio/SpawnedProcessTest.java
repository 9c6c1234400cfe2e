package dev.criumigration.agent.nativeio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpawnedProcessTest {
    private static final Duration SHORT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void theChildGetsTheHandedOverSocketAndNoOtherDescriptorOfOurs() throws Exception {
        Path output = dir.resolve("out.log");
        try (SeqPacketSocket.Pair pair = SeqPacketSocket.pair();
             SpawnedProcess child = SpawnedProcess.spawn(
                     List.of("sh", "-c", "printf 'hello %s' \"$GREETING\" >&3; ls /proc/$$/fd; echo to-stderr >&2"),
                     Map.of("GREETING", "world"), Map.of(3, pair.second().fd()), output)) {
            pair.second().close();
            assertArrayEquals("hello world".getBytes(StandardCharsets.UTF_8), pair.first().receive(SHORT));
            OptionalInt status = child.waitFor(SHORT);
            assertTrue(status.isPresent());
            assertEquals("exit status 0", WaitStatus.describe(status.getAsInt()));
            assertFalse(child.isAlive());
            List<String> lines = Files.readAllLines(output);
            // sh's own descriptors: stdin (/dev/null), stdout and stderr (the file), and the socket as 3.
            assertEquals(List.of("0", "1", "2", "3", "to-stderr"), lines);
        }
    }

    @Test
    void stdinIsDevNull() throws Exception {
        Path output = dir.resolve("out.log");
        try (SpawnedProcess child = SpawnedProcess.spawn(List.of("readlink", "/proc/self/fd/0"), Map.of(), Map.of(), output)) {
            assertTrue(child.waitFor(SHORT).isPresent());
            assertEquals(List.of("/dev/null"), Files.readAllLines(output));
        }
    }

    @Test
    void waitForReportsExitCodesAndTimesOutOnARunningChild() throws Exception {
        try (SpawnedProcess failing = SpawnedProcess.spawn(List.of("/bin/sh", "-c", "exit 3"), Map.of(), Map.of(), dir.resolve("a"));
             SpawnedProcess sleeping = SpawnedProcess.spawn(List.of("sleep", "60"), Map.of(), Map.of(), dir.resolve("b"))) {
            int status = failing.waitFor(SHORT).orElseThrow();
            assertTrue(WaitStatus.exited(status));
            assertEquals(3, WaitStatus.exitCode(status));
            assertTrue(sleeping.waitFor(Duration.ofMillis(200)).isEmpty());
            assertTrue(sleeping.isAlive());
            int pid = sleeping.pid();
            sleeping.kill();
            assertFalse(sleeping.isAlive());
            assertFalse(Processes.exists(pid));
            int killed = sleeping.waitFor(Duration.ZERO).orElseThrow();
            assertTrue(WaitStatus.signaled(killed));
            assertEquals(LibC.SIGKILL, WaitStatus.termSignal(killed));
            assertEquals("killed by signal 9", WaitStatus.describe(killed));
        }
    }

    @Test
    void closeKillsAndReapsARunningChild() throws Exception {
        SpawnedProcess sleeping = SpawnedProcess.spawn(List.of("sleep", "60"), Map.of(), Map.of(), dir.resolve("out"));
        int pid = sleeping.pid();
        sleeping.close();
        sleeping.close();
        assertFalse(Processes.exists(pid));
    }

    @Test
    void theChildRunsInItsOwnSession() throws Exception {
        Path output = dir.resolve("out.log");
        try (SpawnedProcess child = SpawnedProcess.spawn(List.of("sh", "-c", "ps -o sid= -p $$; echo $$"), Map.of(), Map.of(), output)) {
            assertTrue(child.waitFor(SHORT).isPresent());
            List<String> lines = Files.readAllLines(output);
            assertEquals(lines.get(1).trim(), lines.get(0).trim(), "session id equals the child's pid");
        }
    }

    @Test
    void aMissingProgramIsANativeExceptionNamingIt() {
        NativeException error = assertThrows(NativeException.class,
                () -> SpawnedProcess.spawn(List.of("/no/such/program"), Map.of(), Map.of(), dir.resolve("out")));
        assertEquals(2, error.errno());
        assertTrue(error.getMessage().contains("/no/such/program"), error.getMessage());
    }

    @Test
    void anUnwritableOutputFileFailsTheSpawn() {
        assertThrows(IOException.class,
                () -> SpawnedProcess.spawn(List.of("true"), Map.of(), Map.of(), dir.resolve("missing-dir/out")));
    }
}
