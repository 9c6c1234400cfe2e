package dev.criumigration.agent.ops;

import dev.criumigration.agent.criu.rpc.CriuNetworkLockMethod;
import dev.criumigration.agent.criu.rpc.CriuOpts;
import dev.criumigration.agent.protocol.NetworkLock;
import java.nio.file.Path;

/** CRIU options shared by the operations. */
final class CriuOptions {
  /** CRIU's debug level: the log then says enough to explain a failure after the fact. */
  static final int LOG_LEVEL = 4;

  private CriuOptions() {}

  /** Options for a request on {@code dir}, logging to DIR/{@code logName}. */
  static CriuOpts.Builder inDirectory(Path dir, String logName) {
    return CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(dir.toString())
        .setLogFile(logName).setLogLevel(LOG_LEVEL);
  }

  /** The agent's default is nftables: Debian 12 and later ship no iptables binaries by default. */
  static CriuNetworkLockMethod networkLock(NetworkLock lock) {
    return switch (lock) {
      case IPTABLES -> CriuNetworkLockMethod.IPTABLES;
      case SKIP -> CriuNetworkLockMethod.SKIP;
      default -> CriuNetworkLockMethod.NFTABLES;
    };
  }
}
