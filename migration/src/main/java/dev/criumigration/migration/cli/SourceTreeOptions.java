package dev.criumigration.migration.cli;

import dev.criumigration.migration.ssh.HostAddress;
import picocli.CommandLine.Option;

/** The tree on the source host that a step works on: dump, resume and kill. */
final class SourceTreeOptions {
    @Option(names = "--from", required = true, paramLabel = "[USER@]HOST[:PORT]",
            converter = HostAddressConverter.class, description = "The source host.")
    HostAddress from;

    @Option(names = "--pid", required = true, paramLabel = "PID",
            description = "The root of the tree, as the source host sees it.")
    int pid;
}
