package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.nativeio.LibC;
import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.DumpRequest;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.PageServerStatusRequest;
import dev.criumigration.agent.protocol.Progress;
import dev.criumigration.agent.protocol.RestoreRequest;
import dev.criumigration.agent.protocol.SourceRequest;
import dev.criumigration.agent.testing.RequiresRootAndCriu;
import dev.criumigration.agent.testing.Workload;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Things break on purpose; each time the source ends up running with its state, and nothing is left
 * mounted, listening or stopped.
 */
@RequiresRootAndCriu
class FailurePathsTest {
  private static final Duration TICK_WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  private final String seed = Integer.toString(ThreadLocalRandom.current().nextInt(1_000_000, 2_000_000));

  private Workload start(String... options) throws Exception {
    List<String> all = new ArrayList<>(List.of(options));
    all.addAll(List.of("--memory", "16M", "--seed", seed));
    return Workload.start(dir.resolve("workload.log"), all.toArray(String[]::new));
  }

  private DumpRequest dumpTo(Workload workload, Path source, int pageServerPort) {
    return DumpRequest.newBuilder().setPid(workload.rootPid()).setImagesDir(source.toString())
        .setPageServerHost("127.0.0.1").setPageServerPort(pageServerPort).setLeaveStopped(true).build();
  }

  /** The workload runs (not stopped), ticks on, and its memory is what it was. */
  private void assertRunsWithItsState(Workload workload, Workload.Tick before) throws Exception {
    assertTrue(Processes.exists(workload.rootPid()));
    char state = Processes.state(workload.rootPid());
    assertTrue(state != 'T' && state != 't', "the source is stopped: " + state);
    Workload.Tick after = workload.awaitTickAfter(before.tick(), TICK_WAIT).orElseThrow(
        () -> new AssertionError("the source does not tick"));
    assertEquals(before.checksum(), after.checksum());
  }

  /** Only the source's tree runs this workload: no half-restored copy is left behind. */
  private void assertOnlyTheSourceRuns(Workload workload, int processes) throws IOException {
    List<Long> running = new ArrayList<>();
    try (Stream<Path> proc = Files.list(Path.of("/proc"))) {
      for (Path entry : proc.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
        try {
          String cmdline = Files.readString(entry.resolve("cmdline")).replace('\0', ' ');
          // python3 itself, not the unshare that started it (whose arguments name the script too)
          if (cmdline.startsWith(pythonOf(workload)) && cmdline.contains("--seed " + seed + " ")) {
            running.add(Long.parseLong(entry.getFileName().toString()));
          }
        } catch (IOException gone) {
          // exited meanwhile
        }
      }
    }
    assertEquals(processes, running.size(), "processes of this workload: " + running);
    assertTrue(running.contains((long) workload.rootPid()));
  }

  private static String pythonOf(Workload workload) throws IOException {
    return Files.readString(Path.of("/proc", Integer.toString(workload.rootPid()), "cmdline")).split("\0")[0];
  }

  @Test
  void aDamagedImageSetFailsTheRestoreAndTheSourceIsResumed() throws Exception {
    Path source = dir.resolve("source");
    Path destination = dir.resolve("destination");
    try (Workload workload = start();
         Harness.PageServer pageServer = new Harness.PageServer(destination, "256M")) {
      Harness.run(new DumpOperation(dumpTo(workload, source, pageServer.port())));
      Workload.Tick atDump = workload.lastTick().orElseThrow();
      Harness.copyNonPageImages(source, destination);
      pageServer.result.join();
      Path core = destination.resolve("core-1.img");
      Files.write(core, java.util.Arrays.copyOf(Files.readAllBytes(core), (int) Files.size(core) / 2));

      AgentException failed = assertThrows(AgentException.class, () -> Harness.run(new RestoreOperation(
          RestoreRequest.newBuilder().setImagesDir(destination.toString()).setRequirePageServerOk(true).build())));
      assertEquals(ErrorKind.CRIU_FAILED, failed.kind());
      assertFalse(failed.error().getCriuLogExcerptList().isEmpty(), "CRIU's log explains it");
      assertEquals('T', Processes.state(workload.rootPid()), "the source still waits");

      Harness.run(new SourceOperation(SourceOperation.Action.RESUME,
          SourceRequest.newBuilder().setPid(workload.rootPid()).build()));
      assertRunsWithItsState(workload, atDump);
      assertOnlyTheSourceRuns(workload, 1);
      Harness.cleanup(source);
    }
  }

  @Test
  void aPageServerKilledDuringTheDumpFailsItAndTheSourceRunsOn() throws Exception {
    Path source = dir.resolve("source");
    Path destination = dir.resolve("destination");
    try (Workload workload = start("--net");
         Harness.PageServer pageServer = new Harness.PageServer(destination, "256M")) {
      Workload.Tick before = workload.lastTick().orElseThrow();
      // CRIU locks the network once the tree is frozen and connected to the page server, just
      // before the memory goes over: kill the page server there.
      OperationListener killer = new OperationListener() {
        @Override
        public void progress(Progress progress) {
          if (progress.getStage().equals("network locked")) {
            try {
              Processes.signal(pageServer.pid(), LibC.SIGKILL);
            } catch (IOException e) {
              throw new AssertionError(e);
            }
          }
        }
      };
      AgentException failed = assertThrows(AgentException.class,
          () -> Harness.run(new DumpOperation(dumpTo(workload, source, pageServer.port())), killer));
      assertEquals(ErrorKind.CRIU_FAILED, failed.kind(), failed.getMessage());
      assertTrue(failed.error().getSourceResumed(), "the error says the source runs again");
      assertRunsWithItsState(workload, before);

      assertThrows(Exception.class, () -> pageServer.result.join());
      assertEquals(PageServerStatus.State.FAILED, Harness.run(new PageServerStatusOperation(
          PageServerStatusRequest.newBuilder().setImagesDir(destination.toString()).build())).getState());
      Harness.cleanup(source);
    }
    Harness.assertNotMounted(destination);
  }

  @Test
  void aTmpfsTooSmallForThePagesFailsTheDumpAndTheSourceRunsOn() throws Exception {
    Path source = dir.resolve("source");
    Path destination = dir.resolve("destination");
    try (Workload workload = start();
         Harness.PageServer pageServer = new Harness.PageServer(destination, "4M")) {
      Workload.Tick before = workload.lastTick().orElseThrow();
      AgentException failed = assertThrows(AgentException.class,
          () -> Harness.run(new DumpOperation(dumpTo(workload, source, pageServer.port()))));
      assertTrue(failed.error().getSourceResumed());
      assertRunsWithItsState(workload, before);

      AgentException pageServerFailed = (AgentException) assertThrows(Exception.class,
          () -> pageServer.result.join()).getCause();
      assertEquals(ErrorKind.PAGE_SERVER_FAILED, pageServerFailed.kind());
      assertTrue(pageServerFailed.error().getHint().contains("tmpfs"), pageServerFailed.error().getHint());
      Harness.cleanup(source);
    }
    Harness.assertNotMounted(destination);
  }

  @Test
  void aResumedTcpServerIsReachableAgain() throws Exception {
    Path source = dir.resolve("source");
    int port = 7071;
    try (Workload workload = start("--net", "--port", Integer.toString(port))) {
      Workload.Tick before = workload.lastTick().orElseThrow();
      // CRIU leaves the tree's network locked after a dump with leave_stopped, for the restore.
      Harness.run(new DumpOperation(DumpRequest.newBuilder().setPid(workload.rootPid())
          .setImagesDir(source.toString()).setLeaveStopped(true).build()));
      assertTrue(tablesIn(workload.rootPid()).contains("CRIU-"), "locked: " + tablesIn(workload.rootPid()));
      Harness.run(new SourceOperation(SourceOperation.Action.RESUME,
          SourceRequest.newBuilder().setPid(workload.rootPid()).build()));
      assertFalse(tablesIn(workload.rootPid()).contains("CRIU-"), "the lock was released");
      assertRunsWithItsState(workload, before);
      assertTrue(DisklessFlowTest.askState(workload.rootPid(), port).contains(before.checksum()));
      Harness.cleanup(source);
    }
  }

  private static String tablesIn(int pid) throws IOException, InterruptedException {
    Process nft = new ProcessBuilder("nsenter", "--net=/proc/" + pid + "/ns/net", "nft", "list", "tables")
        .redirectErrorStream(true).start();
    String tables = new String(nft.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(nft.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) && nft.exitValue() == 0, tables);
    return tables;
  }

  @Test
  void restoreRefusesPagesFromAFailedPageServer() throws Exception {
    Path source = dir.resolve("source");
    Path destination = dir.resolve("destination");
    try (Workload workload = start();
         Harness.PageServer pageServer = new Harness.PageServer(destination, "4M")) {
      assertThrows(AgentException.class,
          () -> Harness.run(new DumpOperation(dumpTo(workload, source, pageServer.port()))));
      assertThrows(Exception.class, () -> pageServer.result.join());
      // Even with the non-page images in place, a failed page server means missing pages.
      try (Stream<Path> pages = Files.list(destination)) {
        for (Path page : pages.filter(p -> p.getFileName().toString().startsWith("pages-")).toList()) {
          Files.delete(page);
        }
      }
      for (String name : new String[] {"inventory.img", "pstree.img"}) {
        Files.write(destination.resolve(name), new byte[8]);
      }
      AgentException refused = assertThrows(AgentException.class, () -> Harness.run(new RestoreOperation(
          RestoreRequest.newBuilder().setImagesDir(destination.toString()).build())));
      assertEquals(ErrorKind.PAGE_SERVER_FAILED, refused.kind());
      assertOnlyTheSourceRuns(workload, 1);
      Harness.cleanup(source);
    }
  }
}
