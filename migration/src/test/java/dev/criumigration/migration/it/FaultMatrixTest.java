package dev.criumigration.migration.it;

import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.DumpSpec;
import dev.criumigration.migration.EngineClock;
import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.MigrationReport;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.PageServerInfo;
import dev.criumigration.migration.PageServerSpec;
import dev.criumigration.migration.PageStream;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.RecordingListener;
import dev.criumigration.migration.RestoreSpec;
import dev.criumigration.migration.cli.MigrateMain;
import dev.criumigration.migration.ssh.ClientKeys;
import dev.criumigration.migration.ssh.SshdHost;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The fault matrix: each fault injected into each phase of a migration, in both flows (one-shot
 * {@code migrate()} and the three steps page server / dump / restore, each step with its own engine as
 * the Jenkins steps run them). After every one the source runs with its state, or - once the commit
 * went through - the destination does, alone; neither host holds anything of the migration (no
 * mount, listener, images, criu or agent process, stopped process); and the failure names the phase
 * it was noticed in and its cause, and - once the tree was frozen - reports the source resumed.
 *
 * <p>Cells that cannot happen are N/A, with the reason, in {@link #expectation}. Every cell's result
 * goes to {@code target/fault-matrix.md}; the matrix in {@code docs/reliability.md} must match it (run
 * with {@code -Dfault-matrix.write-docs=true} to rewrite it there; see that file).
 */
class FaultMatrixTest extends TwoHosts {
    enum Flow {
        ONE_SHOT("one-shot"), THREE_STEP("three-step");

        final String label;

        Flow(String label) {
            this.label = label;
        }
    }

    enum Fault {
        CRIU_KILLED("CRIU killed"), AGENT_KILLED("agent killed"), PAGE_SERVER_KILLED("page server killed"),
        CONTROLLER_KILLED("controller killed"), SSH_DROPPED("SSH dropped"), TMPFS_FULL("tmpfs full"),
        DEADLINE("deadline"), DAMAGED_IMAGE("damaged image"),
        // The agents' page relay (the one-shot migration's default transport):
        STREAM_CUT("page stream cut"), STREAM_STALLED("page stream stalled");

        final String label;

        Fault(String label) {
            this.label = label;
        }
    }

    /** What must hold afterwards. */
    enum Outcome {
        /** The source runs with its state; the failure names the phase and the cause. */
        ROLLED_BACK("rolled back"),
        /** The controller died: its agents put the source back on their own. */
        AGENTS_ROLLED_BACK("agents rolled back"),
        /** The controller of a step died: `criu-migrate abort` (or the page server's own deadline) put it back. */
        ABORTED("abort rolled back"),
        /** The controller of the restore step died after the commit: `criu-migrate abort` only cleaned up. */
        ABORTED_AFTER_COMMIT("committed, abort cleaned up"),
        /** Past the commit: the destination runs the tree, alone, with its state. */
        COMMITTED("committed"),
        /**
         * The documented window: the controller died between the restore and the commit; the tree runs
         * at least once, maybe twice (docs/criu-migrate.md, Limits).
         */
        WINDOW("window");

        final String label;

        Outcome(String label) {
            this.label = label;
        }
    }

    /** A cell's expectation: N/A with a reason, or an outcome and the phases the failure may be noticed in. */
    record Expectation(String notApplicable, Outcome outcome, Set<Phase> noticedIn) {
        static Expectation na(String reason) {
            return new Expectation(reason, null, Set.of());
        }

        static Expectation of(Outcome outcome, Phase... noticedIn) {
            return new Expectation(null, outcome, noticedIn.length == 0 ? Set.of() : EnumSet.of(noticedIn[0], noticedIn));
        }
    }

    record Cell(Flow flow, Phase phase, Fault fault) {
        @Override
        public String toString() {
            return flow.label + " / " + phase.label() + " / " + fault.label;
        }
    }

    record Result(String status, String noticed, String detail, long seconds) {}

    private static final List<Phase> THREE_STEP_PHASES = List.of(Phase.PAGE_SERVER, Phase.DUMP, Phase.COPY_IMAGES,
            Phase.PAGE_SERVER_STATUS, Phase.RESTORE, Phase.COMMIT, Phase.CLEANUP);
    private static final Map<Cell, Result> RESULTS = new ConcurrentHashMap<>();
    private static final String DOC_BEGIN = "<!-- fault-matrix:begin (generated by FaultMatrixTest) -->";
    private static final String DOC_END = "<!-- fault-matrix:end -->";
    private static final Duration WATCH = Duration.ofSeconds(30);

    static List<Cell> allCells() {
        List<Cell> cells = new ArrayList<>();
        for (Flow flow : Flow.values()) {
            for (Phase phase : flow == Flow.ONE_SHOT ? List.of(Phase.values()) : THREE_STEP_PHASES) {
                for (Fault fault : Fault.values()) {
                    cells.add(new Cell(flow, phase, fault));
                }
            }
        }
        return cells;
    }

    /** The cells that can happen; {@code -Dfault-matrix.only=a,b} runs those whose name contains a or b. */
    static Stream<Cell> cells() {
        String only = System.getProperty("fault-matrix.only", "");
        return allCells().stream().filter(cell -> expectation(cell).notApplicable() == null)
                .filter(cell -> only.isEmpty() || Stream.of(only.split(",")).anyMatch(cell.toString()::contains));
    }

    private static long applicableCells() {
        return allCells().stream().filter(cell -> expectation(cell).notApplicable() == null).count();
    }

    /** Which host works in a phase: where an agent is killed or SSH dropped. */
    private static boolean onSource(Phase phase) {
        return phase == Phase.DUMP || phase == Phase.COPY_IMAGES || phase == Phase.COMMIT;
    }

    /** What each cell must show, or why it cannot happen. */
    static Expectation expectation(Cell cell) {
        boolean oneShot = cell.flow() == Flow.ONE_SHOT;
        Phase phase = cell.phase();
        Outcome afterCommit = Outcome.COMMITTED;
        return switch (cell.fault()) {
            case CRIU_KILLED -> switch (phase) {
                case PREFLIGHT -> Expectation.of(Outcome.ROLLED_BACK, Phase.PREFLIGHT);
                case PAGE_SERVER -> Expectation.na("the CRIU of this phase is the page server: see page server killed");
                case DUMP, RESTORE -> Expectation.of(Outcome.ROLLED_BACK, phase);
                // The agent reports CRIU's death at once; the engine notices it at the next phase start, at
                // the latest before the commit.
                case COPY_IMAGES -> oneShot ? Expectation.of(Outcome.ROLLED_BACK, Phase.COPY_IMAGES,
                        Phase.PAGE_SERVER_STATUS, Phase.RESTORE, Phase.COMMIT)
                        : Expectation.na("no CRIU runs: the source waits stopped by the kernel, not held by CRIU");
                case PAGE_SERVER_STATUS -> Expectation.na(oneShot
                        ? "the same state as in copy-images: only the source's CRIU runs, waiting at the commit point"
                        : "no CRIU runs: the source waits stopped by the kernel, not held by CRIU");
                case COMMIT -> oneShot ? Expectation.of(Outcome.ROLLED_BACK, Phase.COMMIT)
                        : Expectation.na("no CRIU runs: the agent kills the stopped source itself");
                case CLEANUP -> Expectation.na("no CRIU runs any more: the page server and the dump have ended");
            };
            case AGENT_KILLED, SSH_DROPPED -> switch (phase) {
                case CLEANUP -> Expectation.of(afterCommit);
                case PAGE_SERVER_STATUS -> oneShot
                        // The page server's outcome may have arrived before the phase began: then the agent's
                        // death is noticed by the restore's request.
                        ? Expectation.of(Outcome.ROLLED_BACK, Phase.PAGE_SERVER_STATUS, Phase.RESTORE)
                        : Expectation.of(Outcome.ROLLED_BACK, phase);
                default -> Expectation.of(Outcome.ROLLED_BACK, phase);
            };
            case PAGE_SERVER_KILLED -> switch (phase) {
                case PAGE_SERVER -> Expectation.of(Outcome.ROLLED_BACK, Phase.PAGE_SERVER, Phase.DUMP);
                case DUMP -> Expectation.of(Outcome.ROLLED_BACK, Phase.DUMP);
                case PREFLIGHT -> Expectation.na("no page server yet");
                default -> Expectation.na("the page server has exited: it ends when the dump disconnects");
            };
            case CONTROLLER_KILLED -> switch (phase) {
                case COMMIT -> oneShot ? Expectation.of(Outcome.WINDOW) : Expectation.of(Outcome.ABORTED);
                case CLEANUP -> oneShot ? Expectation.of(afterCommit) : Expectation.of(Outcome.ABORTED_AFTER_COMMIT);
                default -> oneShot ? Expectation.of(Outcome.AGENTS_ROLLED_BACK) : Expectation.of(Outcome.ABORTED);
            };
            case TMPFS_FULL -> switch (phase) {
                case PREFLIGHT -> Expectation.of(Outcome.ROLLED_BACK, Phase.PREFLIGHT);
                case PAGE_SERVER -> Expectation.na("the page server mounts a fresh tmpfs; one too small for the tree is "
                        + "refused in the preflight");
                case DUMP, COPY_IMAGES -> Expectation.of(Outcome.ROLLED_BACK, phase);
                case RESTORE -> Expectation.of(Outcome.ROLLED_BACK, Phase.RESTORE);
                case PAGE_SERVER_STATUS -> Expectation.na("nothing is written on the destination in this phase");
                case COMMIT, CLEANUP -> Expectation.na("nothing is written on the destination's tmpfs any more");
            };
            case DEADLINE -> switch (phase) {
                case CLEANUP -> Expectation.na("clean-up runs whatever the deadline: each of its steps has its own bound");
                // The page server's own deadline: it stops and removes itself; the dump step finds no page server.
                case PAGE_SERVER -> oneShot ? Expectation.of(Outcome.ROLLED_BACK, Phase.PAGE_SERVER)
                        : Expectation.of(Outcome.ROLLED_BACK, Phase.DUMP);
                default -> Expectation.of(Outcome.ROLLED_BACK, phase);
            };
            case STREAM_CUT, STREAM_STALLED -> !oneShot
                    ? Expectation.na("the dump step has no rate cap to hold its stream open long enough to be hit; "
                            + "its relay is the one-shot migration's (see those cells)")
                    : phase == Phase.DUMP ? Expectation.of(Outcome.ROLLED_BACK, Phase.DUMP)
                    : Expectation.na("no page stream flows: the relay carries pages only while the dump sends them");
            case DAMAGED_IMAGE -> switch (phase) {
                case PREFLIGHT, PAGE_SERVER -> Expectation.na("no images exist yet");
                case DUMP -> Expectation.na("pages in flight are authenticated by TLS (a changed byte fails the "
                        + "record); CRIU keeps no checksum of page images at rest, which only root on the destination "
                        + "can change");
                case COPY_IMAGES, RESTORE -> Expectation.of(Outcome.ROLLED_BACK, Phase.RESTORE);
                case PAGE_SERVER_STATUS -> Expectation.na("no image is read in this phase: damage before the restore "
                        + "is the restore cell");
                case COMMIT, CLEANUP -> Expectation.na("the images are not read any more");
            };
        };
    }

    // ---- the test ---------------------------------------------------------------------------------

    @AfterEach
    void liftDeadlineCap() {
        EngineClock.reset();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void cell(Cell cell) throws Exception {
        long start = System.nanoTime();
        try {
            String noticed = run(cell, expectation(cell));
            RESULTS.put(cell, new Result("passed", noticed, "", seconds(start)));
            System.out.println("[matrix] passed in " + seconds(start) + " s: " + cell + ": " + noticed);
        } catch (Throwable e) {
            RESULTS.put(cell, new Result("FAILED", "", firstLine(String.valueOf(e.getMessage())), seconds(start)));
            System.out.println("[matrix] FAILED in " + seconds(start) + " s: " + cell + ": " + e);
            throw e;
        }
    }

    /** Runs the cell; returns what the matrix says about where and why it was noticed. */
    private String run(Cell cell, Expectation expected) throws Exception {
        Workload workload = workload("8M", 0);
        Workload.Tick before = workload.lastTick();
        if (cell.fault() == Fault.CONTROLLER_KILLED) {
            return controllerKilled(cell, expected, workload, before);
        }
        Injection injection = new Injection(cell, workload);
        RecordingListener listener = injection.listener();
        MigrationException failure = null;
        try {
            if (cell.flow() == Flow.ONE_SHOT) {
                MigrationSpec.Builder spec = MigrationSpec.builder(from(), to(), workload.rootPid())
                        .imagesDir(imagesRoot.toString());
                if (cell.fault() == Fault.CRIU_KILLED && cell.phase() == Phase.PREFLIGHT) {
                    spec.recheck(true); // CRIU checks the hosts again: kept answers would start no CRIU to kill
                }
                if (cell.fault() == Fault.TMPFS_FULL && cell.phase() == Phase.PREFLIGHT) {
                    spec.tmpfsSize("4M");
                    injection.fired("a tmpfs of 4M for 8M of memory");
                }
                if (cell.fault() == Fault.STREAM_CUT || cell.fault() == Fault.STREAM_STALLED) {
                    // The stream lasts long enough to be hit: 2 MiB a second for 8 MiB.
                    spec.pageStream(new PageStream(PageStream.Transport.RELAY, false, 2L << 20));
                }
                try (MigrationEngine engine = engine(listener)) {
                    engine.migrate(spec.build());
                }
            } else {
                threeSteps(cell, workload, listener, injection);
            }
        } catch (MigrationException e) {
            failure = e;
            System.out.println("[cell] " + cell + ": " + e.describe());
        } finally {
            injection.stop();
        }
        assertNotNull(injection.what.get(), "the fault was injected");
        String noticed;
        if (expected.outcome() == Outcome.COMMITTED) {
            if (failure != null) {
                assertEquals(Phase.CLEANUP, failure.phase(), failure.describe());
            }
            assertTheDestinationRunsItAlone(workload, before);
            noticed = failure == null ? "completed; the clean-up made up for it" : failure.phase().label();
        } else {
            assertNotNull(failure, "the migration failed");
            assertTrue(expected.noticedIn().contains(failure.phase()), "noticed in " + failure.phase() + ", expected "
                    + expected.noticedIn() + ": " + failure.describe());
            assertFalse(failure.getMessage().isBlank());
            assertTrue(failure.describe().startsWith(failure.phase().label() + " failed: "), failure.describe());
            if (cell.fault() == Fault.DEADLINE && expected.noticedIn().contains(cell.phase())) {
                assertEquals(Kind.TIMEOUT, failure.kind(), failure.describe());
            }
            if (cell.fault() == Fault.TMPFS_FULL && cell.phase() == Phase.PREFLIGHT) {
                assertEquals(Kind.INCOMPATIBLE, failure.kind(), failure.describe());
                assertTrue(failure.getMessage().contains("a tmpfs of 4M"), failure.getMessage());
            }
            if (cell.phase().compareTo(Phase.DUMP) >= 0) {
                // The tree was frozen: the failure must say that the source runs again.
                assertTrue(failure.sourceResumed(), "the failure reports the source resumed: " + failure.describe());
            }
            assertSourceRunsWithItsState(workload, before);
            noticed = failure.phase().label() + " (" + failure.kind() + "): " + abbreviate(failure.getMessage());
        }
        assertNothingLeft();
        return noticed;
    }

    private void threeSteps(Cell cell, Workload workload, RecordingListener listener, Injection injection)
            throws Exception {
        PageServerSpec.Builder pageServerSpec = PageServerSpec.builder()
                .imagesDir(imagesRoot.resolve("step.pages").toString()).tmpfsSize("64M");
        boolean pageServerDeadline = cell.fault() == Fault.DEADLINE && cell.phase() == Phase.PAGE_SERVER;
        if (pageServerDeadline) {
            pageServerSpec.timeout(Duration.ofSeconds(6));
        }
        PageServerInfo pageServer;
        try (MigrationEngine engine = engine(listener)) {
            pageServer = engine.startPageServer(to(), pageServerSpec.build());
        }
        if (pageServerDeadline) {
            // No dump within its deadline: the page server stops and removes everything it made.
            injection.fired("the page server's 6 s passed without a dump");
            awaitCondition(() -> isEmpty(imagesRoot), Duration.ofSeconds(30), "the page server removed itself");
        }
        DumpInfo dump;
        try (MigrationEngine engine = engine(listener)) {
            dump = engine.dump(from(), DumpSpec.of(workload.rootPid()), pageServer);
        }
        try (MigrationEngine engine = engine(listener)) {
            engine.restore(to(), RestoreSpec.defaults(), dump);
        }
    }

    // ---- injecting faults -------------------------------------------------------------------------

    /** Does the cell's fault when its phase starts (on the engine's thread) or from a watcher it starts. */
    private final class Injection {
        final Cell cell;
        final Workload workload;
        final AtomicReference<String> what = new AtomicReference<>();
        final List<Thread> watchers = new ArrayList<>();
        RecordingListener recorded;

        Injection(Cell cell, Workload workload) {
            this.cell = cell;
            this.workload = workload;
        }

        void fired(String description) {
            what.compareAndSet(null, description);
            System.out.println("[fault] " + cell + ": " + description);
        }

        RecordingListener listener() {
            recorded = new RecordingListener() {
                @Override
                public void phaseStarted(Phase phase) {
                    super.phaseStarted(phase);
                    if (phase == cell.phase() && what.get() == null) {
                        try {
                            inject();
                        } catch (Exception e) {
                            throw new IllegalStateException("injecting " + cell + " failed", e);
                        }
                    }
                }

                @Override
                public void phaseFinished(Phase phase, Duration duration) {
                    super.phaseFinished(phase, duration);
                    if (phase == cell.phase()) {
                        watchers.forEach(Thread::interrupt); // a fault of this phase only
                    }
                }
            };
            return recorded;
        }

        private SshdHost host() {
            return onSource(cell.phase()) ? source : destination;
        }

        /** The phase opens its SSH sessions itself: its agents are to be waited for, not there yet. */
        private boolean opensSessions() {
            Phase phase = cell.phase();
            return phase == Phase.PREFLIGHT || (cell.flow() == Flow.THREE_STEP
                    && (phase == Phase.PAGE_SERVER || phase == Phase.COPY_IMAGES));
        }

        private void inject() throws Exception {
            Phase phase = cell.phase();
            switch (cell.fault()) {
                case CRIU_KILLED -> {
                    if (phase == Phase.PREFLIGHT) {
                        // Every CRIU the destination's check starts, for as long as the phase runs.
                        watch(() -> {
                            List<ProcessHandle> criu = criuUnder(destination);
                            criu.forEach(ProcessHandle::destroyForcibly);
                            return !criu.isEmpty();
                        }, false, "the destination check's CRIU killed");
                    } else if (phase == Phase.COPY_IMAGES || phase == Phase.COMMIT) {
                        // The dump waits at its commit point, the tree frozen.
                        killAll(criuUnder(source), "the source's CRIU, waiting at the commit point");
                        awaitCondition(() -> running(workload.rootPid()), WATCH, "the source runs again");
                    } else {
                        watchOnce(() -> criuUnder(host()), ProcessHandle::destroyForcibly,
                                "CRIU killed while it " + (phase == Phase.DUMP ? "dumped" : "restored"));
                    }
                }
                case AGENT_KILLED -> {
                    if (opensSessions()) {
                        SshdHost host = host();
                        watchOnce(() -> agentsUnder(host), ProcessHandle::destroyForcibly,
                                "the " + (onSource(phase) ? "source" : "destination") + "'s agent killed as it started");
                    } else if (phase == Phase.DUMP || phase == Phase.RESTORE) {
                        SshdHost host = host();
                        watchOnce(() -> criuUnder(host), criu -> agentsUnder(host).forEach(ProcessHandle::destroyForcibly),
                                "the agents killed while CRIU " + (phase == Phase.DUMP ? "dumped" : "restored"));
                    } else {
                        killAll(agentsUnder(host()), "the " + (onSource(phase) ? "source" : "destination")
                                + "'s agents killed");
                    }
                }
                case SSH_DROPPED -> {
                    SshdHost host = host();
                    if (opensSessions()) {
                        watchOnce(() -> agentsUnder(host), agent -> host.killSessions(),
                                "the " + (onSource(phase) ? "source" : "destination")
                                        + "'s SSH sessions dropped as its agent started");
                    } else if (phase == Phase.DUMP || phase == Phase.RESTORE) {
                        watchOnce(() -> criuUnder(host), criu -> host.killSessions(),
                                "SSH to the " + (onSource(phase) ? "source" : "destination") + " dropped while CRIU ran");
                    } else {
                        host.killSessions();
                        fired("SSH to the " + (onSource(phase) ? "source" : "destination") + " dropped");
                    }
                }
                case PAGE_SERVER_KILLED -> {
                    if (phase == Phase.PAGE_SERVER) {
                        watchOnce(() -> criuIn(imagesRoot), ProcessHandle::destroyForcibly,
                                "the page server killed as soon as it ran");
                    } else {
                        Path pages = pagesDir();
                        watchOnce(() -> criuUnder(source), criu -> criuIn(pages).forEach(ProcessHandle::destroyForcibly),
                                "the page server killed while the dump sent pages");
                    }
                }
                case TMPFS_FULL -> {
                    long bytes = fill(pagesDir());
                    fired("the destination's tmpfs filled up (" + (bytes >> 20) + " MiB of filler)");
                }
                case DEADLINE -> {
                    if (phase == Phase.PAGE_SERVER && cell.flow() == Flow.THREE_STEP) {
                        return; // the page server's own deadline: see threeSteps
                    }
                    if (phase == Phase.DUMP || phase == Phase.RESTORE) {
                        // CRIU hangs; the agent's deadline ends it. The three-step dump step first
                        // connects to both hosts: it needs more of the time left before CRIU starts.
                        long left = cell.flow() == Flow.THREE_STEP && phase == Phase.DUMP ? 12 : 4;
                        EngineClock.expireWithin(Duration.ofSeconds(left));
                        watchOnce(() -> criuUnder(host()), criu -> Procs.signal((int) criu.pid(), "STOP"),
                                left + " s left and CRIU hung (SIGSTOP)");
                    } else {
                        EngineClock.expireWithin(Duration.ZERO);
                        fired("the deadline passed");
                    }
                }
                case DAMAGED_IMAGE -> {
                    Path dir = phase == Phase.COPY_IMAGES ? dumpDir() : pagesDir();
                    fired("damaged " + damage(dir));
                }
                case STREAM_CUT -> watchOnce(() -> criuUnder(source), criu -> {
                    pause(Duration.ofSeconds(1));  // pages flow
                    int port = relayPort();
                    // Both ends of the relay's connection, as a broken network would (ECONNABORTED).
                    run("ss", "-K", "dst", "127.0.0.1", "dport", "=", ":" + port);
                    run("ss", "-K", "src", "127.0.0.1", "sport", "=", ":" + port);
                }, "the relay's connection cut (ss -K) while the dump sent pages");
                case STREAM_STALLED -> watchOnce(() -> criuUnder(source), criu -> {
                    pause(Duration.ofSeconds(1));
                    List<ProcessHandle> agents = agentsUnder(destination);
                    agents.forEach(agent -> Procs.signal((int) agent.pid(), "STOP"));
                    // The source's relay gives up after its stall timeout; the destination's agent then
                    // goes on, as a reader that was only slow would.
                    try {
                        awaitCondition(() -> criuUnder(source).isEmpty(), Duration.ofSeconds(90), "the dump ended");
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } finally {
                        agents.forEach(agent -> Procs.signal((int) agent.pid(), "CONT"));
                    }
                }, "the destination's agent stopped reading the page stream (SIGSTOP)");
                default -> throw new IllegalStateException(cell.toString());
            }
        }

        /** The port the destination's relay listens on, from the page server phase's log line. */
        private int relayPort() {
            for (String line : recorded.logs) {
                java.util.regex.Matcher port = java.util.regex.Pattern.compile("the page server listens on \\S+ port (\\d+)")
                        .matcher(line);
                if (port.find()) {
                    return Integer.parseInt(port.group(1));
                }
            }
            throw new IllegalStateException("no page server port in the log: " + recorded.logs);
        }

        /** Kills each process and waits until it is gone. */
        private void killAll(List<ProcessHandle> processes, String description) throws InterruptedException {
            assertFalse(processes.isEmpty(), "something to kill for " + cell);
            processes.forEach(ProcessHandle::destroyForcibly);
            awaitCondition(() -> processes.stream().noneMatch(ProcessHandle::isAlive), WATCH, description);
            fired(description);
        }

        /** A watcher that does {@code action} to the first process {@code find} turns up. */
        private void watchOnce(java.util.function.Supplier<List<ProcessHandle>> find,
                               java.util.function.Consumer<ProcessHandle> action, String description) {
            watch(() -> {
                List<ProcessHandle> found = find.get();
                if (found.isEmpty()) {
                    return false;
                }
                action.accept(found.get(0));
                return true;
            }, true, description);
        }

        /**
         * Polls {@code attempt} until it returns true (then fires), for at most {@link #WATCH}; {@code once}
         * stops at the first success, else it goes on until the phase is over.
         */
        private void watch(BooleanSupplier attempt, boolean once, String description) {
            Thread watcher = new Thread(() -> {
                long until = System.nanoTime() + WATCH.toNanos();
                while (System.nanoTime() < until) {
                    if (attempt.getAsBoolean()) {
                        fired(description);
                        if (once) {
                            return;
                        }
                    }
                    try {
                        Thread.sleep(1); // a scan of /proc takes longer; spinning would starve the hosts
                    } catch (InterruptedException phaseOver) {
                        return;
                    }
                }
            }, "fault-watcher");
            watcher.setDaemon(true);
            watchers.add(watcher);
            watcher.start();
        }

        void stop() throws InterruptedException {
            for (Thread watcher : watchers) {
                watcher.interrupt();
                watcher.join(5000);
            }
            // A CRIU stopped by a deadline cell was killed by its agent; one that was not would be left.
            criuUnder(source).forEach(p -> Procs.signal((int) p.pid(), "CONT"));
            criuUnder(destination).forEach(p -> Procs.signal((int) p.pid(), "CONT"));
        }
    }

    // ---- the controller killed: a controller process of its own, SIGKILLed ------------------------

    private String controllerKilled(Cell cell, Expectation expected, Workload workload, Workload.Tick before)
            throws Exception {
        Path state = stateDir.resolve("state-" + System.nanoTime() + ".json");
        String pid = String.valueOf(workload.rootPid());
        if (cell.flow() == Flow.ONE_SHOT) {
            killDuring(cell.phase(), state, "migrate", from().toString(), to().toString(), pid, imagesRoot.toString());
        } else if (cell.phase() == Phase.PAGE_SERVER) {
            killDuring(Phase.PAGE_SERVER, state, "page-server", to().toString(),
                    imagesRoot.resolve("step.pages").toString(), "8");
        } else {
            // The steps before run as a pipeline would, their results in the state file criu-migrate uses.
            PageServerInfo pageServer;
            try (MigrationEngine engine = engine(new RecordingListener())) {
                pageServer = engine.startPageServer(to(), PageServerSpec.builder()
                        .imagesDir(imagesRoot.resolve("step.pages").toString()).tmpfsSize("64M").build());
            }
            FaultMatrixController.write(state, "pageServer", pageServer.toMap());
            if (cell.phase() == Phase.DUMP) {
                killDuring(Phase.DUMP, state, "dump", from().toString(), pid);
            } else {
                try (MigrationEngine engine = engine(new RecordingListener())) {
                    FaultMatrixController.write(state, "dump",
                            engine.dump(from(), DumpSpec.of(workload.rootPid()), pageServer).toMap());
                }
                killDuring(cell.phase(), state, "restore");
            }
        }
        // The controller is gone: its agents notice their input closing and undo what they made.
        awaitCondition(() -> servingAgents().isEmpty(), Duration.ofSeconds(90), "the dead controller's agents ended");
        String noticed = "killed in " + cell.phase().label();
        switch (expected.outcome()) {
            case AGENTS_ROLLED_BACK -> assertSourceRunsWithItsState(workload, before);
            case COMMITTED -> assertTheDestinationRunsItAlone(workload, before);
            case WINDOW -> noticed += "; " + window(workload, before);
            case ABORTED, ABORTED_AFTER_COMMIT -> noticed += "; " + abortAfterwards(state, workload, before,
                    expected.outcome() == Outcome.ABORTED_AFTER_COMMIT);
            default -> fail("no such outcome for " + cell);
        }
        assertNothingLeft();
        return noticed;
    }

    /**
     * The documented window: the controller died after the restore, before the commit reached the
     * source. The source's agent resumed it, and nobody told the destination that its copy is not the
     * one: two copies run, both with the state (docs/criu-migrate.md, Limits) - never none. The second
     * copy is stopped here so that the next cells start clean.
     */
    private String window(Workload workload, Workload.Tick before) throws Exception {
        List<Integer> roots = workload.roots();
        assertEquals(2, roots.size(), "the source and the restored copy: " + roots);
        assertTrue(roots.contains(workload.rootPid()) && running(workload.rootPid()), "the source runs");
        for (int root : roots) {
            if (root != workload.rootPid()) {
                assertTrue(running(root), "the restored copy runs");
                ProcessHandle.of(root).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        awaitCondition(() -> rootsOf(workload).size() == 1, WATCH, "the restored copy ended");
        assertSourceRunsWithItsState(workload, before);
        return "the source was resumed by its agent, and the restored copy ran too";
    }

    /** Three-step: the state file given up with criu-migrate abort; or, without one, the page server's deadline. */
    private String abortAfterwards(Path state, Workload workload, Workload.Tick before, boolean afterCommit)
            throws Exception {
        if (!Files.exists(state)) {
            awaitCondition(() -> isEmpty(imagesRoot), Duration.ofSeconds(40), "the page server removed itself");
            assertSourceRunsWithItsState(workload, before);
            return "no state: the page server removed itself at its deadline (8 s)";
        }
        Run abort = criuMigrate("abort", "--state", state.toString(), "--json");
        assertEquals(0, abort.exit(), abort.err());
        String outcome = String.valueOf(((Map<?, ?>) dev.criumigration.migration.Documents.parseObject(abort.out())).get("outcome"));
        if (afterCommit) {
            assertEquals("ALREADY_MIGRATED", outcome);
            assertTheDestinationRunsItAlone(workload, before);
        } else {
            assertTrue(outcome.equals("SOURCE_RESUMED") || outcome.equals("PAGE_SERVER_REMOVED"), outcome);
            assertSourceRunsWithItsState(workload, before);
        }
        return "criu-migrate abort: " + outcome;
    }

    /**
     * Runs {@link FaultMatrixController} and SIGKILLs it in {@code phase}: parked at the phase's start,
     * or - for the phases where CRIU works - once CRIU (or the page server) runs.
     */
    private void killDuring(Phase phase, Path state, String... command) throws Exception {
        boolean criuPhase = phase == Phase.PREFLIGHT || phase == Phase.PAGE_SERVER || phase == Phase.DUMP
                || phase == Phase.RESTORE;
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), FaultMatrixController.class.getName(),
                keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH).toString(), knownHosts.toString(), agentDir.toString(),
                stateDir.toString(), criuPhase ? "-" : phase.label(), state.toString()));
        argv.addAll(List.of(command));
        Process controller = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        boolean killed = false;
        try (BufferedReader err = new BufferedReader(new InputStreamReader(controller.getErrorStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = err.readLine()) != null) {
                System.out.println("[controller] " + line);
                if (line.equals("==> " + phase.label()) && criuPhase) {
                    BooleanSupplier working = switch (phase) {
                        case PREFLIGHT -> () -> !agentsUnder(destination).isEmpty();
                        case PAGE_SERVER -> () -> !criuIn(imagesRoot).isEmpty();
                        case DUMP -> () -> !criuUnder(source).isEmpty();
                        default -> () -> !criuUnder(destination).isEmpty();
                    };
                    awaitCondition(working, WATCH, "CRIU works in " + phase.label());
                } else if (!line.equals("parked")) {
                    continue;
                }
                controller.destroyForcibly(); // SIGKILL: no shutdown hook, no rollback from the controller
                killed = true;
                break;
            }
        } finally {
            controller.destroyForcibly();
            assertTrue(controller.waitFor(30, TimeUnit.SECONDS));
        }
        assertTrue(killed, "the controller was killed in " + phase.label());
    }

    /** Agents still serving a controller (also those that sshd let go of). */
    private List<Integer> servingAgents() {
        try {
            return Procs.pids().stream().filter(pid -> {
                List<String> argv = Procs.cmdline(pid);
                return argv.contains("serve") && argv.stream().anyMatch(a -> a.startsWith(agentDir.toString()));
            }).toList();
        } catch (IOException e) {
            return List.of(-1);
        }
    }

    private static List<Integer> rootsOf(Workload workload) {
        try {
            return workload.roots();
        } catch (IOException e) {
            return List.of();
        }
    }

    record Run(int exit, String out, String err) {}

    private Run criuMigrate(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = MigrateMain.run(withConnection(args).toArray(String[]::new),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        Run run = new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        System.out.println("criu-migrate " + String.join(" ", args) + " -> " + exit + "\n" + run.err() + run.out());
        return run;
    }

    private List<String> withConnection(String... args) {
        List<String> argv = new ArrayList<>(List.of(args));
        int at = argv.get(0).startsWith("-") ? 0 : 1;
        argv.addAll(at, List.of("-i", keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH).toString(), "--known-hosts",
                knownHosts.toString(), "--agent-dir", agentDir.toString(), "--images-base", stateDir.toString()));
        return argv;
    }

    // ---- what the hosts hold ------------------------------------------------------------------------

    private Path pagesDir() throws IOException {
        return only(".pages");
    }

    private Path dumpDir() throws IOException {
        return only(".dump");
    }

    private Path only(String suffix) throws IOException {
        try (Stream<Path> dirs = Files.list(imagesRoot)) {
            return dirs.filter(d -> d.getFileName().toString().endsWith(suffix)).findFirst()
                    .orElseThrow(() -> new AssertionError("no *" + suffix + " in " + imagesRoot));
        }
    }

    private static List<ProcessHandle> criuUnder(SshdHost host) {
        return host.descendants().filter(p -> Procs.comm((int) p.pid()).equals("criu")).toList();
    }

    private static List<ProcessHandle> agentsUnder(SshdHost host) {
        return host.descendants().filter(p -> {
            List<String> argv = Procs.cmdline((int) p.pid());
            return argv.contains("serve") && argv.stream().anyMatch(a -> a.contains("criu-agent-"));
        }).toList();
    }

    /** CRIU processes working in {@code dir} (the page server, detached or not). */
    private static List<ProcessHandle> criuIn(Path dir) {
        try {
            return Procs.byComm("criu").stream().filter(pid -> holdsFileUnder(pid, dir))
                    .map(pid -> ProcessHandle.of(pid).orElse(null)).filter(java.util.Objects::nonNull).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static boolean running(int pid) {
        char state = Procs.state(pid);
        return state == 'S' || state == 'R';
    }

    /** Fills the tmpfs on {@code dir} to the last byte; the bytes written. */
    private static long fill(Path dir) throws IOException {
        long written = 0;
        byte[] block = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(dir.resolve("filler"))) {
            while (true) {
                out.write(block);
                written += block.length;
            }
        } catch (IOException full) {
            if (!String.valueOf(full.getMessage()).contains("No space left")) {
                throw full;
            }
        }
        byte[] small = new byte[512];
        for (int i = 0; ; i++) {
            try (OutputStream out = Files.newOutputStream(dir.resolve("filler-" + i))) {
                out.write(small);
                written += small.length;
            } catch (IOException full) {
                return written;
            }
        }
    }

    /** Garbles a process's core image (CRIU's magic kept, its entries not). */
    private static String damage(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            Path core = files.filter(f -> f.getFileName().toString().startsWith("core-")).findFirst()
                    .orElseThrow(() -> new AssertionError("no core image in " + dir));
            byte[] bytes = Files.readAllBytes(core);
            for (int i = 8; i < bytes.length; i++) {
                bytes[i] = (byte) 0xA5;
            }
            Files.write(core, bytes);
            return core.getFileName().toString();
        }
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    /** One copy runs, the restored one, going on from the source's state. */
    private static void assertTheDestinationRunsItAlone(Workload workload, Workload.Tick before) throws Exception {
        List<Integer> roots = workload.roots();
        assertEquals(1, roots.size(), "one copy runs: " + roots);
        assertFalse(roots.contains(workload.rootPid()), "the source is gone");
        assertTrue(running(roots.get(0)), "the restored root runs");
        Workload.Tick after = workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20));
        assertEquals(before.checksum(), after.checksum(), "memory intact");
    }

    /** Sleeps in a fault watcher (its Consumer cannot throw). */
    private static void pause(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs a command and waits for it (ss -K), best effort. */
    private static void run(String... command) {
        try {
            new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitCondition(BooleanSupplier condition, Duration timeout, String what)
            throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > until) {
                throw new AssertionError("not within " + timeout.toSeconds() + " s: " + what);
            }
            Thread.sleep(50);
        }
    }

    private static long seconds(long startNanos) {
        return TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNanos);
    }

    private static String firstLine(String text) {
        return text.strip().lines().findFirst().orElse("");
    }

    private static String abbreviate(String text) {
        String line = firstLine(text).replace('|', '/');
        return line.length() <= 140 ? line : line.substring(0, 137) + "...";
    }

    // ---- the matrix, written down -----------------------------------------------------------------

    @AfterAll
    static void writeMatrix() throws IOException {
        if (RESULTS.isEmpty()) {
            return;
        }
        String grid = grid();
        String details = details();
        Path target = Path.of("target");
        Files.createDirectories(target);
        Files.writeString(target.resolve("fault-matrix.md"), grid + "\n" + details);
        System.out.println(grid);
        boolean complete = RESULTS.size() == applicableCells();
        Path doc = docs();
        if (!complete || doc == null) {
            return; // a part of the matrix ran (-Dtest=...#cell...): nothing to compare
        }
        String text = Files.readString(doc);
        int begin = text.indexOf(DOC_BEGIN);
        int end = text.indexOf(DOC_END);
        assertTrue(begin >= 0 && end > begin, doc + " has no " + DOC_BEGIN + " ... " + DOC_END + " block");
        if (Boolean.getBoolean("fault-matrix.write-docs")) {
            Files.writeString(doc, text.substring(0, begin + DOC_BEGIN.length()) + "\n" + grid + "\n" + details
                    + text.substring(end));
            return;
        }
        String current = text.substring(begin + DOC_BEGIN.length(), end);
        assertTrue(current.contains(grid), doc + " is stale: its fault matrix differs from this run's "
                + "(target/fault-matrix.md). Run the matrix with -Dfault-matrix.write-docs=true to update it.");
    }

    private static Path docs() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.exists(dir.resolve("docs/reliability.md"))) {
                return dir.resolve("docs/reliability.md");
            }
        }
        return null;
    }

    /** The deterministic part: per flow, phases by faults, each cell's expected outcome and whether it held. */
    static String grid() {
        StringBuilder text = new StringBuilder();
        long passed = RESULTS.values().stream().filter(r -> r.status().equals("passed")).count();
        long failed = RESULTS.size() - passed;
        long na = allCells().stream().filter(c -> expectation(c).notApplicable() != null).count();
        text.append(String.format(Locale.ROOT, "%d cells: %d passed, %d failed, %d N/A (%d not run).%n%n",
                allCells().size(), passed, failed, na, allCells().size() - na - RESULTS.size()));
        for (Flow flow : Flow.values()) {
            text.append("**").append(flow.label).append("**\n\n| phase |");
            for (Fault fault : Fault.values()) {
                text.append(' ').append(fault.label).append(" |");
            }
            text.append("\n|---|").append("---|".repeat(Fault.values().length)).append('\n');
            for (Phase phase : flow == Flow.ONE_SHOT ? List.of(Phase.values()) : THREE_STEP_PHASES) {
                text.append("| ").append(phase.label()).append(" |");
                for (Fault fault : Fault.values()) {
                    Cell cell = new Cell(flow, phase, fault);
                    Expectation expected = expectation(cell);
                    Result result = RESULTS.get(cell);
                    text.append(' ').append(expected.notApplicable() != null ? "N/A"
                            : (result == null ? "not run" : result.status().equals("passed") ? "✔" : "✘ FAILED")
                            + " " + expected.outcome().label).append(" |");
                }
                text.append('\n');
            }
            text.append('\n');
        }
        return text.toString();
    }

    /** What each cell did (messages vary from run to run) and why the others are N/A. */
    static String details() {
        StringBuilder text = new StringBuilder("<details><summary>Each cell: the fault, where it was noticed, "
                + "and the N/A reasons</summary>\n\n| cell | outcome | noticed in (kind): message | s |\n|---|---|---|---|\n");
        Map<String, String> reasons = new TreeMap<>();
        for (Cell cell : allCells()) {
            Expectation expected = expectation(cell);
            if (expected.notApplicable() != null) {
                reasons.merge(expected.notApplicable(), cell.toString(), (a, b) -> a + "; " + b);
                continue;
            }
            Result result = RESULTS.get(cell);
            text.append("| ").append(cell).append(" | ").append(expected.outcome().label).append(" | ")
                    .append(result == null ? "not run" : result.status().equals("passed") ? result.noticed()
                            : "FAILED: " + result.detail()).append(" | ")
                    .append(result == null ? "" : result.seconds()).append(" |\n");
        }
        text.append("\nN/A:\n\n| why | cells |\n|---|---|\n");
        reasons.forEach((why, cells) -> text.append("| ").append(why).append(" | ").append(cells).append(" |\n"));
        return text.append("\n</details>\n").toString();
    }
}
