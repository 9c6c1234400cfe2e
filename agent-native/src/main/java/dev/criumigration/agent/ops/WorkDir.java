package dev.criumigration.agent.ops;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.criumigration.agent.nativeio.Mounts;
import dev.criumigration.agent.ops.records.PageServerRecord;
import dev.criumigration.agent.ops.records.ProcessRef;
import dev.criumigration.agent.ops.records.WorkDirRecord;
import dev.criumigration.agent.protocol.ErrorKind;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * An images directory the agent works in, with its records in DIR/.criu-agent: whether the agent
 * created the directory or mounted its tmpfs, which files its operations created (cleanup removes
 * exactly those), and the page server's outcome.
 */
final class WorkDir {
  static final String AGENT_DIR = ".criu-agent";
  private static final String WORKDIR_RECORD = "workdir.json";
  private static final String PAGE_SERVER_RECORD = "page-server.json";
  /**
   * Room kept for the records on a tmpfs the pages may fill: a page server that failed because its
   * tmpfs is full must still be able to record that.
   */
  private static final String RESERVE = "reserve";
  private static final int RESERVE_BYTES = 64 << 10;

  private final Path dir;
  private WorkDirRecord record;

  private WorkDir(Path dir, WorkDirRecord record) {
    this.dir = dir;
    this.record = record;
  }

  /** An existing directory, with the agent's record of it if it has one. */
  static Optional<WorkDir> existing(Path dir) throws AgentException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    Path recordFile = dir.resolve(AGENT_DIR).resolve(WORKDIR_RECORD);
    WorkDirRecord record = Files.exists(recordFile)
        ? read(recordFile, WorkDirRecord.newBuilder()).build()
        : WorkDirRecord.getDefaultInstance();
    return Optional.of(new WorkDir(dir, record));
  }

  /**
   * Creates {@code dir} (and missing parents) unless it exists, and proves it writable by creating
   * the agent's own subdirectory in it.
   */
  static WorkDir prepare(Path dir) throws AgentException {
    boolean created = false;
    try {
      if (Files.isSymbolicLink(dir)) {
        throw AgentException.usage(dir + " is a symbolic link", "give the real directory");
      }
      if (!Files.exists(dir)) {
        Files.createDirectories(dir);
        created = true;
      } else if (!Files.isDirectory(dir)) {
        throw AgentException.usage(dir + " is not a directory", "give a directory for the images");
      }
    } catch (IOException e) {
      throw notWritable(dir, e);
    }
    WorkDir work = existing(dir).orElseThrow();
    if (created) {
      work.record = work.record.toBuilder().setCreatedDir(true).build();
    }
    try {
      write(work.agentFile(WORKDIR_RECORD), work.record);
    } catch (IOException e) {
      throw notWritable(dir, e);
    }
    return work;
  }

  private static AgentException notWritable(Path dir, IOException e) {
    String why = e instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason()
        : e instanceof AccessDeniedException ? "permission denied" : e.toString();
    return AgentException.usage("cannot write to the images directory " + dir + ": " + why,
        "give a writable directory on a file system with room for the images (not read-only)");
  }

  Path dir() {
    return dir;
  }

  WorkDirRecord record() {
    return record;
  }

  /** A file of the agent's own, in DIR/.criu-agent. */
  Path agentFile(String name) {
    return dir.resolve(AGENT_DIR).resolve(name);
  }

  /** Mounts a tmpfs of {@code sizeBytes} on the directory and re-creates the records inside it. */
  void mountTmpfs(long sizeBytes) throws AgentException {
    try {
      Mounts.mountTmpfs(dir, sizeBytes);
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot mount a tmpfs on " + dir + ": " + e.getMessage(),
          "the agent must run as root; check that the kernel has tmpfs (criu-agent check)");
    }
    record = record.toBuilder().setTmpfsMounted(true).setTmpfsSizeBytes(sizeBytes).build();
    save();
    try {
      Files.write(agentFile(RESERVE), new byte[RESERVE_BYTES]);
    } catch (IOException e) {
      throw AgentException.usage("a tmpfs of " + sizeBytes + " bytes is too small even for the agent's records",
          "give a --tmpfs-size that holds the tree's memory");
    }
  }

  /** The names of the directory's entries, without the agent's own. */
  Set<String> files() throws IOException {
    try (Stream<Path> entries = Files.list(dir)) {
      Set<String> names = new TreeSet<>();
      entries.map(p -> p.getFileName().toString()).filter(n -> !n.equals(AGENT_DIR)).forEach(names::add);
      return names;
    }
  }

  /** Records as the agent's the files that exist now and did not in {@code before}. */
  void recordCreatedSince(Set<String> before) throws AgentException {
    if (record.getCreatedDir() || record.getTmpfsMounted()) {
      save();  // everything in the directory is the agent's anyway
      return;
    }
    try {
      Set<String> created = new TreeSet<>(record.getFilesList());
      for (String name : files()) {
        if (!before.contains(name)) {
          created.add(name);
        }
      }
      record = record.toBuilder().clearFiles().addAllFiles(created).build();
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot list " + dir + ": " + e.getMessage(), "");
    }
    save();
  }

  /** Remembers the tree restored from this directory, for a cleanup that gives the migration up. */
  void recordRestored(ProcessRef root) throws AgentException {
    record = record.toBuilder().setRestored(root).build();
    save();
  }

  void save() throws AgentException {
    writeRecord(agentFile(WORKDIR_RECORD), record);
  }

  Optional<PageServerRecord> pageServer() throws AgentException {
    Path file = agentFile(PAGE_SERVER_RECORD);
    return Files.exists(file) ? Optional.of(read(file, PageServerRecord.newBuilder()).build())
        : Optional.empty();
  }

  void savePageServer(PageServerRecord pageServer) throws AgentException {
    writeRecord(agentFile(PAGE_SERVER_RECORD), pageServer);
  }

  /** Writes a record; when the directory is full, gives up the reserve for it. */
  private void writeRecord(Path file, Message message) throws AgentException {
    try {
      write(file, message);
    } catch (IOException full) {
      try {
        if (!Files.deleteIfExists(agentFile(RESERVE))) {
          throw full;
        }
        write(file, message);
      } catch (IOException e) {
        throw AgentException.of(ErrorKind.IO, "cannot write the agent's record " + file + ": " + e.getMessage(),
            "free space in " + dir);
      }
    }
  }

  /** Written aside and renamed: a reader sees the old record or the new one, never half of one. */
  private static void write(Path file, Message message) throws IOException {
    Files.createDirectories(file.getParent());
    Path temporary = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
    try {
      Files.writeString(temporary, JsonFormat.printer().preservingProtoFieldNames().print(message));
      Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  @SuppressWarnings("unchecked")
  private static <B extends Message.Builder> B read(Path file, B builder) throws AgentException {
    try {
      JsonFormat.parser().ignoringUnknownFields().merge(Files.readString(file), builder);
      return builder;
    } catch (NoSuchFileException e) {
      return builder;
    } catch (InvalidProtocolBufferException e) {
      throw AgentException.of(ErrorKind.IO, "the agent's record " + file + " is damaged: " + e.getMessage(),
          "remove " + file.getParent() + " and the directory's contents by hand");
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot read " + file + ": " + e.getMessage(), "");
    }
  }
}
