package dev.criumigration.migration.cli;

import dev.criumigration.agent.protocol.SourceResult;
import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import picocli.CommandLine.Command;

@Command(name = "resume", mixinStandardHelpOptions = true,
        description = "Resumes a tree left stopped by 'dump' (gives up a step-by-step migration).")
final class ResumeCommand extends SourceCommand {
    @Override
    SourceResult act(MigrationEngine engine) throws MigrationException {
        return engine.resume(tree.from, tree.pid);
    }
}
