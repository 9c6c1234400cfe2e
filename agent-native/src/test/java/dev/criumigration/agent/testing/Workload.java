package dev.criumigration.agent.testing;

import dev.criumigration.agent.nativeio.Processes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shared stateful workload ({@code src/workloads/start-workload.sh}) in its own PID namespace:
 * its log lines {@code tick=N checksum=HEX pid=P} prove it goes on and that its memory is intact.
 * {@link #close()} kills its tree (and a restored copy's, see {@link #alsoKillOnClose(int)}).
 */
public final class Workload implements AutoCloseable {
    private static final Pattern TICK = Pattern.compile("^tick=(\\d+) checksum=([0-9a-f]+) pid=(\\d+)$");

    private final int rootPid;
    private final Path log;
    private final List<Integer> othersToKill = new ArrayList<>();

    private Workload(int rootPid, Path log) {
        this.rootPid = rootPid;
        this.log = log;
    }

    /** Starts it with its log at {@code log}; {@code options} are start-workload.sh's ({@code --net} first) and the workload's. */
    public static Workload start(Path log, String... options) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(script().toString());
        List<String> rest = new ArrayList<>(List.of(options));
        if (!rest.isEmpty() && rest.get(0).equals("--net")) {
            command.add(rest.remove(0));
        }
        command.add(log.toString());
        command.addAll(rest);
        Process starter = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (!starter.waitFor(60, TimeUnit.SECONDS)) {
            starter.destroyForcibly();
            throw new IOException("start-workload.sh did not finish in 60 s");
        }
        String output = new String(starter.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (starter.exitValue() != 0) {
            throw new IOException("start-workload.sh failed: " + output);
        }
        return new Workload(Integer.parseInt(output), log);
    }

    /** start-workload.sh, found from the working directory upwards (Maven runs tests in the module). */
    public static Path script() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path script = dir.resolve("src/workloads/start-workload.sh");
            if (Files.isExecutable(script)) {
                return script;
            }
        }
        throw new IOException("src/workloads/start-workload.sh not found above " + Path.of("").toAbsolutePath());
    }

    /** The host PID of the tree's root (the PID namespace's init). */
    public int rootPid() {
        return rootPid;
    }

    public Path log() {
        return log;
    }

    /** A restored copy of this workload to kill on close as well. */
    public void alsoKillOnClose(int pid) {
        othersToKill.add(pid);
    }

    /** The last tick the namespace's init (pid=1 inside) logged. */
    public Optional<Tick> lastTick() throws IOException {
        Tick last = null;
        for (String line : Files.readAllLines(log)) {
            Matcher match = TICK.matcher(line);
            if (match.matches() && match.group(3).equals("1")) {
                last = new Tick(Long.parseLong(match.group(1)), match.group(2));
            }
        }
        return Optional.ofNullable(last);
    }

    /** Waits until init logs a tick beyond {@code tick}; the tick it logged, or empty on timeout. */
    public Optional<Tick> awaitTickAfter(long tick, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<Tick> last = lastTick();
            if (last.isPresent() && last.get().tick() > tick) {
                return last;
            }
            if (System.nanoTime() > deadline) {
                return Optional.empty();
            }
            Thread.sleep(50);
        }
    }

    public record Tick(long tick, String checksum) {
    }

    @Override
    public void close() throws IOException, InterruptedException {
        List<Integer> roots = new ArrayList<>(othersToKill);
        roots.add(rootPid);
        for (int root : roots) {
            if (Processes.exists(root)) {
                Processes.killTree(root);
            }
        }
        for (int root : roots) {
            if (!Processes.waitGone(root, Duration.ofSeconds(10))) {
                throw new IOException("workload " + root + " is still there 10 s after SIGKILL");
            }
        }
    }
}
