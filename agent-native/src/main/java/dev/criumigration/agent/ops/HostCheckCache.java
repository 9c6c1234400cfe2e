package dev.criumigration.agent.ops;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.criumigration.agent.ops.records.HostCheckCacheRecord;
import dev.criumigration.agent.protocol.CheckResult;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * CRIU's answers on this host, asked once and kept while they cannot have changed: the key is CRIU's
 * binary (path, size, modification time, inode), the kernel (release and build) and the agent's own
 * jar. A migration's preflight then starts no CRIU for the host check nor for a CPU check it has
 * passed before. Only answers that let a migration go ahead are kept; anything unreadable is a miss.
 * The file is root's alone (0600 in a 0700 directory): it decides whether CRIU is asked at all.
 */
public final class HostCheckCache {
  public static final Path DEFAULT_FILE = Path.of("/var/cache/criu-agent/host-check.json");

  private final Path file;
  private final String key;

  HostCheckCache(Path file, String key) {
    this.file = file;
    this.key = key;
  }

  /**
   * The cache for this host as it is now; none when its key cannot be told, or when the agent runs
   * from a build's class directory (whose changes a key cannot see: every check asks CRIU).
   */
  static Optional<HostCheckCache> forHost(Path criuBinary) {
    try {
      Path agentJar = agentJar();
      return Files.isRegularFile(agentJar)
          ? Optional.of(new HostCheckCache(DEFAULT_FILE, keyOf(criuBinary, agentJar))) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** CRIU's answers found with the same key, if any. */
  Optional<CheckResult> criuAnswers() {
    HostCheckCacheRecord record = load();
    return record.getKey().equals(key) && record.hasCriuAnswers()
        ? Optional.of(record.getCriuAnswers()) : Optional.empty();
  }

  /** Keeps CRIU's answers; a new key forgets every older answer, the CPU checks too. */
  void keepCriuAnswers(CheckResult answers) throws IOException {
    store(current().setCriuAnswers(answers));
  }

  boolean compatibleBefore(ByteString cpuinfo) {
    HostCheckCacheRecord record = load();
    return record.getKey().equals(key) && record.getCompatibleCpuinfoSha256List().contains(sha256(cpuinfo.toByteArray()));
  }

  void keepCompatible(ByteString cpuinfo) throws IOException {
    HostCheckCacheRecord.Builder record = current();
    String sha = sha256(cpuinfo.toByteArray());
    if (!record.getCompatibleCpuinfoSha256List().contains(sha)) {
      store(record.addCompatibleCpuinfoSha256(sha));
    }
  }

  /** The record under this key: what is there if the key matches, else an empty one. */
  private HostCheckCacheRecord.Builder current() {
    HostCheckCacheRecord record = load();
    return record.getKey().equals(key) ? record.toBuilder() : HostCheckCacheRecord.newBuilder().setKey(key);
  }

  private HostCheckCacheRecord load() {
    HostCheckCacheRecord.Builder record = HostCheckCacheRecord.newBuilder();
    try {
      JsonFormat.parser().ignoringUnknownFields().merge(Files.readString(file), record);
      return record.build();
    } catch (IOException e) {  // missing, unreadable or damaged: a miss, CRIU is asked
      return HostCheckCacheRecord.getDefaultInstance();
    }
  }

  /** Written aside and renamed: two agents writing at once leave one whole record, never a mix. */
  private void store(HostCheckCacheRecord.Builder record) throws IOException {
    Path dir = file.getParent();
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    Path temporary = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");  // 0600
    try {
      Files.writeString(temporary, JsonFormat.printer().preservingProtoFieldNames().print(record));
      Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("the cache record always prints", e);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  /** What the answers depend on; any change of it gives another key. */
  static String keyOf(Path criuBinary, Path agentJar) throws IOException {
    StringBuilder key = new StringBuilder();
    for (Path file : new Path[] {criuBinary, agentJar}) {
      BasicFileAttributes attributes = Files.readAttributes(file.toRealPath(), BasicFileAttributes.class);
      key.append(file.toRealPath()).append(' ').append(attributes.size()).append(' ')
          .append(attributes.lastModifiedTime().toMillis()).append(' ').append(attributes.fileKey()).append('\n');
    }
    key.append(Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip()).append('\n')
        .append(Files.readString(Path.of("/proc/sys/kernel/version")).strip());
    return sha256(key.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** The jar (or the class directory) the agent's code is loaded from. */
  private static Path agentJar() throws IOException {
    try {
      return Path.of(HostCheckCache.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException | SecurityException | NullPointerException e) {
      throw new IOException("cannot tell where the agent's code is", e);
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java", e);
    }
  }
}
