package dev.criumigration.agent.ops;

import dev.criumigration.agent.images.ImageFormatException;
import dev.criumigration.agent.images.ImageSet;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.ImagesRequest;
import dev.criumigration.agent.protocol.ImagesResult;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.time.Duration;

/** What an image set holds: processes, pages, sizes, CRIU's statistics. */
public final class ImagesOperation implements Operation<ImagesResult> {
  private final ImagesRequest request;

  public ImagesOperation(ImagesRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofMinutes(1);
  }

  @Override
  public ImagesResult run(OperationContext context) throws AgentException {
    var dir = context.imagesBase().imagesDir(request.getImagesDir());
    try {
      return ImageSet.describe(dir);
    } catch (NoSuchFileException | NotDirectoryException e) {
      throw AgentException.usage(dir + " is not a directory", "give the images directory of a dump");
    } catch (ImageFormatException e) {
      throw AgentException.of(ErrorKind.IO, "damaged image: " + e.getMessage(),
          "the image set is incomplete or corrupt; dump again");
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot read " + dir + ": " + e.getMessage(), "");
    }
  }
}
