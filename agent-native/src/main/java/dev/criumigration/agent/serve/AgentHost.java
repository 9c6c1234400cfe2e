package dev.criumigration.agent.serve;

import dev.criumigration.agent.ops.CriuLauncher;
import dev.criumigration.agent.ops.ImagesBase;
import dev.criumigration.agent.protocol.AgentInfo;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What every session of one agent process shares: its build, the CRIU it found, the images base it
 * confines paths to, what the running requests hold, and how many controllers it serves.
 */
public final class AgentHost {
  private static final Pattern RESIDENT = Pattern.compile("(?m)^VmRSS:\\s+(\\d+) kB");
  private final AgentBuild build;
  private final CriuLauncher criu = new CriuLauncher();
  private final ImagesBase imagesBase;
  private final Claims claims = new Claims();
  private final boolean daemon;
  private final long startNanos = System.nanoTime();
  private final AtomicInteger sessions = new AtomicInteger();
  private final AtomicLong sessionsServed = new AtomicLong();

  AgentHost(AgentBuild build, ImagesBase imagesBase, boolean daemon) {
    this.build = build;
    this.imagesBase = imagesBase;
    this.daemon = daemon;
  }

  /** The host of {@code criu-agent serve}: one controller, for as long as its stdin stays open. */
  public static AgentHost forOneController(ImagesBase imagesBase) {
    return new AgentHost(AgentBuild.current(), imagesBase, false);
  }

  public AgentBuild build() {
    return build;
  }

  public CriuLauncher criu() {
    return criu;
  }

  public ImagesBase imagesBase() {
    return imagesBase;
  }

  Claims claims() {
    return claims;
  }

  void sessionStarted() {
    sessions.incrementAndGet();
    sessionsServed.incrementAndGet();
  }

  void sessionEnded() {
    sessions.decrementAndGet();
  }

  int sessions() {
    return sessions.get();
  }

  /** Who answers, and the process's threads, descriptors and memory now. */
  AgentInfo info() {
    AgentInfo.Builder info = AgentInfo.newBuilder().setBuildSha256(build.sha256())
        .setImagesBase(imagesBase.path().toString()).setDaemon(daemon).setPid((int) ProcessHandle.current().pid())
        .setUptimeMillis((System.nanoTime() - startNanos) / 1_000_000).setSessions(sessions.get())
        .setSessionsServed(sessionsServed.get()).setThreads(ManagementFactory.getThreadMXBean().getThreadCount());
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      info.setOpenDescriptors((int) fds.count());
      Matcher resident = RESIDENT.matcher(Files.readString(Path.of("/proc/self/status")));
      if (resident.find()) {
        info.setResidentBytes(Long.parseLong(resident.group(1)) * 1024);
      }
    } catch (IOException e) {
      // /proc is always there on the hosts the agent runs on; without it the counts stay 0
    }
    return info.build();
  }
}
