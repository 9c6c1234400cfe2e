package dev.criumigration.migration.cli;

import dev.criumigration.migration.AbortOutcome;
import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.Documents;
import dev.criumigration.migration.DumpSpec;
import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationReport;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.PageServerInfo;
import dev.criumigration.migration.PageServerSpec;
import dev.criumigration.migration.RestoreInfo;
import dev.criumigration.migration.RestoreSpec;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.ssh.HostAddress;
import dev.criumigration.agent.protocol.CheckResult;
import dev.criumigration.agent.protocol.SourceResult;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code criu-migrate}: live migration of a process tree between hosts over SSH, in one command or step
 * by step. Exit status 0 on success, 1 when the operation failed, 2 for a usage error.
 */
@Command(name = "criu-migrate", mixinStandardHelpOptions = true, versionProvider = MigrateMain.Version.class,
        sortOptions = false, usageHelpAutoWidth = true,
        description = {
            "Moves a running process tree from one host to another with CRIU, disk-less: memory pages stream "
                + "into a page server on a tmpfs on the destination, the tree is restored there, and only then is "
                + "the source killed. Any failure resumes the source and cleans the destination.",
            "Without a subcommand it migrates; the subcommands are the same steps one by one."},
        subcommands = {MigrateMain.PageServerCommand.class, MigrateMain.DumpCommand.class,
            MigrateMain.RestoreCommand.class, MigrateMain.AbortCommand.class, MigrateMain.ResumeCommand.class,
            MigrateMain.KillCommand.class, MigrateMain.CheckCommand.class},
        footerHeading = "%nExamples:%n",
        footer = {
            "  criu-migrate --from root@src.example --to root@dst.example:2222 --pid 4242",
            "  criu-migrate --from src --to dst --pid 4242 --dry-run   # preflight only",
            "  criu-migrate --from src --to dst --pid 4242 --json > report.json",
            "  criu-migrate -i ~/.ssh/migrate_ed25519 --known-hosts /etc/cm/known_hosts \\",
            "      --from src --to dst --pid 4242 --tmpfs-size 2G --tcp-established",
            "Step by step (what the Jenkins steps do):",
            "  criu-migrate page-server --to dst --state /tmp/m.json",
            "  criu-migrate dump --from src --pid 4242 --state /tmp/m.json",
            "  criu-migrate restore --state /tmp/m.json",
            "  criu-migrate abort --state /tmp/m.json   # give up after any step",
            "From cron or a systemd timer: use --json and the exit status",
            "(0 ok, 1 failed, 2 usage error). SIGTERM or Ctrl-C during a migration",
            "rolls it back (the source resumes) before exiting.",
            "Trust a new host, after checking its fingerprint, with:",
            "  ssh-keyscan -p PORT -t ed25519 HOST >> ~/.ssh/known_hosts"})
public final class MigrateMain implements Callable<Integer> {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;

    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--from", paramLabel = "[USER@]HOST[:PORT]", converter = HostAddressConverter.class,
            description = "The source host, where the tree runs now.")
    HostAddress from;

    @Option(names = "--to", paramLabel = "[USER@]HOST[:PORT]", converter = HostAddressConverter.class,
            description = "The destination host.")
    HostAddress to;

    @Option(names = "--pid", paramLabel = "PID", description = "The root of the tree, as the source host sees it.")
    Integer pid;

    @Option(names = "--images-dir", paramLabel = "DIR",
            description = "Where each migration makes its directories on both hosts: the images base (the "
                    + "default) or a directory inside it.")
    String imagesDir;

    @Option(names = "--tmpfs-size", paramLabel = "SIZE",
            description = "Size of the destination's tmpfs, e.g. 2G (default: from the tree's memory).")
    String tmpfsSize;

    @Option(names = "--tcp-established", description = "Migrate established TCP connections too.")
    boolean tcpEstablished;

    @Option(names = "--shell-job", description = "The tree is a shell job (has a controlling terminal).")
    boolean shellJob;

    @Option(names = "--dry-run", description = "Run only the preflight: both hosts checked, nothing changed.")
    boolean dryRun;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "Deadline of the whole migration (default: 10m).")
    Duration timeout;

    @Option(names = "--no-tls", description = "INSECURE: send the memory pages in plain text instead of with CRIU's "
            + "TLS and certificates made for this migration (a warning is printed).")
    boolean noTls;

    @Option(names = "--recheck", description = "Ask CRIU again on both hosts instead of reusing the host and CPU "
            + "checks the agents kept from an earlier migration with the same CRIU, kernel and agent.")
    boolean recheck;

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command line; the exit status is returned, not exited with (for tests). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine cli = new CommandLine(new MigrateMain());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setParameterExceptionHandler((e, arguments) -> {
            err.println("criu-migrate: " + e.getMessage());
            err.println("Try 'criu-migrate " + subcommandName(e.getCommandLine()) + "--help' for more.");
            return USAGE;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parsed) -> {
            if (e instanceof UsageException || e instanceof CommandLine.ParameterException) {
                err.println("criu-migrate: " + e.getMessage());
                return USAGE;
            }
            err.println("criu-migrate: internal error: " + e);
            e.printStackTrace(err);
            return FAILED;
        });
        return cli.execute(args);
    }

    private static String subcommandName(CommandLine command) {
        return command.getParent() == null ? "" : command.getCommandName() + " ";
    }

    @Override
    public Integer call() {
        if (from == null || to == null || pid == null) {
            throw new UsageException("missing " + (from == null ? "--from" : to == null ? "--to" : "--pid")
                    + ": criu-migrate --from [USER@]HOST[:PORT] --to [USER@]HOST[:PORT] --pid PID (see --help)");
        }
        MigrationSpec spec = new MigrationSpec(from, to, pid, imagesDir, tmpfsSize, tcpEstablished, shellJob, dryRun,
                timeout, !noTls, null, recheck);
        return withEngine(command, connection, timeout, engine -> {
            MigrationReport report = engine.migrate(spec);
            PrintWriter out = command.commandLine().getOut();
            out.print(connection.json ? report.toJson() + "\n" : report.toText());
            out.flush();
            return OK;
        });
    }

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
            return e.kind() == MigrationException.Kind.USAGE ? USAGE : FAILED;
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

    // ---- the step-by-step flow -------------------------------------------------------------------

    @Command(name = "page-server", mixinStandardHelpOptions = true, sortOptions = false,
            description = "Starts a detached CRIU page server on a tmpfs on the destination (step 1 of 3).")
    static final class PageServerCommand implements Callable<Integer> {
        @Spec
        CommandSpec command;

        @Mixin
        ConnectionOptions connection;

        @Option(names = "--to", required = true, paramLabel = "[USER@]HOST[:PORT]",
                converter = HostAddressConverter.class, description = "The destination host.")
        HostAddress to;

        @Option(names = "--state", required = true, paramLabel = "FILE",
                description = "State file for the next steps (written).")
        Path state;

        @Option(names = "--images-dir", paramLabel = "DIR",
                description = "Images directory on the destination, inside the images base (default: a new one).")
        String imagesDir;

        @Option(names = "--tmpfs-size", paramLabel = "SIZE", description = "tmpfs size (default: available memory).")
        String tmpfsSize;

        @Option(names = "--address", paramLabel = "IP",
                description = "Address to listen on (default: the destination's address as resolved here).")
        String address;

        @Option(names = "--port", paramLabel = "PORT", description = "TCP port (default: any free one).")
        int port;

        @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
                description = "How long the page server waits for the dump (default: 10m).")
        Duration timeout;

        @Option(names = "--no-tls", description = "INSECURE: the page server and its dump without TLS (plain text).")
        boolean noTls;

        @Override
        public Integer call() {
            StateFile.checkWritable(state);
            PageServerSpec spec = new PageServerSpec(imagesDir, tmpfsSize, address, port, timeout, !noTls);
            return withEngine(command, connection, null, engine -> {
                PageServerInfo info = engine.startPageServer(to, spec);
                Map<String, Object> document = new LinkedHashMap<>();
                document.put("pageServer", info.toMap());
                StateFile.write(state, document);
                print(command, connection, info.toMap(), "page server on " + info.host() + " listens on " + info.address()
                        + ":" + info.port() + ", images in " + info.imagesDir());
                return OK;
            });
        }
    }

    @Command(name = "dump", mixinStandardHelpOptions = true, sortOptions = false,
            description = "Dumps the tree to the page server; the source stays stopped (step 2 of 3).")
    static final class DumpCommand implements Callable<Integer> {
        @Spec
        CommandSpec command;

        @Mixin
        ConnectionOptions connection;

        @Option(names = "--from", required = true, paramLabel = "[USER@]HOST[:PORT]",
                converter = HostAddressConverter.class, description = "The source host.")
        HostAddress from;

        @Option(names = "--pid", required = true, paramLabel = "PID", description = "The root of the tree.")
        int pid;

        @Option(names = "--state", required = true, paramLabel = "FILE",
                description = "State file written by page-server (read and updated).")
        Path state;

        @Option(names = "--images-dir", paramLabel = "DIR",
                description = "Images directory on the source, inside the images base (default: beside the pages).")
        String imagesDir;

        @Option(names = "--tcp-established", description = "Dump established TCP connections.")
        boolean tcpEstablished;

        @Option(names = "--shell-job", description = "The tree is a shell job.")
        boolean shellJob;

        @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
                description = "Deadline of the dump (default: 10m).")
        Duration timeout;

        @Override
        public Integer call() {
            Map<String, Object> document = StateFile.read(state);
            PageServerInfo pageServer = PageServerInfo.fromMap(StateFile.section(document, "pageServer", state,
                    "criu-migrate page-server"));
            StateFile.checkWritable(state);
            DumpSpec spec = new DumpSpec(pid, imagesDir, true, tcpEstablished, shellJob, timeout);
            return withEngine(command, connection, null, engine -> {
                DumpInfo info = engine.dump(from, spec, pageServer);
                document.put("dump", info.toMap());
                StateFile.write(state, document);
                print(command, connection, info.toMap(), "dumped " + info.processes() + " process(es) of " + info.pid() + " on "
                        + info.source() + ": " + info.pages() + " pages; the source is stopped until restore");
                return OK;
            });
        }
    }

    @Command(name = "restore", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Restores on the page server's host, then kills the stopped source (step 3 of 3).",
                "On failure the source is resumed and the destination cleaned."})
    static final class RestoreCommand implements Callable<Integer> {
        @Spec
        CommandSpec command;

        @Mixin
        ConnectionOptions connection;

        @Option(names = "--state", required = true, paramLabel = "FILE",
                description = "State file written by dump (read and updated).")
        Path state;

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
            Map<String, Object> document = StateFile.read(state);
            DumpInfo dump = DumpInfo.fromMap(StateFile.section(document, "dump", state, "criu-migrate dump"));
            HostAddress destination = to != null ? to : HostAddress.parse(dump.pageServer().host());
            StateFile.checkWritable(state);
            RestoreSpec spec = new RestoreSpec(null, dump.tcpEstablished(), !keepSource, timeout);
            return withEngine(command, connection, null, engine -> {
                RestoreInfo info = engine.restore(destination, spec, dump);
                document.put("restore", info.toMap());
                StateFile.write(state, document);
                print(command, connection, info.toMap(), "restored on " + info.destination() + " as PID " + info.pid()
                        + (info.sourceKilled() ? "; the source was killed" : "; the source stays stopped"));
                return OK;
            });
        }
    }

    @Command(name = "abort", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Gives up a step-by-step migration after any step (or when a step's controller died):",
                "kills a tree restored from the page server's images, stops the page server and removes the images",
                "on both hosts, then resumes the source a dump left stopped."})
    static final class AbortCommand implements Callable<Integer> {
        @Spec
        CommandSpec command;

        @Mixin
        ConnectionOptions connection;

        @Option(names = "--state", required = true, paramLabel = "FILE",
                description = "State file written by page-server (and dump).")
        Path state;

        @Override
        public Integer call() {
            Map<String, Object> document = StateFile.read(state);
            PageServerInfo pageServer = PageServerInfo.fromMap(StateFile.section(document, "pageServer", state,
                    "criu-migrate page-server"));
            DumpInfo dump = document.get("dump") instanceof Map<?, ?> dumpMap ? DumpInfo.fromMap(dumpMap) : null;
            return withEngine(command, connection, null, engine -> {
                AbortOutcome outcome = engine.abort(pageServer, dump);
                Map<String, Object> result = new LinkedHashMap<>();
                result.put("outcome", outcome.name());
                print(command, connection, result, switch (outcome) {
                    case PAGE_SERVER_REMOVED -> "the page server was stopped and its images removed";
                    case SOURCE_RESUMED -> "the source tree " + dump.pid() + " on " + dump.source() + " runs again; "
                            + "the images were removed on both hosts";
                    case SOURCE_NOT_CONFIRMED -> "the images were removed; the source tree " + dump.pid() + " on "
                            + dump.source() + " could not be confirmed running (see the warnings)";
                    case ALREADY_MIGRATED -> "the source was already gone: the tree runs on " + pageServer.host()
                            + "; the images were removed";
                });
                return outcome == AbortOutcome.SOURCE_NOT_CONFIRMED ? FAILED : OK;
            });
        }
    }

    /** resume and kill: the two fates of a tree left stopped by 'dump'; only the action differs. */
    abstract static class SourceCommand implements Callable<Integer> {
        @Spec
        CommandSpec command;

        @Mixin
        ConnectionOptions connection;

        @Option(names = "--from", required = true, paramLabel = "[USER@]HOST[:PORT]",
                converter = HostAddressConverter.class, description = "The source host.")
        HostAddress from;

        @Option(names = "--pid", required = true, paramLabel = "PID", description = "The root of the stopped tree.")
        int pid;

        abstract SourceResult act(MigrationEngine engine) throws MigrationException;

        @Override
        public Integer call() {
            return withEngine(command, connection, null, engine -> {
                SourceResult result = act(engine);
                print(command, connection, sourceMap(result), "tree " + result.getPid() + " (" + result.getProcesses()
                        + " processes) " + result.getAction());
                return OK;
            });
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true,
            description = "Resumes a tree left stopped by 'dump' (gives up a step-by-step migration).")
    static final class ResumeCommand extends SourceCommand {
        @Override
        SourceResult act(MigrationEngine engine) throws MigrationException {
            return engine.resume(from, pid);
        }
    }

    @Command(name = "kill", mixinStandardHelpOptions = true,
            description = "Kills a tree left stopped by 'dump' (only a stopped one), once it runs elsewhere.")
    static final class KillCommand extends SourceCommand {
        @Override
        SourceResult act(MigrationEngine engine) throws MigrationException {
            return engine.kill(from, pid);
        }
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Checks hosts: SSH, the agent (deployed if needed), Java, CRIU and the kernel.")
    static final class CheckCommand implements Callable<Integer> {
        @Spec
        CommandSpec command;

        @Mixin
        ConnectionOptions connection;

        @Parameters(arity = "1..*", paramLabel = "[USER@]HOST[:PORT]", converter = HostAddressConverter.class,
                description = "Hosts to check.")
        List<HostAddress> hosts;

        @Override
        public Integer call() {
            return withEngine(command, connection, null, engine -> {
                Map<String, Object> results = new LinkedHashMap<>();
                StringBuilder text = new StringBuilder();
                for (HostAddress host : hosts) {
                    CheckResult check = engine.check(host);
                    Map<String, Object> map = new LinkedHashMap<>();
                    map.put("ok", check.getOk());
                    map.put("criuVersion", check.getCriuVersion());
                    map.put("kernel", check.getKernel());
                    map.put("javaVersion", check.getJavaVersion());
                    map.put("agentVersion", check.getAgentVersion());
                    map.put("memoryAvailableBytes", check.getMemoryAvailableBytes());
                    map.put("problems", List.copyOf(check.getProblemsList()));
                    results.put(host.toString(), map);
                    text.append(host).append(": ok, CRIU ").append(check.getCriuVersion()).append(", kernel ")
                            .append(check.getKernel()).append(", Java ").append(check.getJavaVersion()).append('\n');
                }
                print(command, connection, results, text.toString().strip());
                return OK;
            });
        }
    }

    private static Map<String, Object> sourceMap(SourceResult result) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("pid", result.getPid());
        map.put("action", result.getAction());
        map.put("processes", result.getProcesses());
        return map;
    }

    private static void print(CommandSpec command, ConnectionOptions connection, Map<String, Object> map, String text) {
        command.commandLine().getOut().println(connection.json ? Documents.toJson(map) : text);
    }

    /** The version of this build, from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = MigrateMain.class.getPackage().getImplementationVersion();
            return new String[] {"criu-migrate " + (version == null ? "(development build)" : version)};
        }
    }
}
