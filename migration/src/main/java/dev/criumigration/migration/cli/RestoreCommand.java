package dev.criumigration.migration.cli;

import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.RestoreInfo;
import dev.criumigration.migration.RestoreSpec;
import dev.criumigration.migration.ssh.HostAddress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "restore", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Restores on the page server's host, then kills the stopped source (step 3 of 3).",
            "On failure the source is resumed and the destination cleaned."})
final class RestoreCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    StateFileOption state;

    @Option(names = "--to", paramLabel = "[USER@]HOST[:PORT]", converter = HostAddressConverter.class,
            description = "The destination (default: the page server's host from the state file).")
    HostAddress to;

    @Option(names = "--keep-source", description = "Leave the source stopped instead of killing it.")
    boolean keepSource;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "Deadline of the restore (default: 10m).")
    Duration timeout;

    @Override
    public Integer call() {
        Map<String, Object> document = StateFile.read(state.file);
        DumpInfo dump = DumpInfo.fromMap(StateFile.section(document, "dump", state.file, "criu-migrate dump"));
        HostAddress destination = to != null ? to : HostAddress.parse(dump.pageServer().host());
        StateFile.checkWritable(state.file);
        RestoreSpec spec = new RestoreSpec(null, dump.tcpEstablished(), !keepSource, timeout);
        return EngineRun.withEngine(command, connection, null, engine -> {
            RestoreInfo info = engine.restore(destination, spec, dump);
            document.put("restore", info.toMap());
            StateFile.write(state.file, document);
            EngineRun.print(command, connection, info.toMap(), "restored on " + info.destination() + " as PID " + info.pid()
                    + (info.sourceKilled() ? "; the source was killed" : "; the source stays stopped"));
            return MigrateMain.OK;
        });
    }
}
