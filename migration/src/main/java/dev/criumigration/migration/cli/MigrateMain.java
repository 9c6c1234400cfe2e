package dev.criumigration.migration.cli;

import dev.criumigration.migration.MigrationReport;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.PageStream;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.ssh.HostAddress;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;

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
        subcommands = {PageServerCommand.class, DumpCommand.class, RestoreCommand.class, AbortCommand.class,
            ResumeCommand.class, KillCommand.class, CheckCommand.class},
        footerHeading = "%nExamples:%n",
        footer = {
            "  criu-migrate --from root@src.example --to root@dst.example:2222 --pid 4242",
            "  criu-migrate --from src --to dst --pid 4242 --dry-run   # preflight only",
            "  criu-migrate --from src --to dst --pid 4242 --json > report.json",
            "  criu-migrate --from src --to dst --pid 4242 --max-rate 200M   # leave bandwidth to production",
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

    @Mixin
    TreeOptions criu;

    @Option(names = "--dry-run", description = "Run only the preflight: both hosts checked, nothing changed.")
    boolean dryRun;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "Deadline of the whole migration (default: 10m).")
    Duration timeout;

    @Option(names = "--no-tls", description = "INSECURE: send the memory pages in plain text instead of with TLS "
            + "and certificates made for this migration (a warning is printed).")
    boolean noTls;

    @Option(names = "--page-transport", paramLabel = "relay|criu", defaultValue = "relay",
            description = "relay (default): the agents carry the page stream over one connection of their own, TLS 1.3 "
                    + "authenticated both ways, with live progress. criu: CRIU's own connection (with TLS: CRIU's "
                    + "GnuTLS, about twice the plain frozen time).")
    String pageTransport;

    @Option(names = "--compress", description = "relay only: compress the page stream with LZ4 (pays on real memory "
            + "over a slow link, not on random bytes).")
    boolean compress;

    @Option(names = "--max-rate", paramLabel = "SIZE", description = "relay only: at most SIZE bytes a second on the "
            + "wire (100M, 1G), so that an evacuation leaves bandwidth to production traffic (default: no cap).")
    String maxRate;

    @Option(names = "--page-server-address", paramLabel = "ADDRESS",
            description = "The address the source dials for the destination's page server (default: the "
                    + "destination's own address on its route to the source, as its agent finds it). Give it behind "
                    + "NAT, a bastion or on a multi-homed host.")
    String pageServerAddress;

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
        MigrationSpec spec = new MigrationSpec(from, to, pid, imagesDir, tmpfsSize, criu.tcpEstablished, criu.shellJob,
                dryRun, timeout, !noTls, pageServerAddress, recheck, PageStream.of(pageTransport, compress, maxRate));
        return EngineRun.withEngine(command, connection, timeout, engine -> {
            MigrationReport report = engine.migrate(spec);
            PrintWriter out = command.commandLine().getOut();
            out.print(connection.json ? report.toJson() + "\n" : report.toText());
            out.flush();
            return OK;
        });
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
