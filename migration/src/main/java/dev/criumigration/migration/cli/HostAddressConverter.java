package dev.criumigration.migration.cli;

import dev.criumigration.migration.ssh.HostAddress;
import picocli.CommandLine.ITypeConverter;

/** [USER@]HOST[:PORT] arguments. */
final class HostAddressConverter implements ITypeConverter<HostAddress> {
    @Override
    public HostAddress convert(String text) {
        return HostAddress.parse(text);
    }
}
