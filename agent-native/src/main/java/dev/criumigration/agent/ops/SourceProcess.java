package dev.criumigration.agent.ops;

import dev.criumigration.agent.nativeio.LibC;
import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.protocol.ErrorKind;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The root of a tree to dump, resume or kill: checked before anything is done to it. */
final class SourceProcess {
  private SourceProcess() {}

  /**
   * Refuses PIDs that must never be frozen or killed: none, init, kernel threads, zombies, and the
   * agent itself or its ancestors (freezing those would freeze the agent).
   */
  static int check(int pid) throws AgentException {
    if (pid <= 0) {
      throw AgentException.usage("no valid PID given (" + pid + ")", "give the PID of the tree's root with --pid");
    }
    if (pid == 1) {
      throw AgentException.usage("PID 1 is this host's init", "give the PID of the workload's root process");
    }
    if (!Processes.exists(pid)) {
      throw AgentException.usage("there is no process " + pid, "check the PID (ps -ef)");
    }
    try {
      if (Processes.isKernelThread(pid)) {
        throw AgentException.usage("process " + pid + " is a kernel thread", "give the PID of a user-space process");
      }
      if (Processes.state(pid) == 'Z') {
        throw AgentException.usage("process " + pid + " has exited (a zombie)", "check the PID (ps -ef)");
      }
    } catch (IOException e) {
      throw AgentException.usage("there is no process " + pid + " (" + e.getMessage() + ")", "check the PID (ps -ef)");
    }
    for (Optional<ProcessHandle> p = Optional.of(ProcessHandle.current()); p.isPresent();
        p = p.get().parent()) {
      if (p.get().pid() == pid) {
        throw AgentException.usage("process " + pid + " is the agent itself or one of its parents",
            "run the agent outside the tree you want to checkpoint");
      }
    }
    return pid;
  }

  static List<Integer> tree(int pid) throws AgentException {
    try {
      return Processes.tree(pid);
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot list the tree of process " + pid + ": " + e.getMessage(), "");
    }
  }

  static boolean isStopped(int pid) {
    try {
      char state = Processes.state(pid);
      return state == 'T' || state == 't';
    } catch (IOException gone) {
      return false;
    }
  }

  /**
   * After a dump that failed or was cancelled: continues every process of {@code tree} that is still
   * stopped. True when the root runs again.
   */
  static boolean resumeWhatIsStopped(int root, List<Integer> tree, OperationListener listener) {
    for (int pid : tree) {
      if (isStopped(pid)) {
        try {
          Processes.signal(pid, LibC.SIGCONT);
          listener.log("resumed process " + pid + ", which was left stopped");
        } catch (IOException e) {
          listener.log("could not resume process " + pid + ": " + e.getMessage());
        }
      }
    }
    return awaitRunning(root, Duration.ofSeconds(2));
  }

  /** Waits until {@code pid} exists and is not stopped (SIGCONT takes effect asynchronously). */
  static boolean awaitRunning(int pid, Duration timeout) {
    long end = System.nanoTime() + timeout.toNanos();
    while (true) {
      boolean running;
      try {
        char state = Processes.state(pid);
        running = state != 'T' && state != 't' && state != 'Z' && state != 'X';
      } catch (IOException gone) {
        return false;
      }
      if (running) {
        return true;
      }
      if (System.nanoTime() > end) {
        return false;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }
}
