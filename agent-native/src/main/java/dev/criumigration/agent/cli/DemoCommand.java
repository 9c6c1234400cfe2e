package dev.criumigration.agent.cli;

import com.google.protobuf.Message;
import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.ops.AgentException;
import dev.criumigration.agent.ops.Arguments;
import dev.criumigration.agent.ops.Cancellation;
import dev.criumigration.agent.ops.CleanupOperation;
import dev.criumigration.agent.ops.CriuLauncher;
import dev.criumigration.agent.ops.ImagesBase;
import dev.criumigration.agent.ops.Deadline;
import dev.criumigration.agent.ops.DumpOperation;
import dev.criumigration.agent.ops.FetchImagesOperation;
import dev.criumigration.agent.ops.Operation;
import dev.criumigration.agent.ops.OperationContext;
import dev.criumigration.agent.ops.OperationListener;
import dev.criumigration.agent.ops.PageServerOperation;
import dev.criumigration.agent.ops.PageServerStatusOperation;
import dev.criumigration.agent.ops.PutImagesOperation;
import dev.criumigration.agent.ops.RestoreOperation;
import dev.criumigration.agent.ops.SourceOperation;
import dev.criumigration.agent.protocol.CleanupRequest;
import dev.criumigration.agent.protocol.DumpRequest;
import dev.criumigration.agent.protocol.DumpResult;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.FetchImagesRequest;
import dev.criumigration.agent.protocol.FetchImagesResult;
import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.agent.protocol.PageServerRequest;
import dev.criumigration.agent.protocol.PageServerResult;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.PageServerStatusRequest;
import dev.criumigration.agent.protocol.Progress;
import dev.criumigration.agent.protocol.PutImagesRequest;
import dev.criumigration.agent.protocol.RestoreRequest;
import dev.criumigration.agent.protocol.RestoreResult;
import dev.criumigration.agent.protocol.SourceRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Migrates a sample workload on this machine, disk-less, and shows it kept its state.",
        "Runs the whole disk-less flow and shows that it kept its state: the workload (a counter "
            + "and a checksum of its memory, in its own PID namespace) is started; a page server on a "
            + "tmpfs receives its pages from a dump --leave-stopped; the non-page images are copied; "
            + "the page server's outcome is checked; the tree is restored; the source is killed. Prints "
            + "each phase's time. Any failure resumes the source. Needs root, CRIU and python3; cleans "
            + "up after itself."},
    footer = {"", "Examples:", "  criu-agent demo", "  criu-agent demo --memory 1G"})
final class DemoCommand implements java.util.concurrent.Callable<Integer> {
  private static final Pattern TICK = Pattern.compile("^tick=(\\d+) checksum=(\\w+) pid=1$");
  private static final Duration TICK_WAIT = Duration.ofSeconds(30);

  @Spec CommandSpec spec;

  @Option(names = "--memory", paramLabel = "SIZE", defaultValue = "64M",
      description = "Memory the workload fills with random bytes (default: 64M).")
  String memory;

  @Option(names = "--keep", description = "Leave the migrated workload running (and its directory) at the end.")
  boolean keep;

  private PrintWriter out;
  private final Cancellation cancellation = new Cancellation();
  private final CriuLauncher criu = new CriuLauncher();
  /** The demo's own temporary directory: its images stay inside it. */
  private ImagesBase imagesBase;
  private final Map<String, Long> phases = new LinkedHashMap<>();

  private record Tick(long tick, String checksum) {}

  @Override
  public Integer call() throws InterruptedException {
    out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    long memoryBytes;
    try {
      memoryBytes = Arguments.parseSize(memory);
    } catch (AgentException e) {
      err.println(HumanText.error(e.error()));
      return OperationRunner.USAGE;
    }
    CountDownLatch finished = new CountDownLatch(1);
    Thread onInterrupt = new Thread(() -> {
      cancellation.cancel("interrupted");
      try {
        finished.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    Runtime.getRuntime().addShutdownHook(onInterrupt);
    try {
      return migrate(memoryBytes);
    } catch (AgentException e) {
      err.println(HumanText.error(e.error()));
      return OperationRunner.FAILED;
    } catch (IOException e) {
      err.println("criu-agent demo: " + e.getMessage());
      return OperationRunner.FAILED;
    } finally {
      finished.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(onInterrupt);
      } catch (IllegalStateException shuttingDown) {
        // Ctrl-C: the hook waits for us and we are done
      }
    }
  }

  private int migrate(long memoryBytes) throws AgentException, IOException, InterruptedException {
    Path work = Files.createTempDirectory("criu-agent-demo");
    imagesBase = ImagesBase.of(work.toString());
    Path source = work.resolve("source-images");
    Path destination = work.resolve("destination-images");
    Path log = work.resolve("workload.log");
    out.println("criu-agent demo in " + work);

    long started = System.nanoTime();
    int sourcePid = startWorkload(work, log, memoryBytes);
    phase("start the workload", started);
    Integer restoredPid = null;
    boolean sourceStopped = false;
    CompletableFuture<PageServerResult> pageServer = null;
    Cancellation pageServerCancel = new Cancellation();
    try {
      Tick before = awaitTickAfter(log, -1);
      out.printf(Locale.ROOT, "workload: pid %d, %s of random memory, tick %d, checksum %s%n", sourcePid,
          HumanText.bytes(memoryBytes), before.tick(), before.checksum());

      // Pages of a Python process: the data plus the interpreter's own heap; the tmpfs holds both.
      long tmpfsBytes = 2 * memoryBytes + (128L << 20);
      long phaseStart = System.nanoTime();
      CompletableFuture<PageServerListening> listening = new CompletableFuture<>();
      pageServer = startPageServer(destination, tmpfsBytes, pageServerCancel, listening);
      PageServerListening where = listening.get(30, TimeUnit.SECONDS);
      phase("page server on a " + HumanText.bytes(tmpfsBytes) + " tmpfs (port " + where.getPort() + ")", phaseStart);

      phaseStart = System.nanoTime();
      DumpResult dump = run(new DumpOperation(DumpRequest.newBuilder().setPid(sourcePid)
          .setImagesDir(source.toString()).setPageServerHost(where.getAddress()).setPageServerPort(where.getPort())
          .setLeaveStopped(true).build()));
      sourceStopped = true;
      phase("dump --leave-stopped to the page server", phaseStart);
      Tick atDump = lastTick(log).orElseThrow();

      phaseStart = System.nanoTime();
      FetchImagesResult images = run(new FetchImagesOperation(
          FetchImagesRequest.newBuilder().setImagesDir(source.toString()).build()));
      run(new PutImagesOperation(PutImagesRequest.newBuilder().setImagesDir(destination.toString())
          .addAllFiles(images.getFilesList()).build()));
      phase("copy " + images.getFilesCount() + " non-page images", phaseStart);

      phaseStart = System.nanoTime();
      PageServerResult received = pageServer.get(60, TimeUnit.SECONDS);
      PageServerStatus status = run(new PageServerStatusOperation(
          PageServerStatusRequest.newBuilder().setImagesDir(destination.toString()).build()));
      if (status.getState() != PageServerStatus.State.FINISHED_OK) {
        throw AgentException.of(ErrorKind.PAGE_SERVER_FAILED, "the page server did not finish ok: " + status, "");
      }
      phase("page server finished ok (" + HumanText.bytes(received.getBytesReceived()) + ")", phaseStart);

      phaseStart = System.nanoTime();
      RestoreResult restore = run(new RestoreOperation(RestoreRequest.newBuilder()
          .setImagesDir(destination.toString()).setRequirePageServerOk(true).build()));
      restoredPid = restore.getPid();
      phase("restore (new root pid " + restoredPid + ")", phaseStart);

      phaseStart = System.nanoTime();
      run(new SourceOperation(SourceOperation.Action.KILL, SourceRequest.newBuilder().setPid(sourcePid).build()));
      sourceStopped = false;
      phase("kill the source", phaseStart);

      Tick after = awaitTickAfter(log, atDump.tick());
      out.println();
      out.printf(Locale.ROOT, "before the dump: tick %d, checksum %s (pid %d)%n", atDump.tick(), atDump.checksum(), sourcePid);
      out.printf(Locale.ROOT, "after restore:   tick %d, checksum %s (pid %d)%n", after.tick(), after.checksum(), restoredPid);
      out.println();
      printPhases(started, dump);
      if (!after.checksum().equals(atDump.checksum())) {
        throw AgentException.of(ErrorKind.INTERNAL, "the restored workload's memory checksum differs", "");
      }
      out.println("the workload kept its state: its counter went on and its memory is identical");
      return OperationRunner.OK;
    } catch (AgentException e) {
      if (sourceStopped && e.kind() != ErrorKind.USAGE) {
        resume(sourcePid);
      }
      throw e;
    } catch (ExecutionException | TimeoutException e) {
      if (sourceStopped) {
        resume(sourcePid);
      }
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof AgentException agent) {
        throw agent;
      }
      throw AgentException.of(ErrorKind.PAGE_SERVER_FAILED, "the page server: " + cause, "");
    } finally {
      if (pageServer != null) {
        pageServerCancel.cancel("the demo ends");
        awaitQuietly(pageServer);
      }
      boolean keepRestored = keep && restoredPid != null && !sourceStopped;
      List<Integer> toKill = new ArrayList<>(List.of(sourcePid));
      if (restoredPid != null && !keepRestored) {
        toKill.add(restoredPid);
      }
      cleanUp(work, source, destination, toKill, keepRestored);
    }
  }

  private void resume(int sourcePid) throws InterruptedException {
    try {
      run(new SourceOperation(SourceOperation.Action.RESUME, SourceRequest.newBuilder().setPid(sourcePid).build()));
      out.println("the source was resumed");
    } catch (AgentException e) {
      out.println("could not resume the source " + sourcePid + ": " + e.getMessage());
    }
  }

  private CompletableFuture<PageServerResult> startPageServer(Path destination, long tmpfsBytes,
      Cancellation pageServerCancel, CompletableFuture<PageServerListening> listening) {
    PageServerOperation operation = new PageServerOperation(PageServerRequest.newBuilder()
        .setImagesDir(destination.toString()).setTmpfsSize(Long.toString(tmpfsBytes)).build());
    OperationListener listener = new OperationListener() {
      @Override
      public void pageServerListening(PageServerListening where) {
        listening.complete(where);
      }
    };
    CompletableFuture<PageServerResult> result = new CompletableFuture<>();
    Thread thread = new Thread(() -> {
      try {
        result.complete(operation.run(new OperationContext(Deadline.after(Duration.ofMinutes(30)),
            pageServerCancel, listener, criu, imagesBase)));
      } catch (AgentException | InterruptedException | RuntimeException e) {
        result.completeExceptionally(e);
        listening.completeExceptionally(e);
      }
    }, "demo-page-server");
    thread.start();
    cancellation.onCancel(() -> pageServerCancel.cancel("interrupted"));
    return result;
  }

  private <R extends Message> R run(Operation<R> operation) throws AgentException, InterruptedException {
    return operation.run(new OperationContext(Deadline.after(operation.defaultTimeout()), cancellation,
        new OperationListener() {
          @Override
          public void progress(Progress progress) {
            out.printf(Locale.ROOT, "    [%5.2f s] %s%n", progress.getElapsedMillis() / 1000.0, progress.getStage());
            out.flush();
          }
        }, criu, imagesBase));
  }

  private void phase(String name, long startedNanos) {
    long millis = Duration.ofNanos(System.nanoTime() - startedNanos).toMillis();
    phases.put(name, millis);
    out.printf(Locale.ROOT, "  %-55s %8.3f s%n", name, millis / 1000.0);
    out.flush();
  }

  private void printPhases(long startedNanos, DumpResult dump) {
    out.println("timings:");
    phases.forEach((name, millis) -> out.printf(Locale.ROOT, "  %-55s %8.3f s%n", name, millis / 1000.0));
    out.printf(Locale.ROOT, "  %-55s %8.3f s%n", "total", (System.nanoTime() - startedNanos) / 1e9);
    if (dump.hasStats()) {
      out.printf(Locale.ROOT, "  frozen (CRIU's stats-dump): %s, %d pages (%s) at %.1f MB/s%n",
          HumanText.seconds(dump.getStats().getFrozenTimeMicros()), dump.getStats().getPagesWritten(),
          HumanText.bytes(dump.getStats().getBytesWritten()), dump.getStats().getMegabytesPerSecond());
    }
  }

  /** The workload scripts ship inside the jar (copied from src/workloads at build time). */
  private int startWorkload(Path work, Path log, long memoryBytes) throws IOException, InterruptedException {
    Path scripts = Files.createDirectory(work.resolve("workload"));
    for (String name : List.of("start-workload.sh", "stateful_counter.py")) {
      try (InputStream script = DemoCommand.class.getResourceAsStream("workloads/" + name)) {
        if (script == null) {
          throw new IOException("the workload script " + name + " is missing from the agent's jar");
        }
        Files.copy(script, scripts.resolve(name));
      }
    }
    Process starter = new ProcessBuilder("bash", scripts.resolve("start-workload.sh").toString(), log.toString(),
        "--memory", Long.toString(memoryBytes)).redirectErrorStream(true).start();
    String output = new String(starter.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (!starter.waitFor(120, TimeUnit.SECONDS) || starter.exitValue() != 0) {
      throw new IOException("the workload did not start (python3 needed): " + output);
    }
    return Integer.parseInt(output.lines().reduce((first, last) -> last).orElseThrow());
  }

  private static Optional<Tick> lastTick(Path log) throws IOException {
    Tick last = null;
    for (String line : Files.readAllLines(log)) {
      Matcher match = TICK.matcher(line);
      if (match.matches()) {
        last = new Tick(Long.parseLong(match.group(1)), match.group(2));
      }
    }
    return Optional.ofNullable(last);
  }

  private static Tick awaitTickAfter(Path log, long tick) throws IOException, InterruptedException {
    long end = System.nanoTime() + TICK_WAIT.toNanos();
    while (System.nanoTime() < end) {
      Optional<Tick> last = lastTick(log);
      if (last.isPresent() && last.get().tick() > tick) {
        return last.get();
      }
      Thread.sleep(50);
    }
    throw new IOException("the workload logged no tick after " + tick + " within " + TICK_WAIT.toSeconds()
        + " s; see " + log);
  }

  private void cleanUp(Path work, Path source, Path destination, List<Integer> toKill, boolean keepRestored)
      throws InterruptedException {
    for (int pid : toKill) {
      if (Processes.exists(pid)) {
        try {
          Processes.killTree(pid);
          Processes.waitGone(pid, Duration.ofSeconds(10));
        } catch (IOException e) {
          out.println("could not kill " + pid + ": " + e.getMessage());
        }
      }
    }
    for (Path dir : List.of(destination, source)) {
      if (Files.exists(dir)) {
        try {
          run(new CleanupOperation(CleanupRequest.newBuilder().setImagesDir(dir.toString()).build()));
        } catch (AgentException e) {
          out.println("could not clean up " + dir + ": " + e.getMessage());
        }
      }
    }
    if (keepRestored) {
      out.println("the migrated workload keeps running; its log: " + work.resolve("workload.log"));
      return;
    }
    try {
      CleanupOperation.deleteRecursively(work);
    } catch (IOException e) {
      out.println("could not remove " + work + ": " + e.getMessage());
    }
  }

  private static void awaitQuietly(CompletableFuture<?> future) throws InterruptedException {
    try {
      future.get(60, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // its outcome was reported (or does not matter any more)
    }
  }
}
