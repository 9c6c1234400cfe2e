package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.TlsFiles;
import dev.criumigration.agent.protocol.TlsPem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The page stream's TLS files: checked before anything is made, written private, removed. */
class PageStreamTlsTest {
  private static final String CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  private static final String KEY = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n";

  @TempDir Path dir;

  @Test
  void pemTextsAreWrittenOnlyForRootAndRemoved() throws Exception {
    WorkDir work = WorkDir.prepare(dir.resolve("images"));
    TlsPem pem = TlsPem.newBuilder().setCaCert(CERT).setCert(CERT).setKey(KEY).setPeerCert(CERT).setPeerKey(KEY)
        .build();
    PageStreamTls.check(TlsFiles.getDefaultInstance(), pem, true);
    TlsFiles files = PageStreamTls.files(TlsFiles.getDefaultInstance(), pem, work);
    Path tls = work.agentFile(PageStreamTls.DIR);
    assertEquals(tls.resolve("key.pem").toString(), files.getKey());
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tls)));
    for (String name : new String[] {"ca.pem", "cert.pem", "key.pem", "peer-cert.pem", "peer-key.pem"}) {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tls.resolve(name))), name);
    }
    assertEquals(KEY, Files.readString(tls.resolve("peer-key.pem")));
    PageStreamTls.remove(work);
    assertFalse(Files.exists(tls));
  }

  @Test
  void plainTcpWithoutEither() throws Exception {
    WorkDir work = WorkDir.prepare(dir.resolve("images"));
    PageStreamTls.check(TlsFiles.getDefaultInstance(), TlsPem.getDefaultInstance(), false);
    assertNull(PageStreamTls.files(TlsFiles.getDefaultInstance(), TlsPem.getDefaultInstance(), work));
  }

  @Test
  void mistakesAreUsageErrors() throws Exception {
    Path file = Files.writeString(dir.resolve("ca.pem"), CERT);
    TlsPem pem = TlsPem.newBuilder().setCaCert(CERT).setCert(CERT).setKey(KEY).build();
    TlsFiles files = TlsFiles.newBuilder().setCaCert(file.toString()).setCert(file.toString())
        .setKey(file.toString()).build();
    assertUsage(files, pem, true, "both given");
    assertUsage(files.toBuilder().setKey("").build(), TlsPem.getDefaultInstance(), true, "missing");
    assertUsage(files.toBuilder().setCert("ca.pem").build(), TlsPem.getDefaultInstance(), true, "absolute");
    assertUsage(TlsFiles.getDefaultInstance(), pem.toBuilder().setKey(CERT).build(), true, "not a PEM private key");
    assertUsage(TlsFiles.getDefaultInstance(), pem.toBuilder().setCaCert("; rm -rf /").build(), true, "not a PEM");
    assertUsage(TlsFiles.getDefaultInstance(), pem.toBuilder().setPeerCert(CERT).setPeerKey(KEY).build(), false,
        "page server");
  }

  private static void assertUsage(TlsFiles files, TlsPem pem, boolean pageServer, String expected) {
    AgentException e = assertThrows(AgentException.class, () -> PageStreamTls.check(files, pem, pageServer));
    assertEquals(ErrorKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertFalse(e.error().getHint().isEmpty());
  }
}
