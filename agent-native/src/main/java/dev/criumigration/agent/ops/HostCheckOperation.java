package dev.criumigration.agent.ops;

import com.google.protobuf.ByteString;
import dev.criumigration.agent.criu.CriuClient;
import dev.criumigration.agent.criu.CriuOperationException;
import dev.criumigration.agent.criu.rpc.CriuFeatures;
import dev.criumigration.agent.criu.rpc.CriuReq;
import dev.criumigration.agent.criu.rpc.CriuReqType;
import dev.criumigration.agent.criu.rpc.CriuVersion;
import dev.criumigration.agent.protocol.CheckRequest;
import dev.criumigration.agent.protocol.CheckResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Whether migration can work on this host, and what the controller needs to know about it: CRIU's
 * path, version and `criu check` verdict, the kernel, CRIU's features, hardware breakpoints, tmpfs,
 * root, free memory and CRIU's cpuinfo image (for CPUINFO_CHECK on the other host).
 */
public final class HostCheckOperation implements Operation<CheckResult> {
  /** The oldest CRIU that works on the project's kernels (see docs: 4.1 fails on inet sockets). */
  static final int MIN_MAJOR = 4;
  static final int MIN_MINOR = 2;
  private static final Duration STEP_TIMEOUT = Duration.ofSeconds(30);

  private final CheckRequest request;

  public HostCheckOperation(CheckRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofMinutes(2);
  }

  @Override
  public CheckResult run(OperationContext context) throws AgentException, InterruptedException {
    CheckResult.Builder result = CheckResult.newBuilder()
        .setJavaVersion(Runtime.version().toString())
        .setAgentVersion(agentVersion())
        .setKernel(readTrimmed(Path.of("/proc/sys/kernel/osrelease")))
        .setRoot(isRoot())
        .setTmpfs(hasTmpfs())
        .setMemoryAvailableBytes(memoryAvailable());
    if (!result.getRoot()) {
      result.addProblems("the agent does not run as root: CRIU needs root to dump and restore; run it with sudo");
    }
    if (!result.getTmpfs()) {
      result.addProblems("the kernel has no tmpfs: the page server's images directory needs one");
    }
    Path criuPath;
    try {
      criuPath = context.criu().binary().path();
    } catch (AgentException e) {
      result.addProblems(e.getMessage() + ": " + e.error().getHint());
      return result.setOk(false).build();
    }
    result.setCriuPath(criuPath.toString());
    Optional<HostCheckCache> cache = HostCheckCache.forHost(criuPath);
    Optional<CheckResult> known = request.getRecheck() ? Optional.empty() : cache.flatMap(HostCheckCache::criuAnswers);
    if (known.isPresent()) {
      result.mergeFrom(known.get()).setFromCache(true);
      return result.setOk(result.getProblemsCount() == 0).build();
    }
    int problemsBefore = result.getProblemsCount();
    askCriuInScratch(context, criuPath, result);
    if (result.getProblemsCount() == problemsBefore && cache.isPresent()) {
      keep(cache.get(), result, context);
    }
    return result.setOk(result.getProblemsCount() == 0).build();
  }

  private static void askCriuInScratch(OperationContext context, Path criuPath, CheckResult.Builder result)
      throws InterruptedException {
    Path scratch;
    try {
      scratch = Files.createTempDirectory("criu-agent-check");
    } catch (IOException e) {
      result.addProblems("cannot create a temporary directory: " + e.getMessage());
      return;
    }
    try {
      askCriu(context, scratch, result);
      result.setHardwareBreakpoints(breakpointsWork(criuPath, context));
    } finally {
      try {
        CleanupOperation.deleteRecursively(scratch);
      } catch (IOException e) {
        context.listener().log("could not remove " + scratch + ": " + e.getMessage());
      }
    }
  }

  /** CRIU's part of the result, for the next check; a cache that cannot be written only costs time. */
  private static void keep(HostCheckCache cache, CheckResult.Builder result, OperationContext context) {
    try {
      cache.keepCriuAnswers(CheckResult.newBuilder().setCriuVersion(result.getCriuVersion())
          .setCriuCheckPassed(result.getCriuCheckPassed()).setMemTrack(result.getMemTrack())
          .setLazyPages(result.getLazyPages()).setHardwareBreakpoints(result.getHardwareBreakpoints())
          .setCpuinfo(result.getCpuinfo()).build());
    } catch (IOException e) {
      context.listener().log("could not keep CRIU's answers in " + HostCheckCache.DEFAULT_FILE + ": " + e.getMessage());
    }
  }

  /** Version, features and cpuinfo over one `criu swrk` (keep_open), then CHECK, which ends it. */
  private static void askCriu(OperationContext context, Path scratch, CheckResult.Builder result)
      throws InterruptedException {
    try (CriuClient criu = context.criu().start(scratch.resolve("criu.out"))) {
      CriuVersion version = criu.version(STEP_TIMEOUT);
      result.setCriuVersion(version.getMajorNumber() + "." + version.getMinorNumber() + "." + version.getSublevel());
      versionProblem(version).ifPresent(result::addProblems);
      CriuFeatures features = criu.features(STEP_TIMEOUT);
      result.setMemTrack(features.getMemTrack()).setLazyPages(features.getLazyPages());
      criu.call(CriuReq.newBuilder().setType(CriuReqType.CPUINFO_DUMP).setKeepOpen(true)
          .setOpts(CriuOptions.inDirectory(scratch, "criu-cpuinfo.log")).build(), STEP_TIMEOUT, null,
          scratch.resolve("criu-cpuinfo.log"));
      result.setCpuinfo(ByteString.copyFrom(Files.readAllBytes(scratch.resolve("cpuinfo.img"))));
      try {
        criu.call(CriuReq.newBuilder().setType(CriuReqType.CHECK)
            .setOpts(CriuOptions.inDirectory(scratch, "criu-check.log")).build(), STEP_TIMEOUT, null,
            scratch.resolve("criu-check.log"));
        result.setCriuCheckPassed(true);
      } catch (CriuOperationException e) {
        result.addProblems("`criu check` fails on this host: " + String.join(" | ", e.logExcerpt())
            + "; " + CriuLauncher.INSTALL_HINT);
      }
    } catch (AgentException e) {
      result.addProblems(e.getMessage() + ": " + e.error().getHint());
    } catch (IOException e) {
      result.addProblems("CRIU does not answer over its RPC: " + e.getMessage().lines().findFirst().orElse("")
          + "; " + CriuLauncher.INSTALL_HINT);
    }
  }

  /** Why this CRIU cannot be used, if it is too old. */
  static Optional<String> versionProblem(CriuVersion version) {
    if (version.getMajorNumber() > MIN_MAJOR
        || version.getMajorNumber() == MIN_MAJOR && version.getMinorNumber() >= MIN_MINOR) {
      return Optional.empty();
    }
    return Optional.of("CRIU " + version.getMajorNumber() + "." + version.getMinorNumber() + "."
        + version.getSublevel() + " is too old: " + MIN_MAJOR + "." + MIN_MINOR + " or newer is needed ("
        + "4.1 cannot dump inet sockets on Linux 6.16+ and hangs without hardware breakpoints); "
        + CriuLauncher.INSTALL_HINT);
  }

  /**
   * Whether debug-register breakpoints fire here, as CRIU itself probes it: `criu check --feature
   * breakpoints` traces a child and sets a hardware breakpoint in it (kerndat_breakpoints). The RPC's
   * FEATURE_CHECK does not cover this feature. CRIU 4.2 falls back to syscall tracing when they do
   * not fire, so this is informational, not a problem.
   */
  private static boolean breakpointsWork(Path criu, OperationContext context) throws InterruptedException {
    try {
      Process check = new ProcessBuilder(List.of(criu.toString(), "check", "--feature", "breakpoints"))
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!check.waitFor(STEP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        check.destroyForcibly();
        return false;
      }
      return check.exitValue() == 0;
    } catch (IOException e) {
      context.listener().log("cannot run criu check --feature breakpoints: " + e.getMessage());
      return false;
    }
  }

  private static String agentVersion() {
    String version = HostCheckOperation.class.getPackage().getImplementationVersion();
    return version == null ? "development build" : version;
  }

  private static boolean isRoot() {
    try {
      // Uid: real effective saved fs
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return line.split("\\s+")[2].equals("0");
        }
      }
    } catch (IOException e) {
      // not Linux
    }
    return false;
  }

  private static boolean hasTmpfs() {
    try {
      return Files.readAllLines(Path.of("/proc/filesystems")).stream()
          .map(line -> line.substring(line.lastIndexOf('\t') + 1).trim())
          .anyMatch("tmpfs"::equals);
    } catch (IOException e) {
      return false;
    }
  }

  private static long memoryAvailable() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemAvailable:")) {
          return Long.parseLong(line.split("\\s+")[1]) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // not Linux
    }
    return 0;
  }

  private static String readTrimmed(Path file) {
    try {
      return Files.readString(file).trim();
    } catch (IOException e) {
      return "";
    }
  }
}
