package dev.criumigration.agent.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.criu.rpc.CriuFeatures;
import dev.criumigration.agent.criu.rpc.CriuNetworkLockMethod;
import dev.criumigration.agent.criu.rpc.CriuOpts;
import dev.criumigration.agent.criu.rpc.CriuPageServerInfo;
import dev.criumigration.agent.criu.rpc.CriuReq;
import dev.criumigration.agent.criu.rpc.CriuReqType;
import dev.criumigration.agent.criu.rpc.CriuResp;
import dev.criumigration.agent.criu.rpc.CriuVersion;
import dev.criumigration.agent.nativeio.LibC;
import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.nativeio.WaitStatus;
import dev.criumigration.agent.testing.RequiresRootAndCriu;
import dev.criumigration.agent.testing.Workload;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@RequiresRootAndCriu
class CriuClientTest {
    private static final Duration QUICK = Duration.ofSeconds(30);
    private static final Duration CRIU_WORK = Duration.ofSeconds(120);
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    Path criu;
    /** Page servers CRIU forked: they outlive a killed CRIU, so the test kills them. */
    final List<Integer> pageServers = new ArrayList<>();

    @BeforeEach
    void locateCriu() throws IOException {
        criu = CriuBinary.locate().path();
    }

    @AfterEach
    void killPageServers() throws Exception {
        for (int pid : pageServers) {
            if (Processes.exists(pid)) {
                Processes.killTree(pid);
            }
            assertTrue(Processes.waitGone(pid, WAIT), "page server " + pid + " gone");
        }
    }

    private CriuClient start() throws IOException {
        return CriuClient.start(criu, Map.of(), dir.resolve("criu-output-" + System.nanoTime() + ".log"));
    }

    private Path imagesDir(String name) throws IOException {
        return Files.createDirectory(dir.resolve(name));
    }

    private static CriuOpts.Builder opts(Path imagesDir, String logFile) {
        return CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(imagesDir.toString())
                .setLogFile(logFile).setLogLevel(4);
    }

    private static CriuReq dumpRequest(int pid, Path imagesDir) {
        return CriuReq.newBuilder().setType(CriuReqType.DUMP).setOpts(opts(imagesDir, "dump.log").setPid(pid)
                .setLeaveStopped(true).setNetworkLock(CriuNetworkLockMethod.NFTABLES)).build();
    }

    @Test
    void versionAndFeaturesOnOneClient() throws Exception {
        try (CriuClient client = start()) {
            CriuVersion version = client.version(QUICK);
            assertTrue(version.getMajorNumber() > 4 || (version.getMajorNumber() == 4 && version.getMinorNumber() >= 2),
                    "CRIU 4.2 or newer: " + version);
            CriuFeatures features = client.features(QUICK);
            assertTrue(features.hasMemTrack() && features.hasLazyPages() && features.hasPidfdStore(), features.toString());
            // keep_open: the same CRIU answers again.
            assertEquals(version, client.version(QUICK));
            assertTrue(client.isAlive());
        }
    }

    @Test
    void dumpLeavesTheTreeStoppedAndRestoreContinuesIt() throws Exception {
        Path images = imagesDir("images");
        try (Workload workload = Workload.start(dir.resolve("workload.log"), "--net", "--memory", "8M")) {
            int source = workload.rootPid();
            try (CriuClient client = start()) {
                CriuResp dumped = client.call(dumpRequest(source, images), CRIU_WORK, null, images.resolve("dump.log"));
                assertTrue(dumped.getSuccess());
            }
            // CRIU detaches with SIGSTOP pending: the stop may take a moment.
            assertTrue(awaitStopped(source), "leave_stopped: state " + Processes.state(source));
            Workload.Tick atDump = workload.lastTick().orElseThrow();
            assertTrue(Files.exists(images.resolve("inventory.img")));

            int restored;
            try (CriuClient client = start()) {
                CriuReq restore = CriuReq.newBuilder().setType(CriuReqType.RESTORE).setOpts(opts(images, "restore.log")
                        .setNetworkLock(CriuNetworkLockMethod.NFTABLES)).build();
                CriuResp response = client.call(restore, CRIU_WORK, null, images.resolve("restore.log"));
                restored = response.getRestore().getPid();
                workload.alsoKillOnClose(restored);
                // Without rst_sibling the tree is CRIU's child, and CRIU exits once it answered.
                assertTrue(client.waitForExit(WAIT).isPresent(), "CRIU exits after a restore");
            }
            assertNotEquals(source, restored);
            assertEquals('T', Processes.state(source), "the source stays stopped");
            Workload.Tick after = workload.awaitTickAfter(atDump.tick(), WAIT).orElseThrow();
            assertEquals(atDump.checksum(), after.checksum(), "memory came across intact");
            assertNotEquals(LibC.INSTANCE.getpid(), parentOf(restored), "not our child");
        }
    }

    @Test
    void restoreAsSiblingMakesTheTreeOurChild() throws Exception {
        Path images = imagesDir("images");
        try (Workload workload = Workload.start(dir.resolve("workload.log"), "--net", "--memory", "8M")) {
            try (CriuClient client = start()) {
                client.call(dumpRequest(workload.rootPid(), images), CRIU_WORK, null, images.resolve("dump.log"));
            }
            long atDump = workload.lastTick().orElseThrow().tick();
            try (CriuClient client = start()) {
                CriuReq restore = CriuReq.newBuilder().setType(CriuReqType.RESTORE).setOpts(opts(images, "restore.log")
                        .setRstSibling(true).setNetworkLock(CriuNetworkLockMethod.NFTABLES)).build();
                int restored = client.call(restore, CRIU_WORK, null, images.resolve("restore.log")).getRestore().getPid();
                workload.alsoKillOnClose(restored);
                assertEquals(LibC.INSTANCE.getpid(), parentOf(restored), "rst_sibling: CRIU's sibling, our child");
                assertTrue(workload.awaitTickAfter(atDump, WAIT).isPresent());
            }
            // Workload.close kills it and Processes.waitGone reaps it: no zombie of ours is left.
        }
    }

    @Test
    void pageServerReceivesTheDumpAndWaitPidReportsItsExit() throws Exception {
        Path pages = imagesDir("pages");
        Path images = imagesDir("images");
        try (Workload workload = Workload.start(dir.resolve("workload.log"), "--net", "--memory", "8M");
             CriuClient pageServerClient = start()) {
            CriuReq startPageServer = CriuReq.newBuilder().setType(CriuReqType.PAGE_SERVER_CHLD).setKeepOpen(true)
                    .setOpts(opts(pages, "page-server.log").setPs(CriuPageServerInfo.newBuilder().setAddress("127.0.0.1").setPort(0)))
                    .build();
            CriuPageServerInfo pageServer = pageServerClient.call(startPageServer, QUICK, null, pages.resolve("page-server.log")).getPs();
            pageServers.add(pageServer.getPid());
            assertTrue(pageServer.getPort() > 0, "the port it bound: " + pageServer);

            CriuReq dump = dumpRequest(workload.rootPid(), images).toBuilder()
                    .setOpts(dumpRequest(workload.rootPid(), images).getOpts().toBuilder()
                            .setPs(CriuPageServerInfo.newBuilder().setAddress("127.0.0.1").setPort(pageServer.getPort())))
                    .build();
            try (CriuClient dumper = start()) {
                dumper.call(dump, CRIU_WORK, null, images.resolve("dump.log"));
            }

            CriuReq waitPid = CriuReq.newBuilder().setType(CriuReqType.WAIT_PID).setPid(pageServer.getPid()).build();
            CriuResp exited = pageServerClient.call(waitPid, QUICK, null, pages.resolve("page-server.log"));
            assertTrue(WaitStatus.exited(exited.getStatus()) && WaitStatus.exitCode(exited.getStatus()) == 0,
                    WaitStatus.describe(exited.getStatus()));
            assertTrue(listNames(pages).stream().anyMatch(name -> name.startsWith("pages-")), "pages landed at the page server: " + listNames(pages));
            assertTrue(listNames(images).stream().noneMatch(name -> name.startsWith("pages-")), "no pages in the dump dir: " + listNames(images));
        }
    }

    @Test
    void aDumpOfNoProcessIsACriuExceptionQuotingTheLog() throws Exception {
        Path images = imagesDir("images");
        int missing = unusedPid();
        try (CriuClient client = start()) {
            CriuException failure = assertThrows(CriuException.class,
                    () -> client.call(dumpRequest(missing, images), QUICK, null, images.resolve("dump.log")));
            assertEquals(CriuReqType.DUMP, failure.requestType());
            assertEquals(images.resolve("dump.log"), failure.logFile().orElseThrow());
            assertFalse(failure.logExcerpt().isEmpty());
            assertTrue(failure.logExcerpt().stream().anyMatch(CriuLog::isRealError), failure.logExcerpt().toString());
            assertTrue(failure.logExcerpt().stream().noneMatch(line -> line.contains("RLIMIT_NOFILE")), failure.logExcerpt().toString());
            assertTrue(failure.getMessage().startsWith("CRIU DUMP failed"), failure.getMessage());
        }
    }

    @Test
    void aCriuKilledDuringACallIsACrashNotAHang() throws Exception {
        Path pages = imagesDir("pages");
        try (CriuClient client = start()) {
            int pageServer = startIdlePageServer(client, pages);
            Thread killer = new Thread(() -> {
                try {
                    Thread.sleep(500);
                    Processes.signal(client.pid(), LibC.SIGKILL);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            killer.start();
            long started = System.nanoTime();
            CriuReq waitPid = CriuReq.newBuilder().setType(CriuReqType.WAIT_PID).setPid(pageServer).build();
            CriuCrashedException crash = assertThrows(CriuCrashedException.class, () -> client.call(waitPid, CRIU_WORK, null, null));
            killer.join();
            assertTrue(System.nanoTime() - started < WAIT.toNanos(), "noticed at once");
            assertTrue(WaitStatus.signaled(crash.waitStatus().orElseThrow()), crash.getMessage());
            assertEquals(LibC.SIGKILL, WaitStatus.termSignal(crash.waitStatus().orElseThrow()));
            assertFalse(client.isAlive());
            assertTrue(Processes.exists(pageServer), "the page server outlives CRIU: the caller must kill it");
        }
    }

    @Test
    void aCriuThatExitsWithoutAnsweringIsACrash() throws Exception {
        try (CriuClient client = start()) {
            // CRIU refuses keep_open for DUMP by exiting without a word.
            CriuReq dump = CriuReq.newBuilder().setType(CriuReqType.DUMP).setKeepOpen(true)
                    .setOpts(opts(imagesDir("images"), "dump.log").setPid(LibC.INSTANCE.getpid())).build();
            CriuCrashedException crash = assertThrows(CriuCrashedException.class, () -> client.call(dump, QUICK, null, null));
            assertEquals(CriuReqType.DUMP, crash.requestType());
            assertTrue(WaitStatus.exited(crash.waitStatus().orElseThrow()), crash.getMessage());
            assertTrue(crash.getCause() instanceof java.io.EOFException, "EOF, not the liveness check: " + crash.getCause());
            assertFalse(client.isAlive());
        }
    }

    @Test
    void aCallPastItsDeadlineKillsCriu() throws Exception {
        Path pages = imagesDir("pages");
        try (CriuClient client = start()) {
            int pageServer = startIdlePageServer(client, pages);
            int criuPid = client.pid();
            CriuReq waitPid = CriuReq.newBuilder().setType(CriuReqType.WAIT_PID).setPid(pageServer).build();
            long started = System.nanoTime();
            CriuTimeoutException timeout = assertThrows(CriuTimeoutException.class,
                    () -> client.call(waitPid, Duration.ofMillis(300), null, pages.resolve("page-server.log")));
            assertTrue(System.nanoTime() - started < WAIT.toNanos());
            assertEquals(Duration.ofMillis(300), timeout.timeout());
            assertFalse(client.isAlive());
            assertFalse(Processes.exists(criuPid), "CRIU is killed and reaped");
        }
    }

    @Test
    void aFailedPostDumpAnswerResumesTheTree() throws Exception {
        Path images = imagesDir("images");
        try (Workload workload = Workload.start(dir.resolve("workload.log"), "--net", "--memory", "8M");
             CriuClient client = start()) {
            List<String> scripts = new CopyOnWriteArrayList<>();
            CriuReq dump = CriuReq.newBuilder().setType(CriuReqType.DUMP).setOpts(opts(images, "dump.log")
                    .setPid(workload.rootPid()).setNotifyScripts(true).setNetworkLock(CriuNetworkLockMethod.NFTABLES)).build();
            CriuException refused = assertThrows(CriuException.class, () -> client.call(dump, CRIU_WORK, (script, pid) -> {
                scripts.add(script);
                return !script.equals("post-dump");
            }, images.resolve("dump.log")));
            assertTrue(scripts.contains("post-dump"), scripts.toString());
            assertEquals(CriuReqType.DUMP, refused.requestType());
            assertRunsOn(workload);
        }
    }

    @Test
    void aNotifyHandlerThatFailsOrIsInterruptedAnswersFailureAndTheTreeRunsOn() throws Exception {
        Path images = imagesDir("images");
        try (Workload workload = Workload.start(dir.resolve("workload.log"), "--net", "--memory", "8M");
             CriuClient client = start()) {
            CriuReq dump = CriuReq.newBuilder().setType(CriuReqType.DUMP).setOpts(opts(images, "dump.log")
                    .setPid(workload.rootPid()).setNotifyScripts(true).setNetworkLock(CriuNetworkLockMethod.NFTABLES)).build();
            Thread caller = Thread.currentThread();
            // Blocking past the call's 5 s timeout: handler time does not count against CRIU's deadline.
            InterruptedException interrupted = assertThrows(InterruptedException.class, () -> client.call(dump, Duration.ofSeconds(5), (script, pid) -> {
                if (script.equals("post-dump")) {
                    new Thread(() -> {
                        sleep(6000);
                        caller.interrupt();
                    }).start();
                    Thread.sleep(60_000);
                }
                return true;
            }, images.resolve("dump.log")));
            assertTrue(Thread.interrupted(), "the interrupt flag is kept for the caller");
            assertTrue(Stream.of(interrupted.getSuppressed()).anyMatch(CriuException.class::isInstance),
                    "CRIU's failure after the refused post-dump is attached");
            assertTrue(client.waitForExit(WAIT).isPresent(), "CRIU finished and exited");
            assertRunsOn(workload);
        }
    }

    private static boolean awaitStopped(int pid) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (Processes.state(pid) != 'T') {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void assertRunsOn(Workload workload) throws Exception {
        char state = Processes.state(workload.rootPid());
        assertTrue(state == 'S' || state == 'R', "running again, state " + state);
        long tick = workload.lastTick().orElseThrow().tick();
        assertTrue(workload.awaitTickAfter(tick, WAIT).isPresent(), "ticks on");
    }

    /** Starts a page server that nobody connects to; it would wait forever. */
    private int startIdlePageServer(CriuClient client, Path pages) throws Exception {
        CriuReq startPageServer = CriuReq.newBuilder().setType(CriuReqType.PAGE_SERVER_CHLD).setKeepOpen(true)
                .setOpts(opts(pages, "page-server.log").setPs(CriuPageServerInfo.newBuilder().setAddress("127.0.0.1").setPort(0)))
                .build();
        int pid = client.call(startPageServer, QUICK, null, pages.resolve("page-server.log")).getPs().getPid();
        pageServers.add(pid);
        return pid;
    }

    private static List<String> listNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(file -> file.getFileName().toString()).sorted().toList();
        }
    }

    private static int unusedPid() throws IOException {
        // Not Files.readString: a sysctl read in pieces ends after the first byte.
        int pidMax = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).get(0).trim());
        for (int pid = pidMax - 1; pid > 1; pid--) {
            if (!Processes.exists(pid)) {
                return pid;
            }
        }
        throw new IllegalStateException("no free PID");
    }

    private static int parentOf(int pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
        return Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
    }
}
