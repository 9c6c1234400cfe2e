package dev.criumigration.agent.cli;

import dev.criumigration.agent.protocol.NetworkLock;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** --network-lock iptables|nftables|skip. */
final class NetworkLocks implements ITypeConverter<NetworkLock> {
  @Override
  public NetworkLock convert(String value) {
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "iptables" -> NetworkLock.IPTABLES;
      case "nftables" -> NetworkLock.NFTABLES;
      case "skip" -> NetworkLock.SKIP;
      default -> throw new TypeConversionException("'" + value + "' is not a network lock (give iptables, nftables or skip)");
    };
  }
}
