package dev.criumigration.agent.images;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One CRIU image file: a 32-bit little-endian magic (preceded by IMG_COMMON_MAGIC or IMG_SERVICE_MAGIC
 * for all images but inventory.img), then entries, each a 32-bit little-endian size and that many bytes
 * of protobuf. Read the way CRIU's own image.c reads them.
 */
public final class ImageFile {
  /** Precedes the magic of every regular image (criu/include/magic.h). */
  public static final int IMG_COMMON_MAGIC = 0x54564319;
  /** Precedes the magic of service images such as stats-dump. */
  public static final int IMG_SERVICE_MAGIC = 0x55105940;
  public static final int INVENTORY_MAGIC = 0x58313116;
  public static final int PSTREE_MAGIC = 0x50273030;
  public static final int STATS_MAGIC = 0x57093306;

  /** CRIU never writes an entry this large into the images the agent reads; larger means damage. */
  private static final int MAX_ENTRY_SIZE = 16 << 20;

  private ImageFile() {}

  /** The entries of {@code file}, which must carry {@code magic}. */
  public static <T extends MessageLite> List<T> readEntries(Path file, int magic, Parser<T> parser)
      throws IOException {
    ByteBuffer image = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    int found = readInt(image, file, "magic");
    if (found == IMG_COMMON_MAGIC || found == IMG_SERVICE_MAGIC) {
      found = readInt(image, file, "magic");
    }
    if (found != magic) {
      throw new ImageFormatException(file, String.format(
          "magic 0x%08x, expected 0x%08x: not the image it is named after", found, magic));
    }
    List<T> entries = new ArrayList<>();
    while (image.hasRemaining()) {
      int size = readInt(image, file, "entry size");
      if (size < 0 || size > MAX_ENTRY_SIZE || size > image.remaining()) {
        throw new ImageFormatException(file, String.format(
            "entry %d claims %d bytes, %d left: truncated or damaged", entries.size(), size,
            image.remaining()));
      }
      try {
        entries.add(parser.parseFrom(image.slice(image.position(), size)));
      } catch (InvalidProtocolBufferException e) {
        throw new ImageFormatException(file, "entry " + entries.size() + " is not valid protobuf: "
            + e.getMessage());
      }
      image.position(image.position() + size);
    }
    return entries;
  }

  /** The single entry of an image that holds exactly one (inventory, stats). */
  public static <T extends MessageLite> T readSingle(Path file, int magic, Parser<T> parser)
      throws IOException {
    List<T> entries = readEntries(file, magic, parser);
    if (entries.size() != 1) {
      throw new ImageFormatException(file, "holds " + entries.size() + " entries, expected one");
    }
    return entries.get(0);
  }

  private static int readInt(ByteBuffer image, Path file, String what) throws ImageFormatException {
    if (image.remaining() < Integer.BYTES) {
      throw new ImageFormatException(file, "ends inside the " + what + ": truncated");
    }
    return image.getInt();
  }
}
