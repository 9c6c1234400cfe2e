package dev.criumigration.migration.cli;

import dev.criumigration.migration.AbortOutcome;
import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.PageServerInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "abort", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Gives up a step-by-step migration after any step (or when a step's controller died):",
            "kills a tree restored from the page server's images, stops the page server and removes the images",
            "on both hosts, then resumes the source a dump left stopped."})
final class AbortCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    StateFileOption state;

    @Override
    public Integer call() {
        Map<String, Object> document = StateFile.read(state.file);
        PageServerInfo pageServer = PageServerInfo.fromMap(StateFile.section(document, "pageServer", state.file,
                "criu-migrate page-server"));
        DumpInfo dump = document.get("dump") instanceof Map<?, ?> dumpMap ? DumpInfo.fromMap(dumpMap) : null;
        return EngineRun.withEngine(command, connection, null, engine -> {
            AbortOutcome outcome = engine.abort(pageServer, dump);
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("outcome", outcome.name());
            EngineRun.print(command, connection, result, switch (outcome) {
                case PAGE_SERVER_REMOVED -> "the page server was stopped and its images removed";
                case SOURCE_RESUMED -> "the source tree " + dump.pid() + " on " + dump.source() + " runs again; "
                        + "the images were removed on both hosts";
                case SOURCE_NOT_CONFIRMED -> "the images were removed; the source tree " + dump.pid() + " on "
                        + dump.source() + " could not be confirmed running (see the warnings)";
                case ALREADY_MIGRATED -> "the source was already gone: the tree runs on " + pageServer.host()
                        + "; the images were removed";
            });
            return outcome == AbortOutcome.SOURCE_NOT_CONFIRMED ? MigrateMain.FAILED : MigrateMain.OK;
        });
    }
}
