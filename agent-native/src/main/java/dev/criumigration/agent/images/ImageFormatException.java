package dev.criumigration.agent.images;

import java.io.IOException;
import java.nio.file.Path;

/** An image file that is not what CRIU writes: wrong magic, truncated, or damaged entries. */
public final class ImageFormatException extends IOException {
  private final Path file;

  public ImageFormatException(Path file, String problem) {
    super(file + ": " + problem);
    this.file = file;
  }

  public Path file() {
    return file;
  }
}
