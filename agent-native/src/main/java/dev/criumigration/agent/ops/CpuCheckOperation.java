package dev.criumigration.agent.ops;

import dev.criumigration.agent.criu.CriuClient;
import dev.criumigration.agent.criu.CriuException;
import dev.criumigration.agent.criu.CriuOperationException;
import dev.criumigration.agent.criu.rpc.CriuReq;
import dev.criumigration.agent.criu.rpc.CriuReqType;
import dev.criumigration.agent.protocol.CpuCheckRequest;
import dev.criumigration.agent.protocol.CpuCheckResult;
import dev.criumigration.agent.protocol.ErrorKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Optional;

/**
 * CRIU's own CPU compatibility check (CPUINFO_CHECK) of another host's cpuinfo image against this
 * host's CPU, in a private scratch directory that is removed afterwards. CRIU's "no" is an answer
 * (compatible=false with its reason), not a failure. A "yes" is kept in the {@link HostCheckCache}:
 * the same image is not checked again while this host's CRIU, kernel and agent stay the same.
 */
public final class CpuCheckOperation implements Operation<CpuCheckResult> {
  private static final String IMAGE = "cpuinfo.img";
  private static final String LOG = "criu-cpuinfo-check.log";

  private final CpuCheckRequest request;

  public CpuCheckOperation(CpuCheckRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofSeconds(30);
  }

  @Override
  public CpuCheckResult run(OperationContext context) throws AgentException, InterruptedException {
    if (request.getCpuinfo().isEmpty()) {
      throw AgentException.usage("no cpuinfo image given", "send the source host's CheckResult.cpuinfo");
    }
    Path criuPath = context.criu().binary().path();  // no CRIU: say so before anything is made
    Optional<HostCheckCache> cache = HostCheckCache.forHost(criuPath);
    if (!request.getRecheck() && cache.isPresent() && cache.get().compatibleBefore(request.getCpuinfo())) {
      return CpuCheckResult.newBuilder().setCompatible(true).setFromCache(true).build();
    }
    CpuCheckResult result = checkInScratch(context);
    if (result.getCompatible() && cache.isPresent()) {
      try {
        cache.get().keepCompatible(request.getCpuinfo());
      } catch (IOException e) {
        context.listener().log("could not keep the CPU check in " + HostCheckCache.DEFAULT_FILE + ": " + e.getMessage());
      }
    }
    return result;
  }

  private CpuCheckResult checkInScratch(OperationContext context) throws AgentException, InterruptedException {
    Path scratch;
    try {
      scratch = Files.createTempDirectory("criu-agent-cpu-check",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot create a temporary directory: " + e.getMessage(), "");
    }
    try {
      Files.write(scratch.resolve(IMAGE), request.getCpuinfo().toByteArray());
      return check(context, scratch);
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot write the cpuinfo image into " + scratch + ": " + e.getMessage(),
          "");
    } finally {
      try {
        CleanupOperation.deleteRecursively(scratch);
      } catch (IOException e) {
        context.listener().log("could not remove " + scratch + ": " + e.getMessage());
      }
    }
  }

  private static CpuCheckResult check(OperationContext context, Path scratch)
      throws AgentException, InterruptedException {
    try (CriuClient criu = context.criu().start(scratch.resolve("criu.out"))) {
      criu.call(CriuReq.newBuilder().setType(CriuReqType.CPUINFO_CHECK)
          .setOpts(CriuOptions.inDirectory(scratch, LOG)).build(), context.deadline().remaining(), null,
          scratch.resolve(LOG));
      return CpuCheckResult.newBuilder().setCompatible(true).build();
    } catch (CriuException incompatible) {
      return CpuCheckResult.newBuilder().setCompatible(false).setDetail(incompatible.crErrmsg()).build();
    } catch (CriuOperationException e) {
      throw AgentException.fromCriu("CRIU's CPU check", e, "see CRIU's log", context.deadline());
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "talking to CRIU failed: " + e.getMessage(), CriuLauncher.INSTALL_HINT);
    }
  }
}
