package dev.criumigration.agent.ops;

import dev.criumigration.agent.images.ImageSet;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.ImageFile;
import dev.criumigration.agent.protocol.PutImagesRequest;
import dev.criumigration.agent.protocol.PutImagesResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Set;

/**
 * Writes non-page image files into an images directory (the destination's, beside the pages the page
 * server received). Only plain CRIU image names: no directories, no path escapes, no pages.
 */
public final class PutImagesOperation implements Operation<PutImagesResult> {
  private final PutImagesRequest request;

  public PutImagesOperation(PutImagesRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofMinutes(5);
  }

  @Override
  public PutImagesResult run(OperationContext context) throws AgentException {
    Path dir = context.imagesBase().imagesDir(request.getImagesDir());
    for (ImageFile file : request.getFilesList()) {
      checkName(file.getName());
    }
    WorkDir work = WorkDir.prepare(dir);
    long bytes = 0;
    Set<String> before;
    try {
      before = work.files();
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot list " + dir + ": " + e.getMessage(), "");
    }
    try {
      for (ImageFile file : request.getFilesList()) {
        // Written aside and renamed: a reader never sees half a file, and a symlink in the way is
        // replaced, not followed.
        Path temporary = Files.createTempFile(work.agentFile(""), file.getName(), ".part");
        try (var out = Files.newOutputStream(temporary)) {
          file.getContent().writeTo(out);
        }
        Files.move(temporary, dir.resolve(file.getName()), StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
        bytes += file.getContent().size();
      }
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot write the images into " + dir + ": " + e.getMessage(),
          "check the free space of " + dir + " (a tmpfs holds at most its size)");
    } finally {
      work.recordCreatedSince(before);
    }
    return PutImagesResult.newBuilder().setFiles(request.getFilesCount()).setBytes(bytes).build();
  }

  static void checkName(String name) throws AgentException {
    boolean plain = !name.isEmpty() && !name.contains("/") && !name.contains("\0")
        && !name.startsWith(".") && ImageSet.isImageName(name);
    if (!plain) {
      throw AgentException.usage("'" + name + "' is not the name of a CRIU image file",
          "send only plain image names such as core-1.img, pstree.img or stats-dump");
    }
    if (ImageSet.isPagesImage(name)) {
      throw AgentException.usage("'" + name + "' is a page image",
          "pages travel through the page server; send only the other images");
    }
  }
}
