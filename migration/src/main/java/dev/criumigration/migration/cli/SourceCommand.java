package dev.criumigration.migration.cli;

import dev.criumigration.agent.protocol.SourceResult;
import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** resume and kill: the two fates of a tree left stopped by 'dump'; only the action differs. */
abstract class SourceCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    SourceTreeOptions tree;

    abstract SourceResult act(MigrationEngine engine) throws MigrationException;

    @Override
    public Integer call() {
        return EngineRun.withEngine(command, connection, null, engine -> {
            SourceResult result = act(engine);
            EngineRun.print(command, connection, EngineRun.sourceMap(result), "tree " + result.getPid() + " ("
                    + result.getProcesses() + " processes) " + result.getAction());
            return MigrateMain.OK;
        });
    }
}
