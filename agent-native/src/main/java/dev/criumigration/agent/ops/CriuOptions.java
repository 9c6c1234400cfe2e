package dev.criumigration.agent.ops;

import dev.criumigration.agent.criu.rpc.CriuNetworkLockMethod;
import dev.criumigration.agent.criu.rpc.CriuOpts;
import dev.criumigration.agent.protocol.NetworkLock;
import dev.criumigration.agent.protocol.TlsFiles;
import java.nio.file.Files;
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

  /** Adds CRIU's TLS options when {@code tls} names files; checks they exist. */
  static void tls(CriuOpts.Builder opts, TlsFiles tls) throws AgentException {
    if (tls.getCaCert().isEmpty() && tls.getCert().isEmpty() && tls.getKey().isEmpty()) {
      return;
    }
    for (String file : new String[] {tls.getCaCert(), tls.getCert(), tls.getKey()}) {
      if (file.isEmpty() || !Files.isReadable(Path.of(file))) {
        throw AgentException.usage("TLS needs a CA certificate, a certificate and a key; '" + file
            + "' is missing or unreadable", "give all three as readable files on this host");
      }
    }
    opts.setTls(true).setTlsCacert(tls.getCaCert()).setTlsCert(tls.getCert()).setTlsKey(tls.getKey());
  }
}
