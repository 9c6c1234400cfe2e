package dev.criumigration.migration.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shared stateful workload (src/workloads/start-workload.sh) in its own PID namespace (and with
 * --net its own network namespace). Its log lines {@code tick=N checksum=HEX pid=P} prove it goes on
 * and that its memory is intact; a seed unique to the test finds every copy of it (source, restored).
 * {@link #close()} kills every copy.
 */
public final class Workload implements AutoCloseable {
    private static final Pattern TICK = Pattern.compile("^tick=(\\d+) checksum=([0-9a-f]+) pid=1$");

    private final int rootPid;
    private final Path log;
    private final String seed;
    private final int port;

    public record Tick(long tick, String checksum) {}

    private Workload(int rootPid, Path log, String seed, int port) {
        this.rootPid = rootPid;
        this.log = log;
        this.seed = seed;
        this.port = port;
    }

    /** Starts it with {@code memory} ("16M"); with {@code port} > 0 in its own network namespace serving TCP. */
    public static Workload start(Path log, String memory, int port) throws IOException, InterruptedException {
        return start(log, memory, port, null);
    }

    /** The same, every MiB of its memory starting with {@code marker} (null: none). */
    public static Workload start(Path log, String memory, int port, String marker) throws IOException, InterruptedException {
        String seed = String.valueOf(ThreadLocalRandom.current().nextInt(1_000_000, Integer.MAX_VALUE));
        List<String> command = new ArrayList<>(List.of(script().toString()));
        if (port > 0) {
            command.add("--net");
        }
        command.addAll(List.of(log.toString(), "--memory", memory, "--seed", seed, "--interval", "0.1"));
        if (port > 0) {
            command.addAll(List.of("--port", String.valueOf(port)));
        }
        if (marker != null) {
            command.addAll(List.of("--marker", marker));
        }
        Process starter = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (!starter.waitFor(60, TimeUnit.SECONDS)) {
            starter.destroyForcibly();
            throw new IOException("start-workload.sh did not finish in 60 s");
        }
        String output = new String(starter.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (starter.exitValue() != 0) {
            throw new IOException("start-workload.sh failed: " + output);
        }
        Workload workload = new Workload(Integer.parseInt(output), log, seed, port);
        workload.awaitTickAfter(-1, Duration.ofSeconds(30));
        return workload;
    }

    static Path script() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path script = dir.resolve("src/workloads/start-workload.sh");
            if (Files.isExecutable(script)) {
                return script;
            }
        }
        throw new IOException("src/workloads/start-workload.sh not found above " + Path.of("").toAbsolutePath());
    }

    /** The host PID of the source's root (its PID namespace's init). */
    public int rootPid() {
        return rootPid;
    }

    /** The last tick the root logged. */
    public Tick lastTick() throws IOException {
        Tick last = null;
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            Matcher m = TICK.matcher(line.strip());
            if (m.matches()) {
                last = new Tick(Long.parseLong(m.group(1)), m.group(2));
            }
        }
        if (last == null) {
            throw new IOException("no tick in " + log);
        }
        return last;
    }

    /** Waits for a tick later than {@code after}: the workload runs (wherever it is). */
    public Tick awaitTickAfter(long after, Duration timeout) throws IOException, InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < until) {
            try {
                Tick tick = lastTick();
                if (tick.tick() > after) {
                    return tick;
                }
            } catch (IOException noTickYet) {
                // starting
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no tick after " + after + " within " + timeout + "; log ends with: " + tail());
    }

    /** Host PIDs of the roots of every copy of this workload (source and restored ones). */
    public List<Integer> roots() throws IOException {
        List<Integer> roots = new ArrayList<>();
        for (int pid : Procs.pids()) {
            List<String> argv = Procs.cmdline(pid);
            if (argv.contains("--seed") && argv.contains(seed) && argv.stream().anyMatch(a -> a.endsWith("stateful_counter.py"))
                    && Procs.nsPid(pid) == 1) {
                roots.add(pid);
            }
        }
        return roots;
    }

    /** The state the workload serves over TCP, read inside the network namespace of {@code root}. */
    public String tcpState(int root) throws IOException, InterruptedException {
        Process nsenter = new ProcessBuilder("nsenter", "-t", String.valueOf(root), "-n", "python3", "-c",
                "import socket; s = socket.create_connection(('127.0.0.1', " + port + "), timeout=5); "
                        + "print(s.recv(200).decode().strip())").redirectErrorStream(true).start();
        if (!nsenter.waitFor(20, TimeUnit.SECONDS)) {
            nsenter.destroyForcibly();
            throw new IOException("reading the TCP state timed out");
        }
        return new String(nsenter.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    }

    public String tail() throws IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
    }

    /** Kills every copy (a PID namespace's init takes its namespace along) and waits until they are gone. */
    @Override
    public void close() throws IOException, InterruptedException {
        for (int root : roots()) {
            ProcessHandle.of(root).ifPresent(p -> {
                Procs.signal(root, "CONT");
                p.destroyForcibly();
            });
        }
        long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!roots().isEmpty() && System.nanoTime() < until) {
            Thread.sleep(50);
        }
    }
}
