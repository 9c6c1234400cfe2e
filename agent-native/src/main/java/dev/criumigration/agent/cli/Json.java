package dev.criumigration.agent.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;

/**
 * The --json form of the agent's messages: protobuf's JSON mapping with the .proto field names
 * (snake_case) and every field printed, defaults included, so a consumer never has to know proto3's
 * rule that zero values are left out. 64-bit integers are strings, as that mapping prescribes.
 */
public final class Json {
  private static final JsonFormat.Printer PRINTER =
      JsonFormat.printer().preservingProtoFieldNames().alwaysPrintFieldsWithNoPresence();

  private Json() {}

  public static String print(MessageOrBuilder message) {
    try {
      return PRINTER.print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("the agent's own messages always print", e);
    }
  }
}
