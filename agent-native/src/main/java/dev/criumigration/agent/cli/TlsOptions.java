package dev.criumigration.agent.cli;

import dev.criumigration.agent.protocol.TlsFiles;
import picocli.CommandLine.Option;

/** CRIU's TLS for the page-server connection: all three files, or none. */
final class TlsOptions {
  @Option(names = "--tls-cacert", paramLabel = "FILE", description = "CA certificate for TLS to the page server.")
  String caCert;

  @Option(names = "--tls-cert", paramLabel = "FILE", description = "This host's certificate for TLS.")
  String cert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "This host's private key for TLS.")
  String key;

  /** The files, or null when no TLS option was given (the operation checks that all three are). */
  TlsFiles files() {
    if (caCert == null && cert == null && key == null) {
      return null;
    }
    return TlsFiles.newBuilder().setCaCert(orEmpty(caCert)).setCert(orEmpty(cert)).setKey(orEmpty(key)).build();
  }

  /** CRIU reads the files from inside the images directory: relative paths are made absolute here. */
  private static String orEmpty(String value) {
    return value == null || value.isBlank() ? "" : java.nio.file.Path.of(value).toAbsolutePath().normalize().toString();
  }
}
