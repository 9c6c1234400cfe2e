package dev.criumigration.agent.cli;

import dev.criumigration.agent.serve.AgentHost;
import dev.criumigration.agent.serve.AgentServer;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import dev.criumigration.agent.ops.AgentException;
import dev.criumigration.agent.ops.ImagesBase;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {"Serves a controller (criu-migrate) over stdin and stdout.",
        "Length-delimited AgentRequest messages in, AgentEvent messages out (agent.proto); logs go to stderr. "
            + "Requests run at once, told apart by their ids; a CancelRequest cancels one; a commit_point dump "
            + "waits at its commit point for a CommitDecision; two requests for the same process or images "
            + "directory are refused (BUSY). Closing stdin cancels what runs (a frozen source is resumed, a page server stopped) and ends "
            + "the agent, and what its session made that nobody can use any more is removed (see docs/agent.md)."},
    footer = {"", "Example (what the controller runs over SSH):", "  java -jar criu-agent.jar serve"})
final class ServeCommand implements Callable<Integer> {
  @Option(names = "--images-base", paramLabel = "DIR",
      description = "Every images directory must be inside DIR (default: $" + ImagesBase.ENV + ", else "
          + ImagesBase.DEFAULT + ").")
  String imagesBase;

  @Override
  public Integer call() throws InterruptedException {
    ImagesBase base;
    try {
      base = ImagesBase.of(imagesBase);
    } catch (AgentException e) {
      System.err.println("criu-agent serve: " + e.getMessage() + "\n  what to do: " + e.error().getHint());
      return OperationRunner.USAGE;
    }
    OutputStream events = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out));
    // Nothing but events may reach stdout: whatever else prints goes to stderr.
    PrintStream stderr = System.err;
    System.setOut(stderr);
    return new AgentServer(System.in, events, stderr, AgentHost.forOneController(base), "criu-agent serve").serve();
  }
}
