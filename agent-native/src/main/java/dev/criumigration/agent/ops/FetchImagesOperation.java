package dev.criumigration.agent.ops;

import com.google.protobuf.ByteString;
import dev.criumigration.agent.images.ImageSet;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.FetchImagesRequest;
import dev.criumigration.agent.protocol.FetchImagesResult;
import dev.criumigration.agent.protocol.ImageFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** The non-page image files of a dump (pages travel through the page server), to carry them across. */
public final class FetchImagesOperation implements Operation<FetchImagesResult> {
  private final FetchImagesRequest request;

  public FetchImagesOperation(FetchImagesRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofMinutes(5);
  }

  @Override
  public FetchImagesResult run(OperationContext context) throws AgentException {
    Path dir = context.imagesBase().imagesDir(request.getImagesDir());
    if (!Files.exists(dir.resolve(ImageSet.INVENTORY))) {
      throw AgentException.usage(dir + " holds no finished dump (no " + ImageSet.INVENTORY + ")",
          "fetch the images after the dump has finished (or reached its commit point)");
    }
    FetchImagesResult.Builder result = FetchImagesResult.newBuilder();
    try {
      for (Path file : ImageSet.imageFiles(dir)) {
        String name = file.getFileName().toString();
        if (!ImageSet.isPagesImage(name)) {
          result.addFiles(ImageFile.newBuilder().setName(name).setContent(ByteString.copyFrom(Files.readAllBytes(file))));
        }
      }
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot read the images in " + dir + ": " + e.getMessage(), "");
    }
    return result.build();
  }
}
