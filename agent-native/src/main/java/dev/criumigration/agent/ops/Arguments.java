package dev.criumigration.agent.ops;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parsing and checking of the values people type: durations, sizes, ports, HOST:PORT. */
public final class Arguments {
  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");
  private static final Pattern SIZE = Pattern.compile("(\\d+)([KMGT]?)(I?B)?");
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+");

  private Arguments() {}

  /** A page server's address and port as the dumping side dials it. */
  public record HostPort(String host, int port) {
    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /** "500ms", "30s", "5m", "1h": a positive duration. */
  public static Duration parseDuration(String text) throws AgentException {
    Matcher m = DURATION.matcher(text.trim());
    if (!m.matches()) {
      throw AgentException.usage("'" + text + "' is not a duration",
          "write a whole number with a unit: 500ms, 30s, 5m or 1h");
    }
    long amount;
    try {
      amount = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      throw AgentException.usage("'" + text + "' is too long a duration", "use at most days' worth, e.g. 24h");
    }
    Duration duration = switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(amount);
      case "s" -> Duration.ofSeconds(amount);
      case "m" -> Duration.ofMinutes(amount);
      default -> Duration.ofHours(amount);
    };
    if (duration.isZero()) {
      throw AgentException.usage("a timeout of " + text + " leaves no time", "give a positive duration");
    }
    return duration;
  }

  /** "90s" style text for messages: the largest unit that divides it. */
  public static String formatDuration(Duration duration) {
    long millis = duration.toMillis();
    if (millis % 3_600_000 == 0) {
      return millis / 3_600_000 + "h";
    }
    if (millis % 60_000 == 0) {
      return millis / 60_000 + "m";
    }
    if (millis % 1000 == 0) {
      return millis / 1000 + "s";
    }
    return millis + "ms";
  }

  /** "512M", "2G", "64MiB", "1048576": bytes, in powers of 1024 as tmpfs counts them. */
  public static long parseSize(String text) throws AgentException {
    Matcher m = SIZE.matcher(text.trim().toUpperCase(Locale.ROOT));
    if (!m.matches()) {
      throw AgentException.usage("'" + text + "' is not a size",
          "write a whole number of bytes, optionally with K, M, G or T (powers of 1024): 512M, 2G");
    }
    int shift = switch (m.group(2)) {
      case "K" -> 10;
      case "M" -> 20;
      case "G" -> 30;
      case "T" -> 40;
      default -> 0;
    };
    long bytes;
    try {
      long number = Long.parseLong(m.group(1));
      if (number > (Long.MAX_VALUE >> shift)) {
        throw new NumberFormatException();
      }
      bytes = number << shift;
    } catch (NumberFormatException e) {
      throw AgentException.usage("'" + text + "' is too large a size", "give a size this host can hold");
    }
    if (bytes == 0) {
      throw AgentException.usage("a size of " + text + " holds nothing", "give a positive size such as 512M");
    }
    return bytes;
  }

  /** A TCP port to listen on: 0 lets CRIU pick one. */
  public static int checkListenPort(long port) throws AgentException {
    if (port < 0 || port > 65535) {
      throw AgentException.usage("port " + port + " is out of range",
          "give a port from 1 to 65535, or 0 to let CRIU pick a free one");
    }
    return (int) port;
  }

  /** "HOST:PORT", "[IPv6]:PORT". */
  public static HostPort parseHostPort(String text) throws AgentException {
    String trimmed = text.trim();
    int colon = trimmed.lastIndexOf(':');
    if (colon <= 0 || colon == trimmed.length() - 1) {
      throw AgentException.usage("'" + text + "' is not HOST:PORT",
          "give the address and port the page server printed, e.g. 10.0.0.2:27000");
    }
    String host = trimmed.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.contains(":")) {
      throw AgentException.usage("'" + text + "' is ambiguous", "write an IPv6 address in brackets: [::1]:27000");
    }
    if (!HOST.matcher(host).matches()) {
      throw AgentException.usage("'" + host + "' is not a host name or address",
          "give an IP address or a host name");
    }
    int port;
    try {
      port = Integer.parseInt(trimmed.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw AgentException.usage("'" + trimmed.substring(colon + 1) + "' in '" + text + "' is not a port",
          "give a port number from 1 to 65535");
    }
    return new HostPort(host, checkDialPort(port));
  }

  /** A port to connect to: 1 to 65535. */
  public static int checkDialPort(long port) throws AgentException {
    if (port < 1 || port > 65535) {
      throw AgentException.usage("port " + port + " is out of range", "give a port from 1 to 65535");
    }
    return (int) port;
  }
}
