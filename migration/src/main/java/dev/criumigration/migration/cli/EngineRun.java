package dev.criumigration.migration.cli;

import dev.criumigration.agent.protocol.SourceResult;
import dev.criumigration.migration.Documents;
import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** What every command does around its engine call: the engine's life, signals, failures as exit statuses and output. */
final class EngineRun {
    private EngineRun() {}

    /** What a command does with the engine. */
    interface EngineAction {
        int run(MigrationEngine engine) throws MigrationException;
    }

    /**
     * Runs {@code action} with an engine, turning failures into messages and exit statuses. SIGTERM and
     * Ctrl-C cancel the engine and wait for its rollback before the process exits.
     */
    static int withEngine(CommandSpec command, ConnectionOptions connection, Duration operationTimeout,
                          EngineAction action) {
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        MigrationEngine engine = new MigrationEngine(connection.settings(operationTimeout),
                new ConsoleListener(err, connection.verbose));
        CountDownLatch finished = new CountDownLatch(1);
        Thread onSignal = new Thread(() -> {
            engine.cancel();
            try {
                finished.await(5, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "criu-migrate-shutdown");
        Runtime.getRuntime().addShutdownHook(onSignal);
        try {
            return action.run(engine);
        } catch (MigrationException e) {
            err.println("criu-migrate: " + e.describe());
            if (connection.json) {
                out.println(Documents.toJson(errorDocument(e)));
            }
            return e.kind() == MigrationException.Kind.USAGE ? MigrateMain.USAGE : MigrateMain.FAILED;
        } finally {
            engine.close();
            out.flush();
            err.flush();
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(onSignal);
            } catch (IllegalStateException shuttingDown) {
                // The hook is running: it waited for us.
            }
        }
    }

    static Map<String, Object> errorDocument(MigrationException e) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("ok", false);
        error.put("phase", e.phase() == null ? null : e.phase().name());
        error.put("kind", e.kind().name());
        error.put("message", e.getMessage());
        error.put("hint", e.hint());
        error.put("sourceResumed", e.sourceResumed());
        error.put("criuLog", List.copyOf(e.criuLogExcerpt()));
        return error;
    }

    static Map<String, Object> sourceMap(SourceResult result) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("pid", result.getPid());
        map.put("action", result.getAction());
        map.put("processes", result.getProcesses());
        return map;
    }

    static void print(CommandSpec command, ConnectionOptions connection, Map<String, Object> map, String text) {
        command.commandLine().getOut().println(connection.json ? Documents.toJson(map) : text);
    }
}
