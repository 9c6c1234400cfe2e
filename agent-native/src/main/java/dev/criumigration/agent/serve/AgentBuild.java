package dev.criumigration.agent.serve;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * The jar this agent runs from and its SHA-256, the build a controller compares with its own. A
 * daemon asks {@link #replaced()} to notice that its jar was upgraded under it.
 */
public final class AgentBuild {
  private final Path jar;
  private final String sha256;
  private final Object attributes;

  private AgentBuild(Path jar, String sha256, Object attributes) {
    this.jar = jar;
    this.sha256 = sha256;
    this.attributes = attributes;
  }

  /** The running agent's build; without a jar (run from classes) its checksum is empty. */
  public static AgentBuild current() {
    try {
      Path location = Path.of(AgentBuild.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (Files.isRegularFile(location)) {
        return new AgentBuild(location, sha256(location), identity(location));
      }
    } catch (URISyntaxException | IOException | SecurityException | NullPointerException e) {
      // no jar to name: a build without a checksum, which no controller takes for its own
    }
    return new AgentBuild(null, "", null);
  }

  public String sha256() {
    return sha256;
  }

  /** The checksum of the jar now at this build's path, when it is another one than this build's. */
  public Optional<String> replaced() {
    if (jar == null) {
      return Optional.empty();
    }
    try {
      if (Objects.equals(identity(jar), attributes)) {
        return Optional.empty();
      }
      String now = sha256(jar);
      return now.equals(sha256) ? Optional.empty() : Optional.of(now);
    } catch (IOException e) {
      return Optional.empty();  // being replaced right now: looked at again on the next connection
    }
  }

  /** What changes when the file is replaced or rewritten, without reading it. */
  private static Object identity(Path file) throws IOException {
    BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
    return a.size() + " " + a.lastModifiedTime().toMillis() + " " + a.fileKey();
  }

  private static String sha256(Path file) throws IOException {
    try (DigestInputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
      in.transferTo(OutputStream.nullOutputStream());
      return HexFormat.of().formatHex(in.getMessageDigest().digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java", e);
    }
  }

}
