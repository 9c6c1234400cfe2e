package dev.criumigration.migration.cli;

import picocli.CommandLine.Option;

/** CRIU's options for what the tree holds: the one-shot migration and the dump step take them alike. */
final class TreeOptions {
    @Option(names = "--tcp-established", description = "Migrate established TCP connections too (CRIU's option).")
    boolean tcpEstablished;

    @Option(names = "--shell-job", description = "The tree is a shell job (has a controlling terminal).")
    boolean shellJob;
}
