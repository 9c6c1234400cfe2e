package dev.criumigration.agent.ops;

import dev.criumigration.agent.criu.CriuBinary;
import dev.criumigration.agent.criu.CriuClient;
import dev.criumigration.agent.criu.CriuUnavailableException;
import dev.criumigration.agent.nativeio.StreamSocket;
import dev.criumigration.agent.protocol.ErrorKind;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** Finds CRIU once (CRIU_BINARY, PATH, /usr/local/sbin) and starts {@code criu swrk} clients. */
public final class CriuLauncher {
  static final String INSTALL_HINT =
      "install CRIU 4.2 or newer with src/install/install-host.sh (or the criu_host Ansible role),"
          + " or point CRIU_BINARY at it";

  private CriuBinary binary;

  public synchronized CriuBinary binary() throws AgentException {
    if (binary == null) {
      try {
        binary = CriuBinary.locate();
      } catch (CriuUnavailableException e) {
        throw AgentException.of(ErrorKind.CRIU_UNAVAILABLE, e.getMessage(), INSTALL_HINT);
      }
    }
    return binary;
  }

  /** A new {@code criu swrk}; its stdout and stderr go to {@code outputFile}. */
  public CriuClient start(Path outputFile) throws AgentException {
    return start(outputFile, null);
  }

  /** A new {@code criu swrk} holding a copy of {@code pageStream} for ps.fd (null: none). */
  public CriuClient start(Path outputFile, StreamSocket pageStream) throws AgentException {
    Path criu = binary().path();
    try {
      return CriuClient.start(criu, Map.of(), outputFile, pageStream);
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.CRIU_UNAVAILABLE,
          "cannot start " + criu + " swrk: " + e.getMessage(), INSTALL_HINT);
    }
  }
}
