package dev.criumigration.migration.cli;

import dev.criumigration.agent.protocol.SourceResult;
import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import picocli.CommandLine.Command;

@Command(name = "kill", mixinStandardHelpOptions = true,
        description = "Kills a tree left stopped by 'dump' (only a stopped one), once it runs elsewhere.")
final class KillCommand extends SourceCommand {
    @Override
    SourceResult act(MigrationEngine engine) throws MigrationException {
        return engine.kill(tree.from, tree.pid);
    }
}
