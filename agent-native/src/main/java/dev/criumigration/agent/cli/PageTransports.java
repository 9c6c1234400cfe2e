package dev.criumigration.agent.cli;

import dev.criumigration.agent.protocol.PageCompression;
import dev.criumigration.agent.protocol.PageTransport;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** The page stream's command-line words: {@code --page-transport criu|relay}, {@code --compress none|lz4}. */
final class PageTransports implements ITypeConverter<PageTransport> {
  @Override
  public PageTransport convert(String value) {
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "criu" -> PageTransport.CRIU_TCP;
      case "relay" -> PageTransport.AGENT_RELAY;
      default -> throw new TypeConversionException("'" + value + "' is not a page transport (give criu or relay)");
    };
  }

  static final class Compressions implements ITypeConverter<PageCompression> {
    @Override
    public PageCompression convert(String value) {
      return switch (value.trim().toLowerCase(Locale.ROOT)) {
        case "none" -> PageCompression.NO_COMPRESSION;
        case "lz4" -> PageCompression.LZ4;
        default -> throw new TypeConversionException("'" + value + "' is not a compression (give none or lz4)");
      };
    }
  }
}
