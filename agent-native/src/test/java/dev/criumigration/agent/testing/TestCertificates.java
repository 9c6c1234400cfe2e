package dev.criumigration.agent.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.criumigration.agent.protocol.TlsPem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A CA and two certificates it signed, made with openssl as a controller would per migration: the
 * page server's (for 127.0.0.1) and the dump's, each with its key.
 */
public record TestCertificates(TlsPem pageServer, TlsPem dump) {
  public static TestCertificates make(Path dir) throws Exception {
    Files.createDirectories(dir);
    openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-subj", "/CN=test page stream CA", "-days", "1", "-keyout", "ca-key.pem", "-out", "ca.pem");
    for (String name : List.of("server", "client")) {
      openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
          "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-keyout", name + "-key.pem", "-out", name + ".pem");
    }
    String ca = Files.readString(dir.resolve("ca.pem"));
    return new TestCertificates(
        TlsPem.newBuilder().setCaCert(ca).setCert(Files.readString(dir.resolve("server.pem")))
            .setKey(Files.readString(dir.resolve("server-key.pem"))).build(),
        TlsPem.newBuilder().setCaCert(ca).setCert(Files.readString(dir.resolve("client.pem")))
            .setKey(Files.readString(dir.resolve("client-key.pem"))).build());
  }

  private static void openssl(Path dir, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Process openssl = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String output = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, openssl.waitFor(), output);
  }
}
