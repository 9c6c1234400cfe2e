package dev.criumigration.agent.nativeio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.testing.TestGate;
import dev.criumigration.agent.testing.Workload;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessesTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void aStoppedTreeIsSeenResumedAndKilled() throws Exception {
        TestGate.requireRoot();
        try (Workload workload = Workload.start(dir.resolve("workload.log"), "--memory", "8M", "--children", "2")) {
            int root = workload.rootPid();
            List<Integer> tree = Processes.tree(root);
            assertEquals(3, tree.size(), "root and two children: " + tree);
            assertEquals(root, tree.get(0));
            assertFalse(Processes.isKernelThread(root));

            for (int pid : tree) {
                Processes.signal(pid, LibC.SIGSTOP);
            }
            for (int pid : tree) {
                assertTrue(awaitState(pid, 'T'), "pid " + pid + " stopped");
            }
            long stoppedAt = workload.lastTick().orElseThrow().tick();
            assertTrue(workload.awaitTickAfter(stoppedAt, Duration.ofMillis(800)).isEmpty(), "a stopped workload does not tick");

            // The root is a PID namespace's init: SIGCONT must continue it all the same.
            Processes.resumeTree(root);
            for (int pid : tree) {
                assertTrue(awaitNotStopped(pid), "pid " + pid + " continued");
            }
            assertTrue(workload.awaitTickAfter(stoppedAt, WAIT).isPresent(), "the resumed workload ticks on");

            Processes.killTree(root);
            for (int pid : tree) {
                assertTrue(Processes.waitGone(pid, WAIT), "pid " + pid + " gone");
            }
            assertFalse(Processes.exists(root));
            assertThrows(NoSuchFileException.class, () -> Processes.tree(root));
            assertThrows(NoSuchFileException.class, () -> Processes.state(root));
            NativeException error = assertThrows(NativeException.class, () -> Processes.signal(root, LibC.SIGCONT));
            assertEquals(LibC.ESRCH, error.errno());
        }
    }

    @Test
    void kernelThreadsAreRecognised() throws IOException {
        assertTrue(Processes.isKernelThread(2), "kthreadd");
        assertFalse(Processes.isKernelThread(LibC.INSTANCE.getpid()));
    }

    @Test
    void theStateOfASleepingProcess() throws Exception {
        try (SpawnedProcess sleeping = SpawnedProcess.spawn(List.of("sleep", "60"), Map.of(), Map.of(), dir.resolve("out"))) {
            assertTrue(awaitState(sleeping.pid(), 'S'));
            assertEquals(List.of(sleeping.pid()), Processes.tree(sleeping.pid()));
        }
    }

    @Test
    void ourselvesExistAndSignalsToNoProcessAreRefused() {
        assertTrue(Processes.exists(LibC.INSTANCE.getpid()));
        assertFalse(Processes.exists(0));
        assertThrows(IllegalArgumentException.class, () -> Processes.signal(0, LibC.SIGKILL));
        assertThrows(IllegalArgumentException.class, () -> Processes.signal(-1, LibC.SIGKILL));
    }

    private static boolean awaitState(int pid, char state) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (Processes.state(pid) != state) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    @Test
    void processesUsingFilesUnderADirectoryAreFoundByTheirCommandLine() throws Exception {
        Path inside = java.nio.file.Files.createDirectories(dir.resolve("work/inside"));
        Path elsewhere = java.nio.file.Files.createDirectories(dir.resolve("elsewhere"));
        // One with its working directory inside, one with a file open inside, one using neither.
        Process byCwd = new ProcessBuilder("sleep", "60").directory(inside.toFile()).start();
        Process byFile = new ProcessBuilder("sh", "-c", "exec sleep 61 3<>inside/held").directory(dir.resolve("work")
                .toFile()).start();
        Process outside = new ProcessBuilder("sleep", "62").directory(elsewhere.toFile()).start();
        try {
            long until = System.nanoTime() + WAIT.toNanos();
            List<Integer> found;
            do {
                found = Processes.usingFilesUnder(dir.resolve("work"), "sleep");
                Thread.sleep(20);
            } while (found.size() < 2 && System.nanoTime() < until);
            assertTrue(found.contains((int) byCwd.pid()) && found.contains((int) byFile.pid()), found.toString());
            assertFalse(found.contains((int) outside.pid()), found.toString());
            assertFalse(Processes.usingFilesUnder(dir.resolve("work"), "sleep 99").contains((int) byCwd.pid()),
                "only processes whose command line starts with the prefix");
        } finally {
            byCwd.destroyForcibly();
            byFile.destroyForcibly();
            outside.destroyForcibly();
        }
    }

    private static boolean awaitNotStopped(int pid) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (Processes.state(pid) == 'T') {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }
}
