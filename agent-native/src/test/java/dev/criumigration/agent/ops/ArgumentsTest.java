package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.protocol.ErrorKind;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ArgumentsTest {
  @Test
  void durationsTakeAUnit() throws AgentException {
    assertEquals(Duration.ofMillis(500), Arguments.parseDuration("500ms"));
    assertEquals(Duration.ofSeconds(30), Arguments.parseDuration("30s"));
    assertEquals(Duration.ofMinutes(5), Arguments.parseDuration("5m"));
    assertEquals(Duration.ofHours(1), Arguments.parseDuration(" 1h "));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "30", "s", "-5s", "1.5s", "5 m", "5min", "0s", "99999999999999999999h", "PT30S"})
  void badDurationsAreUsageErrorsWithAHint(String text) {
    AgentException e = assertThrows(AgentException.class, () -> Arguments.parseDuration(text));
    assertEquals(ErrorKind.USAGE, e.kind());
    assertFalse(e.error().getHint().isEmpty());
  }

  @Test
  void durationsPrintInTheirLargestWholeUnit() {
    assertEquals("90s", Arguments.formatDuration(Duration.ofSeconds(90)));
    assertEquals("2m", Arguments.formatDuration(Duration.ofSeconds(120)));
    assertEquals("1h", Arguments.formatDuration(Duration.ofMinutes(60)));
    assertEquals("1500ms", Arguments.formatDuration(Duration.ofMillis(1500)));
  }

  @Test
  void sizesArePowersOf1024() throws AgentException {
    assertEquals(1048576, Arguments.parseSize("1048576"));
    assertEquals(512L << 20, Arguments.parseSize("512M"));
    assertEquals(2L << 30, Arguments.parseSize("2g"));
    assertEquals(64L << 20, Arguments.parseSize("64MiB"));
    assertEquals(4L << 10, Arguments.parseSize("4KB"));
    assertEquals(1L << 40, Arguments.parseSize("1T"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "M", "1.5G", "-1M", "0", "0M", "12X", "1 G", "lots", "9999999999999T"})
  void badSizesAreRefused(String text) {
    AgentException e = assertThrows(AgentException.class, () -> Arguments.parseSize(text));
    assertEquals(ErrorKind.USAGE, e.kind());
  }

  @Test
  void listenPortsAllowZero() throws AgentException {
    assertEquals(0, Arguments.checkListenPort(0));
    assertEquals(65535, Arguments.checkListenPort(65535));
    assertThrows(AgentException.class, () -> Arguments.checkListenPort(65536));
    assertThrows(AgentException.class, () -> Arguments.checkListenPort(-1));
  }

  @Test
  void hostPortsParse() throws AgentException {
    assertEquals(new Arguments.HostPort("10.0.0.2", 27000), Arguments.parseHostPort("10.0.0.2:27000"));
    assertEquals(new Arguments.HostPort("dest.example", 1), Arguments.parseHostPort("dest.example:1"));
    assertEquals(new Arguments.HostPort("::1", 27000), Arguments.parseHostPort("[::1]:27000"));
    assertEquals("[::1]:27000", Arguments.parseHostPort("[::1]:27000").toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"10.0.0.2", ":27000", "10.0.0.2:", "10.0.0.2:0", "10.0.0.2:65536", "host:port",
      "::1:27000", "a b:1", "$(reboot):1", "10.0.0.2:-1"})
  void badHostPortsAreRefused(String text) {
    AgentException e = assertThrows(AgentException.class, () -> Arguments.parseHostPort(text));
    assertEquals(ErrorKind.USAGE, e.kind());
    assertTrue(e.getMessage().length() > 5);
  }
}
