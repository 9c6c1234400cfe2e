package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.FetchImagesRequest;
import dev.criumigration.agent.protocol.FetchImagesResult;
import dev.criumigration.agent.protocol.ImageFile;
import dev.criumigration.agent.protocol.PutImagesRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Carrying the non-page images: only plain image names, never pages, never outside the directory. */
class ImageTransferTest {
  @TempDir Path dir;

  private static ImageFile file(String name, String content) {
    return ImageFile.newBuilder().setName(name).setContent(ByteString.copyFromUtf8(content)).build();
  }

  @Test
  void fetchLeavesOutPagesLogsAndTheAgentsRecords() throws Exception {
    Path source = Files.createDirectory(dir.resolve("source"));
    for (String name : new String[] {"inventory.img", "pstree.img", "core-1.img", "stats-dump", "pages-1.img",
        "criu-dump.log"}) {
      Files.writeString(source.resolve(name), name);
    }
    Files.createDirectories(source.resolve(".criu-agent"));
    FetchImagesResult fetched = Harness.run(new FetchImagesOperation(
        FetchImagesRequest.newBuilder().setImagesDir(source.toString()).build()));
    assertEquals(java.util.List.of("core-1.img", "inventory.img", "pstree.img", "stats-dump"),
        fetched.getFilesList().stream().map(ImageFile::getName).toList());
  }

  @Test
  void putWritesImagesAndRecordsThemForCleanup() throws Exception {
    Path destination = Files.createDirectory(dir.resolve("destination"));
    Files.writeString(destination.resolve("unrelated.txt"), "not the agent's");
    Harness.run(new PutImagesOperation(PutImagesRequest.newBuilder().setImagesDir(destination.toString())
        .addFiles(file("core-1.img", "core")).addFiles(file("pstree.img", "tree")).build()));
    assertEquals("core", Files.readString(destination.resolve("core-1.img")));

    Harness.cleanup(destination);
    assertFalse(Files.exists(destination.resolve("core-1.img")));
    assertFalse(Files.exists(destination.resolve(".criu-agent")));
    assertTrue(Files.exists(destination.resolve("unrelated.txt")), "cleanup removes only what the agent made");
  }

  @Test
  void putReplacesASymlinkInsteadOfWritingThroughIt() throws Exception {
    Path destination = Files.createDirectory(dir.resolve("destination"));
    Path outside = Files.writeString(dir.resolve("outside.txt"), "untouched");
    Files.createSymbolicLink(destination.resolve("core-1.img"), outside);
    Harness.run(new PutImagesOperation(PutImagesRequest.newBuilder().setImagesDir(destination.toString())
        .addFiles(file("core-1.img", "core")).build()));
    assertEquals("untouched", Files.readString(outside));
    assertFalse(Files.isSymbolicLink(destination.resolve("core-1.img")));
    assertArrayEquals("core".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(destination.resolve("core-1.img")));
  }

  @ParameterizedTest
  @ValueSource(strings = {"../core-1.img", "sub/core-1.img", "/etc/core-1.img", ".hidden.img", "", "..",
      "pages-1.img", "evil.sh", "core-1.img\0.img"})
  void putRefusesNamesThatAreNotPlainNonPageImages(String name) {
    Path destination = dir.resolve("destination");
    AgentException refused = assertThrows(AgentException.class, () -> Harness.run(new PutImagesOperation(
        PutImagesRequest.newBuilder().setImagesDir(destination.toString()).addFiles(file(name, "x")).build())));
    assertEquals(ErrorKind.USAGE, refused.kind());
    assertFalse(Files.exists(destination), "nothing was made");
  }
}
