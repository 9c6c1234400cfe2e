package dev.criumigration.agent.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shared stateful workload (src/workloads/start-workload.sh) in its own PID namespace, and the
 * trees restored from it. {@link #close()} kills every one of them, stopped or not.
 */
public final class Workload implements AutoCloseable {
  private static final Pattern TICK = Pattern.compile("^tick=(\\d+) checksum=(\\w+) pid=(\\d+)$");

  private final Path log;
  private final int rootPid;
  private final List<Integer> restoredRoots = new ArrayList<>();

  private Workload(Path log, int rootPid) {
    this.log = log;
    this.rootPid = rootPid;
  }

  /** One tick line of the log. */
  public record Tick(long tick, String checksum, int pid) {}

  /**
   * Starts the workload with {@code options} for stateful_counter.py (for example "--memory", "8M"),
   * in its own network namespace too when {@code net}.
   */
  public static Workload start(Path dir, boolean net, String... options)
      throws IOException, InterruptedException {
    Path log = dir.resolve("workload.log");
    List<String> command = new ArrayList<>(List.of(script().toString()));
    if (net) {
      command.add("--net");
    }
    command.add(log.toString());
    command.addAll(List.of(options));
    Process starter = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(starter.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (!starter.waitFor(30, TimeUnit.SECONDS) || starter.exitValue() != 0) {
      throw new IOException("start-workload.sh failed: " + output);
    }
    return new Workload(log, Integer.parseInt(output.lines().reduce((a, b) -> b).orElseThrow()));
  }

  /** src/workloads/start-workload.sh of this checkout, found from the module's directory upwards. */
  public static Path script() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve("src/workloads/start-workload.sh");
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException("src/workloads/start-workload.sh not found above "
        + Path.of("").toAbsolutePath());
  }

  public int rootPid() {
    return rootPid;
  }

  public Path log() {
    return log;
  }

  /** A restored copy of the tree, killed by {@link #close()} too. */
  public void adoptRestored(int pid) {
    restoredRoots.add(pid);
  }

  public Tick lastTick() throws IOException {
    List<String> lines = Files.readAllLines(log);
    for (int i = lines.size() - 1; i >= 0; i--) {
      Matcher m = TICK.matcher(lines.get(i));
      if (m.matches()) {
        return new Tick(Long.parseLong(m.group(1)), m.group(2), Integer.parseInt(m.group(3)));
      }
    }
    throw new IOException("no tick in " + log + ": " + lines);
  }

  /** Waits until the log shows a tick greater than {@code tick}; the tick it saw. */
  public Tick awaitTickAfter(long tick, Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Tick last = lastTick();
      if (last.tick() > tick) {
        return last;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no tick after " + tick + " within " + timeout + "; last " + last);
      }
      Thread.sleep(100);
    }
  }

  /** Whether no new tick appears for {@code quiet}: the tree is stopped (or gone). */
  public boolean staysQuiet(Duration quiet) throws IOException, InterruptedException {
    long before = lastTick().tick();
    Thread.sleep(quiet.toMillis());
    return lastTick().tick() == before;
  }

  @Override
  public void close() throws InterruptedException {
    List<Integer> roots = new ArrayList<>(restoredRoots);
    roots.add(rootPid);
    for (int pid : roots) {
      Procs.killTree(pid);
    }
    for (int pid : roots) {
      Procs.awaitGone(pid, Duration.ofSeconds(10));
    }
  }
}
