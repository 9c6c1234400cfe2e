package dev.criumigration.agent.cli;

import dev.criumigration.agent.protocol.AgentError;
import dev.criumigration.agent.protocol.ErrorKind;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** criu-agent: the host agent's command line. */
@Command(name = "criu-agent", mixinStandardHelpOptions = true, versionProvider = AgentMain.Version.class,
    synopsisSubcommandLabel = "COMMAND",
    description = {"Checkpoints and restores process trees on this host with CRIU, for disk-less live migration.",
        "Each command prints human-readable text, or exactly one JSON document with --json. Exit "
            + "status: 0 success, 1 the operation failed, 2 bad input."},
    subcommands = {CheckCommand.class, PageServerCommand.class, PageServerStatusCommand.class, DumpCommand.class,
        RestoreCommand.class, SourceCommands.Resume.class, SourceCommands.Kill.class, ImagesCommand.class,
        CleanupCommand.class, ServeCommand.class, DaemonCommand.class, CommandLine.HelpCommand.class},
    footer = {"", "The disk-less flow, destination B and source A:",
        "B: criu-agent page-server --images-dir /var/lib/criu/in \\",
        "     --tmpfs-size 2G --address 10.0.0.2 --detach",
        "A: criu-agent dump --pid 4242 --images-dir /var/lib/criu/out \\",
        "     --page-server 10.0.0.2:PORT --leave-stopped",
        "   copy the non-page images (all but pages-*.img) to B:/var/lib/criu/in",
        "B: criu-agent restore --images-dir /var/lib/criu/in",
        "A: criu-agent kill --pid 4242  (if the restore failed: resume --pid 4242)",
        "A, B: criu-agent cleanup --images-dir DIR",
        "", "Try it on this machine (as root, in a checkout): src/demo.sh"})
public final class AgentMain implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs the command line with {@code out} and {@code err}; the exit status. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    PrintWriter outWriter = new PrintWriter(out, true);
    PrintWriter errWriter = new PrintWriter(err, true);
    boolean json = Arrays.asList(args).contains("--json");
    CommandLine commandLine = new CommandLine(new AgentMain())
        .setOut(outWriter)
        .setErr(errWriter)
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setParameterExceptionHandler((e, ignored) -> {
          String message = e.getMessage();
          String hint = "see " + e.getCommandLine().getCommandSpec().qualifiedName() + " --help";
          if (json) {
            outWriter.println(Json.print(AgentError.newBuilder().setKind(ErrorKind.USAGE).setMessage(message)
                .setHint(hint).build()));
          } else {
            errWriter.println("criu-agent: " + message);
            errWriter.println("  what to do: " + hint);
          }
          return OperationRunner.USAGE;
        })
        .setExecutionExceptionHandler((e, cmd, ignored) -> {
          // A bug, not a user error: one line, the stack trace only on request.
          String message = "internal error: " + e;
          if (json) {
            outWriter.println(Json.print(AgentError.newBuilder().setKind(ErrorKind.INTERNAL).setMessage(message)
                .setHint("please report it").build()));
          } else {
            errWriter.println("criu-agent: " + message + " (CRIU_AGENT_DEBUG=1 shows the stack trace)");
          }
          if (System.getenv("CRIU_AGENT_DEBUG") != null) {
            e.printStackTrace(err);
          }
          return OperationRunner.FAILED;
        });
    return commandLine.execute(args);
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "no command given");
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = AgentMain.class.getPackage().getImplementationVersion();
      return new String[] {"criu-agent " + (version == null ? "(development build)" : version)};
    }
  }
}
