package dev.criumigration.agent.ops;

import dev.criumigration.agent.criu.rpc.CriuOpts;
import dev.criumigration.agent.pagestream.RelayTls;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.TlsFiles;
import dev.criumigration.agent.protocol.TlsPem;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The page stream's TLS: CRIU's (CRIU_TCP) or the agent relay's (AGENT_RELAY), from the same
 * certificates. The caller names certificate files on this host, or sends their PEM texts; for CRIU the
 * agent writes those into DIR/.criu-agent/tls (0700, files 0600, never readable by others for an
 * instant) so that they go away with the images directory; the relay keeps them in memory only.
 */
final class PageStreamTls {
  static final String DIR = "tls";
  static final String CA_CERT = "ca.pem";
  static final String CERT = "cert.pem";
  static final String KEY = "key.pem";
  static final String PEER_CERT = "peer-cert.pem";
  static final String PEER_KEY = "peer-key.pem";
  private static final int MAX_PEM_CHARS = 64 << 10;

  private PageStreamTls() {}

  /** Checks a request's TLS part before anything is made; {@code peerAllowed}: a page server's. */
  static void check(TlsFiles files, TlsPem pem, boolean peerAllowed) throws AgentException {
    boolean hasFiles = !files.getCaCert().isEmpty() || !files.getCert().isEmpty() || !files.getKey().isEmpty();
    boolean hasPem = !pem.equals(TlsPem.getDefaultInstance());
    if (hasFiles && hasPem) {
      throw AgentException.usage("TLS files and TLS PEM texts were both given", "give one or the other");
    }
    if (hasFiles) {
      for (String file : new String[] {files.getCaCert(), files.getCert(), files.getKey()}) {
        if (file.isEmpty() || !Path.of(file).isAbsolute() || !Files.isReadable(Path.of(file))) {
          throw AgentException.usage("TLS needs a CA certificate, a certificate and a key; '" + file
              + "' is missing, not an absolute path or unreadable", "give all three as readable files on this host");
        }
      }
    }
    if (hasPem) {
      checkPem("CA certificate", pem.getCaCert(), "CERTIFICATE");
      checkPem("certificate", pem.getCert(), "CERTIFICATE");
      checkPem("key", pem.getKey(), "PRIVATE KEY");
      boolean hasPeer = !pem.getPeerCert().isEmpty() || !pem.getPeerKey().isEmpty();
      if (hasPeer && !peerAllowed) {
        throw AgentException.usage("a peer certificate is kept only by a page server", "leave peer_cert out");
      }
      if (hasPeer) {
        checkPem("peer certificate", pem.getPeerCert(), "CERTIFICATE");
        checkPem("peer key", pem.getPeerKey(), "PRIVATE KEY");
      }
    }
  }

  private static void checkPem(String what, String text, String type) throws AgentException {
    if (text.length() > MAX_PEM_CHARS || !text.contains("-----BEGIN ") || !text.contains(type + "-----")) {
      throw AgentException.usage("the TLS " + what + " is not a PEM " + type.toLowerCase(java.util.Locale.ROOT),
          "send the PEM text (-----BEGIN " + type + "-----)");
    }
  }

  /**
   * The files CRIU reads: the caller's, or the PEM texts written into {@code work}'s agent directory
   * first. Null for plain TCP.
   */
  static TlsFiles files(TlsFiles files, TlsPem pem, WorkDir work) throws AgentException {
    if (!files.getCaCert().isEmpty()) {
      return files;
    }
    if (pem.equals(TlsPem.getDefaultInstance())) {
      return null;
    }
    Map<String, String> texts = new LinkedHashMap<>();
    texts.put(CA_CERT, pem.getCaCert());
    texts.put(CERT, pem.getCert());
    texts.put(KEY, pem.getKey());
    if (!pem.getPeerCert().isEmpty()) {
      texts.put(PEER_CERT, pem.getPeerCert());
      texts.put(PEER_KEY, pem.getPeerKey());
    }
    Path dir = work.agentFile(DIR);
    try {
      Files.createDirectories(dir.getParent());
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      for (Map.Entry<String, String> text : texts.entrySet()) {
        try (SeekableByteChannel out = Files.newByteChannel(dir.resolve(text.getKey()),
            java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
          out.write(ByteBuffer.wrap(text.getValue().getBytes(StandardCharsets.US_ASCII)));
        }
      }
    } catch (IOException e) {
      remove(work);
      throw AgentException.of(ErrorKind.IO, "cannot write the TLS files into " + dir + ": " + e.getMessage(),
          "check the free space of " + work.dir());
    }
    return TlsFiles.newBuilder().setCaCert(dir.resolve(CA_CERT).toString()).setCert(dir.resolve(CERT).toString())
        .setKey(dir.resolve(KEY).toString()).build();
  }

  /**
   * What a page server in {@code imagesDir} keeps for the dump that will reach it: the CA it trusts, and
   * the dumping side's certificate and key (written from its request's peer_cert and peer_key).
   */
  static TlsPem forDump(Path imagesDir) throws AgentException {
    Path dir = imagesDir.resolve(WorkDir.AGENT_DIR).resolve(DIR);
    try {
      return TlsPem.newBuilder().setCaCert(Files.readString(dir.resolve(CA_CERT), StandardCharsets.US_ASCII))
          .setCert(Files.readString(dir.resolve(PEER_CERT), StandardCharsets.US_ASCII))
          .setKey(Files.readString(dir.resolve(PEER_KEY), StandardCharsets.US_ASCII)).build();
    } catch (IOException e) {
      // The exception names a file, never its contents.
      throw AgentException.of(ErrorKind.PAGE_SERVER_FAILED, "the page server's TLS files in " + imagesDir
          + " cannot be read (" + e.getMessage() + "): it was started without TLS PEM texts, or is gone",
          "a page server that no dump reaches within its timeout stops and removes itself: start it again and "
              + "dump within its timeout");
    }
  }

  /**
   * The agent relay's TLS from the same certificates (files read here, or the PEM texts), null for
   * plain TCP. Checked requests only ({@link #check}).
   */
  static RelayTls relayTls(TlsFiles files, TlsPem pem) throws AgentException {
    try {
      if (!files.getCaCert().isEmpty()) {
        pem = TlsPem.newBuilder().setCaCert(Files.readString(Path.of(files.getCaCert()), StandardCharsets.US_ASCII))
            .setCert(Files.readString(Path.of(files.getCert()), StandardCharsets.US_ASCII))
            .setKey(Files.readString(Path.of(files.getKey()), StandardCharsets.US_ASCII)).build();
      }
      return pem.equals(TlsPem.getDefaultInstance()) ? null : RelayTls.of(pem);
    } catch (IOException | GeneralSecurityException e) {
      // The message names what failed, never a key.
      throw AgentException.usage("the page stream's TLS certificates cannot be used: " + e.getMessage(),
          "give a CA certificate, a certificate and its PKCS#8 private key, all PEM");
    }
  }

  /** Sets CRIU's TLS options; nothing for plain TCP (null). */
  static void apply(CriuOpts.Builder opts, TlsFiles files) {
    if (files != null) {
      opts.setTls(true).setTlsCacert(files.getCaCert()).setTlsCert(files.getCert()).setTlsKey(files.getKey());
    }
  }

  /** Removes the TLS files the agent wrote into {@code work}, if any. */
  static void remove(WorkDir work) {
    try {
      CleanupOperation.deleteRecursively(work.agentFile(DIR));
    } catch (IOException e) {
      // The directory's cleanup removes them with everything else.
    }
  }
}
