package dev.criumigration.agent.cli;

import dev.criumigration.agent.ops.AgentException;
import dev.criumigration.agent.ops.Arguments;
import dev.criumigration.agent.ops.ImagesBase;
import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** --json, --timeout and --images-base, which every operation command takes. */
public final class CommonOptions {
  @Option(names = "--json", description = "Print exactly one JSON document: the result, or the error.")
  boolean json;

  @Option(names = "--timeout", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "How long the operation may take: 500ms, 30s, 5m, 1h (default: the operation's own).")
  Duration timeout;

  @Option(names = "--images-base", paramLabel = "DIR",
      description = "Every images directory must be inside DIR (default: $" + ImagesBase.ENV + ", else "
          + ImagesBase.DEFAULT + ").")
  String imagesBase;

  /** Parses durations with {@link Arguments#parseDuration}; its message and hint become picocli's error. */
  public static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return Arguments.parseDuration(value);
      } catch (AgentException e) {
        throw new TypeConversionException(e.getMessage() + " (" + e.error().getHint() + ")");
      }
    }
  }

  /** HOST:PORT of a page server. */
  public static final class HostPortConverter implements ITypeConverter<Arguments.HostPort> {
    @Override
    public Arguments.HostPort convert(String value) {
      try {
        return Arguments.parseHostPort(value);
      } catch (AgentException e) {
        throw new TypeConversionException(e.getMessage() + " (" + e.error().getHint() + ")");
      }
    }
  }

  /** A size in bytes: "200M", "1G" (powers of 1024). */
  public static final class SizeConverter implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      try {
        return Arguments.parseSize(value);
      } catch (AgentException e) {
        throw new TypeConversionException(e.getMessage() + " (" + e.error().getHint() + ")");
      }
    }
  }

  /** A port to listen on, 0 to 65535. */
  public static final class ListenPortConverter implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      try {
        return Arguments.checkListenPort(Long.parseLong(value.trim()));
      } catch (NumberFormatException e) {
        throw new TypeConversionException("'" + value + "' is not a port number (give 1 to 65535, or 0)");
      } catch (AgentException e) {
        throw new TypeConversionException(e.getMessage() + " (" + e.error().getHint() + ")");
      }
    }
  }
}
