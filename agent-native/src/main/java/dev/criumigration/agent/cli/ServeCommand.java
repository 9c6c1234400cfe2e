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
    description = {"Serves a controller (criu-migrate) over stdin and stdout: length-delimited AgentRequest",
        "messages in, AgentEvent messages out (agent.proto). Logs go to stderr. One operation at a time;",
        "a commit_point dump waits for a CommitDecision; CancelRequest cancels. Closing stdin cancels what",
        "runs (a frozen source is resumed, a page server stopped) and ends the agent."},
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
