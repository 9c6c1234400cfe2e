package dev.criumigration.migration.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The step-by-step flow's memory between commands (see {@link StateFile}). */
final class StateFileOption {
    @Option(names = "--state", required = true, paramLabel = "FILE",
            description = "The step-by-step state file: page-server writes it, dump and restore read and update it, "
                    + "abort reads it.")
    Path file;
}
