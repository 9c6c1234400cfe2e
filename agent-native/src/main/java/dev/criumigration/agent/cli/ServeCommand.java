package dev.criumigration.agent.cli;

import dev.criumigration.agent.serve.AgentServer;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {"Serves a controller (criu-migrate) over stdin and stdout.",
        "Length-delimited AgentRequest messages in, AgentEvent messages out (agent.proto); logs go to stderr. "
            + "One operation at a time; a CancelRequest cancels it; a commit_point dump waits at its commit "
            + "point for a CommitDecision, while fetch_images, images and page_server_status may run beside it. "
            + "Closing stdin cancels what runs (a frozen source is resumed, a page server stopped) and ends "
            + "the agent. See docs/agent.md."},
    footer = {"", "Example (what the controller runs over SSH):", "  java -jar criu-agent.jar serve"})
final class ServeCommand implements Callable<Integer> {
  @Override
  public Integer call() throws InterruptedException {
    OutputStream events = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out));
    // Nothing but events may reach stdout: whatever else prints goes to stderr.
    PrintStream stderr = System.err;
    System.setOut(stderr);
    return new AgentServer(System.in, events, stderr).serve();
  }
}
