package dev.criumigration.migration.cli;

import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.DumpSpec;
import dev.criumigration.migration.PageServerInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "dump", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Dumps the tree to the page server; the source stays stopped (step 2 of 3).")
final class DumpCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    SourceTreeOptions tree;

    @Mixin
    StateFileOption state;

    @Option(names = "--images-dir", paramLabel = "DIR",
            description = "Images directory on the source, inside the images base (default: beside the pages).")
    String imagesDir;

    @Mixin
    TreeOptions criu;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "Deadline of the dump (default: 10m).")
    Duration timeout;

    @Override
    public Integer call() {
        Map<String, Object> document = StateFile.read(state.file);
        PageServerInfo pageServer = PageServerInfo.fromMap(StateFile.section(document, "pageServer", state.file,
                "criu-migrate page-server"));
        StateFile.checkWritable(state.file);
        DumpSpec spec = new DumpSpec(tree.pid, imagesDir, true, criu.tcpEstablished, criu.shellJob, timeout);
        return EngineRun.withEngine(command, connection, null, engine -> {
            DumpInfo info = engine.dump(tree.from, spec, pageServer);
            document.put("dump", info.toMap());
            StateFile.write(state.file, document);
            EngineRun.print(command, connection, info.toMap(), "dumped " + info.processes() + " process(es) of " + info.pid() + " on "
                    + info.source() + ": " + info.pages() + " pages; the source is stopped until restore");
            return MigrateMain.OK;
        });
    }
}
